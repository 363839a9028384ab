//! The HTTP shell, driven with `tower::ServiceExt::oneshot` and no server.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use p256::ecdsa::SigningKey;
use proptest::prelude::*;
use protocol::oid4vci::{self, CredentialOffer, ErrorCode, ErrorResponse};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use sim_issuer::http::{app, AppState};
use sim_issuer::issuer::{Issuer, IssuerConfig};
use sim_issuer::policy::Policy;
use sim_issuer::registry::{CardState, PhoneRegistration, Resident, ResidentId};
use tower::ServiceExt;

/// 2025-04-01T03:00:00Z, noon KST.
const NOW: i64 = 1_743_476_400;
const PHONE: &str = "010-1234-5678";

fn router() -> Router {
    let mut i = Issuer::new(
        1,
        IssuerConfig::default(),
        Policy::default_rollout(),
        NOW - 86_400,
    )
    .unwrap();
    i.register(Resident {
        id: ResidentId(1),
        family_name: "이".into(),
        given_name: "서연".into(),
        rrn: "900101-2234567".parse().unwrap(),
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
    app(AppState::new(i, Arc::new(|| NOW)))
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, v)
}

fn post(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn qr_route_over_http_issues_a_credential_and_status_reports_it_valid() {
    let app = router();
    let (st, offer) = call(
        &app,
        "POST",
        "/desk/offer",
        &[("idempotency-key", "o1")],
        post(json!({"resident": 1, "desk_district": "11110",
                    "presented_rrn": "900101-2234567", "face_matches": true})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{offer}");
    let png = oid4vci::from_b64url(offer["qr_png"].as_str().unwrap(), "png").unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    let parsed = CredentialOffer::from_uri(offer["uri"].as_str().unwrap()).unwrap();
    // The QR code holds the offer by reference; GET on its path gives the same offer.
    let by_ref = match oid4vci::parse_offer_uri(offer["reference_uri"].as_str().unwrap()) {
        Ok(oid4vci::OfferUri::ByReference(url)) => url,
        other => panic!("{other:?}"),
    };
    let path = by_ref.splitn(4, '/').nth(3).unwrap();
    let (st, fetched) = call(&app, "GET", &format!("/{path}"), &[], vec![]).await;
    assert_eq!(st, StatusCode::OK, "{fetched}");
    assert_eq!(
        serde_json::from_value::<CredentialOffer>(fetched).unwrap(),
        parsed
    );
    let (st, _) = call(&app, "GET", "/credential-offer/nope", &[], vec![]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let code = parsed.grants.pre_authorized_code.pre_authorized_code;
    let (st, tok) = call(
        &app,
        "POST",
        "/token",
        &[("idempotency-key", "t1")],
        post(
            json!({"grant_type": oid4vci::PRE_AUTHORIZED_GRANT, "pre-authorized_code": code,
                    "tx_code": offer["tx_code"], "phone_id": PHONE}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    let (st, nonce) = call(&app, "POST", "/nonce", &[], vec![]).await;
    assert_eq!(st, StatusCode::OK);
    let (_, meta) = call(
        &app,
        "GET",
        "/.well-known/openid-credential-issuer",
        &[],
        vec![],
    )
    .await;
    let device = SigningKey::random(&mut ChaCha20Rng::seed_from_u64(5));
    let jwt = oid4vci::sign_proof_jwt(
        &device,
        meta["credential_issuer"].as_str().unwrap(),
        nonce["c_nonce"].as_str().unwrap(),
        NOW,
    );
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let body = post(
        json!({"credential_configuration_id": oid4vci::MRRC_CONFIGURATION_ID,
                           "proofs": {"jwt": [jwt]}}),
    );
    let (st, cred) = call(
        &app,
        "POST",
        "/credential",
        &[("idempotency-key", "c1"), ("authorization", &bearer)],
        body.clone(),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{cred}");
    // A retry gets the same answer.
    let (_, again) = call(
        &app,
        "POST",
        "/credential",
        &[("idempotency-key", "c1"), ("authorization", &bearer)],
        body,
    )
    .await;
    assert_eq!(again, cred);
    let doc = cred["document_number"].as_str().unwrap();
    let (st, status) = call(&app, "GET", &format!("/status/{doc}"), &[], vec![]).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(status["status"], "valid");
    let (st, _) = call(
        &app,
        "POST",
        "/report/phone-lost",
        &[("idempotency-key", "l1")],
        post(json!({"document_number": doc})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, status) = call(&app, "GET", &format!("/status/{doc}"), &[], vec![]).await;
    assert_eq!(status["status"], "revoked");
    assert_eq!(status["reason"], "phone_reported_lost");
}

fn error_of(v: &Value) -> ErrorResponse {
    serde_json::from_value(v.clone()).unwrap()
}

#[tokio::test]
async fn errors_are_json_with_proper_4xx_codes() {
    let app = router();
    let (st, v) = call(&app, "POST", "/token", &[], post(json!({}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&v).error, ErrorCode::InvalidRequest);
    let (st, v) = call(
        &app,
        "POST",
        "/token",
        &[("idempotency-key", "k")],
        b"{".to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&v).error, ErrorCode::InvalidRequest);
    let (st, v) = call(
        &app,
        "POST",
        "/token",
        &[("idempotency-key", "k2")],
        post(
            json!({"grant_type": oid4vci::PRE_AUTHORIZED_GRANT, "pre-authorized_code": "x",
                    "tx_code": "1", "phone_id": PHONE}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&v).error, ErrorCode::InvalidGrant);
    let (st, v) = call(
        &app,
        "POST",
        "/credential",
        &[("idempotency-key", "k3"), ("authorization", "Bearer nope")],
        post(json!({"credential_configuration_id": "x", "proofs": {"jwt": []}})),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&v).error, ErrorCode::InvalidToken);
    let (st, v) = call(
        &app,
        "POST",
        "/desk/offer",
        &[("idempotency-key", "k4")],
        post(json!({"resident": 1, "desk_district": "26110",
                    "presented_rrn": "900101-2234567", "face_matches": true})),
    )
    .await;
    // Nationwide from 2025-03-28: any desk will do, so this is allowed...
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = call(
        &app,
        "POST",
        "/desk/offer",
        &[("idempotency-key", "k4")],
        post(json!({"resident": 1, "desk_district": "11110",
                    "presented_rrn": "900101-2234567", "face_matches": true})),
    )
    .await;
    // ...and the same key with another body is a conflict.
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(error_of(&v).error, ErrorCode::IdempotencyKeyReused);
    let (st, v) = call(
        &app,
        "POST",
        "/report/card-lost",
        &[("idempotency-key", "k5")],
        post(json!({"resident": 42})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&v).error, ErrorCode::NotFound);
    let (st, v) = call(&app, "GET", "/nowhere", &[], vec![]).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&v).error, ErrorCode::NotFound);
    let (st, v) = call(
        &app,
        "POST",
        "/desk/offer",
        &[("idempotency-key", "k6")],
        post(json!({"resident": 1, "desk_district": "11110",
                    "presented_rrn": "900101-2234567", "face_matches": false})),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(error_of(&v).error, ErrorCode::CredentialRequestDenied);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        // (never 1: resident 1 exists, and reporting its card lost would rightly succeed)
        any::<i64>()
            .prop_filter("not resident 1", |v| *v != 1)
            .prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
        Just(Value::from(oid4vci::PRE_AUTHORIZED_GRANT)),
        Just(Value::from(oid4vci::CARD_EVIDENCE_GRANT)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("grant_type".to_owned()),
                    Just("pre-authorized_code".to_owned()),
                    Just("tx_code".to_owned()),
                    Just("phone_id".to_owned()),
                    Just("proofs".to_owned()),
                    Just("jwt".to_owned()),
                    Just("resident".to_owned()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_json_bodies_get_a_typed_4xx(body in json_value(), path in prop::sample::select(vec![
        "/token", "/credential", "/desk/offer", "/desk/ic-card", "/report/card-lost",
        "/report/phone-lost",
    ])) {
        let app = router();
        let (st, v) = runtime().block_on(call(
            &app, "POST", path,
            &[("idempotency-key", "p"), ("authorization", "Bearer x")],
            post(body),
        ));
        prop_assert!(st.is_client_error(), "{st} {v}");
        prop_assert!(serde_json::from_value::<ErrorResponse>(v).is_ok());
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_get_a_typed_4xx(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let app = router();
        for path in ["/token", "/credential", "/desk/offer"] {
            let (st, v) = runtime().block_on(call(
                &app, "POST", path,
                &[("idempotency-key", "p"), ("authorization", "Bearer x")],
                body.clone(),
            ));
            prop_assert!(st.is_client_error(), "{st} {v}");
            prop_assert!(serde_json::from_value::<ErrorResponse>(v).is_ok());
        }
    }
}

#[tokio::test]
async fn ic_route_over_http_from_a_new_ic_card_to_a_credential() {
    let app = router();
    let (st, card) = call(
        &app,
        "POST",
        "/desk/ic-card",
        &[("idempotency-key", "ic")],
        post(json!({"resident": 1})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{card}");
    assert_eq!(card["fee_won"], 10_000);
    let aa_key: [u8; 32] = oid4vci::from_b64url(card["aa_private_key"].as_str().unwrap(), "k")
        .unwrap()
        .try_into()
        .unwrap();
    let aa_key = SigningKey::from_bytes(&aa_key.into()).unwrap();
    let (_, nonce) = call(&app, "POST", "/nonce", &[], vec![]).await;
    let nonce = nonce["c_nonce"].as_str().unwrap();
    let sig = protocol::aa::sign_challenge(&aa_key, &oid4vci::aa_challenge(nonce));
    let evidence = json!({
        "grant_type": oid4vci::CARD_EVIDENCE_GRANT,
        "dg1": card["dg1"], "dg15": card["dg15"], "sod": card["sod"],
        "nonce": nonce, "aa_signature": oid4vci::b64url(&sig), "phone_id": PHONE,
    });
    let (st, tok) = call(
        &app,
        "POST",
        "/token",
        &[("idempotency-key", "t")],
        post(evidence.clone()),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    // The same evidence again (a replay, not a retry: new key) is refused.
    let (st, v) = call(
        &app,
        "POST",
        "/token",
        &[("idempotency-key", "t-replay")],
        post(evidence),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&v).error, ErrorCode::InvalidNonce);
    let (_, nonce) = call(&app, "POST", "/nonce", &[], vec![]).await;
    let device = SigningKey::random(&mut ChaCha20Rng::seed_from_u64(6));
    let jwt = oid4vci::sign_proof_jwt(
        &device,
        &IssuerConfig::default().base_url,
        nonce["c_nonce"].as_str().unwrap(),
        NOW,
    );
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let (st, cred) = call(
        &app,
        "POST",
        "/credential",
        &[("idempotency-key", "c"), ("authorization", &bearer)],
        post(
            json!({"credential_configuration_id": oid4vci::MRRC_CONFIGURATION_ID,
                    "proofs": {"jwt": [jwt]}}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{cred}");
    let (_, list) = call(&app, "GET", "/status", &[], vec![]).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

/// `GET path`: status, Content-Type and the raw body.
async fn get_raw(app: &Router, path: &str) -> (StatusCode, String, Vec<u8>) {
    let req = Request::builder()
        .method("GET")
        .uri(path)
        .header("accept", protocol::status_list::MEDIA_TYPE)
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, ct, bytes)
}

/// The IC route for resident 1 with a fresh card; gives the credential answer.
async fn issue_over_the_ic_route(app: &Router, device_seed: u64) -> Value {
    let (_, card) = call(
        app,
        "POST",
        "/desk/ic-card",
        &[("idempotency-key", "ic")],
        post(json!({"resident": 1})),
    )
    .await;
    let aa_key: [u8; 32] = oid4vci::from_b64url(card["aa_private_key"].as_str().unwrap(), "k")
        .unwrap()
        .try_into()
        .unwrap();
    let aa_key = SigningKey::from_bytes(&aa_key.into()).unwrap();
    let (_, nonce) = call(app, "POST", "/nonce", &[], vec![]).await;
    let nonce = nonce["c_nonce"].as_str().unwrap();
    let sig = protocol::aa::sign_challenge(&aa_key, &oid4vci::aa_challenge(nonce));
    let (_, tok) = call(
        app,
        "POST",
        "/token",
        &[("idempotency-key", "t")],
        post(json!({
            "grant_type": oid4vci::CARD_EVIDENCE_GRANT,
            "dg1": card["dg1"], "dg15": card["dg15"], "sod": card["sod"],
            "nonce": nonce, "aa_signature": oid4vci::b64url(&sig), "phone_id": PHONE,
        })),
    )
    .await;
    let (_, nonce) = call(app, "POST", "/nonce", &[], vec![]).await;
    let device = SigningKey::random(&mut ChaCha20Rng::seed_from_u64(device_seed));
    let jwt = oid4vci::sign_proof_jwt(
        &device,
        &IssuerConfig::default().base_url,
        nonce["c_nonce"].as_str().unwrap(),
        NOW,
    );
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let (st, cred) = call(
        app,
        "POST",
        "/credential",
        &[("idempotency-key", "c"), ("authorization", &bearer)],
        post(
            json!({"credential_configuration_id": oid4vci::MRRC_CONFIGURATION_ID,
                    "proofs": {"jwt": [jwt]}}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{cred}");
    cred
}

#[tokio::test]
async fn the_status_list_named_in_the_mso_is_served_as_a_cwt_and_shows_the_revocation() {
    use protocol::mdoc::{self, IssuerSigned};
    use protocol::status_list::{self, INVALID, MEDIA_TYPE, VALID};
    let app = router();
    // router()'s issuer is deterministic: the same seed and time give the same IACA root.
    let roots = Issuer::new(
        1,
        IssuerConfig::default(),
        Policy::default_rollout(),
        NOW - 86_400,
    )
    .unwrap()
    .pki()
    .mdoc_roots();
    let (st, _, _) = get_raw(&app, "/status-lists/1").await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "no list before the first issuance"
    );
    let cred = issue_over_the_ic_route(&app, 7).await;
    let bytes =
        oid4vci::from_b64url(cred["credentials"][0]["credential"].as_str().unwrap(), "m").unwrap();
    let r = IssuerSigned::from_cbor(&bytes)
        .unwrap()
        .verify(&roots, mdoc::DOC_TYPE, NOW)
        .unwrap()
        .status
        .unwrap();
    let path = r
        .uri
        .strip_prefix(&IssuerConfig::default().base_url)
        .unwrap()
        .to_owned();
    assert_eq!(path, "/status-lists/1");
    let (st, ct, cwt) = get_raw(&app, &path).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ct, MEDIA_TYPE);
    let v = status_list::verify(&cwt, &roots, NOW, &r.uri).unwrap();
    assert_eq!(v.status_of(&r), Ok(VALID));
    let (st, _) = call(
        &app,
        "POST",
        "/report/phone-lost",
        &[("idempotency-key", "l1")],
        post(json!({"document_number": cred["document_number"]})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, _, cwt) = get_raw(&app, &path).await;
    let v = status_list::verify(&cwt, &roots, NOW, &r.uri).unwrap();
    assert_eq!(v.status_of(&r), Ok(INVALID));
    // Unknown and malformed ids are a JSON 404.
    for bad in [
        "/status-lists/2",
        "/status-lists/0",
        "/status-lists/x",
        "/status-lists/-1",
    ] {
        let (st, ct, body) = get_raw(&app, bad).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{bad}");
        assert!(ct.starts_with("application/json"), "{bad}: {ct}");
        let e: ErrorResponse = serde_json::from_slice(&body).unwrap();
        assert_eq!(e.error, ErrorCode::NotFound);
    }
}

#[tokio::test]
async fn the_crl_the_certificates_name_is_served_as_der_signed_by_the_iaca() {
    use protocol::pki;
    use x509_cert::der::oid::AssociatedOid;
    use x509_cert::der::Decode;
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    use x509_cert::ext::pkix::CrlDistributionPoints;
    let app = router();
    // router()'s issuer is deterministic: the same seed and time give the same IACA.
    let issuer = Issuer::new(
        1,
        IssuerConfig::default(),
        Policy::default_rollout(),
        NOW - 86_400,
    )
    .unwrap();
    let iaca = issuer.pki().iaca.cert().clone();
    // The URL in the IACA's cRLDistributionPoints, and the path it has on this server.
    let ext = iaca
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == CrlDistributionPoints::OID)
        .unwrap();
    let points = CrlDistributionPoints::from_der(ext.extn_value.as_bytes()).unwrap();
    let url = match &points.0[0].distribution_point {
        Some(DistributionPointName::FullName(names)) => match &names[0] {
            GeneralName::UniformResourceIdentifier(u) => u.to_string(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let path = url.strip_prefix("https://issuer.midsim.invalid").unwrap();
    assert_eq!(path, "/crl/iaca.crl");
    let (st, ct, der) = get_raw(&app, path).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ct, "application/pkix-crl");
    let crl = pki::verify_crl(&der, &iaca, NOW as u64).unwrap();
    let tbs = &crl.tbs_cert_list;
    let this_update = tbs.this_update.to_unix_duration().as_secs() as i64;
    let next_update = tbs.next_update.unwrap().to_unix_duration().as_secs() as i64;
    assert!(this_update <= NOW && NOW < next_update);
    assert_eq!(next_update - this_update, 86_400);
    assert_eq!(der, issuer.pki().crl(NOW).unwrap());
    // Not signed by another issuer's IACA.
    let other = Issuer::new(
        2,
        IssuerConfig::default(),
        Policy::default_rollout(),
        NOW - 86_400,
    )
    .unwrap();
    assert!(pki::verify_crl(&der, other.pki().iaca.cert(), NOW as u64).is_err());
}
