use p256::ecdsa::SigningKey;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};

use super::*;

fn body(message: &Value) -> Vec<u8> {
    Envelope::of(message).to_body()
}

fn m400() -> M400 {
    M400 {
        trxcode: "trx-1".into(),
        vp: Vp {
            present_type: 0,
            encrypt_type: 2,
            key_type: 1,
            auth_type: "pin".into(),
            did: None,
            nonce: "n-1".into(),
            kind: VERIFY.into(),
            data: "00ff".into(),
        },
    }
}

fn code_of(body: &[u8], cmd: Cmd) -> u32 {
    decode_request(body, cmd).unwrap_err().error.code.code()
}

#[test]
fn every_message_round_trips_through_its_body() {
    let m200 = M200::direct("trx-1", "https://bank.example");
    assert_eq!(M200::from_qr_text(&m200.to_qr_text()).unwrap(), m200);
    let cases = [
        (
            Message::M310(M310 {
                trxcode: "trx-1".into(),
            }),
            Cmd::M310,
        ),
        (Message::M400(m400()), Cmd::M400),
        (
            Message::M900(M900 {
                trxcode: "trx-1".into(),
                errcode: 10104,
                errmsg: "trxcode not found".into(),
            }),
            Cmd::M900,
        ),
    ];
    for (m, cmd) in cases {
        assert_eq!(decode_request(&m.to_body(), cmd).unwrap(), m);
    }
}

#[test]
fn the_wire_shape_is_the_specifications() {
    let v = m400().to_message();
    assert_eq!(v["type"], "mip");
    assert_eq!(v["version"], "1.0.0");
    assert_eq!(v["cmd"], "400");
    assert_eq!(v["request"], "presentation");
    for key in [
        "presentType",
        "encryptType",
        "keyType",
        "authType",
        "nonce",
        "type",
        "data",
    ] {
        assert!(v["vp"].get(key).is_some(), "vp.{key}");
    }
    let qr: Value =
        serde_json::from_slice(&unb64(&M200::direct("t", "https://h").to_qr_text()).unwrap())
            .unwrap();
    assert_eq!(qr["cmd"], "200");
    assert_eq!(qr["mode"], "direct");
    assert!(
        qr.get("profile").is_none(),
        "a QR-MPM M200 carries no profile"
    );
    let reply: Value = serde_json::from_slice(
        &HttpReply::error(&M900 {
            trxcode: "t".into(),
            errcode: 10201,
            errmsg: "M400 before M310".into(),
        })
        .to_body(),
    )
    .unwrap();
    assert_eq!(reply["result"], false);
    let m900: Value =
        serde_json::from_slice(&unb64(reply["data"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(m900["cmd"], "900");
    assert_eq!(m900["errcode"], 10201);
}

#[test]
fn each_error_code_is_given_for_its_fault() {
    assert_eq!(code_of(b"{not json", Cmd::M310), 10001);
    assert_eq!(code_of(br#"{"data": "***"}"#, Cmd::M310), 10100);
    assert_eq!(code_of(br#"{"other": 1}"#, Cmd::M310), 10002);
    let b = |v: Value| body(&v);
    let ok = json!({"type": "mip", "version": "1.0.0", "cmd": "310", "trxcode": "t", "request": "profile"});
    assert!(decode_request(&b(ok.clone()), Cmd::M310).is_ok());
    let with = |k: &str, val: Value| {
        let mut v = ok.clone();
        v[k] = val;
        b(v)
    };
    let without = |k: &str| {
        let mut v = ok.clone();
        v.as_object_mut().unwrap().remove(k);
        b(v)
    };
    assert_eq!(code_of(&b(json!([1, 2])), Cmd::M310), 10001);
    for k in ["type", "version", "cmd", "trxcode", "request"] {
        assert_eq!(code_of(&without(k), Cmd::M310), 10002, "{k}");
    }
    assert_eq!(code_of(&with("request", json!("image")), Cmd::M310), 10100);
    assert_eq!(code_of(&with("type", json!("mdl")), Cmd::M310), 10101);
    assert_eq!(code_of(&with("version", json!("2.0.0")), Cmd::M310), 10102);
    assert_eq!(code_of(&with("cmd", json!("400")), Cmd::M310), 10103);
    // The trxcode is kept for the M900 once the message got that far.
    let r = decode_request(&with("version", json!("9")), Cmd::M310).unwrap_err();
    assert_eq!(r.to_m900().trxcode, "t");

    let vp = m400().to_message();
    let with_vp = |k: &str, val: Option<Value>| {
        let mut v = vp.clone();
        match val {
            Some(val) => v["vp"][k] = val,
            None => {
                v["vp"].as_object_mut().unwrap().remove(k);
            }
        }
        b(v)
    };
    for k in [
        "presentType",
        "encryptType",
        "keyType",
        "authType",
        "nonce",
        "type",
        "data",
    ] {
        assert_eq!(code_of(&with_vp(k, None), Cmd::M400), 10002, "vp.{k}");
    }
    assert_eq!(
        code_of(&with_vp("presentType", Some(json!(3))), Cmd::M400),
        10100
    );
    assert_eq!(
        code_of(&with_vp("presentType", Some(json!(-1))), Cmd::M400),
        10100
    );
    assert_eq!(
        code_of(&with_vp("data", Some(json!("xyz"))), Cmd::M400),
        10100
    );
    assert_eq!(
        code_of(&with_vp("type", Some(json!("ISSUE"))), Cmd::M400),
        10100
    );
    let mut no_vp = vp.clone();
    no_vp.as_object_mut().unwrap().remove("vp");
    assert_eq!(code_of(&b(no_vp), Cmd::M400), 10002);
}

#[test]
fn codes_map_both_ways() {
    for c in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_code(c.code()), c);
    }
    assert_eq!(ErrorCode::from_code(12345), ErrorCode::Unknown);
}

fn profile(rng: &mut ChaCha20Rng) -> (Profile, SigningKey) {
    let signer = crate::crypto::generate_signing_key(rng);
    let (_, enc) = crate::crypto::generate_ecdh(rng);
    let p = Profile {
        id: "did:kr:mobileid:bank".into(),
        encoding: "UTF-8".into(),
        language: "ko".into(),
        timezone: "Asia/Seoul".into(),
        version: "1.0.0".into(),
        profile: ProfileBody {
            kind: VERIFY.into(),
            name: "은행".into(),
            nonce: "nonce-1".into(),
            public_key: public_key_text(&enc),
            key_type: KEY_TYPE_P256,
            encrypt_type: ENCRYPT_AES256,
            present_type: PRESENT_TYPE_MDOC,
            auth_type: vec!["pin".into()],
            call_back_url: None,
            sp_code: "SP0001".into(),
            svc_code: "SVC01".into(),
            filter: Filter {
                required_assertion_list: vec!["family_name".into()],
                required_privacy_list: vec![],
                allow_issuer_list: vec!["did:kr:mobileid:mois".into()],
            },
        },
        proof: Proof {
            kind: PROOF_TYPE.into(),
            created: "2025-01-01T00:00:00Z".into(),
            creator: "did:kr:mobileid:bank#key1".into(),
            nonce: "p".into(),
            signature_value: String::new(),
        },
    };
    (p.sign(&signer), signer)
}

#[test]
fn a_signed_profile_verifies_and_any_change_breaks_it() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (p, signer) = profile(&mut rng);
    let decoded = Profile::from_b64(&p.to_b64()).unwrap();
    decoded.verify(signer.verifying_key()).unwrap();
    assert!(decoded.encryption_key().is_ok());
    let other = crate::crypto::generate_signing_key(&mut rng);
    assert_eq!(
        decoded.verify(other.verifying_key()),
        Err(ProfileError::BadSignature)
    );
    let mut widened = decoded.clone();
    widened
        .profile
        .filter
        .required_privacy_list
        .push("portrait".into());
    assert_eq!(
        widened.verify(signer.verifying_key()),
        Err(ProfileError::BadSignature)
    );
}

#[test]
fn canonical_json_sorts_keys_at_every_level() {
    let v = json!({"b": 1, "a": {"d": [true, null], "c": "x"}});
    assert_eq!(
        canonical_json(&v),
        br#"{"a":{"c":"x","d":[true,null]},"b":1}"#
    );
}

proptest! {
    #[test]
    fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for cmd in [Cmd::M200, Cmd::M310, Cmd::M400, Cmd::M900] {
            let _ = decode_request(&bytes, cmd);
            let _ = decode_message(&bytes, cmd);
        }
        let _ = M200::from_qr_text(&String::from_utf8_lossy(&bytes));
        let _ = Profile::from_b64(&String::from_utf8_lossy(&bytes));
        if let Ok(r) = HttpReply::from_body(&bytes) {
            let _ = r.m900();
            let _ = r.profile_reply();
        }
    }

    #[test]
    fn any_field_replaced_by_any_json_gives_a_code_or_the_message(
        field in prop::sample::select(vec![
            "type", "version", "cmd", "trxcode", "request", "vp",
            "presentType", "encryptType", "keyType", "authType", "nonce", "data",
        ]),
        value in prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
            Just(json!([])),
            Just(json!({})),
        ],
    ) {
        let mut v = m400().to_message();
        if v.get(field).is_some() {
            v[field] = value;
        } else {
            v["vp"][field] = value;
        }
        match decode_request(&body(&v), Cmd::M400) {
            Ok(Message::M400(m)) => prop_assert_eq!(Message::M400(m.clone()).to_message()["cmd"].clone(), json!("400")),
            Ok(other) => prop_assert!(false, "decoded as {:?}", other),
            Err(r) => prop_assert!(r.error.code != ErrorCode::Unknown),
        }
    }
}
