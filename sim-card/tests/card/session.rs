//! A whole session: PACE with the card password, every data group, Passive and Active
//! Authentication, as a readable transcript.

use protocol::apdu::CommandApdu;
use protocol::lds::LdsFile;
use protocol::pace::PasswordRef;
use sim_card::{Card, SmartCard, T2024};

use crate::terminal::Terminal;

const SEED: u64 = 7;

#[test]
fn whole_session_transcript_pace_reads_passive_and_active_authentication() {
    let (mut card, pki) = crate::card_with(SEED, Default::default());
    let mut t = Terminal::new(&mut card, 1);
    t.expect_ok(&CommandApdu::select_aid(&protocol::EMRTD_AID))
        .unwrap();
    let card_access = t.read_file(LdsFile::CardAccess.sfi()).unwrap();
    assert_eq!(card_access[0], 0x31, "EF.CardAccess is a DER SET");
    t.pace(PasswordRef::Pin, &crate::pin(SEED)).unwrap();
    let mut dgs = Vec::new();
    for f in [
        LdsFile::Com,
        LdsFile::Dg1,
        LdsFile::Dg2,
        LdsFile::Dg14,
        LdsFile::Dg15,
    ] {
        let bytes = t.read_file(f.sfi()).unwrap();
        assert_eq!(Some(bytes[0]), f.tag(), "{f:?} starts with its tag");
        if let Some(n) = f.dg_number() {
            dgs.push((n, bytes));
        }
    }
    let sod = t.read_file(LdsFile::Sod.sfi()).unwrap();
    let refs: Vec<(u8, &[u8])> = dgs.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    protocol::sod::passive_authentication(&sod, &refs, &[pki.root.cert().clone()], T2024 + 86_400)
        .unwrap();
    let challenge = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
    let sig = t
        .expect_ok(&CommandApdu::internal_authenticate(&challenge))
        .unwrap();
    let dg15 = &dgs.iter().find(|(n, _)| *n == 15).unwrap().1;
    protocol::aa::verify(dg15, &challenge, &sig).unwrap();
    let holder = protocol::lds::HolderData::decode(&dgs[0].1).unwrap();
    assert_eq!(holder, sim_card::demo_holder(SEED));
    insta::assert_snapshot!(t.transcript);
}

#[test]
fn same_seed_gives_the_same_card_byte_for_byte() {
    let a = Card::demo(42);
    let b = Card::demo(42);
    let c = Card::demo(43);
    assert_eq!(a.files(), b.files());
    assert_ne!(a.files(), c.files());
    // The chip's randomness is seeded too: same challenges in the same order.
    let (mut a, mut b) = (a, b);
    a.power_on();
    b.power_on();
    let get = CommandApdu::get_challenge(8).encode().unwrap();
    assert_eq!(a.transmit(&get), b.transmit(&get));
}

#[test]
fn card_access_is_readable_without_pace_and_extended_read_works() {
    let mut card = Card::demo(3);
    card.power_on();
    let sel = CommandApdu::select_aid(&protocol::EMRTD_AID)
        .encode()
        .unwrap();
    assert_eq!(card.transmit(&sel), [0x90, 0x00]);
    // Extended Le 0000: everything to the end of the file.
    let mut read = CommandApdu::read_binary_sfi(0x1C, 0, 65_536);
    read.extended = true;
    let resp = card.transmit(&read.encode().unwrap());
    assert_eq!(&resp[resp.len() - 2..], &[0x90, 0x00]);
    assert_eq!(resp[0], 0x31);
    let len = resp.len() - 2;
    // A read that starts inside the file and asks past its end: what there is, plus 6282.
    let resp = card.transmit(&CommandApdu::read_binary(2, 250).encode().unwrap());
    assert_eq!(resp.len() - 2, len - 2);
    assert_eq!(&resp[resp.len() - 2..], &[0x62, 0x82]);
    // Past the end: 6B00.
    let resp = card.transmit(
        &CommandApdu::read_binary(len as u16 + 1, 1)
            .encode()
            .unwrap(),
    );
    assert_eq!(resp, [0x6B, 0x00]);
}
