//! The mdoc verifies with an independent ISO 18013-5 implementation: pymdoccbor (PyPI).
//!
//! This test needs `python3` with `pymdoccbor` installed (`pip install pymdoccbor==1.4.0`)
//! and runs with the `interop-tests` feature (`.ci/run` turns every feature on).
//! It fails, rather than skips, when they are missing: an unchecked mdoc is not a passing
//! one.

use std::process::Command;

use protocol::mdoc::{self, IssueParams, ResidentClaims, Validity, DOC_TYPE};
use protocol::pki::{self, CertUsage};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use time::macros::date;

#[test]
fn pymdoccbor_verifies_signature_chain_and_every_digest() {
    let mut rng = ChaCha20Rng::seed_from_u64(2025);
    // pymdoccbor checks the signer certificate against the real clock, so the certificates
    // here span 2024..2040 whatever day the test runs.
    let nb = 1_704_067_200; // 2024-01-01
    let na = 2_208_988_800; // 2040-01-01
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
        family_name: "박".into(),
        given_name: "서연".into(),
        birth_date: date!(2001 - 07 - 15),
        rrn_masked: "010715-4******".into(),
        legal_address_region: "36".into(),
        portrait: vec![0xFF, 0xD8, 0xFF, 0xD9],
        age_over_17: true,
        age_over_19: true,
        issue_date: date!(2025 - 04 - 01),
        expiry_date: date!(2028 - 04 - 01),
        document_number: "M12345678901".into(),
    };
    let now = 1_743_465_600;
    let params = IssueParams {
        doc_type: DOC_TYPE,
        device_key: device.verifying_key(),
        validity: Validity {
            signed: now,
            valid_from: now,
            valid_until: now + 3 * 365 * 86_400,
        },
        status: None,
    };
    let doc = mdoc::issue(&mut rng, &signer, &params, &claims.to_elements()).unwrap();
    let dir = std::env::temp_dir().join(format!("mdoc-independent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mdoc_path = dir.join("mdoc.cbor");
    let root_path = dir.join("root.pem");
    std::fs::write(&mdoc_path, doc.to_document_file(DOC_TYPE).unwrap()).unwrap();
    std::fs::write(&root_path, root.cert_pem()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/verify_mdoc.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&mdoc_path)
        .arg(&root_path)
        .arg("11")
        .output()
        .expect("python3 must be installed for the independent mdoc check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pymdoccbor did not accept the mdoc (install it with `pip install pymdoccbor==1.4.0`):\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("\"docType\": \"kr.go.mois.mrrc.1\""),
        "{stdout}"
    );
    assert!(stdout.contains("서연"), "{stdout}");
    assert!(stdout.contains("010715-4******"), "{stdout}");

    // And it rejects a tampered one: flip a byte inside the signature.
    let mut tampered = doc.clone();
    let last = tampered.issuer_auth.signature.len() - 1;
    tampered.issuer_auth.signature[last] ^= 1;
    std::fs::write(&mdoc_path, tampered.to_document_file(DOC_TYPE).unwrap()).unwrap();
    let out = Command::new("python3")
        .arg(script)
        .arg(&mdoc_path)
        .arg(&root_path)
        .arg("11")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "pymdoccbor accepted a tampered signature"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
