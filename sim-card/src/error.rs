/// The one error type of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Personalisation input is not acceptable.
    #[error("personalisation: {0}")]
    Personalisation(&'static str),
    /// Building a file, a key or EF.SOD failed in the protocol layer.
    #[error(transparent)]
    Protocol(#[from] protocol::Error),
}
