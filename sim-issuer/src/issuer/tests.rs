use std::sync::{Arc, Mutex};

use p256::ecdsa::SigningKey;
use protocol::mdoc::{self, IssuerSigned};
use protocol::oid4vci::{self, CredentialRequest, Proofs, TokenRequest};
use protocol::status_list::StatusRef;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use time::macros::date;

use super::*;
use crate::policy::Refusal;
use crate::registry::PhoneRegistration;
use crate::time::local_midnight;

const PHONE: &str = "010-1234-5678";

/// Noon KST on a day.
fn at(d: Date) -> UnixTime {
    local_midnight(d, time::macros::offset!(+9)) + 12 * 3600
}

fn now() -> UnixTime {
    at(date!(2025 - 04 - 01))
}

fn resident(id: u64, rrn: &str, district: &str, card: CardState) -> Resident {
    Resident {
        id: ResidentId(id),
        family_name: "김".into(),
        given_name: "민준".into(),
        rrn: rrn.parse().unwrap(),
        district: district.into(),
        card,
        phones: vec![
            PhoneRegistration {
                phone_id: PHONE.into(),
                in_own_name: true,
            },
            PhoneRegistration {
                phone_id: "010-9999-0000".into(),
                in_own_name: false,
            },
            PhoneRegistration {
                phone_id: "010-2222-3333".into(),
                in_own_name: true,
            },
        ],
    }
}

fn plastic() -> CardState {
    CardState::Plastic {
        issued: date!(2010 - 01 - 01),
        reported_lost: false,
    }
}

/// An issuer with a plastic-card holder (1, Seoul) and a resident with no card yet (2).
fn issuer() -> Issuer {
    let mut i = Issuer::new(
        7,
        IssuerConfig::default(),
        Policy::default_rollout(),
        now() - 400 * 86_400,
    )
    .unwrap();
    i.register(resident(1, "900101-1234568", "11110", plastic()))
        .unwrap();
    i.register(resident(2, "080505-3000000", "11110", CardState::None))
        .unwrap();
    i
}

fn check(rrn: &str) -> InPersonCheck {
    InPersonCheck {
        presented_rrn: rrn.parse().unwrap(),
        face_matches: true,
    }
}

fn device(seed: u64) -> SigningKey {
    SigningKey::random(&mut ChaCha20Rng::seed_from_u64(seed))
}

fn pre_auth(offer: &DeskOffer, tx: &str, phone: &str) -> TokenRequest {
    TokenRequest::PreAuthorized {
        pre_authorized_code: offer
            .offer
            .grants
            .pre_authorized_code
            .pre_authorized_code
            .clone(),
        tx_code: Some(tx.into()),
        phone_id: phone.into(),
    }
}

fn credential_request(i: &mut Issuer, device: &SigningKey, t: UnixTime) -> CredentialRequest {
    let nonce = i.nonce(t).unwrap().c_nonce;
    CredentialRequest {
        credential_configuration_id: oid4vci::MRRC_CONFIGURATION_ID.into(),
        proofs: Proofs {
            jwt: vec![oid4vci::sign_proof_jwt(
                device,
                &i.config().base_url,
                &nonce,
                t,
            )],
        },
    }
}

/// The whole QR route for resident 1 on `phone`; gives the credential response.
fn qr_issue(
    i: &mut Issuer,
    key: &str,
    phone: &str,
    dev: &SigningKey,
    t: UnixTime,
) -> CredentialResponse {
    let offer = i
        .desk_offer(
            &format!("{key}-offer"),
            ResidentId(1),
            "11110",
            &check("900101-1234568"),
            t,
        )
        .unwrap();
    let tok = i
        .token(
            &format!("{key}-token"),
            &pre_auth(&offer, &offer.tx_code, phone),
            t,
        )
        .unwrap();
    let req = credential_request(i, dev, t);
    i.credential(&format!("{key}-cred"), &tok.access_token, &req, t)
        .unwrap()
}

fn decode(i: &Issuer, resp: &CredentialResponse, t: UnixTime) -> mdoc::VerifiedMdoc {
    let bytes = oid4vci::from_b64url(&resp.credentials[0].credential, "credential").unwrap();
    IssuerSigned::from_cbor(&bytes)
        .unwrap()
        .verify(&i.pki().mdoc_roots(), mdoc::DOC_TYPE, t)
        .unwrap()
}

#[test]
fn qr_route_issues_an_mdoc_bound_to_the_device_key_that_verifies_to_the_iaca_root() {
    let mut i = issuer();
    let dev = device(1);
    let resp = qr_issue(&mut i, "a", PHONE, &dev, now());
    let v = decode(&i, &resp, now());
    assert_eq!(&v.device_key, dev.verifying_key());
    let els = &v.elements[mdoc::NAMESPACE];
    assert_eq!(
        els[mdoc::element::RRN_MASKED],
        ciborium::Value::Text("900101-1******".into())
    );
    assert_eq!(
        els[mdoc::element::DOCUMENT_NUMBER],
        ciborium::Value::Text(resp.document_number.clone())
    );
    assert_eq!(
        els[mdoc::element::EXPIRY_DATE],
        mdoc::full_date(date!(2028 - 03 - 31))
    );
    assert!(matches!(
        i.status(&resp.document_number, now()),
        Ok(CredentialStatus::Valid { .. })
    ));
}

#[test]
fn metadata_names_the_endpoints_and_the_mdoc_configuration() {
    let i = issuer();
    let m = i.metadata();
    assert_eq!(m.credential_issuer, i.config().base_url);
    let c = &m.credential_configurations_supported[oid4vci::MRRC_CONFIGURATION_ID];
    assert_eq!(c.format, "mso_mdoc");
    assert_eq!(c.doctype, mdoc::DOC_TYPE);
}

#[test]
fn desk_refuses_a_failed_in_person_check_and_the_wrong_jurisdiction_by_name() {
    let mut i = issuer();
    let mut c = check("900101-1234568");
    c.face_matches = false;
    assert_eq!(
        i.desk_offer("k1", ResidentId(1), "11110", &c, now()),
        Err(Error::InPersonCheckFailed(
            "photo does not match the person"
        ))
    );
    assert_eq!(
        i.desk_offer(
            "k2",
            ResidentId(1),
            "11110",
            &check("900101-2234567"),
            now()
        ),
        Err(Error::InPersonCheckFailed(
            "card does not belong to the resident"
        ))
    );
    // Phase 3 (Seoul from 2025-03-14): only the legal address's district until 03-28.
    let during = at(date!(2025 - 03 - 20));
    assert!(matches!(
        i.desk_offer(
            "k3",
            ResidentId(1),
            "26110",
            &check("900101-1234568"),
            during
        ),
        Err(Error::Refused(Refusal::OutsideJurisdiction { .. }))
    ));
    assert!(matches!(
        i.desk_offer(
            "k4",
            ResidentId(1),
            "11110",
            &check("900101-1234568"),
            at(date!(2025 - 03 - 13))
        ),
        Err(Error::Refused(Refusal::NotYetOpen { .. }))
    ));
}

#[test]
fn tx_code_guesses_are_bounded_then_the_offer_is_burned() {
    let mut i = issuer();
    let offer = i
        .desk_offer("o", ResidentId(1), "11110", &check("900101-1234568"), now())
        .unwrap();
    let wrong = if offer.tx_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(
        i.token("t1", &pre_auth(&offer, wrong, PHONE), now()),
        Err(Error::WrongTxCode { attempts_left: 2 })
    );
    assert_eq!(
        i.token("t2", &pre_auth(&offer, wrong, PHONE), now()),
        Err(Error::WrongTxCode { attempts_left: 1 })
    );
    assert_eq!(
        i.token("t3", &pre_auth(&offer, wrong, PHONE), now()),
        Err(Error::OfferBurned)
    );
    assert_eq!(
        i.token("t4", &pre_auth(&offer, &offer.tx_code, PHONE), now()),
        Err(Error::OfferBurned)
    );
}

#[test]
fn a_pre_authorized_code_is_single_use_and_short_lived() {
    let mut i = issuer();
    let offer = i
        .desk_offer("o", ResidentId(1), "11110", &check("900101-1234568"), now())
        .unwrap();
    assert_eq!(offer.expires_at, now() + 600);
    let late = offer.expires_at + 1;
    assert_eq!(
        i.token("t0", &pre_auth(&offer, &offer.tx_code, PHONE), late),
        Err(Error::OfferExpired)
    );
    i.token("t1", &pre_auth(&offer, &offer.tx_code, PHONE), now())
        .unwrap();
    assert_eq!(
        i.token("t2", &pre_auth(&offer, &offer.tx_code, PHONE), now()),
        Err(Error::OfferUsed)
    );
    let mut no_tx = pre_auth(&offer, "", PHONE);
    if let TokenRequest::PreAuthorized { tx_code, .. } = &mut no_tx {
        *tx_code = None;
    }
    assert_eq!(i.token("t3", &no_tx, now()), Err(Error::OfferUsed));
}

#[test]
fn only_a_phone_registered_in_the_holders_own_name_gets_a_token() {
    let mut i = issuer();
    let offer = i
        .desk_offer("o", ResidentId(1), "11110", &check("900101-1234568"), now())
        .unwrap();
    assert_eq!(
        i.token(
            "t1",
            &pre_auth(&offer, &offer.tx_code, "010-9999-0000"),
            now()
        ),
        Err(Error::PhoneNotInOwnName)
    );
    assert_eq!(
        i.token(
            "t2",
            &pre_auth(&offer, &offer.tx_code, "010-0000-0000"),
            now()
        ),
        Err(Error::PhoneNotRegistered)
    );
}

#[test]
fn credential_endpoint_refuses_bad_tokens_proofs_and_nonces_by_name() {
    let mut i = issuer();
    let dev = device(1);
    let offer = i
        .desk_offer("o", ResidentId(1), "11110", &check("900101-1234568"), now())
        .unwrap();
    let tok = i
        .token("t", &pre_auth(&offer, &offer.tx_code, PHONE), now())
        .unwrap();
    let req = credential_request(&mut i, &dev, now());
    assert_eq!(
        i.credential("c0", "nope", &req, now()),
        Err(Error::UnknownToken)
    );
    assert_eq!(
        i.credential("c1", &tok.access_token, &req, now() + 301),
        Err(Error::TokenExpired)
    );
    let mut other = req.clone();
    other.credential_configuration_id = "x".into();
    assert_eq!(
        i.credential("c2", &tok.access_token, &other, now()),
        Err(Error::UnknownConfiguration("x".into()))
    );
    let mut none = req.clone();
    none.proofs.jwt.clear();
    assert_eq!(
        i.credential("c3", &tok.access_token, &none, now()),
        Err(Error::ProofRequired)
    );
    let forged = CredentialRequest {
        proofs: Proofs {
            jwt: vec![oid4vci::sign_proof_jwt(
                &dev,
                &i.config().base_url,
                "made-up",
                now(),
            )],
        },
        ..req.clone()
    };
    assert_eq!(
        i.credential("c4", &tok.access_token, &forged, now()),
        Err(Error::UnknownNonce)
    );
    let wrong_aud = {
        let n = i.nonce(now()).unwrap().c_nonce;
        CredentialRequest {
            proofs: Proofs {
                jwt: vec![oid4vci::sign_proof_jwt(
                    &dev,
                    "https://evil.invalid",
                    &n,
                    now(),
                )],
            },
            ..req.clone()
        }
    };
    let e = i
        .credential("c5", &tok.access_token, &wrong_aud, now())
        .unwrap_err();
    assert_eq!(e.code(), oid4vci::ErrorCode::InvalidProof);
    // Refusals above spent nothing: the real request still works, once.
    i.credential("c6", &tok.access_token, &req, now()).unwrap();
    assert_eq!(
        i.credential("c7", &tok.access_token, &req, now()),
        Err(Error::TokenUsed)
    );
    let tok2 = {
        let o = i
            .desk_offer(
                "o2",
                ResidentId(1),
                "11110",
                &check("900101-1234568"),
                now(),
            )
            .unwrap();
        i.token("t2", &pre_auth(&o, &o.tx_code, PHONE), now())
            .unwrap()
    };
    assert_eq!(
        i.credential("c8", &tok2.access_token, &req, now()),
        Err(Error::NonceUsed)
    );
}

#[test]
fn issuing_to_a_new_phone_revokes_the_old_copy() {
    let mut i = issuer();
    let first = qr_issue(&mut i, "a", PHONE, &device(1), now());
    let second = qr_issue(&mut i, "b", "010-2222-3333", &device(2), now() + 60);
    assert_eq!(
        i.status(&first.document_number, now() + 61),
        Ok(CredentialStatus::Revoked {
            reason: RevocationReason::Superseded,
            at: now() + 60
        })
    );
    assert!(matches!(
        i.status(&second.document_number, now() + 61),
        Ok(CredentialStatus::Valid { .. })
    ));
    let list = i.status_list(now() + 61);
    assert_eq!(list.len(), 2);
    assert_eq!(
        list.iter()
            .filter(|e| matches!(e.status, CredentialStatus::Valid { .. }))
            .count(),
        1,
        "one active mobile ID per person"
    );
}

#[test]
fn a_lost_card_revokes_the_mobile_id_and_blocks_new_ones() {
    let mut i = issuer();
    let resp = qr_issue(&mut i, "a", PHONE, &device(1), now());
    i.report_card_lost("lost", ResidentId(1), now() + 5)
        .unwrap();
    assert_eq!(
        i.status(&resp.document_number, now() + 6),
        Ok(CredentialStatus::Revoked {
            reason: RevocationReason::CardReportedLost,
            at: now() + 5
        })
    );
    assert_eq!(
        i.desk_offer(
            "o",
            ResidentId(1),
            "11110",
            &check("900101-1234568"),
            now() + 10
        ),
        Err(Error::Refused(Refusal::CardReportedLost))
    );
}

#[test]
fn a_lost_phone_revokes_only_that_copy() {
    let mut i = issuer();
    let resp = qr_issue(&mut i, "a", PHONE, &device(1), now());
    i.report_phone_lost("lost", &resp.document_number, now() + 5)
        .unwrap();
    assert_eq!(
        i.status(&resp.document_number, now() + 6),
        Ok(CredentialStatus::Revoked {
            reason: RevocationReason::PhoneReportedLost,
            at: now() + 5
        })
    );
    assert!(!i
        .registry()
        .get(ResidentId(1))
        .unwrap()
        .card
        .reported_lost());
    // The holder can get a new copy on the next visit.
    qr_issue(&mut i, "b", "010-2222-3333", &device(2), now() + 60);
    assert_eq!(
        i.report_phone_lost("x", "M99999999999", now()),
        Err(Error::UnknownDocument)
    );
}

#[test]
fn a_mobile_id_expires_after_three_years_and_can_be_reissued() {
    let mut i = issuer();
    let resp = qr_issue(&mut i, "a", PHONE, &device(1), now());
    let later = now() + 3 * 365 * 86_400 + 1;
    assert!(matches!(
        i.status(&resp.document_number, later),
        Ok(CredentialStatus::Expired { .. })
    ));
    let again = qr_issue(&mut i, "b", PHONE, &device(1), later);
    assert!(matches!(
        i.status(&again.document_number, later),
        Ok(CredentialStatus::Valid { .. })
    ));
}

#[test]
fn a_retried_request_gets_the_first_answer_and_issues_once() {
    let mut i = issuer();
    let dev = device(1);
    let offer = i
        .desk_offer("o", ResidentId(1), "11110", &check("900101-1234568"), now())
        .unwrap();
    assert_eq!(
        i.desk_offer("o", ResidentId(1), "11110", &check("900101-1234568"), now()),
        Ok(offer.clone())
    );
    let tok = i
        .token("t", &pre_auth(&offer, &offer.tx_code, PHONE), now())
        .unwrap();
    assert_eq!(
        i.token("t", &pre_auth(&offer, &offer.tx_code, PHONE), now()),
        Ok(tok.clone())
    );
    let req = credential_request(&mut i, &dev, now());
    let a = i.credential("c", &tok.access_token, &req, now()).unwrap();
    let b = i.credential("c", &tok.access_token, &req, now()).unwrap();
    assert_eq!(a, b);
    assert_eq!(i.credentials().len(), 1);
    // Same key, other content.
    assert_eq!(
        i.token("t", &pre_auth(&offer, "999999", PHONE), now()),
        Err(Error::IdempotencyKeyReused)
    );
    // A retried refusal is the same refusal, and counts one guess only.
    let o2 = i
        .desk_offer(
            "o2",
            ResidentId(1),
            "11110",
            &check("900101-1234568"),
            now(),
        )
        .unwrap();
    let wrong = if o2.tx_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        assert_eq!(
            i.token("w", &pre_auth(&o2, wrong, PHONE), now()),
            Err(Error::WrongTxCode { attempts_left: 2 })
        );
    }
}

#[test]
fn concurrent_duplicate_credential_requests_issue_exactly_once() {
    let mut i = issuer();
    let dev = device(1);
    let offer = i
        .desk_offer("o", ResidentId(1), "11110", &check("900101-1234568"), now())
        .unwrap();
    let tok = i
        .token("t", &pre_auth(&offer, &offer.tx_code, PHONE), now())
        .unwrap();
    let req = credential_request(&mut i, &dev, now());
    let shared = Arc::new(Mutex::new(i));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let shared = Arc::clone(&shared);
            let req = req.clone();
            let token = tok.access_token.clone();
            std::thread::spawn(move || {
                shared
                    .lock()
                    .unwrap()
                    .credential("dup", &token, &req, now())
            })
        })
        .collect();
    let answers: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(answers.iter().all(|a| a == &answers[0]));
    assert!(answers[0].is_ok());
    assert_eq!(shared.lock().unwrap().credentials().len(), 1);
}

// ---- IC route ----

/// Give resident 1 an IC card at the desk; returns its data.
fn ic_card(i: &mut Issuer, key: &str) -> IcCardReceipt {
    i.desk_ic_card(key, ResidentId(1), now()).unwrap()
}

fn evidence(i: &mut Issuer, card: &CardPersonalisation, t: UnixTime) -> TokenRequest {
    let nonce = i.nonce(t).unwrap().c_nonce;
    let aa_key = SigningKey::from_bytes(&card.aa_private_key.into()).unwrap();
    let sig = protocol::aa::sign_challenge(&aa_key, &oid4vci::aa_challenge(&nonce));
    TokenRequest::CardEvidence {
        dg1: oid4vci::b64url(&card.dg1),
        dg15: oid4vci::b64url(&card.dg15),
        sod: oid4vci::b64url(&card.sod),
        nonce,
        aa_signature: oid4vci::b64url(&sig),
        phone_id: PHONE.into(),
    }
}

#[test]
fn ic_card_fee_is_ten_thousand_won_for_a_swap_and_free_for_a_first_card() {
    let mut i = issuer();
    assert_eq!(ic_card(&mut i, "swap").fee_won, 10_000);
    let first = i.desk_ic_card("first", ResidentId(2), now()).unwrap();
    assert_eq!(first.fee_won, 0);
    assert_eq!(
        i.registry().get(ResidentId(2)).unwrap().card.kind(),
        crate::policy::CardKind::Ic
    );
    assert!(format!("{:?}", first.card).contains("<redacted>"));
}

#[test]
fn ic_route_issues_after_passive_and_active_authentication() {
    let mut i = issuer();
    let card = ic_card(&mut i, "card").card;
    let req = evidence(&mut i, &card, now());
    let tok = i.token("t", &req, now()).unwrap();
    let dev = device(3);
    let creq = credential_request(&mut i, &dev, now());
    let resp = i.credential("c", &tok.access_token, &creq, now()).unwrap();
    assert_eq!(&decode(&i, &resp, now()).device_key, dev.verifying_key());
}

#[test]
fn ic_route_rejects_clones_tampered_groups_replays_stale_nonces_and_old_cards() {
    let mut i = issuer();
    let card = ic_card(&mut i, "card").card;

    // A clone: same files, another chip key.
    let mut clone = card.clone();
    clone.aa_private_key = device(99).to_bytes().into();
    let req = evidence(&mut i, &clone, now());
    assert_eq!(
        i.token("clone", &req, now()),
        Err(Error::Protocol(protocol::Error::BadSignature(
            "Active Authentication"
        )))
    );

    // A tampered DG1 (one byte of the name).
    let mut tampered = card.clone();
    let last = tampered.dg1.len() - 1;
    tampered.dg1[last] ^= 1;
    let req = evidence(&mut i, &tampered, now());
    assert_eq!(
        i.token("tampered", &req, now()),
        Err(Error::Protocol(protocol::Error::HashMismatch(1)))
    );

    // A replay of good evidence under a new idempotency key.
    let good = evidence(&mut i, &card, now());
    i.token("good", &good, now()).unwrap();
    assert_eq!(i.token("replay", &good, now()), Err(Error::NonceUsed));

    // A stale nonce.
    let stale = evidence(&mut i, &card, now());
    assert_eq!(
        i.token("stale", &stale, now() + 301),
        Err(Error::NonceExpired)
    );

    // The previous card after a replacement.
    let _new = ic_card(&mut i, "card2");
    let old = evidence(&mut i, &card, now());
    assert_eq!(i.token("old", &old, now()), Err(Error::CardNotCurrent));
}

#[test]
fn ic_route_online_is_refused_before_nationwide_opening() {
    let mut i = issuer();
    let card = ic_card(&mut i, "card").card;
    let t = at(date!(2025 - 03 - 20));
    let req = evidence(&mut i, &card, t);
    assert!(matches!(
        i.token("early", &req, t),
        Err(Error::Refused(Refusal::OnlineNotYetOpen { .. }))
    ));
}

#[test]
fn every_refusal_maps_to_an_oauth_error_code() {
    use oid4vci::ErrorCode as C;
    assert_eq!(Error::OfferBurned.code(), C::InvalidGrant);
    assert_eq!(Error::NonceUsed.code(), C::InvalidNonce);
    assert_eq!(Error::TokenExpired.code(), C::InvalidToken);
    assert_eq!(
        Error::Refused(Refusal::NotKorean).code(),
        C::CredentialRequestDenied
    );
    assert_eq!(Error::IdempotencyKeyReused.code(), C::IdempotencyKeyReused);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_token_requests_never_panic_and_are_refused_with_a_code(
        code in "\\PC{0,50}", tx in proptest::option::of("[0-9]{0,8}"),
        dg in "[A-Za-z0-9_-]{0,80}", nonce in "\\PC{0,30}", ev: bool,
    ) {
        let mut i = issuer();
        let req = if ev {
            TokenRequest::CardEvidence {
                dg1: dg.clone(), dg15: dg.clone(), sod: dg.clone(), nonce,
                aa_signature: dg, phone_id: PHONE.into(),
            }
        } else {
            TokenRequest::PreAuthorized { pre_authorized_code: code, tx_code: tx, phone_id: PHONE.into() }
        };
        let e = i.token("k", &req, now()).unwrap_err();
        let _ = e.code();
        proptest::prop_assert!(i.credentials().is_empty());
    }
}

#[test]
fn a_produced_card_passes_passive_authentication_over_every_data_group() {
    let mut i = issuer();
    let card = ic_card(&mut i, "card").card;
    let report = protocol::sod::passive_authentication(
        &card.sod,
        &[
            (1, &card.dg1),
            (2, &card.dg2),
            (14, &card.dg14),
            (15, &card.dg15),
        ],
        &i.pki().country_roots(),
        now() as u64,
    )
    .unwrap();
    assert_eq!(report.checked, [1, 2, 14, 15]);
    assert!(report.not_supplied.is_empty());
    let holder = protocol::lds::HolderData::decode(&card.dg1).unwrap();
    assert_eq!(holder.rrn, "9001011234568");
    assert_eq!(holder.region_code, "11");
}

#[test]
fn metadata_json_snapshot() {
    let i = issuer();
    insta::assert_snapshot!(serde_json::to_string_pretty(&i.metadata()).unwrap());
}

#[test]
fn spent_offers_tokens_and_idempotency_records_are_dropped_after_the_retention_window() {
    let mut i = issuer();
    let dev = device(1);
    let t0 = now();
    let first = qr_issue(&mut i, "k1", PHONE, &dev, t0);
    let r = i.retained();
    assert_eq!((r.offers, r.tokens, r.idempotency), (1, 1, 3));
    // Within the window a retry still gets the first answer (the same one-time code).
    let offer_again = |i: &mut Issuer, t| {
        i.desk_offer(
            "k1-offer",
            ResidentId(1),
            "11110",
            &check("900101-1234568"),
            t,
        )
    };
    let before = offer_again(&mut i, t0 + 60).unwrap();
    assert_eq!(i.retained().offers, 1);
    // A day and an hour later the next call drops them; the credential itself stays.
    let later = t0 + i.config().retention + 3_600;
    let _ = qr_issue(&mut i, "k2", "010-2222-3333", &dev, later);
    let r = i.retained();
    assert_eq!(
        (r.offers, r.tokens, r.idempotency),
        (1, 1, 3),
        "only k2's records are left"
    );
    assert_eq!((r.credentials, r.active), (2, 1));
    assert!(i.credentials().contains_key(&first.document_number));
    // After the window the old key is a new request: a fresh offer, not the old code.
    let after = offer_again(&mut i, later + 60).unwrap();
    assert_ne!(after.uri, before.uri);
}

// ---- Token Status Lists ------------------------------------------------------------------------

/// Fetch status list `r.uri`'s token from the issuer at `t`, verify it with the IACA root as
/// a relying party would, and give the entry of `r`.
fn status_seen_by_a_verifier(i: &mut Issuer, r: &StatusRef, t: UnixTime) -> u8 {
    let id: u64 = r.uri.rsplit('/').next().unwrap().parse().unwrap();
    let cwt = i.status_list_token(id, t).unwrap();
    protocol::status_list::verify(&cwt, &i.pki().mdoc_roots(), t, &r.uri)
        .unwrap()
        .status_of(r)
        .unwrap()
}

fn mso_status(i: &Issuer, resp: &CredentialResponse, t: UnixTime) -> StatusRef {
    let r = decode(i, resp, t).status.expect("the MSO has a status");
    assert_eq!(i.status_ref(&resp.document_number), Some(r.clone()));
    r
}

#[test]
fn every_credential_points_into_the_status_list_and_each_revocation_makes_it_invalid() {
    use protocol::status_list::{INVALID, VALID};
    let mut i = issuer();
    let t = now();
    let a = qr_issue(&mut i, "a", PHONE, &device(1), t);
    let ra = mso_status(&i, &a, t);
    assert_eq!(
        ra,
        StatusRef {
            idx: 0,
            uri: "https://issuer.midsim.invalid/status-lists/1".into()
        }
    );
    assert_eq!(status_seen_by_a_verifier(&mut i, &ra, t), VALID);
    // Superseded: a copy on another phone revokes the first.
    let b = qr_issue(&mut i, "b", "010-2222-3333", &device(2), t + 60);
    let rb = mso_status(&i, &b, t + 60);
    assert_eq!((rb.idx, &rb.uri), (1, &ra.uri));
    assert_eq!(status_seen_by_a_verifier(&mut i, &ra, t + 61), INVALID);
    assert_eq!(status_seen_by_a_verifier(&mut i, &rb, t + 61), VALID);
    // Phone lost.
    i.report_phone_lost("pl", &b.document_number, t + 120)
        .unwrap();
    assert_eq!(status_seen_by_a_verifier(&mut i, &rb, t + 121), INVALID);
    // Card lost, on a new copy issued after the phone loss.
    let c = qr_issue(&mut i, "c", PHONE, &device(3), t + 180);
    let rc = mso_status(&i, &c, t + 180);
    assert_eq!(rc.idx, 2);
    assert_eq!(status_seen_by_a_verifier(&mut i, &rc, t + 181), VALID);
    i.report_card_lost("cl", ResidentId(1), t + 240).unwrap();
    assert_eq!(status_seen_by_a_verifier(&mut i, &rc, t + 241), INVALID);
    // A second report changes nothing, and the first reason and time stay.
    i.report_phone_lost("pl2", &c.document_number, t + 300)
        .unwrap();
    assert_eq!(
        i.status(&c.document_number, t + 301),
        Ok(CredentialStatus::Revoked {
            reason: RevocationReason::CardReportedLost,
            at: t + 240
        })
    );
    // The list agrees with the per-document status everywhere.
    let cwt = i.status_list_token(1, t + 301).unwrap();
    let list = protocol::status_list::verify(&cwt, &i.pki().mdoc_roots(), t + 301, &ra.uri)
        .unwrap()
        .list;
    assert_eq!(list.len(), STATUS_LIST_CAPACITY);
    assert_eq!(
        list.iter().take(4).collect::<Vec<_>>(),
        [INVALID, INVALID, INVALID, VALID]
    );
    assert_eq!(list.iter().filter(|&s| s != VALID).count(), 3);
}

#[test]
fn a_verifier_cache_keeps_the_old_list_within_its_ttl_and_takes_the_new_one_after() {
    use protocol::status_list::{self, StatusListCache, INVALID, VALID};
    let mut i = issuer();
    let t0 = now();
    let a = qr_issue(&mut i, "a", PHONE, &device(1), t0);
    let r = mso_status(&i, &a, t0);
    let roots = i.pki().mdoc_roots();
    let mut cache = StatusListCache::new();
    let v = status_list::verify(&i.status_list_token(1, t0).unwrap(), &roots, t0, &r.uri).unwrap();
    assert_eq!(
        (v.ttl, v.exp),
        (Some(STATUS_LIST_TTL), Some(t0 + STATUS_LIST_LIFETIME))
    );
    let until = cache.insert(v, t0);
    assert_eq!(until, t0 + STATUS_LIST_TTL as i64);
    i.report_phone_lost("lost", &a.document_number, t0 + 10)
        .unwrap();
    // Within the ttl the verifier still relies on what it fetched: VALID.
    let cached = cache.get(&r.uri, until - 1).expect("fresh");
    assert_eq!(cached.status_of(&r), Ok(VALID));
    // At the ttl it is stale; the fresh token says INVALID.
    assert!(cache.get(&r.uri, until).is_none());
    let fresh = status_list::verify(
        &i.status_list_token(1, until).unwrap(),
        &roots,
        until,
        &r.uri,
    )
    .unwrap();
    cache.insert(fresh, until);
    assert_eq!(cache.get(&r.uri, until).unwrap().status_of(&r), Ok(INVALID));
}

#[test]
fn the_token_is_signed_once_per_change_not_once_per_request() {
    let mut i = issuer();
    let t0 = now();
    assert_eq!(i.status_list_token(1, t0), Err(Error::UnknownStatusList));
    let a = qr_issue(&mut i, "a", PHONE, &device(1), t0);
    let signs = |i: &mut Issuer, t| {
        let (bytes, ops) = protocol::crypto::measure(|| i.status_list_token(1, t).unwrap());
        (bytes, ops.ecdsa_sign)
    };
    let (first, n) = signs(&mut i, t0);
    assert_eq!(n, 1);
    let (again, n) = signs(&mut i, t0 + 3_000);
    assert_eq!((n, &again), (0, &first), "unchanged: the kept token");
    i.report_phone_lost("lost", &a.document_number, t0 + 3_100)
        .unwrap();
    let (changed, n) = signs(&mut i, t0 + 3_200);
    assert_eq!(n, 1);
    assert_ne!(changed, first);
    assert_eq!(signs(&mut i, t0 + 3_300).1, 0);
    // Half its lifetime on, an unchanged token is signed anew, so none served is near exp.
    assert_eq!(
        signs(&mut i, t0 + 3_200 + STATUS_LIST_RESIGN_AFTER - 1).1,
        0
    );
    assert_eq!(signs(&mut i, t0 + 3_200 + STATUS_LIST_RESIGN_AFTER).1, 1);
    // Other ids are unknown.
    for id in [0, 2, u64::MAX] {
        assert_eq!(i.status_list_token(id, t0), Err(Error::UnknownStatusList));
    }
    assert_eq!(i.status_list_count(), 1);
}

#[test]
fn a_full_list_is_followed_by_a_new_one() {
    let cap = STATUS_LIST_CAPACITY as usize;
    assert_eq!(status_lists::StatusLists::position(0), (1, 0));
    assert_eq!(
        status_lists::StatusLists::position(cap - 1),
        (1, STATUS_LIST_CAPACITY - 1)
    );
    assert_eq!(status_lists::StatusLists::position(cap), (2, 0));
    assert_eq!(status_lists::StatusLists::position(2 * cap + 5), (3, 5));
    let mut i = issuer();
    i.status_lists.allocate(cap).unwrap();
    assert_eq!(i.status_list_count(), 2);
    let r = i.status_ref_of(cap);
    assert_eq!(
        r,
        StatusRef {
            idx: 0,
            uri: "https://issuer.midsim.invalid/status-lists/2".into()
        }
    );
    let t = now();
    let cwt = i.status_list_token(2, t).unwrap();
    let v = protocol::status_list::verify(&cwt, &i.pki().mdoc_roots(), t, &r.uri).unwrap();
    assert_eq!(v.status_of(&r), Ok(protocol::status_list::VALID));
    // A token fetched from one list's URI is not accepted as another's.
    assert!(
        protocol::status_list::verify(&cwt, &i.pki().mdoc_roots(), t, &i.status_list_uri(1))
            .is_err()
    );
}

#[test]
fn an_mdoc_is_signed_by_the_signer_of_its_year_and_one_from_before_a_rotation_still_verifies() {
    let mut i = issuer();
    let later = now() + 2 * YEAR_SECONDS;
    let first = qr_issue(&mut i, "a", PHONE, &device(1), now());
    let second = qr_issue(&mut i, "b", "010-2222-3333", &device(2), later);
    let v1 = decode(&i, &first, later);
    let v2 = decode(&i, &second, later);
    assert_eq!(&v1.signer, i.pki().mdoc_signer_at(now()).cert());
    assert_eq!(&v2.signer, i.pki().mdoc_signer_at(later).cert());
    assert_ne!(v1.signer, v2.signer);
    // The first signer's certificate has expired by `later`; the MSO it signed has not.
    assert!(protocol::pki::check_validity(&v1.signer, later as u64).is_err());
    assert!(later < v1.validity.valid_until);
}
