//! READ BINARY sizes: inside secure messaging a short read's protected answer fits one short
//! response (no '61xx'), outside it a long answer still comes through GET RESPONSE.

use protocol::apdu::{CommandApdu, ResponseApdu, StatusWord};
use protocol::lds::LdsFile;
use protocol::pace::PasswordRef;
use protocol::sm::SecureChannel;
use sim_card::{Card, SmartCard};

use crate::terminal::Terminal;

const SEED: u64 = 13;

/// The plain bytes of one protected READ BINARY with a short Le '00' (inside and outside),
/// checked on the wire: at most 256 bytes of protected data and 9000, no '61xx'.
fn protected_read(card: &mut Card, ch: &mut SecureChannel, cmd: &CommandApdu) -> ResponseApdu {
    let wire = ch.protect_command(cmd).unwrap();
    assert!(!wire.extended);
    let wire = wire.encode().unwrap();
    assert_eq!(wire.last(), Some(&0x00), "outer Le '00'");
    let raw = card.transmit(&wire);
    let resp = ResponseApdu::decode(&raw).unwrap();
    assert_eq!(resp.sw, StatusWord::Ok, "no '61xx' inside secure messaging");
    assert!(
        resp.data.len() <= 256,
        "{} protected bytes",
        resp.data.len()
    );
    ch.unprotect_response(&resp).unwrap()
}

fn open_session(card: &mut Card) -> SecureChannel {
    let mut t = Terminal::new(card, 3);
    t.expect_ok(&CommandApdu::select_aid(&protocol::EMRTD_AID))
        .unwrap();
    t.pace(PasswordRef::Pin, &crate::pin(SEED)).unwrap();
    t.sm.take().unwrap()
}

fn content(card: &Card, f: LdsFile) -> Vec<u8> {
    card.files()
        .iter()
        .find(|e| e.fid == f.fid())
        .unwrap()
        .content
        .clone()
}

#[test]
fn short_le_00_inside_secure_messaging_reads_in_chunks_of_223_with_9000() {
    // The demo card's portrait makes DG2 over 500 bytes; EF.SOD is larger still.
    let mut card = Card::demo(SEED);
    for f in [LdsFile::Dg2, LdsFile::Sod] {
        let want = content(&card, f);
        assert!(want.len() > 2 * 223, "{f:?} is {} bytes", want.len());
        let mut ch = open_session(&mut card);
        // First chunk by SFI, Le '00': 223 bytes, a 242-byte protected answer.
        let first = CommandApdu::read_binary_sfi(f.sfi(), 0, 256);
        let wire = ch.protect_command(&first).unwrap().encode().unwrap();
        let raw = card.transmit(&wire);
        assert_eq!(raw.len(), 242 + 2);
        assert_eq!(&raw[raw.len() - 2..], &[0x90, 0x00]);
        let plain = ch
            .unprotect_response(&ResponseApdu::decode(&raw).unwrap())
            .unwrap();
        assert_eq!(plain.sw, StatusWord::Ok);
        assert_eq!(plain.data, want[..223]);
        // Then on by offset, Le '00' each time, until the file is in.
        let mut got = plain.data;
        while got.len() < want.len() {
            let chunk = protected_read(
                &mut card,
                &mut ch,
                &CommandApdu::read_binary(got.len() as u16, 256),
            );
            assert_eq!(chunk.data.len(), (want.len() - got.len()).min(223));
            got.extend(chunk.data);
        }
        assert_eq!(got, want, "{f:?} reassembles exactly");
        // At the end: nothing more, still a protected 9000.
        let end = protected_read(
            &mut card,
            &mut ch,
            &CommandApdu::read_binary(got.len() as u16, 256),
        );
        assert!(end.data.is_empty());
        assert!(card.secure_channel_open());
    }
}

#[test]
fn an_explicit_ne_over_the_cap_gets_223_and_9000_and_the_end_still_warns() {
    let mut card = Card::demo(SEED);
    let want = content(&card, LdsFile::Sod);
    let mut ch = open_session(&mut card);
    let select = protected_read(
        &mut card,
        &mut ch,
        &CommandApdu::select_ef(LdsFile::Sod.fid()),
    );
    assert!(select.data.is_empty());
    // More than 250 bytes left: the cap, not the end of the file, cut the read.
    let r = protected_read(&mut card, &mut ch, &CommandApdu::read_binary(0, 250));
    assert_eq!((r.sw, r.data.as_slice()), (StatusWord::Ok, &want[..223]));
    // 100 bytes left, 250 asked: what there is and 6282, as before.
    let at = want.len() - 100;
    let wire = ch
        .protect_command(&CommandApdu::read_binary(at as u16, 250))
        .unwrap();
    let raw = card.transmit(&wire.encode().unwrap());
    let r = ch
        .unprotect_response(&ResponseApdu::decode(&raw).unwrap())
        .unwrap();
    assert_eq!(
        (r.sw, r.data.as_slice()),
        (StatusWord::EndOfFile, &want[at..])
    );
}

#[test]
fn odd_read_binary_inside_secure_messaging_fits_too() {
    let mut card = Card::demo(SEED);
    let want = content(&card, LdsFile::Sod);
    let mut ch = open_session(&mut card);
    let mut odd = CommandApdu::new(0x00, 0xB1, 0x00, 0x00).with_data([0x54, 0x01, 0x00]);
    let [hi, lo] = LdsFile::Sod.fid().to_be_bytes();
    (odd.p1, odd.p2) = (hi, lo);
    odd.ne = Some(256);
    let r = protected_read(&mut card, &mut ch, &odd);
    let (_, value, used) = protocol::tlv::read_one(&r.data).unwrap();
    assert_eq!(used, r.data.len());
    assert!(r.data.len() <= 223, "'53' object of {} bytes", r.data.len());
    assert_eq!(value, &want[..value.len()]);
}

#[test]
fn extended_le_inside_secure_messaging_still_reads_the_whole_file_at_once() {
    let mut card = Card::demo(SEED);
    let want = content(&card, LdsFile::Sod);
    let mut ch = open_session(&mut card);
    let mut read = CommandApdu::read_binary_sfi(LdsFile::Sod.sfi(), 0, 65_536);
    read.extended = true;
    let wire = ch.protect_command(&read).unwrap();
    assert!(wire.extended);
    let raw = card.transmit(&wire.encode().unwrap());
    let r = ch
        .unprotect_response(&ResponseApdu::decode(&raw).unwrap())
        .unwrap();
    assert_eq!((r.sw, r.data), (StatusWord::Ok, want));
}

/// Outside secure messaging the only plain-readable file, EF.CardAccess, is far under 223
/// bytes, so the '61xx' path is the one SELECT with FCI takes (access.rs has the same check
/// from the FCI side); the plain file read with Le '00' is whole and 9000 as before. The card
/// unit tests (src/card.rs) read a plain file over 256 bytes.
#[test]
fn outside_secure_messaging_long_answers_still_use_61xx_and_get_response() {
    let mut card = Card::demo(SEED);
    card.power_on();
    let mut sel = CommandApdu::new(0x00, 0xA4, 0x04, 0x00).with_data(protocol::EMRTD_AID);
    sel.ne = Some(4);
    let r = ResponseApdu::decode(&card.transmit(&sel.encode().unwrap())).unwrap();
    assert_eq!(r.sw, StatusWord::BytesAvailable(7));
    let rest =
        ResponseApdu::decode(&card.transmit(&CommandApdu::get_response(7).encode().unwrap()))
            .unwrap();
    assert_eq!((rest.sw, rest.data.len()), (StatusWord::Ok, 7));
    let want = content(&card, LdsFile::CardAccess);
    let r = card.transmit(
        &CommandApdu::read_binary_sfi(LdsFile::CardAccess.sfi(), 0, 256)
            .encode()
            .unwrap(),
    );
    assert_eq!(&r[..r.len() - 2], want.as_slice());
    assert_eq!(&r[r.len() - 2..], &[0x90, 0x00]);
}
