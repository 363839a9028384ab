//! The mdoc and a device-signed DeviceResponse verify with independent ISO 18013-5 and COSE
//! implementations: pymdoccbor and pycose (PyPI).
//!
//! This test needs `python3` with `pymdoccbor` installed (`pip install pymdoccbor==1.4.0`)
//! and runs with the `interop-tests` feature (`.ci/run` turns every feature on).
//! It fails, rather than skips, when they are missing: an unchecked mdoc is not a passing
//! one.

use std::process::Command;

use protocol::mdoc::device::{DeviceResponse, SessionTranscript};
use protocol::mdoc::{self, element, IssueParams, ResidentClaims, Validity, DOC_TYPE};
use protocol::pki::{self, CertUsage};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use time::macros::date;

/// An IACA root, its mdoc signer, a device key and an issued mdoc of every element.
struct Issued {
    root: pki::CertifiedKey,
    device: p256::ecdsa::SigningKey,
    doc: mdoc::IssuerSigned,
}

fn issued() -> Issued {
    let mut rng = ChaCha20Rng::seed_from_u64(2025);
    // pymdoccbor checks the signer certificate against the real clock, so the certificates
    // here span 2024..2040 whatever day the test runs.
    let nb = 1_704_067_200; // 2024-01-01
    let na = 2_208_988_800; // 2040-01-01
                            // The Annex B IACA profile (with its CRL point, which the signer copies).
    let root = pki::iaca_root_with(
        &mut rng,
        &pki::IacaParams {
            cn: "Mock MOIS IACA",
            country: "KR",
            issuer_alt_uri: "https://example.invalid/iaca",
            crl_uri: "https://example.invalid/crl/iaca.crl",
            not_before: nb,
            not_after: na,
        },
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
    let params = IssueParams {
        doc_type: DOC_TYPE,
        device_key: device.verifying_key(),
        validity: Validity {
            signed: NOW,
            valid_from: NOW,
            valid_until: NOW + 3 * 365 * 86_400,
        },
        status: None,
    };
    let doc = mdoc::issue(&mut rng, &signer, &params, &claims.to_elements()).unwrap();
    Issued { root, device, doc }
}

/// 2025-04-01T00:00:00Z.
const NOW: i64 = 1_743_465_600;

#[test]
fn pymdoccbor_verifies_signature_chain_and_every_digest() {
    let Issued { root, doc, .. } = issued();
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

/// Runs `verify_device_response.py` and returns (success, stdout, stderr).
fn python_verifies_response(
    dir: &std::path::Path,
    response: &[u8],
    root_pem: &str,
    transcript: &SessionTranscript,
    items: usize,
) -> (bool, String, String) {
    let (r, k, t) = (
        dir.join("response.cbor"),
        dir.join("root.pem"),
        dir.join("transcript.cbor"),
    );
    std::fs::write(&r, response).unwrap();
    std::fs::write(&k, root_pem).unwrap();
    std::fs::write(&t, transcript.to_cbor().unwrap()).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/verify_device_response.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(&r)
        .arg(&k)
        .arg(&t)
        .arg(items.to_string())
        .output()
        .expect("python3 must be installed for the independent mdoc check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A device-signed DeviceResponse of three disclosed elements: pymdoccbor checks the issuer
/// part, pycose checks the device signature over DeviceAuthenticationBytes that the script
/// builds itself from the transcript; both refuse what they should.
#[test]
fn pymdoccbor_and_pycose_verify_a_device_signed_response() {
    let Issued { root, device, doc } = issued();
    let disclosed = doc.disclose(|_, e| {
        [
            element::FAMILY_NAME,
            element::GIVEN_NAME,
            element::AGE_OVER_19,
        ]
        .contains(&e)
    });
    let session = SessionTranscript::mip("did:example:verifier", "TRX-0001", "n-5d1e");
    let sign = |key: &p256::ecdsa::SigningKey| {
        let key = key.clone();
        move |m: &[u8]| Ok::<_, protocol::Error>(protocol::crypto::sign(&key, m))
    };
    let response = DeviceResponse::build(DOC_TYPE, &disclosed, &session, sign(&device)).unwrap();
    // Our own verifier agrees first.
    DeviceResponse::decode(&response)
        .unwrap()
        .verify(&[root.cert().clone()], DOC_TYPE, &session, NOW)
        .unwrap();

    let dir = std::env::temp_dir().join(format!("mdoc-device-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = root.cert_pem();
    let (ok, stdout, stderr) = python_verifies_response(&dir, &response, &pem, &session, 3);
    assert!(
        ok,
        "the independent check did not accept the response (pip install pymdoccbor==1.4.0):\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("\"deviceSignature\": \"verified\""),
        "{stdout}"
    );
    assert!(stdout.contains("서연"), "{stdout}");
    assert!(
        !stdout.contains("010715-4******"),
        "undisclosed element: {stdout}"
    );

    // Another nonce: the device signature fails, the issuer part still passes.
    let other = SessionTranscript::mip("did:example:verifier", "TRX-0001", "n-other");
    let (ok, _, stderr) = python_verifies_response(&dir, &response, &pem, &other, 3);
    assert!(
        !ok && stderr.contains("device: deviceSignature does not verify"),
        "{stderr}"
    );

    // Another device key: the same.
    let thief = p256::ecdsa::SigningKey::random(&mut ChaCha20Rng::seed_from_u64(7));
    let stolen = DeviceResponse::build(DOC_TYPE, &disclosed, &session, sign(&thief)).unwrap();
    let (ok, _, stderr) = python_verifies_response(&dir, &stolen, &pem, &session, 3);
    assert!(
        !ok && stderr.contains("device: deviceSignature does not verify"),
        "{stderr}"
    );

    // A flipped issuer signature bit: pymdoccbor refuses the issuer part.
    let mut forged = DeviceResponse::decode(&response).unwrap();
    let sig = &mut forged.documents[0].issuer_signed.issuer_auth.signature;
    let last = sig.len() - 1;
    sig[last] ^= 1;
    let (ok, _, stderr) =
        python_verifies_response(&dir, &forged.to_cbor().unwrap(), &pem, &session, 3);
    assert!(!ok && stderr.contains("issuer:"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
