//! Every way a presentation must fail, each refused with the right code or reason.

use protocol::mip::{self, Envelope, ErrorCode, HttpReply, Message, M310, M400};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use sim_issuer::issuer::RevocationReason;
use sim_issuer::registry::ResidentId;
use sim_phone::{PresentState, UiEvent};
use sim_verifier::{Endpoint, Event, RpKind, TrustedIssuer, Verifier, VerifierConfig};

use crate::{handle, present, present_with, verifier, world, APRIL, ISSUER_ID};

fn m900_code(reply: &HttpReply) -> u32 {
    assert!(!reply.result);
    reply.m900().unwrap().errcode
}

/// Re-encode an M400 body after editing its JSON.
fn edit_m400(body: &mut Vec<u8>, f: impl FnOnce(&mut Value)) {
    let env: Envelope = serde_json::from_slice(body).unwrap();
    let mut v: Value = serde_json::from_slice(&mip::unb64(&env.data).unwrap()).unwrap();
    f(&mut v);
    *body = Envelope::of(&v).to_body();
}

#[test]
fn a_revoked_credential_is_refused_by_the_status_list_for_every_reason() {
    for reason in [
        RevocationReason::PhoneReportedLost,
        RevocationReason::CardReportedLost,
    ] {
        let mut w = world();
        let mut v = verifier(&w, RpKind::Bank);
        // Accepted first: the verifier caches the list (VALID) for its lifetime.
        assert!(present(&mut w, &mut v, APRIL + 60).accepted().is_some());
        match reason {
            RevocationReason::PhoneReportedLost => w
                .issuer
                .report_phone_lost("lost-1", &w.document_number, APRIL + 120)
                .unwrap(),
            _ => w
                .issuer
                .report_card_lost("lost-1", ResidentId(1), APRIL + 120)
                .unwrap(),
        };
        // After the cached copy's lifetime the verifier fetches the list again.
        let later = APRIL + 2 * 86_400;
        let run = present(&mut w, &mut v, later);
        assert_eq!(run.refusal().as_deref(), Some("revoked"), "{reason:?}");
        assert!(matches!(
            run.shown.last(),
            Some(UiEvent::PresentationRefused { code: 10100, detail }) if detail.starts_with("revoked")
        ));
    }
}

#[test]
fn an_expired_credential_is_refused_and_the_wallet_does_not_offer_one() {
    let mut w = world();
    let until = w.wallet.mobile_id().unwrap().valid_until();
    // The phone does not offer an expired mobile ID at all.
    let mut v = verifier(&w, RpKind::Hospital);
    let run = present(&mut w, &mut v, until + 10);
    assert_eq!(run.state, Some(PresentState::Failed));
    assert!(matches!(run.shown.last(), Some(UiEvent::NoMobileId)));

    // Presented seconds before expiry, the VP reaches the verifier seconds after it (the
    // transaction is still open): refused as not valid now.
    let mut held = None;
    let run = present_with(&mut w, &mut v, until - 30, true, |e, body| {
        if e == Endpoint::Vp {
            held = Some(std::mem::replace(body, b"{}".to_vec()));
        }
    });
    assert_eq!(run.refusal().as_deref(), Some("m900_10002"));
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let (reply, event) = handle(
        &mut v,
        &mut w.issuer,
        Endpoint::Vp,
        &held.unwrap(),
        &mut rng,
        until + 10,
    );
    assert_eq!(m900_code(&reply), 10100);
    assert!(
        matches!(&event, Event::Refused { refusal, .. } if refusal.key() == "not_valid_now"),
        "{event:?}"
    );
}

#[test]
fn a_forged_issuer_is_refused_at_the_first_check() {
    let mut w = world();
    // A verifier trusting another IACA (another issuer's root) sees our credential as forged.
    let other =
        sim_issuer::pki::IssuerPki::generate(&mut ChaCha20Rng::seed_from_u64(99), APRIL).unwrap();
    let cfg = VerifierConfig::new(
        RpKind::Government,
        "https://government.example",
        vec![TrustedIssuer {
            id: ISSUER_ID.into(),
            iaca: other.iaca.cert().clone(),
        }],
    );
    let mut v = Verifier::new(
        cfg,
        protocol::crypto::generate_signing_key(&mut ChaCha20Rng::seed_from_u64(3)),
    );
    let run = present(&mut w, &mut v, APRIL + 60);
    assert_eq!(run.refusal().as_deref(), Some("issuer_signature"));
}

#[test]
fn a_tampered_element_fails_its_digest() {
    let mut w = world();
    // Edit the given name inside the wallet's IssuerSigned: the item's bytes no longer hash
    // to the MSO's digest.
    let id = w.wallet.mobile_id().unwrap().clone();
    let mut signed = protocol::mdoc::IssuerSigned::from_cbor(&id.issuer_signed).unwrap();
    for ns in &mut signed.namespaces {
        for item in &mut ns.items {
            let decoded = protocol::mdoc::IssuerSignedItem::from_tagged_bytes(item).unwrap();
            if decoded.element_identifier == protocol::mdoc::element::GIVEN_NAME {
                let pos = item
                    .windows("서연".len())
                    .position(|w| w == "서연".as_bytes())
                    .unwrap();
                item[pos..pos + "서연".len()].copy_from_slice("민지".as_bytes());
            }
        }
    }
    let mut forged = id.clone();
    forged.issuer_signed = signed.to_cbor().unwrap();
    w.wallet.store(forged, &mut w.keystore);
    let mut v = verifier(&w, RpKind::Bank);
    let run = present(&mut w, &mut v, APRIL + 60);
    assert_eq!(run.refusal().as_deref(), Some("digest_mismatch"));
}

#[test]
fn a_replayed_vp_is_refused_as_a_reused_nonce() {
    let mut w = world();
    let mut v = verifier(&w, RpKind::Bank);
    let run = present(&mut w, &mut v, APRIL + 60);
    assert!(run.accepted().is_some());
    let m400 = run
        .sent
        .iter()
        .find(|(e, _)| *e == Endpoint::Vp)
        .unwrap()
        .1
        .clone();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let (reply, event) = handle(
        &mut v,
        &mut w.issuer,
        Endpoint::Vp,
        &m400,
        &mut rng,
        APRIL + 70,
    );
    assert_eq!(m900_code(&reply), ErrorCode::InvalidData.code());
    assert!(
        matches!(&event, Event::Refused { refusal, .. } if refusal.key() == "nonce_reused"),
        "{event:?}"
    );
    assert_eq!(v.counters().accepted, 1);
}

#[test]
fn a_vp_encrypted_to_another_key_does_not_open() {
    let mut w = world();
    let mut v = verifier(&w, RpKind::Bank);
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let (_, stranger) = protocol::crypto::generate_ecdh(&mut rng);
    let run = present_with(&mut w, &mut v, APRIL + 60, true, |e, body| {
        if e == Endpoint::Vp {
            edit_m400(body, |m| {
                let sealed = protocol::seal::seal(
                    &mut ChaCha20Rng::seed_from_u64(1),
                    &stranger,
                    m["trxcode"].as_str().unwrap().as_bytes(),
                    b"a DeviceResponse for someone else",
                )
                .unwrap();
                m["vp"]["data"] = Value::String(hex::encode(sealed));
            });
        }
    });
    assert_eq!(run.refusal().as_deref(), Some("decryption_failed"));
}

#[test]
fn a_vp_whose_nonce_field_was_changed_is_refused() {
    let mut w = world();
    let mut v = verifier(&w, RpKind::Bank);
    let run = present_with(&mut w, &mut v, APRIL + 60, true, |e, body| {
        if e == Endpoint::Vp {
            edit_m400(body, |m| m["vp"]["nonce"] = Value::String("00".into()));
        }
    });
    assert_eq!(run.refusal().as_deref(), Some("nonce_mismatch"));
}

#[test]
fn protocol_faults_get_the_specs_codes() {
    let w = world();
    let mut v = verifier(&w, RpKind::AgeCheck);
    let mut issuer = w.issuer;
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let now = APRIL;
    let m200 = v.open(&mut rng, now);
    let m400 = Message::M400(M400 {
        trxcode: m200.trxcode.clone(),
        vp: mip::Vp {
            present_type: 0,
            encrypt_type: 2,
            key_type: 1,
            auth_type: "pin".into(),
            did: None,
            nonce: "n".into(),
            kind: mip::VERIFY.into(),
            data: "00".into(),
        },
    });
    let mut call = |e: Endpoint, body: &[u8], at: i64| {
        let (reply, _) = handle(&mut v, &mut issuer, e, body, &mut rng, at);
        m900_code(&reply)
    };
    // M400 before M310.
    assert_eq!(call(Endpoint::Vp, &m400.to_body(), now), 10201);
    // An unknown trxcode.
    let stranger = Message::M310(M310 {
        trxcode: "not-a-transaction".into(),
    });
    assert_eq!(call(Endpoint::Profile, &stranger.to_body(), now), 10104);
    // Malformed base64, malformed JSON, JSON that is not a mip message.
    assert_eq!(call(Endpoint::Profile, br#"{"data": "%%%"}"#, now), 10100);
    assert_eq!(call(Endpoint::Profile, b"{\"data\": ", now), 10001);
    let not_json = Envelope {
        data: mip::b64(b"not json at all"),
    };
    assert_eq!(call(Endpoint::Profile, &not_json.to_body(), now), 10001);
    // A timeout: the profile asked for after the transaction's lifetime.
    let late = Message::M310(M310 {
        trxcode: m200.trxcode.clone(),
    });
    assert_eq!(
        call(
            Endpoint::Profile,
            &late.to_body(),
            now + sim_verifier::DEFAULT_TIMEOUT_SECS + 1
        ),
        10202
    );
}

#[test]
fn a_vp_after_the_timeout_is_refused_with_10202() {
    let mut w = world();
    let mut v = verifier(&w, RpKind::Bank);
    let mut held = None;
    let _ = present_with(&mut w, &mut v, APRIL, true, |e, body| {
        if e == Endpoint::Vp {
            held = Some(std::mem::replace(body, b"{}".to_vec()));
        }
    });
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let (reply, event) = handle(
        &mut v,
        &mut w.issuer,
        Endpoint::Vp,
        &held.unwrap(),
        &mut rng,
        APRIL + sim_verifier::DEFAULT_TIMEOUT_SECS + 1,
    );
    assert_eq!(m900_code(&reply), 10202, "{event:?}");
}
