//! The verifier core against the real phone app and the real issuer, in process: a mobile ID
//! is issued by the desk's QR route, then presented at each kind of relying party; every
//! negative is refused with its code or reason.

mod independent;
mod negatives;
mod sequences;

use std::collections::BTreeSet;

use image::GrayImage;
use protocol::mip::{self, HttpReply};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sim_issuer::issuer::{InPersonCheck, Issuer, IssuerConfig};
use sim_issuer::policy::Policy;
use sim_issuer::registry::{CardState, PhoneRegistration, Resident, ResidentId};
use sim_phone::{
    Camera, IssueConfig, IssueEvent, IssueFlow, IssueOutput, Keystore, PresentConfig, PresentEvent,
    PresentFlow, PresentOutput, PresentState, UiEvent, VerifierRegistry, Wallet,
};
use sim_verifier::{Endpoint, Event, Handled, RpKind, TrustedIssuer, Verifier, VerifierConfig};

/// 2025-04-01 12:00 KST.
pub(crate) const APRIL: i64 = 1_743_476_400;
const PHONE: &str = "010-1234-5678";
const RRN: &str = "900101-1234568";
pub(crate) const PIN: &str = "135790";
pub(crate) const ISSUER_ID: &str = "did:kr:mobileid:mois";

/// The issuer, a phone holding a mobile ID from it, and the relying parties' trust.
pub(crate) struct World {
    pub(crate) issuer: Issuer,
    pub(crate) wallet: Wallet,
    pub(crate) keystore: Keystore,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) document_number: String,
}

pub(crate) fn world() -> World {
    world_at(APRIL)
}

/// The world with its issuer created 400 days before `now` and the mobile ID issued at `now`.
pub(crate) fn world_at(now: i64) -> World {
    let mut issuer = Issuer::new(
        5,
        IssuerConfig::default(),
        Policy::default_rollout(),
        now - 400 * 86_400,
    )
    .unwrap();
    issuer
        .register(Resident {
            id: ResidentId(1),
            family_name: "이".into(),
            given_name: "서연".into(),
            rrn: RRN.parse().unwrap(),
            district: "11110".into(),
            card: CardState::Plastic {
                issued: time::macros::date!(2010 - 01 - 01),
                reported_lost: false,
            },
            phones: vec![PhoneRegistration {
                phone_id: PHONE.into(),
                in_own_name: true,
            }],
        })
        .unwrap();
    let offer = issuer
        .desk_offer(
            "desk-1",
            ResidentId(1),
            "11110",
            &InPersonCheck {
                presented_rrn: RRN.parse().unwrap(),
                face_matches: true,
            },
            now,
        )
        .unwrap();
    let png = sim_issuer::qr::offer_qr_png(&offer.reference_uri).unwrap();
    let mut flow = IssueFlow::qr(IssueConfig {
        issuer: issuer.config().base_url.clone(),
        phone_id: PHONE.into(),
        csca_roots: issuer.pki().country_roots(),
        iaca_roots: issuer.pki().mdoc_roots(),
        app_pin: PIN.into(),
    });
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let mut keystore = Keystore::new();
    let mut wallet = Wallet::new();
    let mut events = vec![IssueEvent::Start];
    while !events.is_empty() {
        for e in std::mem::take(&mut events) {
            flow.handle(e, now as u64, &mut rng, &mut keystore);
        }
        while let Some(out) = flow.poll() {
            match out {
                IssueOutput::Show(UiEvent::ScanQr) => {
                    events.push(IssueEvent::Scanned(Camera::new().scan_bytes(&png).unwrap()))
                }
                IssueOutput::Show(UiEvent::EnterTxCode { .. }) => {
                    events.push(IssueEvent::TxCode(offer.tx_code.clone()))
                }
                IssueOutput::Call {
                    idempotency_key,
                    request,
                } => events.push(IssueEvent::Issuer(
                    issuer
                        .serve(&idempotency_key, &request, now)
                        .unwrap_or_else(|e| sim_issuer::phone_api::error_reply(&e)),
                )),
                IssueOutput::Issued(m) => wallet.store(*m, &mut keystore),
                _ => {}
            }
        }
    }
    let document_number = wallet
        .mobile_id()
        .expect("the QR route issued a mobile ID")
        .document_number
        .clone();
    World {
        issuer,
        wallet,
        keystore,
        rng,
        document_number,
    }
}

/// A relying party of `kind` trusting the world's issuer.
pub(crate) fn verifier(w: &World, kind: RpKind) -> Verifier {
    let issuers = vec![TrustedIssuer {
        id: ISSUER_ID.into(),
        iaca: w.issuer.pki().iaca.cert().clone(),
    }];
    let cfg = VerifierConfig::new(kind, format!("https://{}.example", kind.key()), issuers);
    let mut rng = ChaCha20Rng::seed_from_u64(kind as u64 + 100);
    Verifier::new(cfg, protocol::crypto::generate_signing_key(&mut rng))
}

pub(crate) fn registry(v: &Verifier) -> VerifierRegistry {
    let mut r = VerifierRegistry::new();
    r.register(v.config().id.clone(), *v.verifying_key());
    r
}

/// What happened in one presentation.
#[derive(Debug, Default)]
pub(crate) struct Run {
    pub(crate) state: Option<PresentState>,
    pub(crate) shown: Vec<UiEvent>,
    pub(crate) events: Vec<Event>,
    pub(crate) presented: Option<Vec<String>>,
    /// Every request the phone sent: (endpoint, body).
    pub(crate) sent: Vec<(Endpoint, Vec<u8>)>,
}

impl Run {
    pub(crate) fn refusal(&self) -> Option<String> {
        self.events.iter().rev().find_map(|e| match e {
            Event::Refused { refusal, .. } => Some(refusal.key().to_owned()),
            Event::Rejected(m) => Some(format!("m900_{}", m.errcode)),
            _ => None,
        })
    }

    pub(crate) fn accepted(&self) -> Option<&sim_verifier::Presentation> {
        self.events.iter().find_map(|e| match e {
            Event::Accepted(p) => Some(p),
            _ => None,
        })
    }
}

/// Handle one request, fetching the status list from the issuer when the verifier asks.
pub(crate) fn handle(
    v: &mut Verifier,
    issuer: &mut Issuer,
    endpoint: Endpoint,
    body: &[u8],
    rng: &mut ChaCha20Rng,
    now: i64,
) -> (HttpReply, Event) {
    for _ in 0..3 {
        match v.handle(endpoint, body, rng, now) {
            Handled::Reply { reply, event } => return (reply, event),
            Handled::NeedStatusList { uri } => {
                let id: u64 = uri.rsplit('/').next().unwrap().parse().unwrap();
                let token = issuer.status_list_token(id, now).unwrap();
                v.add_status_list(&uri, &token, now).unwrap();
            }
        }
    }
    panic!("the verifier kept asking for a status list");
}

/// The counter's screen for a new transaction.
pub(crate) fn counter(v: &mut Verifier, rng: &mut ChaCha20Rng, now: i64) -> GrayImage {
    let m200 = v.open(rng, now);
    protocol::qr::screen(&m200.to_qr_text()).unwrap()
}

/// Present the world's mobile ID at `v` at `now`; `alter` may edit each request body before
/// the verifier sees it.
pub(crate) fn present_with(
    w: &mut World,
    v: &mut Verifier,
    now: i64,
    consent: bool,
    mut alter: impl FnMut(Endpoint, &mut Vec<u8>),
) -> Run {
    let mut vrng = ChaCha20Rng::seed_from_u64(77);
    let screen = counter(v, &mut vrng, now);
    let mut flow = PresentFlow::new(PresentConfig {
        verifiers: registry(v),
        app_pin: PIN.into(),
    });
    let mut run = Run::default();
    let mut events = vec![PresentEvent::Start];
    while !events.is_empty() {
        for e in std::mem::take(&mut events) {
            flow.handle(e, now, &mut w.rng, &w.wallet, &mut w.keystore);
        }
        while let Some(out) = flow.poll() {
            match out {
                PresentOutput::Show(e) => {
                    match &e {
                        UiEvent::ScanVerifierQr => events.push(
                            match Camera::new()
                                .scan(&image::DynamicImage::ImageLuma8(screen.clone()))
                            {
                                Ok(t) => PresentEvent::Scanned(t),
                                Err(_) => PresentEvent::ScanFailed,
                            },
                        ),
                        UiEvent::ConsentRequested { .. } => {
                            events.push(PresentEvent::Consent(consent))
                        }
                        _ => {}
                    }
                    run.shown.push(e);
                }
                PresentOutput::Post { url, mut body } => {
                    let path = url.split_once(".example").map(|(_, p)| p).unwrap_or("");
                    let endpoint = Endpoint::from_path(path).expect("a mip path");
                    alter(endpoint, &mut body);
                    run.sent.push((endpoint, body.clone()));
                    let (reply, event) = handle(v, &mut w.issuer, endpoint, &body, &mut vrng, now);
                    run.events.push(event);
                    events.push(PresentEvent::Answer(Ok(reply.to_body())));
                }
                PresentOutput::Presented { elements, .. } => run.presented = Some(elements),
            }
        }
    }
    run.state = Some(flow.state());
    run
}

pub(crate) fn present(w: &mut World, v: &mut Verifier, now: i64) -> Run {
    present_with(w, v, now, true, |_, _| {})
}

#[test]
fn each_kind_of_relying_party_receives_exactly_what_it_asked_for() {
    let mut w = world();
    for kind in RpKind::ALL {
        let mut v = verifier(&w, kind);
        let run = present(&mut w, &mut v, APRIL + 3600);
        assert_eq!(
            run.state,
            Some(PresentState::Done),
            "{kind}: {:?}",
            run.shown
        );
        let accepted = run.accepted().expect("accepted");
        let got: BTreeSet<&str> = accepted.elements.keys().map(String::as_str).collect();
        let (a, p) = kind.requested();
        let asked: BTreeSet<&str> = a.iter().chain(p).copied().collect();
        assert_eq!(got, asked, "{kind}");
        assert_eq!(accepted.issuer, ISSUER_ID);
        assert!(matches!(run.shown.last(), Some(UiEvent::Presented { .. })));
        assert_eq!(v.counters().accepted, 1);
    }
}

#[test]
fn the_sealed_vp_holds_no_element_the_verifier_did_not_ask_for() {
    // Open the VP the way the verifier does (its transaction key is not reachable from
    // outside), so check the plaintext on the phone's side: the DeviceResponse the phone
    // sealed carries only the age check's one element.
    let mut w = world();
    let mut v = verifier(&w, RpKind::AgeCheck);
    let run = present(&mut w, &mut v, APRIL + 60);
    let p = run.accepted().unwrap();
    assert_eq!(
        p.elements.keys().collect::<Vec<_>>(),
        [protocol::mdoc::element::AGE_OVER_19]
    );
    let m400 = &run.sent.iter().find(|(e, _)| *e == Endpoint::Vp).unwrap().1;
    let data = match mip::decode_request(m400, mip::Cmd::M400).unwrap() {
        mip::Message::M400(m) => m.vp.data,
        other => panic!("{other:?}"),
    };
    // 65-byte ephemeral key, the ciphertext, a 16-byte tag: a full identity would be kilobytes
    // (the portrait alone); one boolean element keeps the VP small.
    assert!(data.len() / 2 < 2_500, "{} bytes", data.len() / 2);
}

#[test]
fn a_declined_consent_is_reported_to_the_verifier_and_shows_nothing() {
    let mut w = world();
    let mut v = verifier(&w, RpKind::Bank);
    let run = present_with(&mut w, &mut v, APRIL + 60, false, |_, _| {});
    assert_eq!(run.state, Some(PresentState::Failed));
    assert!(run.accepted().is_none());
    assert!(run.events.iter().any(|e| matches!(e, Event::PhoneError(_))));
    assert!(!run.sent.iter().any(|(e, _)| *e == Endpoint::Vp));
}
