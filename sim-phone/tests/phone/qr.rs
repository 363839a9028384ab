//! QR download at the community center, end to end: the clerk checks the plastic card, the
//! desk shows the offer as a QR image, the phone photographs it, the holder types the code.

use std::fmt::Write as _;

use protocol::oid4vci::{ErrorResponse, TokenRequest};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sim_issuer::issuer::{CredentialStatus, DeskOffer, InPersonCheck, Issuer, IssuerConfig};
use sim_issuer::policy::Policy;
use sim_issuer::registry::{CardState, PhoneRegistration, Resident, ResidentId};
use sim_phone::{
    Camera, IssueConfig, IssueEvent, IssueFlow, IssueOutput, IssueState, IssuerReply,
    IssuerRequest, Keystore, MobileId, UiEvent,
};

const APRIL: i64 = 1_743_476_400;
const PHONE: &str = "010-1234-5678";
const RRN: &str = "900101-1234568";

fn issuer() -> Issuer {
    let mut i = Issuer::new(
        3,
        IssuerConfig::default(),
        Policy::default_rollout(),
        APRIL - 400 * 86_400,
    )
    .unwrap();
    i.register(Resident {
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
    i
}

fn desk(i: &mut Issuer) -> DeskOffer {
    i.desk_offer(
        "desk-1",
        ResidentId(1),
        "11110",
        &InPersonCheck {
            presented_rrn: RRN.parse().unwrap(),
            face_matches: true,
        },
        APRIL,
    )
    .unwrap()
}

fn call(i: &mut Issuer, key: &str, req: &IssuerRequest, log: &mut String) -> IssuerReply {
    let err = |e: sim_issuer::Error| {
        IssuerReply::Error(ErrorResponse {
            error: e.code(),
            error_description: Some(e.to_string()),
        })
    };
    let reply = match req {
        IssuerRequest::Offer { uri } => {
            let _ = writeln!(log, "phone→issuer GET /credential-offer/<id>");
            i.offer_by_reference(uri, APRIL)
                .map_or_else(err, IssuerReply::Offer)
        }
        IssuerRequest::Nonce => {
            let _ = writeln!(log, "phone→issuer POST /nonce");
            i.nonce(APRIL).map_or_else(err, IssuerReply::Nonce)
        }
        IssuerRequest::Token(t) => {
            let tx = matches!(
                t,
                TokenRequest::PreAuthorized {
                    tx_code: Some(_),
                    ..
                }
            );
            let _ = writeln!(
                log,
                "phone→issuer POST /token grant=pre-authorized_code pre-authorized_code=<redacted> tx_code={}",
                if tx { "<redacted>" } else { "none" }
            );
            i.token(key, t, APRIL).map_or_else(err, IssuerReply::Token)
        }
        IssuerRequest::Credential {
            access_token,
            request,
        } => {
            let _ = writeln!(log, "phone→issuer POST /credential proofs.jwt=<redacted>");
            i.credential(key, access_token, request, APRIL)
                .map_or_else(err, IssuerReply::Credential)
        }
        _ => IssuerReply::Unreachable("unsupported".into()),
    };
    let shown = match &reply {
        IssuerReply::Error(e) => format!(
            "4xx {:?}: {}",
            e.error,
            e.error_description.clone().unwrap_or_default()
        ),
        IssuerReply::Credential(_) => "200 credential".into(),
        _ => "200".into(),
    };
    let _ = writeln!(log, "    issuer→phone {shown}");
    reply
}

/// Run the flow, feeding `typed` transaction codes one per prompt.
fn download(
    i: &mut Issuer,
    png: &[u8],
    typed: &[&str],
) -> (IssueState, Vec<UiEvent>, Option<MobileId>, String) {
    let mut flow = IssueFlow::qr(IssueConfig {
        issuer: i.config().base_url.clone(),
        phone_id: PHONE.into(),
        csca_roots: i.pki().country_roots(),
        iaca_roots: i.pki().mdoc_roots(),
        app_pin: "135790".into(),
    });
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let mut keystore = Keystore::new();
    let mut log = String::new();
    let mut shown = Vec::new();
    let mut issued = None;
    let mut typed = typed.iter();
    let mut events = vec![IssueEvent::Start];
    let now = APRIL as u64;
    while !events.is_empty() {
        for e in std::mem::take(&mut events) {
            flow.handle(e, now, &mut rng, &mut keystore);
        }
        while let Some(out) = flow.poll() {
            match out {
                IssueOutput::Show(e) => {
                    let _ = writeln!(log, "screen: {e}");
                    match &e {
                        UiEvent::ScanQr => {
                            let _ = writeln!(log, "camera: photographs the desk's QR image");
                            events.push(match Camera::new().scan_bytes(png) {
                                Ok(text) => IssueEvent::Scanned(text),
                                Err(_) => IssueEvent::ScanFailed,
                            });
                        }
                        UiEvent::EnterTxCode { .. } => {
                            if let Some(code) = typed.next() {
                                let _ = writeln!(log, "holder types the code");
                                events.push(IssueEvent::TxCode(code.to_string()));
                            }
                        }
                        _ => {}
                    }
                    shown.push(e);
                }
                IssueOutput::Call {
                    idempotency_key,
                    request,
                } => events.push(IssueEvent::Issuer(call(
                    i,
                    &idempotency_key,
                    &request,
                    &mut log,
                ))),
                IssueOutput::Issued(m) => issued = Some(*m),
                _ => {}
            }
        }
    }
    (flow.state(), shown, issued, log)
}

fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect()
}

#[test]
fn an_older_card_holder_gets_the_mdoc_through_the_desks_qr_image() {
    let mut i = issuer();
    let offer = desk(&mut i);
    let png = sim_issuer::qr::offer_qr_png(&offer.uri).unwrap();
    let bad = wrong(&offer.tx_code);
    let (state, shown, issued, log) = download(&mut i, &png, &[&bad, &offer.tx_code]);
    assert_eq!(state, IssueState::Done, "{log}");
    assert!(
        shown.contains(&UiEvent::WrongTxCode { attempts_left: 2 }),
        "{log}"
    );
    let id = issued.unwrap();
    assert!(matches!(
        i.status(&id.document_number, APRIL),
        Ok(CredentialStatus::Valid { .. })
    ));
    insta::assert_snapshot!("qr_download_transcript", log);
}

#[test]
fn three_wrong_codes_burn_the_offer_and_the_holder_is_told_to_return_to_the_desk() {
    let mut i = issuer();
    let offer = desk(&mut i);
    let png = sim_issuer::qr::offer_qr_png(&offer.uri).unwrap();
    let bad = wrong(&offer.tx_code);
    let (state, shown, issued, log) = download(&mut i, &png, &[&bad, &bad, &bad, &offer.tx_code]);
    assert_eq!(state, IssueState::Failed, "{log}");
    assert!(issued.is_none());
    let last = shown.last().unwrap().to_string();
    assert!(
        last.contains("burned") && last.ends_with("Ask the clerk for a new one"),
        "{last}"
    );
}

#[test]
fn a_qr_code_that_is_not_an_offer_is_refused_and_the_phone_waits_for_another_scan() {
    let mut i = issuer();
    let png = sim_issuer::qr::offer_qr_png("https://example.com/not-an-offer").unwrap();
    let (state, shown, _, _) = download(&mut i, &png, &[]);
    assert_eq!(state, IssueState::Scan);
    assert_eq!(shown.last(), Some(&UiEvent::NotAnOffer));
}

#[test]
fn a_qr_code_naming_the_offer_by_reference_is_fetched_from_the_issuer_then_redeemed() {
    let mut i = issuer();
    let offer = desk(&mut i);
    assert!(offer.reference_uri.len() < offer.uri.len() / 2);
    let png = sim_issuer::qr::offer_qr_png(&offer.reference_uri).unwrap();
    let (state, _, issued, log) = download(&mut i, &png, &[&offer.tx_code]);
    assert_eq!(state, IssueState::Done, "{log}");
    assert!(log.contains("GET /credential-offer/"), "{log}");
    assert!(issued.is_some());
    // Spent: fetching it again says so, and the phone tells the holder to go back.
    let (state, shown, _, log) = download(&mut i, &png, &[&offer.tx_code]);
    assert_eq!(state, IssueState::Failed, "{log}");
    assert!(
        matches!(shown.last(), Some(UiEvent::OfferUnusable { .. })),
        "{shown:?}"
    );
}

#[test]
fn an_offer_by_reference_on_another_host_is_not_fetched() {
    let text = protocol::oid4vci::CredentialOffer::reference_uri(
        "https://evil.example/credential-offer/abc",
    );
    assert!(sim_phone::read_offer_uri(&text, "https://issuer.midsim.invalid").is_err());
    let lookalike = protocol::oid4vci::CredentialOffer::reference_uri(
        "https://issuer.midsim.invalid.evil.example/credential-offer/abc",
    );
    assert!(sim_phone::read_offer_uri(&lookalike, "https://issuer.midsim.invalid").is_err());
}
