//! Tap-to-issue end to end, in process: our card, our issuer core, the phone app between
//! them; refusals reach the holder in plain words; a second phone revokes the first.

use std::fmt::Write as _;

use protocol::lds::HolderData;
use protocol::oid4vci::{ErrorResponse, TokenRequest};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sim_card::{Card, CardFaults, Personalisation, SmartCard};
use sim_issuer::issuer::{CredentialStatus, Issuer, IssuerConfig, RevocationReason};
use sim_issuer::policy::Policy;
use sim_issuer::registry::{CardState, PhoneRegistration, Resident, ResidentId};
use sim_phone::{
    IssueConfig, IssueEvent, IssueOutput, IssueState, IssuerClient, IssuerReply, IssuerRequest,
    Keystore, MobileId, TapEvent, UiEvent,
};

/// 2025-04-01 12:00 KST: nationwide, online IC applications open.
const APRIL: i64 = 1_743_476_400;
/// 2025-03-20 12:00 KST: before the nationwide opening.
const MARCH_20: i64 = 1_742_439_600;
const PHONE: &str = "010-1234-5678";
const PHONE2: &str = "010-2222-3333";
const SEED: u64 = 41;

/// The issuer core called directly, with the HTTP error mapping the axum shell uses.
pub(crate) struct InProcess<'a> {
    pub(crate) issuer: &'a mut Issuer,
    pub(crate) log: &'a mut String,
}

impl IssuerClient for InProcess<'_> {
    fn call(&mut self, key: &str, request: &IssuerRequest, now: i64) -> IssuerReply {
        let what = match request {
            IssuerRequest::Offer { .. } => "GET /credential-offer/<id>".to_string(),
            IssuerRequest::Nonce => "POST /nonce".to_string(),
            IssuerRequest::Token(t) => format!(
                "POST /token grant={}",
                match t {
                    TokenRequest::CardEvidence { .. } => "card-evidence",
                    TokenRequest::PreAuthorized { .. } => "pre-authorized_code",
                }
            ),
            IssuerRequest::Credential { .. } => {
                "POST /credential proofs.jwt=<redacted>".to_string()
            }
            IssuerRequest::Status { document_number } => format!("GET /status/{document_number}"),
        };
        let reply = self
            .issuer
            .serve(key, request, now)
            .unwrap_or_else(|e| sim_issuer::phone_api::error_reply(&e));
        let shown = match &reply {
            IssuerReply::Nonce(_) => "200 c_nonce=<redacted>".to_string(),
            IssuerReply::Token(_) => "200 access_token=<redacted>".to_string(),
            IssuerReply::Credential(c) => format!("200 credentials={}", c.credentials.len()),
            IssuerReply::Error(e) => format!("4xx {:?}", e.error),
            _ => "no answer".into(),
        };
        let _ = writeln!(self.log, "phone→issuer {what}\n    issuer→phone {shown}");
        reply
    }
}

use protocol::apdu::command_name as apdu_name;

/// One resident with an IC card from the issuer, its chip, and the world around them.
pub(crate) struct World {
    pub(crate) issuer: Issuer,
    pub(crate) card: Card,
    pub(crate) pin: String,
    pub(crate) keystore: Keystore,
    pub(crate) rng: ChaCha20Rng,
}

pub(crate) fn world(district: &str) -> World {
    let mut issuer = Issuer::new(
        SEED,
        IssuerConfig::default(),
        Policy::default_rollout(),
        APRIL - 400 * 86_400,
    )
    .unwrap();
    issuer
        .register(Resident {
            id: ResidentId(1),
            family_name: "김".into(),
            given_name: "민준".into(),
            rrn: "900101-1234568".parse().unwrap(),
            district: district.into(),
            card: CardState::None,
            phones: vec![
                PhoneRegistration {
                    phone_id: PHONE.into(),
                    in_own_name: true,
                },
                PhoneRegistration {
                    phone_id: PHONE2.into(),
                    in_own_name: true,
                },
            ],
        })
        .unwrap();
    let receipt = issuer
        .desk_ic_card("ic", ResidentId(1), APRIL - 300 * 86_400)
        .unwrap();
    let (can, pin) = sim_card::demo_secrets(SEED);
    let card = Card::personalise(&Personalisation {
        holder: HolderData::decode(&receipt.card.dg1).unwrap(),
        portrait: vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
        can,
        pin: pin.clone(),
        document_signer: &issuer.pki().document_signer,
        seed: SEED,
        faults: CardFaults::default(),
    })
    .unwrap();
    World {
        issuer,
        card,
        pin,
        keystore: Keystore::new(),
        rng: ChaCha20Rng::seed_from_u64(SEED),
    }
}

pub(crate) struct Run {
    pub(crate) state: IssueState,
    pub(crate) shown: Vec<UiEvent>,
    pub(crate) issued: Option<MobileId>,
    pub(crate) transcript: String,
}

/// Tap-to-issue on `phone` at `now`: the holder types the password, taps once.
fn tap_to_issue(w: &mut World, phone: &str, now: i64) -> Run {
    let cfg = config(&w.issuer, phone);
    let World {
        issuer,
        card,
        pin,
        keystore,
        rng,
    } = w;
    let mut log = String::new();
    let mut run = {
        let mut client = InProcess {
            issuer,
            log: &mut log,
        };
        drive(cfg, card, pin, keystore, rng, &mut client, now)
    };
    run.transcript = merge(&run.transcript, &log);
    run
}

/// The card-side and issuer-side logs in the order they happened: the client writes its
/// lines into `issuer_log`; `drive` leaves a marker where each call went out.
fn merge(card_log: &str, issuer_log: &str) -> String {
    let mut calls = issuer_log
        .split_inclusive('\n')
        .collect::<Vec<_>>()
        .into_iter();
    let mut out = String::new();
    for line in card_log.split_inclusive('\n') {
        if line.trim_end() == "<call>" {
            // Each call is two lines: the request and the answer.
            for _ in 0..2 {
                if let Some(l) = calls.next() {
                    out.push_str(l);
                }
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

pub(crate) fn config(issuer: &Issuer, phone: &str) -> IssueConfig {
    IssueConfig {
        issuer: issuer.config().base_url.clone(),
        phone_id: phone.into(),
        csca_roots: issuer.pki().country_roots(),
        iaca_roots: issuer.pki().mdoc_roots(),
        app_pin: "246810".into(),
    }
}

/// Run tap-to-issue with any issuer client: the holder types the password and taps once.
pub(crate) fn drive(
    cfg: IssueConfig,
    card: &mut Card,
    pin: &str,
    keystore: &mut Keystore,
    rng: &mut ChaCha20Rng,
    client: &mut dyn IssuerClient,
    now: i64,
) -> Run {
    let mut flow = sim_phone::IssueFlow::tap(cfg);
    let mut log = String::new();
    let mut shown = Vec::new();
    let mut issued = None;
    let t = now as u64;
    let mut events = vec![
        IssueEvent::Start,
        IssueEvent::Tap(TapEvent::Password(pin.to_owned())),
    ];
    let mut tapped = false;
    loop {
        for e in events.drain(..) {
            flow.handle(e, t, rng, keystore);
        }
        let Some(out) = flow.poll() else {
            if flow.state() == IssueState::Card && !tapped {
                tapped = true;
                card.power_on();
                let _ = writeln!(log, "holder taps the card");
                events.push(IssueEvent::Tap(TapEvent::CardTapped));
                continue;
            }
            break;
        };
        match out {
            IssueOutput::Transmit(b) => {
                let answer = card.transmit(&b);
                let sw = answer
                    .get(answer.len().saturating_sub(2)..)
                    .map(hex::encode_upper)
                    .unwrap_or_default();
                let _ = writeln!(log, "phone→card {}\n    card→phone {sw}", apdu_name(&b));
                events.push(IssueEvent::Tap(if answer.is_empty() {
                    TapEvent::CardRemoved
                } else {
                    TapEvent::Response(answer)
                }));
            }
            IssueOutput::Disconnect => card.power_off(),
            IssueOutput::Show(e) => {
                let _ = writeln!(log, "screen: {e}");
                shown.push(e);
            }
            IssueOutput::Call {
                idempotency_key,
                request,
            } => {
                let _ = writeln!(log, "<call>");
                let reply = client.call(&idempotency_key, &request, now);
                events.push(IssueEvent::Issuer(reply));
            }
            IssueOutput::Issued(m) => issued = Some(*m),
            _ => {}
        }
    }
    Run {
        state: flow.state(),
        shown,
        issued,
        transcript: log,
    }
}

#[test]
fn an_ic_card_holder_taps_and_gets_a_verified_mdoc_bound_to_a_fresh_device_key() {
    let mut w = world("11110");
    let run = tap_to_issue(&mut w, PHONE, APRIL);
    assert_eq!(run.state, IssueState::Done, "{}", run.transcript);
    let id = run.issued.expect("issued");
    assert_eq!(id.verified.doc_type, protocol::mdoc::DOC_TYPE);
    assert_eq!(
        id.verified.device_key,
        w.keystore.public_key(id.key).unwrap()
    );
    assert!(id.valid_until() > APRIL + 3 * 365 * 86_400 - 86_400);
    assert_eq!(run.shown.last(), Some(&UiEvent::Issued));
    assert!(matches!(
        w.issuer.status(&id.document_number, APRIL),
        Ok(CredentialStatus::Valid { .. })
    ));
    assert_eq!(w.card.password_tries(), 3);
    insta::assert_snapshot!("tap_to_issue_transcript", run.transcript);
}

#[test]
fn before_the_nationwide_opening_the_holder_is_told_the_day_it_opens() {
    let mut w = world("11110");
    let run = tap_to_issue(&mut w, PHONE, MARCH_20);
    assert_eq!(run.state, IssueState::Failed);
    let last = run.shown.last().unwrap().to_string();
    assert_eq!(last, "This service opens for Seoul on 28 March");
}

#[test]
fn a_phone_not_in_the_holders_name_is_refused_with_the_issuers_reason() {
    let mut w = world("11110");
    let run = tap_to_issue(&mut w, "010-0000-0000", APRIL);
    assert_eq!(run.state, IssueState::Failed);
    let last = run.shown.last().unwrap().to_string();
    assert!(
        last.starts_with("The mobile ID cannot be issued: phone is not registered"),
        "{last}"
    );
}

#[test]
fn a_second_phone_revokes_the_first() {
    let mut w = world("11110");
    let first = tap_to_issue(&mut w, PHONE, APRIL).issued.unwrap();
    let second = tap_to_issue(&mut w, PHONE2, APRIL + 3600).issued.unwrap();
    assert_ne!(first.document_number, second.document_number);
    assert!(matches!(
        w.issuer.status(&first.document_number, APRIL + 3600),
        Ok(CredentialStatus::Revoked {
            reason: RevocationReason::Superseded,
            ..
        })
    ));
    assert!(matches!(
        w.issuer.status(&second.document_number, APRIL + 3600),
        Ok(CredentialStatus::Valid { .. })
    ));
}

#[test]
fn the_first_phones_wallet_reacts_to_the_revocation_and_drops_its_key() {
    let mut w = world("11110");
    let first = tap_to_issue(&mut w, PHONE, APRIL).issued.unwrap();
    let doc = first.document_number.clone();
    let key = first.key;
    let mut wallet = sim_phone::Wallet::new();
    wallet.store(first, &mut w.keystore);
    assert_eq!(wallet.status(APRIL), Some(sim_phone::WalletStatus::Valid));
    let _second = tap_to_issue(&mut w, PHONE2, APRIL + 60).issued.unwrap();
    // The status endpoint's JSON, as the HTTP shell serialises the issuer's answer.
    let body = serde_json::to_string(&w.issuer.status(&doc, APRIL + 120).unwrap()).unwrap();
    let report = sim_phone::CredentialStatus::from_json(body.as_bytes()).unwrap();
    let shown = wallet.apply_status(&doc, &report, &mut w.keystore).unwrap();
    assert_eq!(
        shown.to_string(),
        "Your mobile ID on this phone was revoked: a mobile ID was issued to another phone"
    );
    assert_eq!(
        wallet.status(APRIL + 120),
        Some(sim_phone::WalletStatus::Revoked)
    );
    assert!(
        w.keystore.public_key(key).is_err(),
        "the device key is gone"
    );
}

#[test]
fn the_wallet_asks_for_reissue_before_the_three_years_run_out() {
    let mut w = world("11110");
    let id = tap_to_issue(&mut w, PHONE, APRIL).issued.unwrap();
    let until = id.valid_until();
    let mut wallet = sim_phone::Wallet::new();
    wallet.store(id, &mut w.keystore);
    assert_eq!(wallet.reissue_from(), Some(until - 30 * 86_400));
    assert_eq!(
        wallet.status(until - 10 * 86_400),
        Some(sim_phone::WalletStatus::ReissueSoon)
    );
    assert_eq!(
        wallet.status(until + 1),
        Some(sim_phone::WalletStatus::Expired)
    );
}

/// Tap-to-issue with the card torn out at its `k`-th APDU: the holder taps again (and
/// re-enters the password when asked) until the flow ends.
fn torn_tap_to_issue(k: u32, point: sim_card::TearPoint) -> (World, Run) {
    let mut w = world("11110");
    w.card.faults_mut().tear = Some(sim_card::Tear {
        after_apdu: k,
        point,
    });
    let cfg = config(&w.issuer, PHONE);
    let mut flow = sim_phone::IssueFlow::tap(cfg);
    let mut shown = Vec::new();
    let mut issued = None;
    let t = APRIL as u64;
    let mut events = vec![
        IssueEvent::Start,
        IssueEvent::Tap(TapEvent::Password(w.pin.clone())),
    ];
    let mut taps = 0;
    loop {
        for e in events.drain(..) {
            flow.handle(e, t, &mut w.rng, &mut w.keystore);
        }
        let Some(out) = flow.poll() else {
            // Quiet: act like the holder on what the screen last said.
            match shown.last() {
                Some(UiEvent::TapCard) if taps < 4 => {
                    taps += 1;
                    w.card.power_on();
                    events.push(IssueEvent::Tap(TapEvent::CardTapped));
                    continue;
                }
                Some(UiEvent::PasswordCheckInterrupted { .. }) => {
                    events.push(IssueEvent::Tap(TapEvent::Password(w.pin.clone())));
                    shown.push(UiEvent::TapCard);
                    continue;
                }
                _ => break,
            }
        };
        match out {
            IssueOutput::Transmit(b) => {
                let answer = w.card.transmit(&b);
                events.push(IssueEvent::Tap(if answer.is_empty() {
                    TapEvent::CardRemoved
                } else {
                    TapEvent::Response(answer)
                }));
            }
            IssueOutput::Disconnect => w.card.power_off(),
            IssueOutput::Show(e) => shown.push(e),
            IssueOutput::Call {
                idempotency_key,
                request,
            } => {
                let mut log = String::new();
                let mut client = InProcess {
                    issuer: &mut w.issuer,
                    log: &mut log,
                };
                events.push(IssueEvent::Issuer(client.call(
                    &idempotency_key,
                    &request,
                    APRIL,
                )));
            }
            IssueOutput::Issued(m) => issued = Some(*m),
            _ => {}
        }
    }
    let run = Run {
        state: flow.state(),
        shown,
        issued,
        transcript: String::new(),
    };
    (w, run)
}

#[test]
fn tearing_at_every_apdu_of_tap_to_issue_issues_exactly_once_and_keeps_the_password_counter() {
    for point in [
        sim_card::TearPoint::BeforeResponse,
        sim_card::TearPoint::MidCommand,
    ] {
        for k in 1..=34 {
            let (w, run) = torn_tap_to_issue(k, point);
            let ctx = format!("tear at APDU {k} ({point:?}): {:?}", run.shown);
            assert_eq!(run.state, IssueState::Done, "{ctx}");
            assert!(run.issued.is_some(), "{ctx}");
            assert_eq!(w.issuer.credentials().len(), 1, "issued once: {ctx}");
            assert_eq!(w.card.password_tries(), 3, "{ctx}");
            assert!(
                !run.shown
                    .iter()
                    .any(|e| matches!(e, UiEvent::WrongPassword { .. })),
                "{ctx}"
            );
        }
    }
}

#[test]
fn a_card_reported_lost_is_refused_in_plain_words() {
    let mut w = world("11110");
    let id = tap_to_issue(&mut w, PHONE, APRIL).issued.unwrap();
    let _ = id;
    w.issuer
        .report_card_lost("lost", ResidentId(1), APRIL + 60)
        .unwrap();
    let run = tap_to_issue(&mut w, PHONE2, APRIL + 120);
    assert_eq!(run.state, IssueState::Failed);
    let last = run.shown.last().unwrap().to_string();
    assert!(
        last.starts_with("The mobile ID cannot be issued:"),
        "{last}"
    );
}

#[test]
fn every_issuer_refusal_becomes_a_sentence_for_the_holder() {
    use sim_issuer::Error as E;
    let errors = [
        E::CardNotCurrent,
        E::PhoneNotRegistered,
        E::PhoneNotInOwnName,
        E::OfferExpired,
        E::OfferUsed,
        E::OfferBurned,
        E::UnknownOffer,
        E::TxCodeRequired,
        E::WrongTxCode { attempts_left: 1 },
        E::TokenExpired,
        E::NonceExpired,
        E::UnknownResident,
        E::IdempotencyKeyReused,
    ];
    for e in errors {
        let wire = ErrorResponse {
            error: e.code(),
            error_description: Some(e.to_string()),
        };
        let m = sim_phone::refusal_message(&wire, Some("11")).to_string();
        assert!(m.contains(&e.to_string()), "{e:?} → {m}");
        assert!(
            m.starts_with("The mobile ID cannot be issued: ")
                || m.starts_with("This QR code can no longer be used"),
            "{e:?} → {m}"
        );
    }
}

#[test]
fn reissuing_on_the_same_phone_replaces_the_mobile_id_and_deletes_the_old_key() {
    let mut w = world("11110");
    let first = tap_to_issue(&mut w, PHONE, APRIL).issued.unwrap();
    let old_key = first.key;
    let mut wallet = sim_phone::Wallet::new();
    wallet.store(first, &mut w.keystore);
    let second = tap_to_issue(&mut w, PHONE, APRIL + 86_400).issued.unwrap();
    let doc = second.document_number.clone();
    wallet.store(second, &mut w.keystore);
    assert_eq!(wallet.mobile_id().unwrap().document_number, doc);
    assert!(w.keystore.public_key(old_key).is_err());
    assert_eq!(w.keystore.len(), 1);
}
