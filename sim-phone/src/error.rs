//! The one error type of this crate.

/// Why a phone operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No card is in the reader's field.
    #[error("no card in the field")]
    NoCard,
    /// The card left the field before it answered (a torn tap).
    #[error("the card left the field")]
    CardRemoved,
    /// The reader or its middleware failed (PC/SC service down, reader unplugged).
    #[error("reader: {0}")]
    Reader(String),
    /// The image holds no QR code the camera could find.
    #[error("no QR code in the image")]
    QrNotFound,
    /// A QR code was found but could not be decoded (damaged, too noisy, not UTF-8).
    #[error("QR code unreadable: {0}")]
    QrUnreadable(String),
    /// The image bytes are not a picture the camera understands.
    #[error("image: {0}")]
    Image(String),
    /// No key with this handle in the keystore.
    #[error("no such key in the keystore")]
    KeyNotFound,
    /// The PIN that gates the key is wrong.
    #[error("wrong PIN, {tries_left} tries left")]
    WrongPin {
        /// Tries left before the key locks.
        tries_left: u8,
    },
    /// The key is locked after too many wrong PINs.
    #[error("key locked after too many wrong PINs")]
    KeyLocked,
    /// A credential offer (QR payload) is not acceptable.
    #[error("credential offer: {0}")]
    Offer(String),
    /// The issuer could not be reached, or answered something that is not its protocol.
    #[error("issuer: {0}")]
    Issuer(String),
    /// A protocol-level failure (APDU, TLV, PACE, secure messaging, PA, AA, mdoc).
    #[error(transparent)]
    Protocol(#[from] protocol::Error),
}
