use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use time::macros::date;

use super::*;
use crate::pki::CertUsage;

/// 2025-04-01T00:00:00Z.
pub(super) const NOW: i64 = 1_743_465_600;
pub(super) const YEAR: i64 = 365 * 86_400;

pub(super) struct Fixture {
    pub(super) root: CertifiedKey,
    pub(super) signer: CertifiedKey,
    pub(super) device: p256::ecdsa::SigningKey,
    pub(super) claims: ResidentClaims,
}

pub(super) fn fixture(seed: u64) -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let nb = (NOW - YEAR) as u64;
    let na = (NOW + 10 * YEAR) as u64;
    let root = pki::iaca_root(
        &mut rng,
        "Mock MOIS IACA",
        "KR",
        "https://example.invalid/iaca",
        nb,
        na,
    )
    .unwrap();
    let signer = pki::issue(
        &root,
        &mut rng,
        "Mock MOIS mdoc signer",
        nb,
        na,
        CertUsage::MdocSigner,
    )
    .unwrap();
    let device = p256::ecdsa::SigningKey::random(&mut rng);
    let claims = ResidentClaims {
        family_name: "김".into(),
        given_name: "민준".into(),
        birth_date: date!(1990 - 01 - 01),
        rrn_masked: "900101-1******".into(),
        legal_address_region: "11".into(),
        portrait: vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 0xFF, 0xD9],
        age_over_17: true,
        age_over_19: true,
        issue_date: date!(2025 - 04 - 01),
        expiry_date: date!(2028 - 04 - 01),
        document_number: "M00000000001".into(),
    };
    Fixture {
        root,
        signer,
        device,
        claims,
    }
}

pub(super) fn issue_with(f: &Fixture, seed: u64) -> IssuerSigned {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let params = IssueParams {
        doc_type: DOC_TYPE,
        device_key: f.device.verifying_key(),
        validity: Validity {
            signed: NOW,
            valid_from: NOW,
            valid_until: NOW + 3 * YEAR,
        },
        status: None,
    };
    issue(&mut rng, &f.signer, &params, &f.claims.to_elements()).unwrap()
}

pub(super) fn roots(f: &Fixture) -> Vec<Certificate> {
    vec![f.root.cert().clone()]
}

#[test]
fn issued_mdoc_verifies_and_gives_back_every_element_and_the_device_key() {
    let f = fixture(1);
    let doc = issue_with(&f, 2);
    let v = doc.verify(&roots(&f), DOC_TYPE, NOW + 10).unwrap();
    assert_eq!(v.doc_type, DOC_TYPE);
    assert_eq!(&v.device_key, f.device.verifying_key());
    let els = &v.elements[NAMESPACE];
    assert_eq!(els.len(), 11);
    assert_eq!(els[element::GIVEN_NAME], Value::Text("민준".into()));
    assert_eq!(els[element::BIRTH_DATE], full_date(date!(1990 - 01 - 01)));
    assert_eq!(els[element::AGE_OVER_19], Value::Bool(true));
    assert_eq!(v.validity.valid_until, NOW + 3 * YEAR);
}

#[test]
fn encode_then_decode_is_identity_and_same_seed_gives_same_bytes() {
    let f = fixture(1);
    let doc = issue_with(&f, 2);
    let bytes = doc.to_cbor().unwrap();
    let back = IssuerSigned::from_cbor(&bytes).unwrap();
    // (coset keeps the protected header's original bytes after decoding, so compare the
    // encodings and the content, not the structs.)
    assert_eq!(back.namespaces, doc.namespaces);
    assert_eq!(back.issuer_auth.payload, doc.issuer_auth.payload);
    assert_eq!(back.to_cbor().unwrap(), bytes);
    assert_eq!(issue_with(&f, 2).to_cbor().unwrap(), bytes);
    assert_ne!(issue_with(&f, 3).to_cbor().unwrap(), bytes);
}

#[test]
fn items_are_tag24_wrapped_with_32_byte_randoms_and_distinct_digest_ids() {
    let f = fixture(1);
    let doc = issue_with(&f, 2);
    let mut ids = std::collections::BTreeSet::new();
    for b in &doc.namespaces[0].items {
        assert_eq!(&b[..2], &[0xD8, 0x18], "tag 24");
        let item = IssuerSignedItem::from_tagged_bytes(b).unwrap();
        assert_eq!(item.random.len(), 32);
        assert!(ids.insert(item.digest_id));
    }
    assert_eq!(ids.len(), 11);
}

#[test]
fn a_tampered_element_fails_its_digest() {
    let f = fixture(1);
    let mut doc = issue_with(&f, 2);
    let b = &doc.namespaces[0].items[0];
    let mut item = IssuerSignedItem::from_tagged_bytes(b).unwrap();
    item.element_value = Value::Text("이".into());
    doc.namespaces[0].items[0] = to_cbor(&tag24(to_cbor(&item.to_value()).unwrap())).unwrap();
    match doc.verify(&roots(&f), DOC_TYPE, NOW) {
        Err(Error::Mdoc(MdocError::DigestMismatch { element, .. })) => {
            assert_eq!(element, item.element_identifier)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_mdoc_from_another_issuer_is_untrusted() {
    let f = fixture(1);
    let other = fixture(9);
    let doc = issue_with(&f, 2);
    assert!(matches!(
        doc.verify(&roots(&other), DOC_TYPE, NOW),
        Err(Error::Mdoc(MdocError::UntrustedSigner(_)))
    ));
}

#[test]
fn a_swapped_signer_certificate_breaks_the_signature() {
    // Same root, another signer: the chain is fine but the signature is not.
    let f = fixture(1);
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let other = pki::issue(
        &f.root,
        &mut rng,
        "other",
        (NOW - YEAR) as u64,
        (NOW + YEAR) as u64,
        CertUsage::MdocSigner,
    )
    .unwrap();
    let mut doc = issue_with(&f, 2);
    doc.issuer_auth.unprotected.rest = vec![(Label::Int(X5CHAIN), Value::Bytes(other.cert_der()))];
    assert_eq!(
        doc.verify(&roots(&f), DOC_TYPE, NOW),
        Err(Error::Mdoc(MdocError::BadSignature))
    );
    doc.issuer_auth.unprotected.rest.clear();
    assert_eq!(
        doc.verify(&roots(&f), DOC_TYPE, NOW),
        Err(Error::Mdoc(MdocError::NoSignerCertificate))
    );
}

#[test]
fn validity_window_and_doc_type_are_enforced() {
    let f = fixture(1);
    let doc = issue_with(&f, 2);
    assert_eq!(
        doc.verify(&roots(&f), DOC_TYPE, NOW - 1),
        Err(Error::Mdoc(MdocError::NotYetValid))
    );
    assert_eq!(
        doc.verify(&roots(&f), DOC_TYPE, NOW + 3 * YEAR + 1),
        Err(Error::Mdoc(MdocError::Expired))
    );
    assert!(matches!(
        doc.verify(&roots(&f), "org.iso.18013.5.1.mDL", NOW),
        Err(Error::Mdoc(MdocError::DocTypeMismatch { .. }))
    ));
}

#[test]
fn a_disclosed_subset_still_verifies() {
    let f = fixture(1);
    let doc = issue_with(&f, 2).disclose(|_, e| {
        e == element::GIVEN_NAME || e == element::FAMILY_NAME || e == element::BIRTH_DATE
    });
    let v = doc.verify(&roots(&f), DOC_TYPE, NOW).unwrap();
    assert_eq!(
        v.elements[NAMESPACE].keys().collect::<Vec<_>>(),
        ["birth_date", "family_name", "given_name"]
    );
}

#[test]
fn cose_key_round_trips() {
    let f = fixture(4);
    let k = f.device.verifying_key();
    assert_eq!(&key_from_cose(&cose_key(k)).unwrap(), k);
    assert!(key_from_cose(&Value::Null).is_err());
}

#[test]
fn the_status_reference_rides_in_the_mso_and_comes_back_verified() {
    let f = fixture(1);
    let r = crate::status_list::StatusRef {
        idx: 1993,
        uri: "https://issuer.example.invalid/status-lists/1".into(),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let params = IssueParams {
        doc_type: DOC_TYPE,
        device_key: f.device.verifying_key(),
        validity: Validity {
            signed: NOW,
            valid_from: NOW,
            valid_until: NOW + YEAR,
        },
        status: Some(r.clone()),
    };
    let doc = issue(&mut rng, &f.signer, &params, &f.claims.to_elements()).unwrap();
    let back = IssuerSigned::from_cbor(&doc.to_cbor().unwrap()).unwrap();
    let v = back.verify(&roots(&f), DOC_TYPE, NOW + 1).unwrap();
    assert_eq!(v.status, Some(r));
    // The MSO says it as §6.3 spells it.
    let payload = doc.issuer_auth.payload.as_deref().unwrap();
    let mso = from_cbor(
        &unwrap_tag24(&from_cbor(payload, "t").unwrap()).unwrap(),
        "m",
    )
    .unwrap();
    let status = get(as_map(&mso, "m").unwrap(), "status").unwrap();
    let info = get(as_map(status, "s").unwrap(), "status_list").unwrap();
    let info = as_map(info, "i").unwrap();
    assert_eq!(get(info, "idx").unwrap(), &Value::Integer(1993.into()));
    // Without a reference the MSO has no status and still verifies.
    let plain = issue_with(&f, 2)
        .verify(&roots(&f), DOC_TYPE, NOW + 1)
        .unwrap();
    assert_eq!(plain.status, None);
}

/// A readable dump of a decoded mdoc with the values that change with the seed redacted.
fn transcript(doc: &IssuerSigned, v: &VerifiedMdoc) -> String {
    use core::fmt::Write;
    let mut s = String::new();
    let h = &doc.issuer_auth.protected.header;
    writeln!(s, "issuerAuth: COSE_Sign1 alg={:?}", h.alg).unwrap();
    writeln!(s, "  x5chain: {}", v.signer.tbs_certificate.subject).unwrap();
    writeln!(
        s,
        "  signature: <{} bytes>",
        doc.issuer_auth.signature.len()
    )
    .unwrap();
    let t = |u: i64| format!("{:?}", tdate(u).unwrap());
    writeln!(
        s,
        "MSO version=1.0 digestAlgorithm=SHA-256 docType={}",
        v.doc_type
    )
    .unwrap();
    writeln!(
        s,
        "  validityInfo signed={} validFrom={} validUntil={}",
        t(v.validity.signed),
        t(v.validity.valid_from),
        t(v.validity.valid_until)
    )
    .unwrap();
    writeln!(s, "  deviceKey: COSE_Key EC2 P-256 <redacted>").unwrap();
    for ns in &doc.namespaces {
        writeln!(s, "nameSpace {}", ns.name).unwrap();
        let mut items: Vec<_> = ns
            .items
            .iter()
            .map(|b| IssuerSignedItem::from_tagged_bytes(b).unwrap())
            .collect();
        items.sort_by(|a, b| a.element_identifier.cmp(&b.element_identifier));
        for i in items {
            let value = match &i.element_value {
                Value::Bytes(b) => format!("bstr <{} bytes>", b.len()),
                other => format!("{other:?}"),
            };
            writeln!(
                s,
                "  {} = {}  (digestID <redacted>, random <{} bytes>)",
                i.element_identifier,
                value,
                i.random.len()
            )
            .unwrap();
        }
    }
    s
}

#[test]
fn decoded_mdoc_snapshot() {
    let f = fixture(1);
    let doc = issue_with(&f, 2);
    let v = doc.verify(&roots(&f), DOC_TYPE, NOW).unwrap();
    insta::assert_snapshot!(transcript(&doc, &v));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = IssuerSigned::from_cbor(&bytes);
        let _ = IssuerSignedItem::from_tagged_bytes(&bytes);
    }

    #[test]
    fn a_mutated_mdoc_never_panics_and_never_verifies_with_other_content(
        pos in any::<prop::sample::Index>(), xor in 1u8..=255,
    ) {
        let f = fixture(1);
        let doc = issue_with(&f, 2);
        let mut bytes = doc.to_cbor().unwrap();
        let i = pos.index(bytes.len());
        bytes[i] ^= xor;
        if let Ok(d) = IssuerSigned::from_cbor(&bytes) {
            if let Ok(v) = d.verify(&roots(&f), DOC_TYPE, NOW) {
                // A change the signature does not cover (an unknown key in place of
                // "nameSpaces", say) may still verify, but only ever with a subset of the
                // issued elements, unchanged.
                let orig = doc.verify(&roots(&f), DOC_TYPE, NOW).unwrap();
                for (ns, els) in &v.elements {
                    for (k, val) in els {
                        prop_assert_eq!(Some(val), orig.elements.get(ns).and_then(|o| o.get(k)));
                    }
                }
            }
        }
    }
}

/// An mdoc signed at `signed` by a signer valid for `window` (notBefore, notAfter) under
/// the fixture's root; the MSO is valid three years from `signed`.
fn signed_by_short_lived_signer(f: &Fixture, window: (i64, i64), signed: i64) -> IssuerSigned {
    let mut rng = ChaCha20Rng::seed_from_u64(41);
    let signer = pki::issue(
        &f.root,
        &mut rng,
        "short-lived mdoc signer",
        window.0 as u64,
        window.1 as u64,
        CertUsage::MdocSigner,
    )
    .unwrap();
    let params = IssueParams {
        doc_type: DOC_TYPE,
        device_key: f.device.verifying_key(),
        validity: Validity {
            signed,
            valid_from: signed,
            valid_until: signed + 3 * YEAR,
        },
        status: None,
    };
    issue(&mut rng, &signer, &params, &f.claims.to_elements()).unwrap()
}

#[test]
fn an_mdoc_from_a_rotated_out_signer_verifies_while_its_mso_is_valid() {
    // The signer's certificate (457 days) has expired at `now`, but it was valid when it
    // signed, and the root is valid at `now`.
    let f = fixture(1);
    let doc = signed_by_short_lived_signer(&f, (NOW, NOW + 457 * 86_400), NOW + 10);
    let later = NOW + 2 * YEAR;
    let v = doc.verify(&roots(&f), DOC_TYPE, later).unwrap();
    assert_eq!(v.validity.signed, NOW + 10);
}

#[test]
fn an_mso_signed_outside_its_signers_window_is_untrusted() {
    let f = fixture(1);
    let window = (NOW, NOW + 457 * 86_400);
    let after = signed_by_short_lived_signer(&f, window, window.1 + 1);
    assert!(matches!(
        after.verify(&roots(&f), DOC_TYPE, window.1 + 2),
        Err(Error::Mdoc(MdocError::UntrustedSigner(
            pki::CertificateError::Expired { .. }
        )))
    ));
    let before = signed_by_short_lived_signer(&f, window, NOW - 1);
    assert!(matches!(
        before.verify(&roots(&f), DOC_TYPE, NOW),
        Err(Error::Mdoc(MdocError::UntrustedSigner(
            pki::CertificateError::NotYetValid { .. }
        )))
    ));
}

#[test]
fn an_expired_root_is_untrusted_even_for_an_mso_still_valid() {
    // The fixture's root ends at NOW + 10 years; an MSO signed a year before that is still
    // valid after it, but its root is not.
    let f = fixture(1);
    let root_end = NOW + 10 * YEAR;
    let doc = signed_by_short_lived_signer(&f, (root_end - YEAR, root_end), root_end - YEAR);
    doc.verify(&roots(&f), DOC_TYPE, root_end).unwrap();
    assert!(matches!(
        doc.verify(&roots(&f), DOC_TYPE, root_end + 1),
        Err(Error::Mdoc(MdocError::UntrustedSigner(
            pki::CertificateError::Expired { .. }
        )))
    ));
}
