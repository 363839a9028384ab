//! Generated populations and a sample credential, for the binary and for people who want to
//! look at what the issuer makes.

use protocol::mdoc::device::{DeviceResponse, SessionTranscript};
use protocol::mdoc::DOC_TYPE;
use protocol::oid4vci::{self, CredentialRequest, Proofs, TokenRequest, MRRC_CONFIGURATION_ID};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::issuer::{InPersonCheck, Issuer, IssuerConfig};
use crate::policy::Policy;
use crate::registry::{Resident, ResidentId};
use crate::time::local_date;
use crate::{Error, UnixTime};

/// Register `n` residents generated from `seed` (ids `0..n`).
pub fn populate(issuer: &mut Issuer, seed: u64, n: u64, now: UnixTime) -> Result<(), Error> {
    let today = local_date(now, issuer.policy().utc_offset)
        .ok_or(Error::Refused(crate::policy::Refusal::ClockOutOfRange))?;
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5EED_0FBE_0B1E);
    for i in 0..n {
        let r = Resident::generate(&mut rng, ResidentId(i), issuer.policy(), today)?;
        issuer.register(r)?;
    }
    Ok(())
}

/// 2025-04-01T03:00:00Z (noon KST), after the nationwide opening.
pub const SAMPLE_NOW: UnixTime = 1_743_476_400;

/// The mip session the sample presentation is signed for.
pub fn sample_transcript() -> SessionTranscript {
    SessionTranscript::mip(
        "sample-verifier",
        "sample-trxcode-0001",
        "sample-nonce-0001",
    )
}

/// Issue one credential through the QR route for generated resident 0 and return the files
/// to write: `mdoc.cbor` (an ISO 18013-5 `DeviceResponse` presenting every element, with a
/// device signature over [`sample_transcript`], as mdoc tools read one),
/// `session-transcript.cbor` (that transcript, to check the device signature with),
/// `issuer-signed.cbor` (the `IssuerSigned` structure the credential endpoint returns) and
/// `iaca-root.pem`.
pub fn sample_credential(seed: u64) -> Result<Vec<(&'static str, Vec<u8>)>, Error> {
    let now = SAMPLE_NOW;
    let mut issuer = Issuer::new(
        seed,
        IssuerConfig::default(),
        Policy::default_rollout(),
        now,
    )?;
    populate(&mut issuer, seed, 1, now)?;
    let r = issuer.registry().get(ResidentId(0))?.clone();
    let check = InPersonCheck {
        presented_rrn: r.rrn,
        face_matches: true,
    };
    let offer = issuer.desk_offer("sample-offer", r.id, &r.district, &check, now)?;
    let phone_id = r
        .phones
        .first()
        .map(|p| p.phone_id.clone())
        .unwrap_or_default();
    let tok = issuer.token(
        "sample-token",
        &TokenRequest::PreAuthorized {
            pre_authorized_code: offer.offer.grants.pre_authorized_code.pre_authorized_code,
            tx_code: Some(offer.tx_code),
            phone_id,
        },
        now,
    )?;
    let device = protocol::crypto::generate_signing_key(&mut ChaCha20Rng::seed_from_u64(seed));
    let nonce = issuer.nonce(now)?.c_nonce;
    let jwt = oid4vci::sign_proof_jwt(&device, &issuer.config().base_url, &nonce, now);
    let resp = issuer.credential(
        "sample-credential",
        &tok.access_token,
        &CredentialRequest {
            credential_configuration_id: MRRC_CONFIGURATION_ID.into(),
            proofs: Proofs { jwt: vec![jwt] },
        },
        now,
    )?;
    let cbor = oid4vci::from_b64url(
        resp.credentials
            .first()
            .map(|c| c.credential.as_str())
            .unwrap_or_default(),
        "credential",
    )?;
    let doc = protocol::mdoc::IssuerSigned::from_cbor(&cbor)?;
    let transcript = sample_transcript();
    let response = DeviceResponse::build(DOC_TYPE, &doc, &transcript, |m| {
        Ok::<_, Error>(protocol::crypto::sign(&device, m))
    })?;
    Ok(vec![
        ("mdoc.cbor", response),
        ("session-transcript.cbor", transcript.to_cbor()?),
        ("issuer-signed.cbor", cbor),
        ("iaca-root.pem", issuer.pki().iaca.cert_pem().into_bytes()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_files_are_deterministic_and_the_mdoc_verifies_against_the_written_root() {
        let a = sample_credential(3).unwrap();
        assert_eq!(a, sample_credential(3).unwrap());
        let names: Vec<_> = a.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "mdoc.cbor",
                "session-transcript.cbor",
                "issuer-signed.cbor",
                "iaca-root.pem"
            ]
        );
        let root = protocol::pki::parse_pem(std::str::from_utf8(&a[3].1).unwrap()).unwrap();
        let doc = protocol::mdoc::IssuerSigned::from_cbor(&a[2].1).unwrap();
        let issued = doc
            .verify(std::slice::from_ref(&root), DOC_TYPE, SAMPLE_NOW)
            .unwrap();
        assert_eq!(a[1].1, sample_transcript().to_cbor().unwrap());
        let presented = DeviceResponse::decode(&a[0].1)
            .unwrap()
            .verify(
                std::slice::from_ref(&root),
                DOC_TYPE,
                &sample_transcript(),
                SAMPLE_NOW,
            )
            .unwrap();
        assert_eq!(presented, issued);
        // The device signature is bound to the sample session and no other.
        let other = SessionTranscript::mip("sample-verifier", "sample-trxcode-0001", "other");
        assert!(DeviceResponse::decode(&a[0].1)
            .unwrap()
            .verify(&[root], DOC_TYPE, &other, SAMPLE_NOW)
            .is_err());
    }
}
