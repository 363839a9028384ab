use protocol::oid4vci::ErrorCode;

use crate::policy::Refusal;

/// The one error type of the issuer. Every refusal names its reason; [`Error::code`] gives
/// the OAuth / OpenID4VCI error code it travels as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A rollout policy file is malformed or inconsistent; the string names the problem.
    #[error("rollout policy: {0}")]
    Policy(String),
    /// The rollout policy refuses the application.
    #[error("refused: {0}")]
    Refused(Refusal),
    /// A resident registration number is malformed; the string names the problem.
    #[error("invalid resident registration number: {0}")]
    InvalidRrn(&'static str),
    /// A resident with this id or RRN is already registered.
    #[error("resident already registered")]
    DuplicateResident,
    /// No resident with this id.
    #[error("unknown resident")]
    UnknownResident,
    /// A wire value or card evidence failed to decode or verify (the protocol error says
    /// which check).
    #[error("{0}")]
    Protocol(protocol::Error),
    /// The clerk's in-person check of the plastic card failed.
    #[error("in-person card check failed: {0}")]
    InPersonCheckFailed(&'static str),
    /// The pre-authorized code is not one this issuer handed out.
    #[error("unknown pre-authorized code")]
    UnknownOffer,
    /// The pre-authorized code's time to live has passed.
    #[error("pre-authorized code expired")]
    OfferExpired,
    /// The pre-authorized code was already redeemed.
    #[error("pre-authorized code already used")]
    OfferUsed,
    /// Too many wrong tx_codes: the offer is burned and a new desk visit is needed.
    #[error("offer burned after too many wrong transaction codes")]
    OfferBurned,
    /// The offer needs a tx_code and none was sent.
    #[error("transaction code required")]
    TxCodeRequired,
    /// Wrong tx_code.
    #[error("wrong transaction code ({attempts_left} attempts left)")]
    WrongTxCode {
        /// Guesses left before the offer is burned.
        attempts_left: u8,
    },
    /// The access token is not one this issuer handed out.
    #[error("unknown access token")]
    UnknownToken,
    /// The access token's lifetime has passed.
    #[error("access token expired")]
    TokenExpired,
    /// The access token was already used to issue a credential.
    #[error("access token already used")]
    TokenUsed,
    /// The nonce is not one this issuer handed out.
    #[error("unknown nonce")]
    UnknownNonce,
    /// The nonce's lifetime has passed.
    #[error("nonce expired")]
    NonceExpired,
    /// The nonce was already used (a replay).
    #[error("nonce already used")]
    NonceUsed,
    /// The credential request carries no (or more than one) proof JWT.
    #[error("exactly one proof JWT is required")]
    ProofRequired,
    /// Unknown credential configuration.
    #[error("unknown credential configuration {0:?}")]
    UnknownConfiguration(String),
    /// The card presented is not the resident's current IC card (replaced or never issued).
    #[error("card is not the holder's current IC card")]
    CardNotCurrent,
    /// The phone is not registered to the holder.
    #[error("phone is not registered to the holder")]
    PhoneNotRegistered,
    /// The phone is registered, but not in the holder's own name.
    #[error("phone is not in the holder's own name")]
    PhoneNotInOwnName,
    /// No credential with this document number.
    #[error("unknown document number")]
    UnknownDocument,
    /// No Token Status List with this id.
    #[error("unknown status list")]
    UnknownStatusList,
    /// The QR image cannot be made; names why.
    #[error("QR code: {0}")]
    Qr(&'static str),
    /// The data directory's database failed; names the problem. The call changed nothing.
    #[error("storage: {0}")]
    Storage(String),
    /// The idempotency key was used before with a different request.
    #[error("idempotency key reused with a different request")]
    IdempotencyKeyReused,
}

impl From<protocol::Error> for Error {
    fn from(e: protocol::Error) -> Self {
        match e {
            protocol::Error::InvalidRrn(why) => Self::InvalidRrn(why),
            e => Self::Protocol(e),
        }
    }
}

impl Error {
    /// The wire error code.
    pub fn code(&self) -> ErrorCode {
        use protocol::oid4vci::Oid4vciError;
        match self {
            Self::Refused(_)
            | Self::InPersonCheckFailed(_)
            | Self::CardNotCurrent
            | Self::PhoneNotRegistered
            | Self::PhoneNotInOwnName => ErrorCode::CredentialRequestDenied,
            Self::UnknownOffer
            | Self::OfferExpired
            | Self::OfferUsed
            | Self::OfferBurned
            | Self::TxCodeRequired
            | Self::WrongTxCode { .. } => ErrorCode::InvalidGrant,
            Self::UnknownToken | Self::TokenExpired | Self::TokenUsed => ErrorCode::InvalidToken,
            Self::UnknownNonce | Self::NonceExpired | Self::NonceUsed => ErrorCode::InvalidNonce,
            Self::ProofRequired => ErrorCode::InvalidProof,
            Self::Protocol(protocol::Error::Oid4vci(Oid4vciError::Malformed(_))) => {
                ErrorCode::InvalidRequest
            }
            Self::Protocol(protocol::Error::Oid4vci(Oid4vciError::NonceMismatch)) => {
                ErrorCode::InvalidNonce
            }
            Self::Protocol(protocol::Error::Oid4vci(_)) => ErrorCode::InvalidProof,
            // Card evidence that does not verify (PA, AA, DG decoding).
            Self::Protocol(_) => ErrorCode::InvalidGrant,
            Self::UnknownConfiguration(_) => ErrorCode::UnknownCredentialConfiguration,
            Self::UnknownDocument | Self::UnknownResident | Self::UnknownStatusList => {
                ErrorCode::NotFound
            }
            Self::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            _ => ErrorCode::InvalidRequest,
        }
    }
}
