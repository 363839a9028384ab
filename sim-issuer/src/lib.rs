//! The mock issuer (the Ministry's side of the national mobile ID).
//!
//! A sans-IO core: every call takes `now` ([`UnixTime`]) and, where it draws randomness, a
//! seeded `rand_core::CryptoRngCore`. It never reads a clock or the OS's randomness.
//!
//! What it covers:
//! - the rollout policy read from a TOML data file ([`policy`], `data/rollout.toml`) and the
//!   eligibility check whose every refusal names its reason;
//! - resident registration numbers of both kinds ([`rrn`]) and the resident registry
//!   ([`registry`]) with card state and phone registrations;
//! - the issuer's PKI ([`pki`]) and the issuance service core ([`issuer`]): desk offers,
//!   OpenID4VCI-shaped token, nonce and credential endpoints for both routes, revocation,
//!   status, IC card production, all idempotent;
//! - the phone's endpoints as one typed call ([`phone_api`], `Issuer::serve`) over
//!   `protocol::issuance`;
//! - the desk's QR image of a credential offer ([`qr`]);
//! - the HTTP shell ([`http::app`]), an axum router over the same calls;
//! - persistence as a shell around the core ([`durable::DurableIssuer`]): the core returns
//!   each call's [`journal`] entries, the shell commits them to an SQLite journal
//!   ([`store`]) before the answer leaves, and replays them on open; in memory by default.
//!
//! The public interface is the modules below plus [`Error`] and [`UnixTime`].

pub mod config;
pub mod durable;
mod error;
pub mod http;
pub mod issuer;
pub mod journal;
pub mod phone_api;
pub mod pki;
pub mod policy;
pub mod qr;
pub mod registry;
pub mod rrn;
pub mod sample;
pub mod store;
pub mod time;

pub use error::Error;
pub use time::UnixTime;
