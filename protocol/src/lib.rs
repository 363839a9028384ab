//! Wire formats and protocol maths shared by the card and the phone.
//!
//! This crate does no I/O: no sockets, no clocks, no OS randomness. Randomness comes in as a
//! `rand_core::CryptoRngCore` the caller seeds; time comes in as a parameter.
//!
//! What it covers:
//! - the [`SmartCard`] trait every card and reader shares ([`card`]);
//! - ISO/IEC 7816-4 command and response APDUs ([`apdu`]), all four cases, short and extended
//!   length, command chaining and GET RESPONSE;
//! - BER-TLV ([`tlv`]) with multi-byte tags and lengths;
//! - ICAO Doc 9303 part 11 PACE ([`pace`]) with ECDH generic mapping on NIST P-256 and AES-128
//!   secure messaging ([`sm`]), chip side and terminal side;
//! - ISO/IEC 18013-5 mdoc issuance and issuer-data verification ([`mdoc`]);
//! - IETF Token Status Lists ([`status_list`]): the revocation list the mdoc's MSO points
//!   into, signed as a CWT, and a verifier's cache of them;
//! - the phone↔issuer requests and replies ([`issuance`]) and the one time type;
//! - the 17 first-level divisions, the one region table ([`region`]), and resident
//!   registration numbers with their check digit ([`rrn`]);
//! - QR codes as a screen shows them ([`qr`]);
//! - the relying parties' "mip" messages, QR-MPM direct mode ([`mip`]);
//! - OpenID4VCI-shaped wire types and the ES256 proof-of-possession JWT ([`oid4vci`]);
//! - sealing a presentation to a verifier's key, ECDH + HKDF-SHA256 + AES-256-GCM ([`seal`]);
//! - the LDS files ([`lds`]), EF.SOD and Passive Authentication ([`sod`], [`pki`]) and Active
//!   Authentication ([`aa`]).
//!
//! What it deliberately does not do: hold card state (that is `sim-card`), drive a flow (that
//! is the phone app), or talk to a reader.
//!
//! The public interface is the modules below plus [`Error`].

pub mod aa;
pub mod apdu;
pub mod card;
pub mod crypto;
mod error;
pub mod issuance;
pub mod lds;
pub mod mdoc;
pub mod mip;
pub mod oid4vci;
pub mod pace;
pub mod pki;
pub mod qr;
mod reader;
pub mod region;
pub mod rrn;
pub mod seal;
pub mod sm;
pub mod sod;
pub mod status_list;
pub mod tlv;

pub use card::SmartCard;
pub use error::{DecodeErrorKind, Error};

/// The eMRTD LDS1 application identifier (ICAO 9303-10 §3.11.3).
pub const EMRTD_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];
