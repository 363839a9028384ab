use core::fmt;

/// What went wrong while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the structure did.
    Truncated,
    /// Bytes were left over after the structure ended.
    TrailingData,
    /// A length field is not valid for its encoding (for example an indefinite length or an
    /// extended Lc of zero).
    BadLength,
    /// A tag is not valid (for example a multi-byte tag that never ends).
    BadTag,
    /// A required element is missing.
    Missing,
    /// A value is present but not acceptable.
    BadValue,
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Truncated => "truncated",
            Self::TrailingData => "trailing data",
            Self::BadLength => "bad length",
            Self::BadTag => "bad tag",
            Self::Missing => "missing element",
            Self::BadValue => "bad value",
        })
    }
}

/// The one error type of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed input: what was being decoded, what went wrong, and the byte offset.
    #[error("{what}: {kind} at byte {position}")]
    Decode {
        /// The structure being decoded, e.g. "command APDU".
        what: &'static str,
        /// What went wrong.
        kind: DecodeErrorKind,
        /// Offset into the input where it went wrong.
        position: usize,
    },
    /// A value cannot be encoded (for example a command APDU with more than 65535 data bytes).
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// The structure being encoded.
        what: &'static str,
        /// Why it cannot be encoded.
        reason: &'static str,
    },
    /// A DER structure (X.509, CMS, SecurityInfos) failed to decode or encode.
    #[error("DER: {0}")]
    Der(String),
    /// A message authentication code did not verify (secure messaging, PACE token, or the
    /// AES-GCM tag of a sealed presentation, [`crate::seal::open`]).
    #[error("MAC verification failed")]
    BadMac,
    /// A secure-messaging send sequence counter did not match (replay or reorder).
    #[error("secure messaging sequence error")]
    Sequence,
    /// A signature did not verify.
    #[error("signature verification failed: {0}")]
    BadSignature(&'static str),
    /// A public key or point is not valid on the curve (or is the identity).
    #[error("invalid public key or point: {0}")]
    BadPoint(&'static str),
    /// A hash in EF.SOD does not match the data group it covers.
    #[error("data group {0} hash does not match EF.SOD")]
    HashMismatch(u8),
    /// Passive Authentication was given a data group that EF.SOD has no hash for.
    #[error("data group {0} is not covered by EF.SOD")]
    DataGroupNotCovered(u8),
    /// A certificate was not accepted (chain, validity window, signature, profile), in
    /// Passive Authentication or when building one.
    #[error("certificate: {0}")]
    Certificate(crate::pki::CertificateError),
    /// A protocol step arrived in the wrong state.
    #[error("protocol state: {0}")]
    State(&'static str),
    /// Padding (ISO/IEC 9797-1 method 2) is wrong after decryption.
    #[error("bad padding")]
    BadPadding,
    /// PACE mutual authentication failed: the other side's authentication token did not
    /// verify (ICAO 9303-11 §4.4.3.4). With a well-formed exchange this means the two sides
    /// used different passwords, so the card counts it against the password's retry counter.
    #[error("PACE authentication token did not verify")]
    PaceAuthFailed,
    /// Expected secure messaging data objects are missing (no SM bits in CLA, no DO'8E', no
    /// DO'99'): status word 6987 (ICAO 9303-11 §9.8, ISO 7816-4 §10).
    #[error("expected secure messaging data objects missing")]
    SmObjectsMissing,
    /// An ISO 18013-5 mdoc failed to decode, encode or verify.
    #[error("mdoc: {0}")]
    Mdoc(crate::mdoc::MdocError),
    /// Not a resident registration number, and why.
    #[error("invalid resident registration number: {0}")]
    InvalidRrn(&'static str),
    /// Not a region code or name of [`crate::region::Region`].
    #[error("unknown region {0:?}")]
    UnknownRegion(String),
    /// An OpenID4VCI message or proof JWT failed to decode or verify.
    #[error("OpenID4VCI: {0}")]
    Oid4vci(crate::oid4vci::Oid4vciError),
    /// A Token Status List, its token or a status reference failed to decode, encode or
    /// verify.
    #[error("status list: {0}")]
    StatusList(crate::status_list::StatusListError),
}

impl Error {
    pub(crate) fn decode(what: &'static str, kind: DecodeErrorKind, position: usize) -> Self {
        Self::Decode {
            what,
            kind,
            position,
        }
    }
}

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Self::Der(e.to_string())
    }
}
