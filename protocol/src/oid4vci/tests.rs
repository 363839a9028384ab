use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;

const AUD: &str = "https://issuer.example.invalid";

fn device(seed: u64) -> SigningKey {
    SigningKey::random(&mut ChaCha20Rng::seed_from_u64(seed))
}

fn offer() -> CredentialOffer {
    CredentialOffer {
        credential_issuer: AUD.into(),
        credential_configuration_ids: vec![MRRC_CONFIGURATION_ID.into()],
        grants: OfferGrants {
            pre_authorized_code: PreAuthorizedGrant {
                pre_authorized_code: "abc-DEF_123".into(),
                tx_code: Some(TxCodeSpec {
                    input_mode: "numeric".into(),
                    length: 6,
                    description: "told by the clerk".into(),
                }),
            },
        },
    }
}

#[test]
fn proof_jwt_round_trips_and_gives_the_device_key() {
    let d = device(1);
    let jwt = sign_proof_jwt(&d, AUD, "n1", 1000);
    assert_eq!(
        verify_proof_jwt(&jwt, AUD, "n1", 1010, 300).unwrap(),
        *d.verifying_key()
    );
    assert_eq!(proof_jwt_nonce(&jwt).unwrap(), "n1");
}

#[test]
fn proof_jwt_refusals_name_their_reason() {
    let d = device(1);
    let jwt = sign_proof_jwt(&d, AUD, "n1", 1000);
    let e = |r: Result<VerifyingKey, Error>| r.unwrap_err();
    assert_eq!(
        e(verify_proof_jwt(&jwt, "https://other", "n1", 1000, 300)),
        Oid4vciError::WrongAudience.into()
    );
    assert_eq!(
        e(verify_proof_jwt(&jwt, AUD, "n2", 1000, 300)),
        Oid4vciError::NonceMismatch.into()
    );
    assert_eq!(
        e(verify_proof_jwt(&jwt, AUD, "n1", 1301, 300)),
        Oid4vciError::Stale.into()
    );
    assert_eq!(
        e(verify_proof_jwt(&jwt, AUD, "n1", 900, 300)),
        Oid4vciError::FromFuture.into()
    );
    // Another key's signature under this header.
    let other = sign_proof_jwt(&device(2), AUD, "n1", 1000);
    let forged = format!(
        "{}.{}",
        jwt.rsplit_once('.').unwrap().0,
        other.rsplit_once('.').unwrap().1
    );
    assert_eq!(
        e(verify_proof_jwt(&forged, AUD, "n1", 1000, 300)),
        Oid4vciError::BadSignature.into()
    );
    // Wrong typ and alg.
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut h: serde_json::Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    h["typ"] = "JWT".into();
    let bad = format!("{}.{}.{}", B64.encode(h.to_string()), parts[1], parts[2]);
    assert_eq!(
        e(verify_proof_jwt(&bad, AUD, "n1", 1000, 300)),
        Oid4vciError::WrongType.into()
    );
    h["typ"] = PROOF_JWT_TYP.into();
    h["alg"] = "none".into();
    let bad = format!("{}.{}.{}", B64.encode(h.to_string()), parts[1], parts[2]);
    assert_eq!(
        e(verify_proof_jwt(&bad, AUD, "n1", 1000, 300)),
        Oid4vciError::UnsupportedAlgorithm.into()
    );
    assert!(verify_proof_jwt("a.b", AUD, "n1", 1000, 300).is_err());
}

#[test]
fn offer_uri_round_trips() {
    let o = offer();
    let uri = o.to_uri();
    assert!(
        uri.starts_with("openid-credential-offer://?credential_offer=%7B%22credential_issuer%22")
    );
    assert_eq!(CredentialOffer::from_uri(&uri).unwrap(), o);
    assert!(CredentialOffer::from_uri("https://x/?credential_offer=%7B%7D").is_err());
}

#[test]
fn an_offer_by_reference_names_an_https_url_and_only_one_form_is_accepted() {
    let url = "https://issuer.example/credential-offer/abc?x=1&y=2";
    let uri = CredentialOffer::reference_uri(url);
    assert_eq!(
        uri,
        "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fissuer.example%2Fcredential-offer%2Fabc%3Fx%3D1%26y%3D2"
    );
    assert_eq!(
        parse_offer_uri(&uri).unwrap(),
        OfferUri::ByReference(url.into())
    );
    assert!(
        CredentialOffer::from_uri(&uri).is_err(),
        "not an offer by value"
    );
    let o = offer();
    assert_eq!(
        parse_offer_uri(&o.to_uri()).unwrap(),
        OfferUri::ByValue(o.clone())
    );
    // Not https, both forms at once, neither: refused.
    assert!(parse_offer_uri(&CredentialOffer::reference_uri("http://issuer.example/o")).is_err());
    let both = format!("{}&credential_offer_uri=https%3A%2F%2Fa", o.to_uri());
    assert!(parse_offer_uri(&both).is_err());
    assert!(parse_offer_uri("openid-credential-offer://?x=1").is_err());
}

#[test]
fn wire_json_matches_the_oid4vci_names() {
    let json = serde_json::to_value(offer()).unwrap();
    assert_eq!(
        json["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
            ["pre-authorized_code"],
        "abc-DEF_123"
    );
    let t: TokenRequest = serde_json::from_value(serde_json::json!({
        "grant_type": PRE_AUTHORIZED_GRANT,
        "pre-authorized_code": "c",
        "tx_code": "123456",
        "phone_id": "010-0000-0000",
    }))
    .unwrap();
    assert!(matches!(t, TokenRequest::PreAuthorized { .. }));
    let e = ErrorResponse {
        error: ErrorCode::InvalidNonce,
        error_description: None,
    };
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"error":"invalid_nonce"}"#
    );
}

proptest! {
    #[test]
    fn arbitrary_jwts_and_uris_never_panic(s in "\\PC{0,300}") {
        let _ = verify_proof_jwt(&s, AUD, "n", 0, 300);
        let _ = proof_jwt_nonce(&s);
        let _ = CredentialOffer::from_uri(&s);
        let _ = CredentialOffer::from_uri(&format!("{OFFER_SCHEME}?credential_offer={s}"));
        let _ = parse_offer_uri(&format!("{OFFER_SCHEME}?credential_offer_uri={s}"));
    }

    #[test]
    fn arbitrary_json_token_and_credential_requests_never_panic(s in "\\PC{0,300}") {
        let _ = serde_json::from_str::<TokenRequest>(&s);
        let _ = serde_json::from_str::<CredentialRequest>(&s);
    }

    #[test]
    fn offer_uri_round_trips_for_any_code(code in "\\PC{0,40}") {
        let mut o = offer();
        o.grants.pre_authorized_code.pre_authorized_code = code;
        prop_assert_eq!(CredentialOffer::from_uri(&o.to_uri()).unwrap(), o);
    }
}
