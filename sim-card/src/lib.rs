//! The virtual IC resident registration card.
//!
//! The real chip's protocol is not published, so this card follows the public ICAO Doc 9303
//! eMRTD model (DOMAIN.md): an LDS1 application with EF.CardAccess, EF.COM, DG1 (holder data),
//! DG2 (portrait), DG14, DG15 and EF.SOD; PACE with the 6-digit CAN or the 4-digit card
//! password; secure messaging; Active Authentication. It is one profile of a pluggable card.
//!
//! The public interface is:
//! - [`SmartCard`]: the sans-IO shape every card has here (power on, transmit bytes, power
//!   off), after vpicc-rs's `VSmartCard`;
//! - [`Card`]: the chip, personalised with [`Card::personalise`] or [`Card::demo`];
//! - [`Faults`], [`CardFaults`], [`Tear`]: fault knobs;
//! - [`TestPki`]: a seeded country root and Document Signers;
//! - [`vpcd`]: the socket transport that plugs a card into pcscd's vpcd reader.
//!
//! What it does not do: drive a reader, or read a clock or OS randomness. Time-dependent
//! behaviour (latency) is reported, not slept.

mod card;
mod error;
mod faults;
mod personalise;
pub mod vpcd;

pub use card::{Card, Df, ElementaryFile, PasswordState, ATR, PIN_TRIES};
pub use error::Error;
pub use faults::{Faults, Tear, TearPoint};
pub use personalise::{
    demo_holder, demo_secrets, CardFaults, Personalisation, TestPki, T2015, T2020, T2024, T2034,
    T2040,
};

/// The card trait lives in `protocol`, shared with the phone's reader.
pub use protocol::SmartCard;
