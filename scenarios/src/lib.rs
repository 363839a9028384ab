//! Population, end-to-end flows, deterministic simulation, load, faults, reports,
//! certification suites, and the `midsim` command-line tool.
//!
//! Built so far:
//! - [`harness`]: the pair harness every flow runs through: `sim-phone`'s app, its card on
//!   the phone's reader and the issuer, with a filter that sees every message;
//! - [`demo`]: the tap demo behind `midsim tap`, the phone's card read with a transcript.
//!
//! The foundations of the rollout simulation:
//! - [`locale`]: a `ko_KR` locale for the `fake` crate (names, phone numbers, address parts)
//!   and Korean road addresses;
//! - [`region`]: the 17 first-level divisions, their codes and their districts;
//! - [`population`]: residents generated lazily from (seed, index), nothing stored per
//!   resident;
//! - [`rng`]: seed derivation, every draw a function of (seed, index, stream);
//! - [`vtime`]: virtual time (Unix seconds) and local calendar days;
//! - [`arrival`]: when, whether and by which route each resident applies;
//! - [`desk`]: community-center desks as multi-server FIFO queues;
//! - [`report`]: the JSON report, exact shard merges, SVG charts and the HTML page.
//!
//! None of it reads a clock or OS randomness: seeds and times are parameters, and every
//! map whose order reaches an output is a `BTreeMap`.
//!
//! The rollout engine:
//! - [`flows`]: the IC-tap and desk-QR issuance flows, the phone's app through the harness,
//!   the issuer core behind a capacity [`flows::Gate`];
//! - [`present`]: presentations at relying parties after issuance (`sim-verifier`'s
//!   verifier core per kind, visit rates from `data/presentations.toml`);
//! - [`sim`]: the sharded, virtual-time rollout simulation behind `midsim rollout`;
//! - [`bench`]: flows per core against their crypto floor, behind `midsim bench`.

mod error;

pub mod arrival;
pub mod bench;
pub mod demo;
pub mod desk;
pub mod flows;
pub mod harness;
pub mod locale;
pub mod population;
pub mod present;
pub mod region;
pub mod report;
pub mod rng;
pub mod sim;
pub mod vtime;

pub use error::Error;
