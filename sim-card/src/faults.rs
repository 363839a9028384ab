//! Fault knobs for tests: what a broken, forged or unlucky card does.
//!
//! Knobs that change what is *on* the card (a clone's key, a tampered data group, an expired
//! or foreign Document Signer, a blocked password) are chosen at personalisation
//! ([`crate::CardFaults`]); knobs that change how the card *behaves* in the field (tearing,
//! latency, a clone answering with the wrong key) live here and may change between taps.

use std::time::Duration;

/// Where in the processing of an APDU the card leaves the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TearPoint {
    /// After every persistent write of the APDU, before the answer: the terminal gets
    /// nothing, the card's state is as if the command completed.
    BeforeResponse,
    /// After the first persistent write (the retry counter decrement of a password check),
    /// before the check: the worst moment for the holder, the one an attacker would pick.
    MidCommand,
}

/// Tear the card out of the field at the `after_apdu`-th APDU of its life (1-based, counted
/// across power cycles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tear {
    /// The APDU number (1-based, over the card's life).
    pub after_apdu: u32,
    /// Where in that APDU.
    pub point: TearPoint,
}

/// Behaviour faults of a personalised card.
#[derive(Clone, Default)]
pub struct Faults {
    /// Lose the field at a given APDU.
    pub tear: Option<Tear>,
    /// Time the card takes per APDU, for transports that model time.
    pub latency: Duration,
    /// A cloned chip: Active Authentication answers with this key, not the one DG15 holds.
    pub clone_key: Option<p256::ecdsa::SigningKey>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("tear", &self.tear)
            .field("latency", &self.latency)
            .field("clone", &self.clone_key.is_some())
            .finish()
    }
}
