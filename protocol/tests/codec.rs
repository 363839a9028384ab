//! Property tests for the byte codecs: decode∘encode is the identity, no input panics, and
//! every byte is consumed (RustCrypto `tls_codec` inverse tests, STYLE.md).

use proptest::prelude::*;
use protocol::apdu::{ChainBuffer, Chained, CommandApdu, ResponseApdu, StatusWord};
use protocol::tlv::{Tag, Tlv, TlvIter};

fn command() -> impl Strategy<Value = CommandApdu> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..=255),
            prop::collection::vec(any::<u8>(), 256..1_200),
        ],
        prop::option::of(prop_oneof![1u32..=256, 257u32..=65_536]),
        any::<bool>(),
    )
        .prop_map(|(cla, ins, p1, p2, data, ne, extended)| CommandApdu {
            cla,
            ins,
            p1,
            p2,
            data,
            ne,
            extended,
        })
}

/// Tags that are well formed: one byte, or two/three bytes of the multi-byte form.
fn tag(constructed: bool) -> impl Strategy<Value = Tag> {
    let c = if constructed { 0x20u32 } else { 0 };
    prop_oneof![
        (0u32..=0x1E, 0u32..=3).prop_map(move |(n, class)| Tag((class << 6) | c | n)),
        (0x1Fu32..=0x7F, 0u32..=3)
            .prop_map(move |(n, class)| Tag((((class << 6) | c | 0x1F) << 8) | n)),
        (1u32..=0x7F, 0u32..=0x7F, 0u32..=3).prop_map(move |(a, b, class)| Tag((((((class
            << 6)
            | c
            | 0x1F)
            << 8)
            | 0x80
            | a)
            << 8)
            | b)),
    ]
}

fn tlv() -> impl Strategy<Value = Tlv> {
    let leaf = (tag(false), prop::collection::vec(any::<u8>(), 0..300))
        .prop_map(|(t, v)| Tlv::primitive(t, v));
    leaf.prop_recursive(4, 64, 6, |inner| {
        (tag(true), prop::collection::vec(inner, 0..6)).prop_map(|(t, c)| Tlv::constructed(t, c))
    })
}

proptest! {
    #[test]
    fn command_apdu_decode_encode_is_identity(c in command()) {
        let bytes = c.encode().unwrap();
        let back = CommandApdu::decode(&bytes).unwrap();
        // The extended flag is implied when short fields cannot hold the values, and means
        // nothing for case 1, which has no length field at all.
        let has_length = !c.data.is_empty() || c.ne.is_some();
        let expect = CommandApdu {
            extended: has_length && (c.extended || c.needs_extended()),
            ..c
        };
        prop_assert_eq!(&back, &expect);
        prop_assert_eq!(back.encode().unwrap(), bytes);
    }

    #[test]
    fn command_apdu_decode_never_panics_and_reencodes_exactly(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(c) = CommandApdu::decode(&bytes) {
            // Whatever decodes re-encodes to the very same bytes: every byte was consumed.
            prop_assert_eq!(c.encode().unwrap(), bytes);
        }
    }

    #[test]
    fn response_apdu_round_trips(data in prop::collection::vec(any::<u8>(), 0..600), sw in any::<u16>()) {
        let r = ResponseApdu::new(data, StatusWord::from_u16(sw));
        let bytes = r.encode();
        prop_assert_eq!(ResponseApdu::decode(&bytes).unwrap(), r);
        prop_assert_eq!(StatusWord::from_u16(sw).to_u16(), sw);
    }

    #[test]
    fn chaining_reassembles_any_command(c in command(), max in 1usize..300) {
        let c = CommandApdu { cla: c.cla & 0x6F, ..c };
        let mut buf = ChainBuffer::new(usize::MAX);
        let parts = c.chain(max);
        let last = parts.len() - 1;
        for (i, p) in parts.into_iter().enumerate() {
            match buf.push(p) {
                Chained::NeedMore => prop_assert!(i < last),
                Chained::Complete(got) => {
                    prop_assert_eq!(i, last);
                    prop_assert_eq!(&got.data, &c.data);
                    prop_assert_eq!(got.ne, c.ne);
                }
                Chained::Abort(sw) => prop_assert!(false, "abort {sw}"),
            }
        }
    }

    #[test]
    fn tlv_decode_encode_is_identity(t in tlv()) {
        let bytes = t.encode();
        let back = Tlv::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &t);
        prop_assert_eq!(back.encode(), bytes);
    }

    #[test]
    fn tlv_sequences_round_trip(ts in prop::collection::vec(tlv(), 0..5)) {
        let bytes: Vec<u8> = ts.iter().flat_map(Tlv::encode).collect();
        prop_assert_eq!(Tlv::decode_all(&bytes).unwrap(), ts);
        prop_assert_eq!(TlvIter::new(&bytes).count(), Tlv::decode_all(&bytes).unwrap().len());
    }

    #[test]
    fn tlv_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Tlv::decode(&bytes);
        let _ = Tlv::decode_all(&bytes);
        for item in TlvIter::new(&bytes) {
            let _ = item;
        }
    }
}

#[test]
fn deeply_nested_input_is_refused_not_a_stack_overflow() {
    // 10,000 nested constructed tags with indefinite-looking but valid short lengths.
    let mut bytes = Vec::new();
    for _ in 0..10_000 {
        bytes.extend_from_slice(&[0x30, 0x82, 0xFF, 0xFF]);
    }
    assert!(Tlv::decode(&bytes).is_err());
}
