use coset::Label;
use p256::ecdsa::SigningKey;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;
use crate::mdoc::tests::{fixture, issue_with, roots, Fixture, NOW, YEAR};
use crate::mdoc::{element, IssuerSignedItem, DOC_TYPE, NAMESPACE};

fn session() -> SessionTranscript {
    SessionTranscript::mip("did:example:verifier", "TRX-20250401-0001", "n-7f3c9a")
}

/// The elements a verifier of age and name asks for.
fn disclosed(f: &Fixture) -> IssuerSigned {
    issue_with(f, 2).disclose(|_, e| {
        [
            element::FAMILY_NAME,
            element::GIVEN_NAME,
            element::AGE_OVER_19,
        ]
        .contains(&e)
    })
}

fn signed_by(key: &SigningKey) -> impl FnOnce(&[u8]) -> Result<Signature, Error> + '_ {
    move |m| Ok(crate::crypto::sign(key, m))
}

fn response(f: &Fixture, transcript: &SessionTranscript) -> Vec<u8> {
    DeviceResponse::build(DOC_TYPE, &disclosed(f), transcript, signed_by(&f.device)).unwrap()
}

fn verify(
    bytes: &[u8],
    f: &Fixture,
    t: &SessionTranscript,
    now: i64,
) -> Result<VerifiedMdoc, Error> {
    DeviceResponse::decode(bytes)?.verify(&roots(f), DOC_TYPE, t, now)
}

#[test]
fn a_built_response_decodes_re_encodes_identically_and_verifies_with_the_disclosed_elements() {
    let f = fixture(1);
    let bytes = response(&f, &session());
    let resp = DeviceResponse::decode(&bytes).unwrap();
    assert_eq!(resp.to_cbor().unwrap(), bytes);
    assert_eq!((resp.version.as_str(), resp.status), ("1.0", 0));
    assert_eq!(resp.documents.len(), 1);
    assert_eq!(resp.documents[0].device_signed.namespaces, [0xA0]);
    assert!(resp.documents[0]
        .device_signed
        .device_signature
        .payload
        .is_none());
    let (v, ops) = crate::crypto::measure(|| {
        resp.verify(&roots(&f), DOC_TYPE, &session(), NOW + 60)
            .unwrap()
    });
    // Two signatures checked: the issuer's and the device's (and the certificate's).
    assert_eq!(ops.ecdsa_verify, 3);
    assert_eq!(&v.device_key, f.device.verifying_key());
    assert_eq!(v.doc_type, DOC_TYPE);
    assert_eq!(v.validity.valid_until, NOW + 3 * YEAR);
    let els = &v.elements[NAMESPACE];
    assert_eq!(
        els.keys().collect::<Vec<_>>(),
        ["age_over_19", "family_name", "given_name"]
    );
    assert_eq!(els[element::GIVEN_NAME], Value::Text("민준".into()));
    assert_eq!(v.signer, f.signer.cert().clone());
    // Deterministic: the same inputs give the same bytes (RFC 6979 signatures).
    assert_eq!(response(&f, &session()), bytes);
}

/// The transcript and the signed bytes against the CDDL, written out by hand here.
#[test]
fn the_closure_is_handed_the_sig_structure_of_device_authentication_bytes() {
    let f = fixture(1);
    let t = session();
    let tb = t.to_cbor().unwrap();
    // [null, null, ["mip", ...]]: 0x83 array(3), 0xF6 null, 0xF6 null, 0x84 array(4),
    // 0x63 "mip".
    assert_eq!(&tb[..8], &[0x83, 0xF6, 0xF6, 0x84, 0x63, b'm', b'i', b'p']);
    let mut seen = Vec::new();
    DeviceResponse::build(DOC_TYPE, &disclosed(&f), &t, |m: &[u8]| {
        seen = m.to_vec();
        Ok::<_, Error>(crate::crypto::sign(&f.device, m))
    })
    .unwrap();
    let enc = |v: &Value| {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out
    };
    let tag24 = |b: Vec<u8>| Value::Tag(24, Box::new(Value::Bytes(b)));
    let handover = Value::Array(
        [
            "mip",
            "did:example:verifier",
            "TRX-20250401-0001",
            "n-7f3c9a",
        ]
        .map(|s| Value::Text(s.into()))
        .to_vec(),
    );
    let da = Value::Array(vec![
        Value::Text("DeviceAuthentication".into()),
        Value::Array(vec![Value::Null, Value::Null, handover]),
        Value::Text(DOC_TYPE.into()),
        tag24(vec![0xA0]),
    ]);
    let sig_structure = Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(vec![0xA1, 0x01, 0x26]), // {1 (alg): -7 (ES256)}
        Value::Bytes(vec![]),
        Value::Bytes(enc(&tag24(enc(&da)))),
    ]);
    assert_eq!(seen, enc(&sig_structure));
}

#[test]
fn another_nonce_trxcode_or_verifier_breaks_the_device_signature() {
    let f = fixture(1);
    let bytes = response(&f, &session());
    for other in [
        SessionTranscript::mip("did:example:verifier", "TRX-20250401-0001", "n-other"),
        SessionTranscript::mip("did:example:verifier", "TRX-20250401-0002", "n-7f3c9a"),
        SessionTranscript::mip("did:example:other", "TRX-20250401-0001", "n-7f3c9a"),
    ] {
        assert_eq!(
            verify(&bytes, &f, &other, NOW),
            Err(Error::Mdoc(MdocError::BadDeviceSignature)),
            "{other:?}"
        );
    }
    verify(&bytes, &f, &session(), NOW).unwrap();
}

#[test]
fn a_signature_by_another_device_key_is_refused() {
    let f = fixture(1);
    let thief = SigningKey::random(&mut ChaCha20Rng::seed_from_u64(99));
    let bytes =
        DeviceResponse::build(DOC_TYPE, &disclosed(&f), &session(), signed_by(&thief)).unwrap();
    assert_eq!(
        verify(&bytes, &f, &session(), NOW),
        Err(Error::Mdoc(MdocError::BadDeviceSignature))
    );
}

fn tampered(f: &Fixture) -> Vec<u8> {
    let mut resp = DeviceResponse::decode(&response(f, &session())).unwrap();
    let items = &mut resp.documents[0].issuer_signed.namespaces[0].items;
    let i = items
        .iter()
        .position(|b| {
            IssuerSignedItem::from_tagged_bytes(b)
                .unwrap()
                .element_identifier
                == element::AGE_OVER_19
        })
        .unwrap();
    let mut item = IssuerSignedItem::from_tagged_bytes(&items[i]).unwrap();
    item.element_value = Value::Bool(false);
    items[i] = to_cbor(&tag24(to_cbor(&item.to_value()).unwrap())).unwrap();
    resp.to_cbor().unwrap()
}

#[test]
fn a_tampered_element_fails_its_digest() {
    let f = fixture(1);
    assert_eq!(
        verify(&tampered(&f), &f, &session(), NOW),
        Err(Error::Mdoc(MdocError::DigestMismatch {
            namespace: NAMESPACE.into(),
            element: element::AGE_OVER_19.into(),
        }))
    );
}

#[test]
fn a_response_from_a_forged_issuer_is_untrusted() {
    // The forger has its own IACA and signer and binds the real device key.
    let f = fixture(1);
    let forger = Fixture {
        device: f.device.clone(),
        ..fixture(9)
    };
    let bytes = response(&forger, &session());
    assert!(matches!(
        verify(&bytes, &f, &session(), NOW),
        Err(Error::Mdoc(MdocError::UntrustedSigner(_)))
    ));
    verify(&bytes, &forger, &session(), NOW).unwrap();
}

#[test]
fn the_mso_validity_is_checked_at_now() {
    let f = fixture(1);
    let bytes = response(&f, &session());
    assert_eq!(
        verify(&bytes, &f, &session(), NOW + 3 * YEAR + 1),
        Err(Error::Mdoc(MdocError::Expired))
    );
    assert_eq!(
        verify(&bytes, &f, &session(), NOW - 1),
        Err(Error::Mdoc(MdocError::NotYetValid))
    );
    verify(&bytes, &f, &session(), NOW + 3 * YEAR).unwrap();
}

#[test]
fn the_checks_run_in_order_issuer_digests_device_validity() {
    let f = fixture(1);
    let other = SessionTranscript::mip("x", "y", "z");
    let late = NOW + 3 * YEAR + 1;
    // A wrong session in an expired response: the device signature is reported first.
    assert_eq!(
        verify(&response(&f, &session()), &f, &other, late),
        Err(Error::Mdoc(MdocError::BadDeviceSignature))
    );
    // A tampered element under a wrong session: the digest first.
    assert!(matches!(
        verify(&tampered(&f), &f, &other, late),
        Err(Error::Mdoc(MdocError::DigestMismatch { .. }))
    ));
    // And an untrusted issuer before everything.
    assert!(matches!(
        verify(&tampered(&f), &fixture(9), &other, late),
        Err(Error::Mdoc(MdocError::UntrustedSigner(_)))
    ));
}

#[test]
fn the_signers_error_passes_through_unchanged() {
    let f = fixture(1);
    let got = DeviceResponse::build(DOC_TYPE, &disclosed(&f), &session(), |_: &[u8]| {
        Err::<Signature, _>(Error::State("wrong PIN"))
    });
    assert_eq!(got, Err(Error::State("wrong PIN")));
}

#[test]
fn status_document_count_doc_type_and_version_are_checked() {
    let f = fixture(1);
    let good = DeviceResponse::decode(&response(&f, &session())).unwrap();
    let check = |r: &DeviceResponse| r.verify(&roots(&f), DOC_TYPE, &session(), NOW);
    let mut r = good.clone();
    r.status = 10;
    assert_eq!(check(&r), Err(Error::Mdoc(MdocError::ResponseStatus(10))));
    let mut r = good.clone();
    r.documents.push(r.documents[0].clone());
    assert_eq!(check(&r), Err(Error::Mdoc(MdocError::DocumentCount(2))));
    r.documents.clear();
    assert_eq!(check(&r), Err(Error::Mdoc(MdocError::DocumentCount(0))));
    let mut r = good.clone();
    r.version = "2.0".into();
    assert_eq!(check(&r), Err(malformed("DeviceResponse version")));
    assert!(matches!(
        good.verify(&roots(&f), "org.iso.18013.5.1.mDL", &session(), NOW),
        Err(Error::Mdoc(MdocError::DocTypeMismatch { .. }))
    ));
    // A response without "documents" decodes with none.
    let bare = to_cbor(&Value::Map(vec![
        (Value::Text("version".into()), Value::Text("1.0".into())),
        (Value::Text("status".into()), Value::Integer(11.into())),
    ]))
    .unwrap();
    let r = DeviceResponse::decode(&bare).unwrap();
    assert_eq!((r.documents.len(), r.status), (0, 11));
}

#[test]
fn device_mac_device_signed_elements_and_attached_payloads_are_refused() {
    let f = fixture(1);
    let good = DeviceResponse::decode(&response(&f, &session())).unwrap();
    // deviceMac in place of deviceSignature: refused at decoding.
    let mut v = good.to_value().unwrap();
    let Value::Map(m) = &mut v else { panic!() };
    let Value::Array(docs) = &mut m[1].1 else {
        panic!()
    };
    let Value::Map(doc) = &mut docs[0] else {
        panic!()
    };
    let Value::Map(ds) = &mut doc[2].1 else {
        panic!()
    };
    let Value::Map(auth) = &mut ds[1].1 else {
        panic!()
    };
    auth[0].0 = Value::Text("deviceMac".into());
    assert!(matches!(
        DeviceResponse::decode(&to_cbor(&v).unwrap()),
        Err(Error::Mdoc(MdocError::Malformed(_)))
    ));
    // Self-asserted device-signed elements, even correctly signed: not requested by mip.
    let mut r = good.clone();
    let ns = to_cbor(&Value::Map(vec![(
        Value::Text(NAMESPACE.into()),
        Value::Map(vec![(Value::Text("age_over_19".into()), Value::Bool(true))]),
    )]))
    .unwrap();
    let payload = device_authentication_bytes(&session(), DOC_TYPE, &ns).unwrap();
    let protected = es256_protected();
    let tbs = sig_structure_data(
        SignatureContext::CoseSign1,
        protected.clone(),
        None,
        &[],
        &payload,
    );
    r.documents[0].device_signed = DeviceSigned {
        namespaces: ns,
        device_signature: CoseSign1Builder::new()
            .protected(protected.header)
            .signature(crate::crypto::sign(&f.device, &tbs).to_bytes().to_vec())
            .build(),
    };
    let r = DeviceResponse::decode(&r.to_cbor().unwrap()).unwrap();
    assert_eq!(
        r.verify(&roots(&f), DOC_TYPE, &session(), NOW),
        Err(malformed(
            "deviceNameSpaces (the mip profile requests none)"
        ))
    );
    // An attached payload, and another algorithm.
    let mut r = good.clone();
    r.documents[0].device_signed.device_signature.payload = Some(payload);
    assert_eq!(
        r.verify(&roots(&f), DOC_TYPE, &session(), NOW),
        Err(malformed("deviceSignature payload (must be detached)"))
    );
    let mut r = good.clone();
    r.documents[0].device_signed.device_signature.protected = coset::ProtectedHeader {
        original_data: None,
        header: HeaderBuilder::new()
            .algorithm(iana::Algorithm::ES384)
            .build(),
    };
    assert_eq!(
        r.verify(&roots(&f), DOC_TYPE, &session(), NOW),
        Err(Error::Mdoc(MdocError::UnsupportedAlgorithm))
    );
    // A device signature of the wrong length.
    let mut r = good;
    r.documents[0]
        .device_signed
        .device_signature
        .signature
        .pop();
    assert_eq!(
        r.verify(&roots(&f), DOC_TYPE, &session(), NOW),
        Err(Error::Mdoc(MdocError::BadDeviceSignature))
    );
    // The issuer's x5chain label stays where the issuer put it (not in the device's header).
    let r = DeviceResponse::decode(&response(&f, &session())).unwrap();
    assert!(r.documents[0]
        .device_signed
        .device_signature
        .unprotected
        .rest
        .iter()
        .all(|(l, _)| *l != Label::Int(33)));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = DeviceResponse::decode(&bytes);
    }

    #[test]
    fn a_mutated_response_never_panics_and_never_verifies_with_other_content(
        pos in any::<prop::sample::Index>(), xor in 1u8..=255,
    ) {
        let f = fixture(1);
        let mut bytes = response(&f, &session());
        let i = pos.index(bytes.len());
        bytes[i] ^= xor;
        if let Ok(r) = DeviceResponse::decode(&bytes) {
            let _ = r.to_cbor();
            if let Ok(v) = r.verify(&roots(&f), DOC_TYPE, &session(), NOW) {
                // A change that neither signature covers (a map key the decoder does not
                // read, say) may still verify, but only with issued elements, unchanged.
                let orig = verify(&response(&f, &session()), &f, &session(), NOW).unwrap();
                prop_assert_eq!(&v.device_key, &orig.device_key);
                for (ns, els) in &v.elements {
                    for (k, val) in els {
                        prop_assert_eq!(Some(val), orig.elements.get(ns).and_then(|o| o.get(k)));
                    }
                }
            }
        }
    }
}
