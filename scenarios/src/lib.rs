//! Population, end-to-end flows, deterministic simulation, load, faults, reports,
//! certification suites, and the `midsim` command-line tool.
//!
//! Built so far:
//! - [`terminal`]: the harness's inspection terminal (PACE, secure messaging, reads, Active
//!   Authentication) with a readable, redacted transcript;
//! - [`demo`]: the tap demo behind `midsim tap`.
//!
//! The rollout simulation, population, reports and certification suites come with later
//! issues.

pub mod demo;
pub mod terminal;
