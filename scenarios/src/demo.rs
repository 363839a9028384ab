//! The tap demo (`midsim tap`): the phone's app taps a demo card on its NFC reader, runs
//! PACE with the card password, reads the card under secure messaging and checks it (Passive
//! and Active Authentication), and the transcript shows every APDU as it crossed.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sim_card::{Card, TestPki};
use sim_phone::{CardEvidence, InProcessReader, TapRead, UiEvent};

/// 2025-03-28T00:00:00+09:00, the day the mobile ID opened nationwide: the demo's `now`.
pub const NATIONWIDE_OPENING: u64 = 1_743_087_600;

/// What one demo tap found.
#[derive(Debug)]
pub struct TapReport {
    /// The readable transcript (protected APDUs are shown by their header only).
    pub transcript: String,
    /// What the app read and authenticated, if it did.
    pub evidence: Option<Box<CardEvidence>>,
    /// What the app showed the holder, in order.
    pub shown: Vec<UiEvent>,
}

/// Tap the demo card for `seed` with its card password and read it whole.
pub fn tap(seed: u64) -> TapReport {
    let mut card = Card::demo(seed);
    let pki = TestPki::new(seed);
    let (_, password) = sim_card::demo_secrets(seed);
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x7A9);
    let mut challenge = vec![0u8; 8];
    rng.fill_bytes(&mut challenge);
    let mut app = TapRead::new(vec![pki.root.cert().clone()], challenge);
    let mut reader = InProcessReader::new(&mut card);
    let (evidence, shown, transcript) = crate::harness::tap_read(
        &mut reader,
        &mut app,
        &password,
        NATIONWIDE_OPENING,
        &mut rng,
    );
    TapReport {
        transcript,
        evidence,
        shown,
    }
}
