//! Wire types of the phone ↔ issuer interface, shaped after OpenID for Verifiable Credential
//! Issuance 1.0 (OID4VCI), and the ES256 proof-of-possession JWT.
//!
//! - Issuer metadata (§12.2), credential offer (§4.1) and its `openid-credential-offer://`
//!   URI ([`CredentialOffer::to_uri`], [`CredentialOffer::from_uri`]);
//! - token request (§6.1) with the pre-authorized code grant plus `tx_code`, and this
//!   workspace's own card-evidence grant ([`CARD_EVIDENCE_GRANT`]: DG1, EF.SOD and an Active
//!   Authentication signature over a fresh issuer nonce);
//! - nonce endpoint (§7), credential request and response (§8) with `proofs.jwt`;
//! - error responses (§6.3, §8.3.1.2) as [`ErrorResponse`] with a typed [`ErrorCode`];
//! - the proof JWT (Appendix F.1): [`sign_proof_jwt`] and [`verify_proof_jwt`], ES256 over
//!   P-256 with the device key in the `jwk` header.
//!
//! Deviation, on purpose: the token request is a JSON body rather than a form-encoded one,
//! so that every endpoint of the simulator parses one format.

use core::fmt;
use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::Error;

/// Grant type of the pre-authorized code flow (OID4VCI §4.1.1).
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// Grant type of the IC-card evidence flow (this workspace's own URN).
pub const CARD_EVIDENCE_GRANT: &str = "urn:midsim:params:oauth:grant-type:card-evidence";
/// `typ` of a proof JWT (OID4VCI Appendix F.1).
pub const PROOF_JWT_TYP: &str = "openid4vci-proof+jwt";
/// Credential configuration id of the mobile resident card.
pub const MRRC_CONFIGURATION_ID: &str = "kr.go.mois.mrrc.1";
/// URI scheme of a credential offer.
pub const OFFER_SCHEME: &str = "openid-credential-offer://";

/// Why an OID4VCI message or proof was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Oid4vciError {
    /// Not well-formed (JSON, base64url, JWT structure); names the part.
    Malformed(&'static str),
    /// `alg` is not ES256.
    UnsupportedAlgorithm,
    /// `typ` is not `openid4vci-proof+jwt`.
    WrongType,
    /// The JWT signature does not verify with the `jwk` header's key.
    BadSignature,
    /// `aud` is not this issuer.
    WrongAudience,
    /// `nonce` is not the one expected.
    NonceMismatch,
    /// `iat` is too far in the past.
    Stale,
    /// `iat` is in the future.
    FromFuture,
}

impl fmt::Display for Oid4vciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed {what}"),
            Self::UnsupportedAlgorithm => f.write_str("alg is not ES256"),
            Self::WrongType => f.write_str("typ is not openid4vci-proof+jwt"),
            Self::BadSignature => f.write_str("proof signature does not verify"),
            Self::WrongAudience => f.write_str("aud is not this issuer"),
            Self::NonceMismatch => f.write_str("nonce does not match"),
            Self::Stale => f.write_str("iat too old"),
            Self::FromFuture => f.write_str("iat in the future"),
        }
    }
}

impl From<Oid4vciError> for Error {
    fn from(e: Oid4vciError) -> Self {
        Error::Oid4vci(e)
    }
}

/// Credential issuer metadata (§12.2.4), the parts this issuer uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerMetadata {
    /// The issuer identifier (an https URL).
    pub credential_issuer: String,
    /// Token endpoint (in OID4VCI it belongs to the authorization server's metadata; the
    /// simulated issuer is its own authorization server).
    pub token_endpoint: String,
    /// Nonce endpoint.
    pub nonce_endpoint: String,
    /// Credential endpoint.
    pub credential_endpoint: String,
    /// Status endpoint (this workspace's extension): verifiers query revocation here.
    pub status_endpoint: String,
    /// Supported credentials by configuration id.
    pub credential_configurations_supported: BTreeMap<String, CredentialConfiguration>,
}

/// One supported credential (§12.2.4, Appendix A.2 for `mso_mdoc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfiguration {
    /// `"mso_mdoc"`.
    pub format: String,
    /// The mdoc docType.
    pub doctype: String,
    /// `["cose_key"]`.
    pub cryptographic_binding_methods_supported: Vec<String>,
    /// COSE algorithm ids of the issuer signature (`-7` for ES256).
    pub credential_signing_alg_values_supported: Vec<i64>,
    /// Proof types: `{"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}`.
    pub proof_types_supported: BTreeMap<String, ProofTypeMetadata>,
}

/// Supported algorithms of one proof type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofTypeMetadata {
    /// JWS algorithms.
    pub proof_signing_alg_values_supported: Vec<String>,
}

/// The `tx_code` description in an offer (§4.1.1): how many digits, where it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxCodeSpec {
    /// `"numeric"`.
    pub input_mode: String,
    /// Number of characters.
    pub length: u8,
    /// Where the holder finds it.
    pub description: String,
}

/// The pre-authorized code grant in an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreAuthorizedGrant {
    /// The single-use code.
    #[serde(rename = "pre-authorized_code")]
    pub pre_authorized_code: String,
    /// Present when a transaction code is required.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tx_code: Option<TxCodeSpec>,
}

/// Grants of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferGrants {
    /// The pre-authorized code grant.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code")]
    pub pre_authorized_code: PreAuthorizedGrant,
}

/// A credential offer (§4.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialOffer {
    /// Issuer identifier.
    pub credential_issuer: String,
    /// Offered configurations.
    pub credential_configuration_ids: Vec<String>,
    /// Grants.
    pub grants: OfferGrants,
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

impl CredentialOffer {
    /// `openid-credential-offer://?credential_offer=<percent-encoded JSON>` (§4.1.3).
    pub fn to_uri(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("{OFFER_SCHEME}?credential_offer={}", percent_encode(&json))
    }

    /// `openid-credential-offer://?credential_offer_uri=<percent-encoded URL>`: the offer by
    /// reference (§4.1.3), which the wallet fetches with `GET url`. A QR code of it is a
    /// fraction of the size of one holding the offer itself.
    pub fn reference_uri(url: &str) -> String {
        format!(
            "{OFFER_SCHEME}?credential_offer_uri={}",
            percent_encode(url)
        )
    }

    /// Parse an offer URI by value (see [`parse_offer_uri`] for both forms).
    pub fn from_uri(uri: &str) -> Result<Self, Error> {
        match parse_offer_uri(uri)? {
            OfferUri::ByValue(o) => Ok(o),
            OfferUri::ByReference(_) => {
                Err(Oid4vciError::Malformed("credential_offer parameter").into())
            }
        }
    }
}

/// An offer URI as a QR code carries it (§4.1.3): the offer itself, or where to fetch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferUri {
    /// `credential_offer=`: the offer.
    ByValue(CredentialOffer),
    /// `credential_offer_uri=`: an `https` URL to `GET` the offer from.
    ByReference(String),
}

/// Parse an `openid-credential-offer://` URI in either form (§4.1.3); exactly one of
/// `credential_offer` and `credential_offer_uri` must be present.
pub fn parse_offer_uri(uri: &str) -> Result<OfferUri, Error> {
    let query = uri
        .strip_prefix(OFFER_SCHEME)
        .and_then(|r| r.strip_prefix('?'))
        .ok_or(Oid4vciError::Malformed("credential offer URI scheme"))?;
    let by_value = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("credential_offer="));
    let by_ref = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("credential_offer_uri="));
    match (by_value, by_ref) {
        (Some(value), None) => {
            let json = percent_decode(value)
                .ok_or(Oid4vciError::Malformed("credential_offer encoding"))?;
            serde_json::from_str(&json)
                .map(OfferUri::ByValue)
                .map_err(|_| Oid4vciError::Malformed("credential_offer").into())
        }
        (None, Some(value)) => {
            let url = percent_decode(value)
                .ok_or(Oid4vciError::Malformed("credential_offer_uri encoding"))?;
            if !url.starts_with("https://") || url.len() > 2048 {
                return Err(Oid4vciError::Malformed("credential_offer_uri").into());
            }
            Ok(OfferUri::ByReference(url))
        }
        _ => Err(Oid4vciError::Malformed("credential_offer parameter").into()),
    }
}

/// A token request (§6.1), one variant per grant, tagged by `grant_type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "grant_type", deny_unknown_fields)]
pub enum TokenRequest {
    /// QR route: the code from the offer and the tx_code from the second channel.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code")]
    PreAuthorized {
        /// The pre-authorized code.
        #[serde(rename = "pre-authorized_code")]
        pre_authorized_code: String,
        /// The transaction code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tx_code: Option<String>,
        /// The phone (this workspace's extension: a mobile ID goes only on a phone in the
        /// holder's own name).
        phone_id: String,
    },
    /// IC route: evidence read from the card.
    #[serde(rename = "urn:midsim:params:oauth:grant-type:card-evidence")]
    CardEvidence {
        /// DG1, base64url.
        dg1: String,
        /// DG15 (the Active Authentication public key), base64url.
        dg15: String,
        /// EF.SOD, base64url.
        sod: String,
        /// The issuer nonce the card signed (from the nonce endpoint).
        nonce: String,
        /// The card's Active Authentication signature over the nonce, base64url.
        aa_signature: String,
        /// The phone.
        phone_id: String,
    },
}

/// A successful token response (§6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenResponse {
    /// The access token for the credential endpoint.
    pub access_token: String,
    /// `"Bearer"`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
}

/// The nonce endpoint's answer (§7.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonceResponse {
    /// A fresh nonce.
    pub c_nonce: String,
}

/// Proofs of possession in a credential request (§8.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proofs {
    /// Proof JWTs (this issuer takes exactly one).
    pub jwt: Vec<String>,
}

/// A credential request (§8.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// Which credential.
    pub credential_configuration_id: String,
    /// Proofs of possession of the device key.
    pub proofs: Proofs,
}

/// One issued credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuedCredential {
    /// For `mso_mdoc`: base64url of the CBOR `IssuerSigned` (Appendix A.2.4).
    pub credential: String,
}

/// A credential response (§8.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialResponse {
    /// The credentials (one).
    pub credentials: Vec<IssuedCredential>,
    /// The document number, so the holder can report the phone lost (extension).
    pub document_number: String,
}

/// OAuth / OID4VCI error codes (RFC 6749 §5.2, OID4VCI §6.3 and §8.3.1.2), plus this
/// simulator's own for rules of the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Malformed request.
    InvalidRequest,
    /// Bad, expired, used or burned grant (pre-authorized code, tx_code, card evidence).
    InvalidGrant,
    /// Unknown grant type.
    UnsupportedGrantType,
    /// Missing, unknown or expired access token.
    InvalidToken,
    /// Bad proof of possession.
    InvalidProof,
    /// The proof's nonce is unknown, used or expired; get a fresh one.
    InvalidNonce,
    /// Unknown credential configuration.
    UnknownCredentialConfiguration,
    /// The issuer refuses to issue (a rollout rule names why).
    CredentialRequestDenied,
    /// The idempotency key was used before with a different request.
    IdempotencyKeyReused,
    /// Not found (status of an unknown document).
    NotFound,
}

/// An error body (§6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The code.
    pub error: ErrorCode,
    /// A human-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// A P-256 public key as a JWK (RFC 7518 §6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `"EC"`.
    pub kty: String,
    /// `"P-256"`.
    pub crv: String,
    /// x, base64url.
    pub x: String,
    /// y, base64url.
    pub y: String,
}

impl Jwk {
    /// The JWK of a key.
    pub fn from_key(key: &VerifyingKey) -> Self {
        let p = key.to_encoded_point(false);
        Self {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: B64.encode(p.x().map(|x| x.as_slice()).unwrap_or_default()),
            y: B64.encode(p.y().map(|y| y.as_slice()).unwrap_or_default()),
        }
    }

    /// The key of a JWK.
    pub fn to_key(&self) -> Result<VerifyingKey, Error> {
        if self.kty != "EC" || self.crv != "P-256" {
            return Err(Oid4vciError::Malformed("jwk (not EC P-256)").into());
        }
        let x = B64
            .decode(&self.x)
            .map_err(|_| Oid4vciError::Malformed("jwk x"))?;
        let y = B64
            .decode(&self.y)
            .map_err(|_| Oid4vciError::Malformed("jwk y"))?;
        if x.len() != 32 || y.len() != 32 {
            return Err(Oid4vciError::Malformed("jwk coordinates").into());
        }
        let mut sec1 = vec![4u8];
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| Error::BadPoint("jwk"))
    }
}

#[derive(Serialize, Deserialize)]
struct ProofHeader {
    typ: String,
    alg: String,
    jwk: Jwk,
}

#[derive(Serialize, Deserialize)]
struct ProofClaims {
    aud: String,
    iat: i64,
    nonce: String,
}

/// Sign a proof JWT with the device key: header `{typ, alg: ES256, jwk}`, claims
/// `{aud, iat, nonce}`.
pub fn sign_proof_jwt(device: &SigningKey, aud: &str, nonce: &str, iat: i64) -> String {
    let header = ProofHeader {
        typ: PROOF_JWT_TYP.into(),
        alg: "ES256".into(),
        jwk: Jwk::from_key(device.verifying_key()),
    };
    let claims = ProofClaims {
        aud: aud.into(),
        iat,
        nonce: nonce.into(),
    };
    let input = format!(
        "{}.{}",
        B64.encode(serde_json::to_vec(&header).unwrap_or_default()),
        B64.encode(serde_json::to_vec(&claims).unwrap_or_default())
    );
    let sig = crate::crypto::sign(device, input.as_bytes());
    format!("{input}.{}", B64.encode(sig.to_bytes()))
}

/// How much clock skew a proof's `iat` may show into the future, in seconds.
pub const PROOF_FUTURE_SKEW: i64 = 60;

/// Verify a proof JWT: structure, `typ`, ES256, signature by the `jwk` key, `aud`, `nonce`,
/// and `iat` within `max_age` seconds before `now`. Gives the device key.
pub fn verify_proof_jwt(
    jwt: &str,
    aud: &str,
    nonce: &str,
    now: i64,
    max_age: i64,
) -> Result<VerifyingKey, Error> {
    let mut parts = jwt.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Oid4vciError::Malformed("JWT (not three parts)").into());
    };
    let header: ProofHeader = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(Oid4vciError::Malformed("JWT header"))?;
    if header.typ != PROOF_JWT_TYP {
        return Err(Oid4vciError::WrongType.into());
    }
    if header.alg != "ES256" {
        return Err(Oid4vciError::UnsupportedAlgorithm.into());
    }
    let key = header.jwk.to_key()?;
    let sig = B64
        .decode(s)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or(Oid4vciError::Malformed("JWT signature"))?;
    let input_len = h.len() + 1 + c.len();
    let input = jwt.get(..input_len).ok_or(Oid4vciError::Malformed("JWT"))?;
    crate::crypto::verify(&key, input.as_bytes(), &sig).map_err(|_| Oid4vciError::BadSignature)?;
    let claims: ProofClaims = B64
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(Oid4vciError::Malformed("JWT claims"))?;
    if claims.aud != aud {
        return Err(Oid4vciError::WrongAudience.into());
    }
    if claims.nonce != nonce {
        return Err(Oid4vciError::NonceMismatch.into());
    }
    if claims.iat > now.saturating_add(PROOF_FUTURE_SKEW) {
        return Err(Oid4vciError::FromFuture.into());
    }
    if claims.iat < now.saturating_sub(max_age) {
        return Err(Oid4vciError::Stale.into());
    }
    Ok(key)
}

/// The `nonce` claim of a proof JWT, read without verifying it (to find which issued nonce
/// it claims before checking it).
pub fn proof_jwt_nonce(jwt: &str) -> Result<String, Error> {
    let claims = jwt
        .split('.')
        .nth(1)
        .and_then(|c| B64.decode(c).ok())
        .and_then(|b| serde_json::from_slice::<ProofClaims>(&b).ok())
        .ok_or(Oid4vciError::Malformed("JWT claims"))?;
    Ok(claims.nonce)
}

/// The 8-byte Active Authentication challenge (RND.IFD, ICAO 9303-11 §6.1) the phone sends
/// the card for the card-evidence grant: the first 8 bytes of
/// SHA-256(`"midsim-aa:"` ‖ `c_nonce`), so the card's signature is bound to one issuer nonce.
pub fn aa_challenge(c_nonce: &str) -> [u8; 8] {
    let d = crate::crypto::sha256_parts(&[b"midsim-aa:", c_nonce.as_bytes()]);
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

/// base64url without padding, as every binary field of these messages uses.
pub fn b64url(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Decode base64url without padding, naming the field on failure.
pub fn from_b64url(s: &str, what: &'static str) -> Result<Vec<u8>, Error> {
    B64.decode(s)
        .map_err(|_| Oid4vciError::Malformed(what).into())
}

#[cfg(test)]
mod tests;
