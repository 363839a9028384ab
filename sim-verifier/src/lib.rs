//! Relying parties: a government office, a bank, a hospital and a shop's age check, each
//! verifying the mobile ID through the published "mip" QR-MPM protocol
//! ([`protocol::mip`]).
//!
//! The public interface is:
//! - [`RpKind`]: the relying-party kinds and what each asks for;
//! - [`Verifier`]: the sans-IO verifier core. [`Verifier::open`] gives the M200 a counter
//!   shows as a QR code; [`Verifier::handle`] answers M310 with a signed profile and checks an
//!   M400's sealed DeviceResponse (issuer signature and chain, digests, device signature over
//!   the session transcript, nonce, validity, revocation by Token Status List, exactly the
//!   elements asked for), answering M900 with the spec's codes;
//! - [`http::app`]: the axum shell, with the counter terminal's own calls beside the
//!   spec's `/mip/*` paths;
//! - the `sim-verifier serve` binary: one relying party of a chosen kind on a loopback port.
//!
//! It depends on no other actor: the issuer is known by its IACA root and its status list
//! URL, the phone by the protocol.

mod check;
pub mod http;
mod kind;
mod verifier;

pub use kind::{RpKind, UnknownKind};
pub use verifier::{
    Counters, Endpoint, Event, Evidence, Handled, Presentation, Refusal, TrustedIssuer, Verifier,
    VerifierConfig, DEFAULT_TIMEOUT_SECS,
};
