//! Access conditions and the secure channel's refusals.

use protocol::apdu::{CommandApdu, ResponseApdu, StatusWord};
use protocol::pace::PasswordRef;
use sim_card::SmartCard;

use crate::terminal::Terminal;

const SEED: u64 = 11;

fn sw(raw: &[u8]) -> StatusWord {
    ResponseApdu::decode(raw).unwrap().sw
}

#[test]
fn dg1_is_not_readable_without_pace() {
    let (mut card, _) = crate::card_with(SEED, Default::default());
    card.power_on();
    card.transmit(
        &CommandApdu::select_aid(&protocol::EMRTD_AID)
            .encode()
            .unwrap(),
    );
    let r = card.transmit(&CommandApdu::read_binary_sfi(0x01, 0, 16).encode().unwrap());
    assert_eq!(
        r,
        [0x69, 0x82],
        "security status not satisfied, and no data"
    );
    let r = card.transmit(&CommandApdu::select_ef(0x0101).encode().unwrap());
    assert_eq!(sw(&r), StatusWord::Ok, "selecting is allowed");
    let r = card.transmit(&CommandApdu::read_binary(0, 16).encode().unwrap());
    assert_eq!(r, [0x69, 0x82]);
    let r = card.transmit(
        &CommandApdu::internal_authenticate(&[1; 8])
            .encode()
            .unwrap(),
    );
    assert_eq!(r, [0x69, 0x82], "Active Authentication needs the channel");
}

#[test]
fn plain_read_inside_a_session_closes_the_channel() {
    let (mut card, _) = crate::card_with(SEED, Default::default());
    let mut t = Terminal::new(&mut card, 2);
    t.expect_ok(&CommandApdu::select_aid(&protocol::EMRTD_AID))
        .unwrap();
    t.pace(PasswordRef::Pin, &crate::pin(SEED)).unwrap();
    let channel = t.sm.take();
    let r = t
        .card
        .transmit(&CommandApdu::read_binary_sfi(0x01, 0, 16).encode().unwrap());
    assert_eq!(sw(&r), StatusWord::SmObjectsMissing);
    assert_eq!(r.len(), 2, "no data leaks in the plain answer");
    assert!(!t.card.secure_channel_open());
    // The old keys are no longer accepted: the card has no session to check them against.
    t.sm = channel;
    let r = t.send(&CommandApdu::read_binary_sfi(0x01, 0, 16)).unwrap();
    assert_eq!((r.sw, r.data.len()), (StatusWord::SmObjectsMissing, 0));
    assert!(t.sm.is_none(), "the terminal saw the channel close");
}

#[test]
fn bad_mac_is_rejected_and_closes_the_channel() {
    let (mut card, _) = crate::card_with(SEED, Default::default());
    let mut t = Terminal::new(&mut card, 3);
    t.expect_ok(&CommandApdu::select_aid(&protocol::EMRTD_AID))
        .unwrap();
    t.pace(PasswordRef::Pin, &crate::pin(SEED)).unwrap();
    let mut ch = t.sm.take().unwrap();
    let mut wire = ch
        .protect_command(&CommandApdu::read_binary_sfi(0x01, 0, 16))
        .unwrap()
        .encode()
        .unwrap();
    // The MAC is the last 8 bytes before Le: flip one bit in it.
    let at = wire.len() - 2;
    wire[at] ^= 0x01;
    let r = t.card.transmit(&wire);
    assert_eq!(sw(&r), StatusWord::SmObjectsIncorrect);
    assert_eq!(r.len(), 2);
    assert!(!t.card.secure_channel_open());
}

#[test]
fn replayed_command_fails_because_the_ssc_moved_on() {
    let (mut card, _) = crate::card_with(SEED, Default::default());
    let mut t = Terminal::new(&mut card, 4);
    t.expect_ok(&CommandApdu::select_aid(&protocol::EMRTD_AID))
        .unwrap();
    t.pace(PasswordRef::Pin, &crate::pin(SEED)).unwrap();
    let mut ch = t.sm.take().unwrap();
    let wire = ch
        .protect_command(&CommandApdu::read_binary_sfi(0x01, 0, 16))
        .unwrap()
        .encode()
        .unwrap();
    let first = t.card.transmit(&wire);
    let plain = ch
        .unprotect_response(&ResponseApdu::decode(&first).unwrap())
        .unwrap();
    assert_eq!(plain.sw, StatusWord::Ok);
    assert_eq!(plain.data.len(), 16);
    let replay = t.card.transmit(&wire);
    assert_eq!(sw(&replay), StatusWord::SmObjectsIncorrect);
    assert!(!t.card.secure_channel_open());
}

#[test]
fn long_answers_come_through_get_response() {
    let mut card = sim_card::Card::demo(SEED);
    card.power_on();
    // SELECT with FCI (P2=00) and Ne=4: the 11-byte FCI does not fit.
    let mut sel = CommandApdu::new(0x00, 0xA4, 0x04, 0x00).with_data(protocol::EMRTD_AID);
    sel.ne = Some(4);
    let r = card.transmit(&sel.encode().unwrap());
    assert_eq!(r.len(), 6);
    assert_eq!(sw(&r), StatusWord::BytesAvailable(7));
    let rest = card.transmit(&CommandApdu::get_response(7).encode().unwrap());
    assert_eq!(sw(&rest), StatusWord::Ok);
    let mut fci = r[..4].to_vec();
    fci.extend_from_slice(&rest[..rest.len() - 2]);
    let expected = protocol::tlv::encode(
        protocol::tlv::Tag(0x6F),
        &protocol::tlv::encode(protocol::tlv::Tag(0x84), &protocol::EMRTD_AID),
    );
    assert_eq!(fci, expected);
    // Nothing left: a further GET RESPONSE is refused.
    let again = card.transmit(&CommandApdu::get_response(7).encode().unwrap());
    assert_eq!(sw(&again), StatusWord::ConditionsNotSatisfied);
}

#[test]
fn odd_read_binary_wraps_data_in_53() {
    let mut card = sim_card::Card::demo(SEED);
    card.power_on();
    let mut odd = CommandApdu::new(0x00, 0xB1, 0x01, 0x1C).with_data([0x54, 0x01, 0x02]);
    odd.ne = Some(256);
    let r = card.transmit(&odd.encode().unwrap());
    assert_eq!(r[0], 0x53);
    assert_eq!(&r[r.len() - 2..], &[0x90, 0x00]);
    let mut even = CommandApdu::read_binary_sfi(0x1C, 2, 256);
    even.ne = Some(256);
    let plain = card.transmit(&even.encode().unwrap());
    let (_, value, _) = protocol::tlv::read_one(&r).unwrap();
    assert_eq!(value, &plain[..plain.len() - 2]);
}
