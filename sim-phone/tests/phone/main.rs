//! The phone against the virtual card: one binary, one module per area.

mod camera;
mod fuzz;
mod http;
mod issue;
mod offer;
#[cfg(feature = "pcsc")]
mod pcscd;
mod qr;
mod tap;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sim_card::{Card, CardFaults, Personalisation, TestPki, T2024};
use sim_phone::{CardEvidence, InProcessReader, NfcReader, TapEvent, TapOutput, TapRead, UiEvent};

/// `now` for the card tests: a month into the Document Signer's validity.
pub const NOW: u64 = T2024 + 30 * 86_400;

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

/// A phone app and a reader with a card on it, and what the app showed.
pub struct Rig {
    /// The app under test.
    pub app: TapRead,
    /// The reader with the card.
    pub reader: InProcessReader<Card>,
    /// The app's randomness.
    pub rng: ChaCha20Rng,
    /// Everything the app showed.
    pub shown: Vec<UiEvent>,
    /// The evidence, once read.
    pub done: Option<CardEvidence>,
    /// APDUs transmitted.
    pub apdus: usize,
    /// The lowest password counter seen on the card after any APDU.
    pub lowest_tries: u8,
}

impl Rig {
    /// A rig for `card`, trusting `pki`'s root.
    pub fn new(card: Card, pki: &TestPki) -> Self {
        let lowest = card.password_tries();
        Self {
            app: TapRead::new(vec![pki.root.cert().clone()], vec![0xA5; 8]),
            reader: InProcessReader::new(card),
            rng: ChaCha20Rng::seed_from_u64(5),
            shown: Vec::new(),
            done: None,
            apdus: 0,
            lowest_tries: lowest,
        }
    }

    /// The card.
    pub fn card(&self) -> &Card {
        self.reader.card().unwrap()
    }

    /// The card, to set faults.
    pub fn card_mut(&mut self) -> &mut Card {
        self.reader.card_mut().unwrap()
    }

    /// Feed one event and carry out what follows.
    pub fn event(&mut self, e: TapEvent) {
        self.app.handle(e, NOW, &mut self.rng);
        self.pump();
    }

    /// The holder taps the card.
    pub fn tap(&mut self) {
        self.reader.connect().unwrap();
        self.event(TapEvent::CardTapped);
    }

    /// Carry out the app's outputs until it has none.
    pub fn pump(&mut self) {
        while let Some(out) = self.app.poll() {
            match out {
                TapOutput::Transmit(bytes) => {
                    self.apdus += 1;
                    let r = self.reader.transmit(&bytes);
                    self.lowest_tries = self.lowest_tries.min(self.card().password_tries());
                    let e = match r {
                        Ok(answer) => TapEvent::Response(answer),
                        Err(_) => TapEvent::CardRemoved,
                    };
                    self.app.handle(e, NOW, &mut self.rng);
                }
                TapOutput::Disconnect => self.reader.disconnect(),
                TapOutput::Show(e) => self.shown.push(e),
                TapOutput::Done(ev) => self.done = Some(*ev),
                other => panic!("unexpected output {other:?}"),
            }
        }
    }

    /// The last thing shown.
    pub fn last_shown(&self) -> Option<&UiEvent> {
        self.shown.last()
    }
}
