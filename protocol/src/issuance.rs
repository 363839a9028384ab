//! The phone↔issuer vocabulary: one typed request and one typed reply per endpoint, shared by
//! the phone's app, the issuer core and the load harness between them.
//!
//! The bodies are the OpenID4VCI-shaped wire types of [`crate::oid4vci`]; the credential's
//! status is the issuer's `GET /status/{document_number}` answer. An HTTP shell maps a request
//! to a method and path (`POST /nonce`, `POST /token`, `POST /credential` with a bearer
//! token, `GET /status/{document_number}`) and an [`IssuerReply::Error`] to a 4xx body; an
//! in-process transport moves the values as they are.

use serde::{Deserialize, Serialize};

use crate::oid4vci::{
    CredentialOffer, CredentialRequest, CredentialResponse, ErrorResponse, NonceResponse,
    TokenRequest, TokenResponse,
};

/// Seconds since 1970-01-01T00:00:00Z: the one time type of the workspace. No actor reads a
/// clock; every call that needs the time takes one of these.
pub type UnixTime = i64;

/// A call from the phone to the issuer.
/// Closed on purpose: every transport handles every endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerRequest {
    /// `GET {credential_offer_uri}`: a desk's offer by reference (OID4VCI §4.1.3).
    Offer {
        /// The URL the QR code named.
        uri: String,
    },
    /// `POST /nonce` (OID4VCI §7).
    Nonce,
    /// `POST /token` (OID4VCI §6).
    Token(TokenRequest),
    /// `POST /credential` with a bearer token (OID4VCI §8).
    Credential {
        /// The access token from the token endpoint.
        access_token: String,
        /// The request.
        request: CredentialRequest,
    },
    /// `GET /status/{document_number}`.
    Status {
        /// The mobile ID's document number.
        document_number: String,
    },
}

impl IssuerRequest {
    /// The endpoint's short name (`nonce`, `token`, `credential`, `status`), for logs and
    /// failure kinds.
    pub fn endpoint(&self) -> &'static str {
        match self {
            Self::Offer { .. } => "offer",
            Self::Nonce => "nonce",
            Self::Token(_) => "token",
            Self::Credential { .. } => "credential",
            Self::Status { .. } => "status",
        }
    }
}

/// The issuer's answer to an [`IssuerRequest`], or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssuerReply {
    /// A credential offer fetched by reference.
    Offer(CredentialOffer),
    /// A nonce.
    Nonce(NonceResponse),
    /// An access token.
    Token(TokenResponse),
    /// The credential.
    Credential(CredentialResponse),
    /// A mobile ID's status.
    Status(CredentialStatus),
    /// The issuer refused (an OAuth / OID4VCI error body).
    Error(ErrorResponse),
    /// No answer after the client's retries (timeout, connection refused, 5xx).
    Unreachable(String),
}

impl IssuerReply {
    /// The reply's short name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Offer(_) => "offer",
            Self::Nonce(_) => "nonce",
            Self::Token(_) => "token",
            Self::Credential(_) => "credential",
            Self::Status(_) => "status",
            Self::Error(_) => "error",
            Self::Unreachable(_) => "unreachable",
        }
    }
}

/// Why a credential stopped being valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// A newer mobile ID was issued to the holder (e.g. on a new phone).
    Superseded,
    /// The physical card was reported lost.
    CardReportedLost,
    /// The phone was reported lost.
    PhoneReportedLost,
}

/// A credential's status, as the status endpoint answers it (JSON
/// `{"status": "valid", "valid_until": …}`, `{"status": "expired", …}`,
/// `{"status": "revoked", "reason": "superseded", "at": …}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CredentialStatus {
    /// Valid.
    Valid {
        /// Valid until.
        valid_until: UnixTime,
    },
    /// Past its validity: reissue (every 3 years).
    Expired {
        /// When it expired.
        valid_until: UnixTime,
    },
    /// Revoked.
    Revoked {
        /// Why.
        reason: RevocationReason,
        /// When.
        at: UnixTime,
    },
}

impl CredentialStatus {
    /// Parse the status endpoint's JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self, crate::Error> {
        serde_json::from_slice(body)
            .map_err(|_| crate::oid4vci::Oid4vciError::Malformed("status").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bodies_parse_and_garbage_is_a_typed_error() {
        assert_eq!(
            CredentialStatus::from_json(br#"{"status":"valid","valid_until":5}"#).unwrap(),
            CredentialStatus::Valid { valid_until: 5 }
        );
        let revoked = CredentialStatus::Revoked {
            reason: RevocationReason::Superseded,
            at: 9,
        };
        assert_eq!(
            CredentialStatus::from_json(br#"{"status":"revoked","reason":"superseded","at":9}"#)
                .unwrap(),
            revoked
        );
        assert_eq!(
            serde_json::to_string(&revoked).unwrap(),
            r#"{"status":"revoked","reason":"superseded","at":9}"#
        );
        for bad in [
            &b"{"[..],
            br#"{"status":"odd"}"#,
            br#"{"status":"revoked","reason":"stolen","at":1}"#,
        ] {
            assert!(CredentialStatus::from_json(bad).is_err());
        }
    }
}
