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

/// A contactless card as seen by a reader: sans-IO, bytes in and bytes out.
pub trait SmartCard {
    /// The card enters the field: cold reset. Returns the ATR.
    fn power_on(&mut self) -> Vec<u8>;
    /// The card leaves the field. Volatile state (selected file, secure channel) is lost;
    /// persistent state (retry counters) is kept.
    fn power_off(&mut self);
    /// Warm reset. Returns the ATR.
    fn reset(&mut self) -> Vec<u8> {
        self.power_off();
        self.power_on()
    }
    /// The ATR without changing state.
    fn atr(&self) -> Vec<u8>;
    /// Process one command APDU and return the response APDU (data and SW1 SW2). Any input
    /// gets a well-formed response; nothing panics. An empty answer means the card left the
    /// field while processing (a torn tap): it is powered off until the next `power_on`.
    fn transmit(&mut self, command: &[u8]) -> Vec<u8>;
    /// How long the last `transmit` took the card, for transports that model time (a fault
    /// knob; zero by default). A sans-IO card never sleeps itself.
    fn processing_time(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}
