//! Forged and broken cards are caught by Passive and Active Authentication.

use protocol::apdu::CommandApdu;
use protocol::lds::LdsFile;
use protocol::pace::PasswordRef;
use sim_card::{Card, CardFaults, Personalisation, TestPki, T2024};

use crate::terminal::Terminal;

const SEED: u64 = 31;
const NOW: u64 = T2024 + 30 * 86_400;

struct Read {
    dgs: Vec<(u8, Vec<u8>)>,
    sod: Vec<u8>,
    aa: Result<(), protocol::Error>,
}

fn read_all(card: &mut Card) -> Read {
    let mut t = Terminal::new(card, 77);
    t.expect_ok(&CommandApdu::select_aid(&protocol::EMRTD_AID))
        .unwrap();
    t.pace(PasswordRef::Can, &crate::can(SEED)).unwrap();
    let mut dgs = Vec::new();
    for f in [LdsFile::Dg1, LdsFile::Dg2, LdsFile::Dg14, LdsFile::Dg15] {
        dgs.push((f.dg_number().unwrap(), t.read_file(f.sfi()).unwrap()));
    }
    let sod = t.read_file(LdsFile::Sod.sfi()).unwrap();
    let challenge = [9u8; 8];
    let sig = t
        .expect_ok(&CommandApdu::internal_authenticate(&challenge))
        .unwrap();
    let aa = protocol::aa::verify(&dgs[3].1, &challenge, &sig);
    Read { dgs, sod, aa }
}

fn pa(r: &Read, pki: &TestPki) -> Result<(), protocol::Error> {
    let refs: Vec<(u8, &[u8])> = r.dgs.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    protocol::sod::passive_authentication(&r.sod, &refs, &[pki.root.cert().clone()], NOW)
        .map(|_| ())
}

#[test]
fn genuine_card_passes_both() {
    let (mut card, pki) = crate::card_with(SEED, CardFaults::default());
    let r = read_all(&mut card);
    pa(&r, &pki).unwrap();
    r.aa.unwrap();
}

#[test]
fn clone_fails_active_authentication_but_passes_passive() {
    let (mut card, pki) = crate::card_with(
        SEED,
        CardFaults {
            clone: true,
            ..Default::default()
        },
    );
    let r = read_all(&mut card);
    pa(&r, &pki).unwrap();
    assert!(r.aa.is_err(), "a clone's key does not match DG15");
}

#[test]
fn tampered_data_group_fails_passive_authentication() {
    let (mut card, pki) = crate::card_with(
        SEED,
        CardFaults {
            tamper_dg: Some(1),
            ..Default::default()
        },
    );
    let r = read_all(&mut card);
    assert_eq!(pa(&r, &pki).unwrap_err(), protocol::Error::HashMismatch(1));
}

fn card_signed_by(pick: impl Fn(&TestPki) -> &protocol::pki::CertifiedKey) -> (Card, TestPki) {
    let pki = TestPki::new(SEED);
    let (can, pin) = sim_card::demo_secrets(SEED);
    let card = Card::personalise(&Personalisation {
        holder: sim_card::demo_holder(SEED),
        portrait: vec![1, 2, 3],
        can,
        pin,
        document_signer: pick(&pki),
        seed: SEED,
        faults: CardFaults::default(),
    })
    .unwrap();
    (card, pki)
}

#[test]
fn expired_document_signer_fails_passive_authentication() {
    let (mut card, pki) = card_signed_by(|p| &p.expired_document_signer);
    let r = read_all(&mut card);
    let err = pa(&r, &pki).unwrap_err();
    assert!(matches!(err, protocol::Error::Certificate(_)), "{err:?}");
}

#[test]
fn foreign_document_signer_fails_passive_authentication() {
    let (mut card, pki) = card_signed_by(|p| &p.foreign_document_signer);
    let r = read_all(&mut card);
    let err = pa(&r, &pki).unwrap_err();
    assert!(matches!(err, protocol::Error::Certificate(_)), "{err:?}");
}

#[test]
fn personalisation_refuses_bad_secrets() {
    let pki = TestPki::new(1);
    let mut p = Personalisation {
        holder: sim_card::demo_holder(1),
        portrait: vec![],
        can: "12345".into(),
        pin: "1234".into(),
        document_signer: &pki.document_signer,
        seed: 1,
        faults: CardFaults::default(),
    };
    assert!(Card::personalise(&p).is_err());
    p.can = "123456".into();
    p.pin = "12a4".into();
    assert!(Card::personalise(&p).is_err());
    p.pin = "1234".into();
    p.faults.tamper_dg = Some(9);
    assert!(Card::personalise(&p).is_err());
}
