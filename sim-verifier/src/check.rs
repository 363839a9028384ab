//! The checks of one VP, in the order the verifier runs them (see [`crate::verifier`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use ciborium::Value;
use protocol::mdoc::device::{DeviceResponse, SessionTranscript};
use protocol::mdoc::{MdocError, DOC_TYPE, NAMESPACE};
use protocol::mip::Vp;
use protocol::status_list::{self, StatusListCache};
use protocol::Error;
use x509_cert::Certificate;

use crate::verifier::{Evidence, Sent};
use crate::{Refusal, VerifierConfig};

/// Seconds a failed status-list fetch is remembered, so that a VP is refused
/// (`status_unavailable`) rather than the list fetched again and again.
pub(crate) const STATUS_FAILURE_SECS: i64 = 60;

/// The verifier's view of the issuers' status lists: verified lists and recent failures.
#[derive(Debug, Default)]
pub(crate) struct StatusView {
    pub(crate) cache: StatusListCache,
    pub(crate) failures: HashMap<String, (i64, String)>,
}

/// The outcome of the checks.
pub(crate) enum Checked {
    Accepted {
        elements: BTreeMap<String, Value>,
        issuer: String,
        evidence: Evidence,
    },
    Refused(Refusal),
    NeedStatusList(String),
}

fn refusal_of(e: Error) -> Refusal {
    match e {
        Error::Mdoc(MdocError::DigestMismatch { element, .. }) => Refusal::DigestMismatch(element),
        Error::Mdoc(MdocError::BadDeviceSignature) => Refusal::DeviceSignature,
        Error::Mdoc(MdocError::Expired) => Refusal::Validity("expired".into()),
        Error::Mdoc(MdocError::NotYetValid) => Refusal::Validity("not yet valid".into()),
        Error::Mdoc(
            e @ (MdocError::UntrustedSigner(_)
            | MdocError::BadSignature
            | MdocError::NoSignerCertificate
            | MdocError::UnsupportedAlgorithm
            | MdocError::UnsupportedDigest),
        ) => Refusal::IssuerSignature(e.to_string()),
        other => Refusal::Malformed(other.to_string()),
    }
}

pub(crate) fn check_vp(
    cfg: &VerifierConfig,
    trxcode: &str,
    sent: &Sent,
    vp: &Vp,
    used_nonces: &HashSet<String>,
    status: &mut StatusView,
    now: i64,
) -> Checked {
    match run(cfg, trxcode, sent, vp, used_nonces, status, now) {
        Ok(c) => c,
        Err(r) => Checked::Refused(r),
    }
}

fn run(
    cfg: &VerifierConfig,
    trxcode: &str,
    sent: &Sent,
    vp: &Vp,
    used_nonces: &HashSet<String>,
    status: &mut StatusView,
    now: i64,
) -> Result<Checked, Refusal> {
    // The decoder checked that `data` is hex.
    let sealed = hex::decode(&vp.data).map_err(|_| Refusal::Malformed("vp.data".into()))?;
    let plain = protocol::seal::open(&sent.secret, trxcode.as_bytes(), &sealed)
        .map_err(|_| Refusal::Decryption)?;
    let roots: Vec<Certificate> = cfg.issuers.iter().map(|i| i.iaca.clone()).collect();
    let transcript = SessionTranscript::mip(&cfg.id, trxcode, &sent.nonce);
    let response = DeviceResponse::decode(&plain).map_err(refusal_of)?;
    // Issuer signature and chain, digests, device signature, then validity; a validity
    // failure is reported after the nonce checks, as the verifier's order says.
    let verified = match response.verify(&roots, DOC_TYPE, &transcript, now) {
        Ok(v) => Ok(v),
        Err(e @ Error::Mdoc(MdocError::Expired | MdocError::NotYetValid)) => Err(refusal_of(e)),
        Err(e) => return Err(refusal_of(e)),
    };
    if vp.nonce != sent.nonce {
        return Err(Refusal::NonceMismatch);
    }
    if used_nonces.contains(&sent.nonce) {
        return Err(Refusal::NonceReused);
    }
    let verified = verified?;
    let issuer_name = verified.signer.tbs_certificate.issuer.clone();
    let issuer = cfg
        .issuers
        .iter()
        .find(|i| i.iaca.tbs_certificate.subject == issuer_name)
        .ok_or(Refusal::IssuerNotAllowed)?;
    if !sent.profile.filter.allow_issuer_list.contains(&issuer.id) {
        return Err(Refusal::IssuerNotAllowed);
    }
    // Revocation, by the MSO's Token Status List reference.
    let Some(reference) = verified.status.as_ref() else {
        return Err(Refusal::StatusUnavailable(
            "the MSO has no status reference".into(),
        ));
    };
    match status.cache.get(&reference.uri, now) {
        Some(list) => match list.status_of(reference) {
            Ok(status_list::VALID) => {}
            Ok(_) => return Err(Refusal::Revoked),
            Err(e) => return Err(Refusal::StatusUnavailable(e.to_string())),
        },
        None => match status.failures.get(&reference.uri) {
            Some((until, why)) if *until > now => {
                return Err(Refusal::StatusUnavailable(why.clone()))
            }
            _ => return Ok(Checked::NeedStatusList(reference.uri.clone())),
        },
    }
    // Exactly the elements asked for: one not asked for is refused (and not kept); one
    // missing is refused.
    let requested: BTreeSet<&str> = sent.profile.filter.requested().collect();
    let mut elements = BTreeMap::new();
    for (namespace, items) in &verified.elements {
        for (name, value) in items {
            if namespace != NAMESPACE || !requested.contains(name.as_str()) {
                return Err(Refusal::UnrequestedElement(format!("{namespace}/{name}")));
            }
            elements.insert(name.clone(), value.clone());
        }
    }
    if let Some(missing) = requested.iter().find(|e| !elements.contains_key(**e)) {
        return Err(Refusal::MissingElement((*missing).to_owned()));
    }
    let transcript = transcript
        .to_cbor()
        .map_err(|e| Refusal::Malformed(format!("session transcript: {e}")))?;
    Ok(Checked::Accepted {
        elements,
        issuer: issuer.id.clone(),
        evidence: Evidence {
            device_response: plain,
            session_transcript: transcript,
        },
    })
}
