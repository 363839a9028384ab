//! The one error type of this crate.

use std::io;

/// Everything that can go wrong in `sim-card`.
///
/// The card itself never fails on bad input (a bad APDU gets a status word); these errors
/// come from personalisation and from the transports around it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Personalisation input is not acceptable.
    #[error("personalisation: {0}")]
    Personalisation(&'static str),
    /// Building a file, a key or EF.SOD failed in the protocol layer.
    #[error(transparent)]
    Protocol(#[from] protocol::Error),
    /// A socket operation failed; `op` says which one.
    #[error("vpcd: {op} failed: {source}")]
    Io {
        /// The operation that failed, e.g. "read frame header".
        op: &'static str,
        /// The error the OS reported.
        #[source]
        source: io::Error,
    },
    /// Could not reach the vpcd reader after `attempts` tries in a row.
    #[error("vpcd: could not connect to {addr} after {attempts} attempt(s): {source} (is pcscd running with the vpcd driver?)")]
    Connect {
        /// The address tried, as given.
        addr: String,
        /// How many attempts in a row failed.
        attempts: u32,
        /// The error of the last attempt.
        #[source]
        source: io::Error,
    },
    /// The peer sent a frame with length 0: vpcd never does.
    #[error("vpcd: empty frame at byte {position} of the stream")]
    EmptyFrame {
        /// Offset of the frame's length field in the stream.
        position: u64,
    },
    /// The peer closed the connection in the middle of a frame.
    #[error(
        "vpcd: frame truncated: the part at byte {position} needs {expected} byte(s), got {got}"
    )]
    TruncatedFrame {
        /// Offset in the stream of the part cut short (the length field or the payload).
        position: u64,
        /// How many bytes that part has.
        expected: usize,
        /// How many of them arrived before the connection closed.
        got: usize,
    },
    /// A one-byte control message other than 00 (off), 01 (on), 02 (reset) or 04 (ATR).
    #[error("vpcd: unknown control message {byte:#04x}")]
    UnknownControl {
        /// The control byte.
        byte: u8,
    },
    /// A payload longer than the 2-byte length field can carry (65535 bytes).
    #[error("vpcd: payload of {len} bytes does not fit a frame (max 65535)")]
    FrameTooLong {
        /// The payload length.
        len: usize,
    },
}
