//! The mock issuer (the Ministry's side of the national mobile ID).
//!
//! A sans-IO core: every call takes `now` ([`UnixTime`]) and, where it draws randomness, a
//! seeded `rand_core::CryptoRngCore`. It never reads a clock or the OS's randomness.
//!
//! What it covers:
//! - the rollout policy read from a TOML data file ([`policy`], `data/rollout.toml`) and the
//!   eligibility check whose every refusal names its reason;
//! - resident registration numbers of both kinds ([`rrn`]) and the resident registry
//!   ([`registry`]) with card state and phone registrations.
//!
//! The public interface is the modules below plus [`Error`] and [`UnixTime`].

mod error;
pub mod policy;
pub mod registry;
pub mod rrn;
pub mod time;

pub use error::Error;
pub use time::UnixTime;
