//! The virtual phone and its Mobile ID app.
//!
//! The holder's side of the simulation. It talks to any card through APDU bytes and to any
//! issuer through the wire types in `protocol`; it depends on no other actor.
//!
//! The public interface is:
//! - the phone's hardware: [`NfcReader`] (with [`InProcessReader`] over any
//!   [`SmartCard`] (the trait lives in `protocol`), [`FaultyReader`] for torn taps, latency and corrupted frames, and `PcscReader`
//!   behind the cargo feature `pcsc`), [`Camera`] (QR codes from images) and [`Keystore`]
//!   (non-exportable, PIN-gated P-256 device keys);
//! - the app's flows as sans-IO state machines: [`TapRead`] reads and authenticates the
//!   IC card (PACE with the card password or CAN, file reads, Passive and Active
//!   Authentication) and survives torn taps without spending a password try twice;
//! - [`IssueFlow`]: the QR download route and the whole IC route (nonce, card, card-evidence
//!   token, proof of possession with a fresh device key, credential, verification), talking
//!   to any issuer
//!   through an [`IssuerClient`] ([`HttpIssuer`] over HTTP with retries and backoff; an
//!   in-process client is a few lines over the issuer core, see the tests);
//! - [`PresentFlow`]: showing the mobile ID at a relying party (mip QR-MPM: scan the M200,
//!   fetch and check the signed profile against the [`VerifierRegistry`], consent and PIN, a
//!   DeviceResponse with only the requested elements, signed over the session transcript and
//!   sealed to the verifier's key);
//! - [`Wallet`]: the mobile ID, its status, expiry and reissue date, and what a revocation
//!   does;
//! - the [`UiEvent`]s a screen would show, each with a human message;
//! - one [`Error`] type.
//!
//! The shells that move bytes between a flow, a reader and an issuer client live with their
//! callers (the tests here, `scenarios`): a flow is driven by `handle(event, now, rng)` and
//! drained with `poll()`.
//!
//! What it deliberately does not do: read a clock or OS randomness inside a flow (`now` and
//! a seeded RNG come in), or trust anything the card or the issuer sends before checking it.

mod camera;
mod error;
mod http;
mod issue;
mod keystore;
mod nfc;
mod present;
mod tap;
mod ui;
mod wallet;

pub use camera::Camera;
pub use error::Error;
pub use http::{HttpIssuer, RetryPolicy};
pub use issue::{
    check_offer, parse_offer, read_offer_uri, refusal_message, region_name, IssueConfig,
    IssueEvent, IssueFlow, IssueOutput, IssueState, IssuerClient, MobileId, ParsedOffer,
    ScannedOffer,
};
pub use keystore::{KeyHandle, Keystore, PIN_TRIES};
#[cfg(feature = "pcsc")]
pub use nfc::PcscReader;
pub use nfc::{FaultyReader, InProcessReader, NfcReader, ReaderFaults};
pub use present::{
    PresentConfig, PresentEvent, PresentFlow, PresentOutput, PresentState, VerifierRegistry,
};
pub use protocol::issuance::{CredentialStatus, IssuerReply, IssuerRequest, RevocationReason};
pub use protocol::SmartCard;
pub use tap::{
    CardEvidence, TapEvent, TapOutput, TapRead, TapState, CARD_TIMEOUT_SECS, MAX_CARD_ERRORS,
};
pub use ui::UiEvent;
pub use wallet::{Wallet, WalletStatus, REISSUE_NOTICE_DAYS};
