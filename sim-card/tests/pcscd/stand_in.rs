//! A stand-in card until `sim_card::Card::demo` lands: answers SELECT of the eMRTD AID,
//! READ BINARY of EF.CardAccess by SFI 0x1C and GET CHALLENGE. Shared by the interop tests,
//! the benchmark and the binary through `#[path]`; deleted when the real card is merged.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sim_card::SmartCard;

/// EF.CardAccess with one PACEInfo: id-PACE-ECDH-GM-AES-CBC-CMAC-128, version 2, P-256
/// (ICAO 9303-11 §9.2.1).
const CARD_ACCESS: [u8; 22] = [
    0x31, 0x14, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02,
    0x02, 0x01, 0x02, 0x02, 0x01, 0x0C,
];
const ATR: [u8; 10] = [0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
const AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// The stand-in card.
pub(crate) struct StandInCard {
    rng: ChaCha20Rng,
    selected: bool,
}

impl StandInCard {
    /// A card whose challenges come from `seed`.
    pub(crate) fn demo(seed: u64) -> Self {
        Self {
            rng: ChaCha20Rng::seed_from_u64(seed),
            selected: false,
        }
    }
}

impl SmartCard for StandInCard {
    fn power_on(&mut self) -> Vec<u8> {
        self.selected = false;
        ATR.to_vec()
    }
    fn power_off(&mut self) {
        self.selected = false;
    }
    fn atr(&self) -> Vec<u8> {
        ATR.to_vec()
    }
    fn transmit(&mut self, command: &[u8]) -> Vec<u8> {
        match command {
            [0x00, 0xA4, 0x04, _, 0x07, aid @ ..] if aid.get(..7) == Some(&AID[..]) => {
                self.selected = true;
                vec![0x90, 0x00]
            }
            [0x00, 0xB0, 0x9C, 0x00, ..] => {
                let mut r = CARD_ACCESS.to_vec();
                r.extend_from_slice(&[0x90, 0x00]);
                r
            }
            [0x00, 0x84, 0x00, 0x00, 0x08] => {
                let mut r = vec![0; 8];
                self.rng.fill_bytes(&mut r);
                r.extend_from_slice(&[0x90, 0x00]);
                r
            }
            [_, _, _, _, ..] => vec![0x6D, 0x00],
            _ => vec![0x67, 0x00],
        }
    }
}
