//! Population, end-to-end flows, deterministic simulation, load, faults, reports,
//! certification suites, and the `midsim` command-line tool (being written).
//!
//! The population and rollout-model foundations are here:
//! - [`locale`]: a `ko_KR` locale for the `fake` crate and Korean road addresses;
//! - [`region`]: the 17 first-level divisions and their districts;
//! - [`population`]: residents generated lazily from (seed, index);
//! - [`rng`]: seed derivation, every draw a function of (seed, index, stream);
//! - [`vtime`]: virtual time (Unix seconds) and local calendar days;
//! - [`arrival`]: when, whether and by which route each resident applies;
//! - [`desk`]: community-center desks as multi-server FIFO queues;
//! - [`report`]: the JSON report, exact shard merges, SVG charts and the HTML page.
//!
//! None of it reads a clock or OS randomness: seeds and times are parameters.

pub mod arrival;
pub mod desk;
mod error;
pub mod locale;
pub mod population;
pub mod region;
pub mod report;
pub mod rng;
pub mod vtime;

pub use error::Error;
