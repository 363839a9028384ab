//! What the issuer is configured with, and what the desk's clerk checks: plain data shared
//! by the core ([`crate::issuer`]) and its journal ([`crate::journal`]).

use serde::Serialize;

use crate::rrn::Rrn;

/// Knobs of the issuance service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IssuerConfig {
    /// The issuer identifier and base URL (`aud` of proof JWTs).
    pub base_url: String,
    /// Lifetime of a desk offer's pre-authorized code, seconds.
    pub offer_ttl: i64,
    /// Wrong tx_codes allowed before the offer is burned.
    pub tx_code_max_attempts: u8,
    /// Digits of a tx_code.
    pub tx_code_len: u8,
    /// Lifetime of an access token, seconds.
    pub token_ttl: i64,
    /// Lifetime of a nonce, seconds.
    pub nonce_ttl: i64,
    /// Oldest `iat` of a proof JWT accepted, seconds.
    pub proof_max_age: i64,
    /// How long idempotency records, and offers and access tokens past their expiry, are
    /// kept, seconds. A retry within the window gets the first answer (and a spent code is
    /// reported as spent); after it the record is gone, so memory follows the traffic of
    /// the last window, not the whole history (Stripe keeps idempotency keys for 24 h too).
    #[serde(default = "default_retention")]
    pub retention: i64,
}

fn default_retention() -> i64 {
    86_400
}

impl Default for IssuerConfig {
    fn default() -> Self {
        Self {
            base_url: "https://issuer.midsim.invalid".into(),
            offer_ttl: 600,
            tx_code_max_attempts: 3,
            tx_code_len: 6,
            token_ttl: 300,
            nonce_ttl: 300,
            proof_max_age: 300,
            retention: default_retention(),
        }
    }
}

/// What the clerk checks when a holder of a plastic card stands at the desk (simulated:
/// the clerk reads the RRN off the card and compares the photo with the face).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct InPersonCheck {
    /// The RRN printed on the card presented (full; `Debug` of [`Rrn`] masks it).
    pub presented_rrn: Rrn,
    /// The photo on the card matches the person.
    pub face_matches: bool,
}
