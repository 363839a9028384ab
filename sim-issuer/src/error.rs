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
}
