//! Interop: an mdoc our issuer produced, checked by isomdl (spruceid's ISO/IEC 18013-5
//! implementation, an independent reader).
//!
//! isomdl checks two things here:
//! - issuer authentication ([`issuer_authentication`]): the MSO's COSE_Sign1 verifies with
//!   the key of the x5chain's end-entity certificate;
//! - the certificate profile ([`ValidationRuleset::Mdl`], Annex B): the signer's extensions
//!   (SKI recomputed with SHA-1, keyUsage, extKeyUsage, cRLDistributionPoints,
//!   issuerAltName) and validity, a trust anchor whose name, SKI (= the signer's AKI) and
//!   signature match, the IACA's extensions (SKI, keyUsage, basicConstraints, CRL point,
//!   issuerAltName) and validity, and the countries of the two.
//!
//! isomdl does not check the value digests against the MSO, so this test does, with sha2,
//! over the IssuerSignedItemBytes as isomdl decoded them. isomdl checks validity against the
//! wall clock, so the issuer here is created at the real `now`.

use isomdl::definitions::helpers::Tag24;
use isomdl::definitions::x509::trust_anchor::{TrustAnchor, TrustAnchorRegistry, TrustPurpose};
use isomdl::definitions::x509::validation::ValidationRuleset;
use isomdl::definitions::x509::X5Chain;
use isomdl::definitions::{IssuerSigned, Mso};
use isomdl::presentation::authentication::mdoc::issuer_authentication;
use p256::ecdsa::SigningKey;
use protocol::oid4vci::{self, CredentialRequest, Proofs, TokenRequest};
use protocol::pki::{self, CertUsage, Certificate};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use sim_issuer::issuer::{InPersonCheck, Issuer, IssuerConfig};
use sim_issuer::policy::Policy;
use sim_issuer::registry::{CardState, PhoneRegistration, Resident, ResidentId};
use sim_issuer::UnixTime;

const PHONE: &str = "010-1234-5678";
/// The x5chain label in the COSE unprotected header (RFC 9360).
const X5CHAIN: i64 = 33;

fn wall_clock() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as UnixTime
}

/// An issuer created at `now` (seed `seed`) with one resident, and the IssuerSigned CBOR of
/// the credential it issues to that resident over the QR route at `now`.
fn issue(seed: u64, now: UnixTime) -> (Issuer, Vec<u8>) {
    let mut i = Issuer::new(
        seed,
        IssuerConfig::default(),
        Policy::default_rollout(),
        now,
    )
    .unwrap();
    i.register(Resident {
        id: ResidentId(1),
        family_name: "김".into(),
        given_name: "민준".into(),
        rrn: "900101-1234568".parse().unwrap(),
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
    let check = InPersonCheck {
        presented_rrn: "900101-1234568".parse().unwrap(),
        face_matches: true,
    };
    let offer = i
        .desk_offer("offer", ResidentId(1), "11110", &check, now)
        .unwrap();
    let token = i
        .token(
            "token",
            &TokenRequest::PreAuthorized {
                pre_authorized_code: offer
                    .offer
                    .grants
                    .pre_authorized_code
                    .pre_authorized_code
                    .clone(),
                tx_code: Some(offer.tx_code.clone()),
                phone_id: PHONE.into(),
            },
            now,
        )
        .unwrap();
    let device = SigningKey::random(&mut ChaCha20Rng::seed_from_u64(seed));
    let nonce = i.nonce(now).unwrap().c_nonce;
    let req = CredentialRequest {
        credential_configuration_id: oid4vci::MRRC_CONFIGURATION_ID.into(),
        proofs: Proofs {
            jwt: vec![oid4vci::sign_proof_jwt(
                &device,
                &i.config().base_url,
                &nonce,
                now,
            )],
        },
    };
    let resp = i
        .credential("cred", &token.access_token, &req, now)
        .unwrap();
    let cbor = oid4vci::from_b64url(&resp.credentials[0].credential, "credential").unwrap();
    (i, cbor)
}

fn decode(cbor: &[u8]) -> IssuerSigned {
    isomdl::cbor::from_slice(cbor).expect("isomdl decodes our IssuerSigned")
}

fn x5chain(doc: &IssuerSigned) -> X5Chain {
    let value = doc
        .issuer_auth
        .unprotected
        .rest
        .iter()
        .find(|(l, _)| *l == coset::Label::Int(X5CHAIN))
        .map(|(_, v)| v.clone())
        .expect("x5chain in the unprotected header");
    X5Chain::from_cbor(value).expect("isomdl reads the x5chain")
}

fn registry(iaca: &Certificate) -> TrustAnchorRegistry {
    TrustAnchorRegistry {
        anchors: vec![TrustAnchor {
            certificate: iaca.clone(),
            purpose: TrustPurpose::Iaca,
        }],
    }
}

/// The value digests isomdl's MSO holds, checked against the items as isomdl decoded them:
/// the number of items that match, or the first that does not.
fn check_digests(doc: &IssuerSigned) -> Result<usize, String> {
    let payload = doc.issuer_auth.payload.as_ref().ok_or("detached payload")?;
    let mso: Tag24<Mso> = isomdl::cbor::from_slice(payload).map_err(|e| e.to_string())?;
    let mso = mso.into_inner();
    let mut checked = 0;
    for (ns, items) in doc.namespaces.as_ref().ok_or("no namespaces")?.iter() {
        let digests = mso
            .value_digests
            .get(ns)
            .ok_or("namespace without digests")?;
        for item in items.iter() {
            let name = format!("{ns}/{}", item.as_ref().element_identifier);
            // 18013-5 §9.1.2.5: SHA-256 over the tag-24 IssuerSignedItemBytes.
            let bytes = isomdl::cbor::to_vec(item).map_err(|e| e.to_string())?;
            match digests.get(&item.as_ref().digest_id) {
                Some(d) if Sha256::digest(&bytes).as_slice() == d.as_ref() => checked += 1,
                _ => return Err(format!("digest of {name}")),
            }
        }
    }
    Ok(checked)
}

#[test]
fn isomdl_accepts_the_issuer_signature_and_the_iaca_and_signer_profile() {
    let now = wall_clock();
    let (issuer, cbor) = issue(1, now);
    let doc = decode(&cbor);
    let chain = x5chain(&doc);
    assert_eq!(
        chain.end_entity_certificate(),
        issuer.pki().mdoc_signer_at(now).cert()
    );
    let outcome = ValidationRuleset::Mdl.validate(&chain, &registry(issuer.pki().iaca.cert()));
    assert!(
        outcome.success(),
        "isomdl certificate errors: {:?}",
        outcome.errors
    );
    issuer_authentication(chain, &doc).expect("isomdl verifies the issuer signature");
    assert_eq!(check_digests(&doc), Ok(11));
}

#[test]
fn isomdl_refuses_another_issuers_iaca_and_a_forged_signature() {
    let now = wall_clock();
    let (_, cbor) = issue(1, now);
    let (other, _) = issue(2, now);
    let doc = decode(&cbor);
    let outcome =
        ValidationRuleset::Mdl.validate(&x5chain(&doc), &registry(other.pki().iaca.cert()));
    assert!(!outcome.success());
    assert!(
        outcome
            .errors
            .iter()
            .any(|e| e.contains("no valid trust anchor")),
        "{:?}",
        outcome.errors
    );
    let mut forged = doc.clone();
    forged.issuer_auth.inner.signature[5] ^= 1;
    assert!(issuer_authentication(x5chain(&forged), &forged).is_err());
}

#[test]
fn isomdl_detects_what_the_old_profile_lacked() {
    // The profile before Annex B was followed: an IACA without a CRL point (and a signer that
    // copies none), which isomdl refuses. Guards that the check above can fail.
    let now = wall_clock() as u64;
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let iaca = pki::iaca_root(
        &mut rng,
        "Old IACA",
        "KR",
        "https://issuer.midsim.invalid/iaca",
        now - 86_400,
        now + 86_400 * 365,
    )
    .unwrap();
    let signer = pki::issue(
        &iaca,
        &mut rng,
        "Old signer",
        now - 86_400,
        now + 86_400 * 100,
        CertUsage::MdocSigner,
    )
    .unwrap();
    let chain = X5Chain::builder()
        .with_der_certificate(&signer.cert_der())
        .unwrap()
        .build()
        .unwrap();
    let outcome = ValidationRuleset::Mdl.validate(&chain, &registry(iaca.cert()));
    assert!(!outcome.success());
    assert!(
        outcome
            .errors
            .iter()
            .any(|e| e.contains("CrlDistributionPoints: required extension not found")),
        "{:?}",
        outcome.errors
    );
}

#[test]
fn a_tampered_element_fails_the_digest_check_on_isomdls_decoding() {
    let (_, cbor) = issue(1, wall_clock());
    let mut doc = decode(&cbor);
    let mut namespaces: std::collections::BTreeMap<_, _> = doc.namespaces.clone().unwrap().into();
    let items = namespaces.values_mut().next().unwrap();
    let mut list = items.clone().into_inner();
    let mut item = list[0].clone().into_inner();
    item.element_value = ciborium::Value::Text("tampered".into());
    list[0] = Tag24::new(item).unwrap();
    *items = list.try_into().unwrap();
    doc.namespaces = Some(namespaces.try_into().unwrap());
    let err = check_digests(&doc).unwrap_err();
    assert!(err.starts_with("digest of kr.go.mois.mrrc.1/"), "{err}");
}
