//! The card through a terminal: one binary, one module per area (turmoil's
//! `tests/net/main.rs` layout).

mod access;
mod faults;
mod fuzz;
mod reads;
mod retry;
mod session;
pub mod terminal;

use sim_card::{Card, CardFaults, Personalisation, TestPki};

/// A card personalised for `seed` with the given faults, and its PKI.
pub fn card_with(seed: u64, faults: CardFaults) -> (Card, TestPki) {
    let pki = TestPki::new(seed);
    let (can, pin) = sim_card::demo_secrets(seed);
    let card = Card::personalise(&Personalisation {
        holder: sim_card::demo_holder(seed),
        portrait: vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4],
        can,
        pin,
        document_signer: &pki.document_signer,
        seed,
        faults,
    })
    .unwrap();
    (card, pki)
}

/// The demo card password for `seed`.
pub fn pin(seed: u64) -> String {
    sim_card::demo_secrets(seed).1
}

/// The demo CAN for `seed`.
pub fn can(seed: u64) -> String {
    sim_card::demo_secrets(seed).0
}

/// A password that is not the card's.
pub fn wrong_pin(seed: u64) -> String {
    let p: u32 = pin(seed).parse().unwrap();
    format!("{:04}", (p + 1) % 10_000)
}
