//! No input makes the card panic, and every answer is a well-formed response APDU.

use proptest::prelude::*;
use protocol::apdu::{CommandApdu, ResponseApdu, StatusWord};
use protocol::pace::PasswordRef;
use sim_card::{Card, SmartCard};

use crate::terminal::Terminal;

fn well_formed(resp: &[u8]) -> bool {
    resp.len() >= 2 && ResponseApdu::decode(resp).is_ok()
}

/// Commands the card knows, with arbitrary parameters: reaches deeper than random bytes.
fn known_command() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![0x00u8, 0x0C, 0x10, 0x1C, 0x80, 0xFF]),
        prop::sample::select(vec![0xA4u8, 0xB0, 0xB1, 0x84, 0x22, 0x86, 0x88, 0xC0, 0x00]),
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..300),
        prop::option::of(1u32..=65_536),
    )
        .prop_map(|(cla, ins, p1, p2, data, ne)| {
            let mut c = CommandApdu::new(cla, ins, p1, p2).with_data(data);
            c.ne = ne;
            c.encode().unwrap_or_default()
        })
}

/// A valid session's wire bytes, recorded once.
fn recorded_session() -> Vec<Vec<u8>> {
    struct Recorder(Card, Vec<Vec<u8>>);
    impl SmartCard for Recorder {
        fn power_on(&mut self) -> Vec<u8> {
            self.0.power_on()
        }
        fn power_off(&mut self) {
            self.0.power_off()
        }
        fn atr(&self) -> Vec<u8> {
            self.0.atr()
        }
        fn transmit(&mut self, c: &[u8]) -> Vec<u8> {
            self.1.push(c.to_vec());
            self.0.transmit(c)
        }
    }
    let mut rec = Recorder(Card::demo(5), Vec::new());
    {
        let mut t = Terminal::new(&mut rec, 1);
        t.expect_ok(&CommandApdu::select_aid(&protocol::EMRTD_AID))
            .unwrap();
        t.pace(PasswordRef::Pin, &sim_card::demo_secrets(5).1)
            .unwrap();
        t.read_file(0x01).unwrap();
        t.expect_ok(&CommandApdu::internal_authenticate(&[1; 8]))
            .unwrap();
    }
    rec.1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_get_a_status_word(cmds in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 1..20)) {
        let mut card = Card::demo(1);
        card.power_on();
        for c in cmds {
            let r = card.transmit(&c);
            prop_assert!(well_formed(&r), "answer {r:02X?} to {c:02X?}");
        }
    }

    #[test]
    fn known_commands_with_arbitrary_fields_get_a_status_word(cmds in prop::collection::vec(known_command(), 1..30)) {
        let mut card = Card::demo(2);
        card.power_on();
        for c in cmds {
            let r = card.transmit(&c);
            prop_assert!(well_formed(&r));
        }
    }

    #[test]
    fn mutated_valid_session_never_panics(
        which in 0usize..16,
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
        truncate in any::<bool>(),
    ) {
        static SESSION: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        let session = SESSION.get_or_init(recorded_session);
        let mut card = Card::demo(5);
        card.power_on();
        let which = which % session.len();
        let mut pace_broken = false;
        for (i, c) in session.iter().enumerate() {
            let mut c = c.clone();
            if i == which {
                if truncate {
                    c.truncate(at.index(c.len()));
                } else {
                    let j = at.index(c.len());
                    c[j] ^= xor;
                }
            }
            let r = card.transmit(&c);
            prop_assert!(well_formed(&r));
            let sw = ResponseApdu::decode(&r).unwrap().sw;
            if i >= which && !sw.is_success() {
                pace_broken = true;
            }
        }
        // Whatever broke, the card still answers a fresh, valid SELECT after a new tap.
        card.power_off();
        card.power_on();
        let r = card.transmit(&CommandApdu::select_aid(&protocol::EMRTD_AID).encode().unwrap());
        prop_assert_eq!(ResponseApdu::decode(&r).unwrap().sw, StatusWord::Ok, "broken={}", pace_broken);
    }
}
