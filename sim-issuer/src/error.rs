use crate::policy::Refusal;

/// The one error type of the issuer.
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
}
