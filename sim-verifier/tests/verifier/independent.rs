//! The DeviceResponse of a real presentation, checked again by independent ISO/IEC 18013-5
//! implementations: isomdl (spruceid's Rust crate) always, and pymdoccbor with pycose (PyPI)
//! with the `interop-tests` feature.
//!
//! The mobile ID is issued by the desk's QR route and presented at each kind of relying
//! party by the phone's own [`sim_phone::PresentFlow`]; the verifier accepts it and keeps
//! the bytes it checked ([`sim_verifier::Evidence`]): the DeviceResponse as decrypted from
//! `vp.data` and the mip SessionTranscript. Both independent readers then check, on those
//! bytes:
//! - issuer authentication: the MSO's COSE_Sign1 under the x5chain's signer;
//! - the certificate profile of Annex B (isomdl's `ValidationRuleset::Mdl`, with our IACA
//!   as its only trust anchor; pymdoccbor checks the chain to the IACA);
//! - every disclosed element's digest against the MSO (isomdl decodes, sha2 hashes, as
//!   isomdl does not check digests itself);
//! - the device signature over DeviceAuthenticationBytes built from the transcript
//!   (§9.1.3.4, §9.1.3.6).
//!
//! Both readers check validity against the wall clock, so this world issues and presents
//! at the real `now`.

use coset::Label;
use isomdl::definitions::device_response::Document;
use isomdl::definitions::helpers::Tag24;
use isomdl::definitions::session::SessionTranscript as IsomdlTranscript;
use isomdl::definitions::x509::trust_anchor::{TrustAnchor, TrustAnchorRegistry, TrustPurpose};
use isomdl::definitions::x509::validation::ValidationRuleset;
use isomdl::definitions::x509::X5Chain;
use isomdl::definitions::{DeviceResponse, IssuerSigned, Mso};
use isomdl::presentation::authentication::mdoc::{device_authentication, issuer_authentication};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sim_verifier::{Evidence, RpKind};

use crate::{present, verifier, world_at, World};

/// The x5chain label in the COSE unprotected header (RFC 9360).
const X5CHAIN: i64 = 33;

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Our SessionTranscript (`SessionTranscript::mip`) as isomdl's device authentication takes
/// one: any CBOR value that serialises as itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
struct MipTranscript(ciborium::Value);

impl IsomdlTranscript for MipTranscript {}

/// One accepted presentation at a relying party of `kind`: what the verifier checked, and
/// the element identifiers it asked for.
fn presented(w: &mut World, kind: RpKind, now: i64) -> (Evidence, Vec<String>) {
    let mut v = verifier(w, kind);
    let run = present(w, &mut v, now);
    let accepted = run
        .accepted()
        .unwrap_or_else(|| panic!("{kind:?}: not accepted: {:?}", run.refusal()));
    let (required, privacy) = kind.requested();
    let asked = required
        .iter()
        .chain(privacy)
        .map(|s| (*s).to_owned())
        .collect();
    (accepted.evidence.clone(), asked)
}

fn document(response: &[u8]) -> Document {
    let response: DeviceResponse =
        isomdl::cbor::from_slice(response).expect("isomdl decodes the DeviceResponse");
    let docs = response.documents.expect("one document");
    assert_eq!(docs.len(), 1);
    docs.into_inner().remove(0)
}

fn x5chain(doc: &IssuerSigned) -> X5Chain {
    let value = doc
        .issuer_auth
        .unprotected
        .rest
        .iter()
        .find(|(l, _)| *l == Label::Int(X5CHAIN))
        .map(|(_, v)| v.clone())
        .expect("x5chain in the unprotected header");
    X5Chain::from_cbor(value).expect("isomdl reads the x5chain")
}

fn transcript(evidence: &Evidence) -> MipTranscript {
    MipTranscript(ciborium::from_reader(&evidence.session_transcript[..]).unwrap())
}

/// The identifiers of the disclosed items whose digest matches the MSO's, in order, or the
/// first that does not match.
fn checked_digests(doc: &IssuerSigned) -> Result<Vec<String>, String> {
    let payload = doc.issuer_auth.payload.as_ref().ok_or("detached payload")?;
    let mso: Tag24<Mso> = isomdl::cbor::from_slice(payload).map_err(|e| e.to_string())?;
    let mso = mso.into_inner();
    let mut checked = Vec::new();
    for (ns, items) in doc.namespaces.as_ref().ok_or("no namespaces")?.iter() {
        let digests = mso
            .value_digests
            .get(ns)
            .ok_or("namespace without digests")?;
        for item in items.iter() {
            let name = item.as_ref().element_identifier.clone();
            // §9.1.2.5: SHA-256 over the tag-24 IssuerSignedItemBytes.
            let bytes = isomdl::cbor::to_vec(item).map_err(|e| e.to_string())?;
            match digests.get(&item.as_ref().digest_id) {
                Some(d) if Sha256::digest(&bytes).as_slice() == d.as_ref() => checked.push(name),
                _ => return Err(format!("digest of {ns}/{name}")),
            }
        }
    }
    checked.sort();
    Ok(checked)
}

#[test]
fn isomdl_verifies_the_device_response_of_a_presentation_at_each_kind() {
    let now = wall_clock();
    let mut w = world_at(now);
    let registry = TrustAnchorRegistry {
        anchors: vec![TrustAnchor {
            certificate: w.issuer.pki().iaca.cert().clone(),
            purpose: TrustPurpose::Iaca,
        }],
    };
    for (i, kind) in RpKind::ALL.into_iter().enumerate() {
        let (evidence, mut asked) = presented(&mut w, kind, now + 60 * i as i64);
        let doc = document(&evidence.device_response);
        assert_eq!(doc.doc_type, protocol::mdoc::DOC_TYPE);
        let chain = x5chain(&doc.issuer_signed);
        let outcome = ValidationRuleset::Mdl.validate(&chain, &registry);
        assert!(
            outcome.success(),
            "{kind:?}: isomdl certificate errors: {:?}",
            outcome.errors
        );
        issuer_authentication(chain, &doc.issuer_signed)
            .unwrap_or_else(|e| panic!("{kind:?}: issuer authentication: {e:?}"));
        asked.sort();
        assert_eq!(
            checked_digests(&doc.issuer_signed),
            Ok(asked),
            "{kind:?}: isomdl sees exactly the requested elements, each with its digest"
        );
        device_authentication(&doc, transcript(&evidence))
            .unwrap_or_else(|e| panic!("{kind:?}: device authentication: {e:?}"));
    }
}

#[test]
fn isomdl_refuses_the_device_signature_under_another_transcript_and_a_tampered_item() {
    let now = wall_clock();
    let mut w = world_at(now);
    let (evidence, _) = presented(&mut w, RpKind::Bank, now);
    let doc = document(&evidence.device_response);
    // The same response presented in another transaction: the signature is bound to it.
    let other = protocol::mdoc::device::SessionTranscript::mip(
        "https://bank.example",
        "another-trxcode",
        "another-nonce",
    );
    let other = MipTranscript(other.to_value());
    assert!(device_authentication(&doc, other).is_err());
    // One disclosed value changed after issuance: its digest no longer matches the MSO.
    let mut tampered = doc.issuer_signed.clone();
    let mut namespaces: std::collections::BTreeMap<_, _> =
        tampered.namespaces.clone().unwrap().into();
    let items = namespaces.values_mut().next().unwrap();
    let mut list = items.clone().into_inner();
    let mut item = list[0].clone().into_inner();
    item.element_value = ciborium::Value::Text("tampered".into());
    list[0] = Tag24::new(item).unwrap();
    *items = list.try_into().unwrap();
    tampered.namespaces = Some(namespaces.try_into().unwrap());
    let err = checked_digests(&tampered).unwrap_err();
    assert!(err.starts_with("digest of"), "{err}");
}

/// pymdoccbor checks the issuer part and pycose the device signature over bytes the
/// script builds from the transcript (`protocol/tests/verify_device_response.py`).
#[cfg(feature = "interop-tests")]
#[test]
fn pymdoccbor_and_pycose_verify_the_device_response_of_a_presentation_at_each_kind() {
    use std::process::Command;
    let now = wall_clock();
    let mut w = world_at(now);
    let dir = std::env::temp_dir().join(format!("verifier-independent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (r, k, t) = (
        dir.join("response.cbor"),
        dir.join("root.pem"),
        dir.join("transcript.cbor"),
    );
    std::fs::write(&k, w.issuer.pki().iaca.cert_pem()).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../protocol/tests/verify_device_response.py"
    );
    let run = |response: &[u8], transcript: &[u8], items: usize| {
        std::fs::write(&r, response).unwrap();
        std::fs::write(&t, transcript).unwrap();
        let out = Command::new("python3")
            .arg(script)
            .args([&r, &k, &t])
            .arg(items.to_string())
            .output()
            .expect("python3 must be installed for the independent DeviceResponse check");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (i, kind) in RpKind::ALL.into_iter().enumerate() {
        let (evidence, asked) = presented(&mut w, kind, now + 60 * i as i64);
        let (ok, stdout, stderr) = run(
            &evidence.device_response,
            &evidence.session_transcript,
            asked.len(),
        );
        assert!(
            ok,
            "{kind:?}: pymdoccbor/pycose refused the presentation (install with \
             `pip install pymdoccbor==1.4.0`):\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains("\"deviceSignature\": \"verified\""),
            "{stdout}"
        );
        for e in &asked {
            assert!(
                stdout.contains(&format!("\"{e}\"")),
                "{kind:?}: {e} in {stdout}"
            );
        }
        // The same bytes under another transaction's transcript: the device signature fails.
        let other = protocol::mdoc::device::SessionTranscript::mip("x", "y", "z")
            .to_cbor()
            .unwrap();
        let (ok, _, stderr) = run(&evidence.device_response, &other, asked.len());
        assert!(!ok && stderr.contains("device"), "{kind:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
