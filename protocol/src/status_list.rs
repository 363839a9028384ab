//! IETF Token Status List (TSL), draft-ietf-oauth-status-list-20 (section numbers below are
//! that draft's): how an mdoc issuer tells relying parties, after issuance, that a credential
//! was revoked, without learning which credential a relying party checks.
//!
//! The pieces, in the draft's order:
//! - [`StatusList`] (§4): `bits` (1, 2, 4 or 8) per Referenced Token, packed into a byte
//!   array with index 0 in the least significant bits of byte 0 (§4.1 step 3), compressed
//!   with DEFLATE in the zlib format (RFC 1950, §4.1 step 4) at the highest level, and
//!   carried as the CBOR map `{"bits": uint, "lst": bstr}` (§4.3). Status values are
//!   [`VALID`], [`INVALID`] and [`SUSPENDED`] (§7.1).
//! - The Status List Token in CWT form (§5.2): a COSE_Sign1_Tagged (tag 18, not the CWT tag
//!   61) with ES256 and `typ` (label 16) = [`MEDIA_TYPE`] in the protected header, the signer
//!   certificate as `x5chain` (label 33) in the unprotected header (as the MSO of
//!   [`crate::mdoc`] carries it), and the claims `sub` (2, the list's URI), `iat` (6), `exp`
//!   (4), `ttl` (65534) and `status_list` (65533). [`sign`] makes one, [`verify`] checks one.
//! - The Referenced Token's reference (§6.3): [`StatusRef`], the `Status` map
//!   `{"status_list": {"idx": uint, "uri": tstr}}` that the issuer puts into the MSO
//!   (`status`, ISO/IEC 18013-5 second edition) through [`crate::mdoc::IssueParams::status`]
//!   and that [`crate::mdoc::VerifiedMdoc::status`] gives back.
//! - A sans-IO cache for verifiers ([`StatusListCache`], §13.7): verified lists by URI, kept
//!   until `min(exp, fetched_at + ttl)`.
//!
//! # For a verifier
//!
//! The validation rules of §8.3, in order, after the mdoc itself verified
//! ([`crate::mdoc::IssuerSigned::verify`]; an expired or badly signed mdoc is rejected before
//! any status is fetched):
//!
//! ```text
//! let r: &StatusRef = verified_mdoc.status.as_ref()?;          // step 1; None: no status
//! let list = match cache.get(&r.uri, now) {
//!     Some(list) => list,                                       // fresh within its ttl
//!     None => {
//!         let bytes = http_get(&r.uri);                         // step 2: your I/O,
//!                                                               // Accept: application/statuslist+cwt
//!         let list = status_list::verify(&bytes, &iaca_roots, now, &r.uri)?;  // steps 3-5
//!         cache.insert(list, now);
//!         cache.get(&r.uri, now)?
//!     }
//! };
//! match list.status_of(r)? {                                    // steps 6-7
//!     VALID => accept, INVALID => reject (revoked), SUSPENDED => reject (suspended), _ => reject
//! }
//! ```
//!
//! [`verify`] checks the COSE tag and algorithm, the `typ`, that the signer certificate was
//! issued by one of the trusted roots and that both are valid at `now`, the signature, that
//! `sub` is the URI the token was fetched from, that `exp` (if present) has not passed, and
//! only then decompresses the list, capped at [`MAX_DECOMPRESSED`] bytes (a zip bomb is an
//! [`StatusListError::TooLarge`], not an allocation of gigabytes). The draft's X.509
//! extended key usage for status signing (§10) has no assigned OID yet (`TBD`), so the
//! signer is trusted as an mdoc signer of the IACA is: by its chain.
//!
//! Decoding is total: any bytes give a value or an [`Error::StatusList`] naming what was
//! wrong.

use core::fmt;
use std::collections::BTreeMap;
use std::io::{Read, Write};

use ciborium::Value;
use coset::{iana, CoseSign1, CoseSign1Builder, HeaderBuilder, Label, TaggedCborSerializable};
use p256::ecdsa::Signature;

use crate::pki::{self, Certificate, CertifiedKey};
use crate::Error;

/// Status Type VALID (§7.1): the Referenced Token is valid.
pub const VALID: u8 = 0x00;
/// Status Type INVALID (§7.1): revoked, annulled, taken back, recalled or cancelled.
pub const INVALID: u8 = 0x01;
/// Status Type SUSPENDED (§7.1): temporarily invalid (needs `bits` of 2 or more).
pub const SUSPENDED: u8 = 0x02;

/// The media type of a Status List Token in CWT form (§8.1, §8.2), also its `typ` (§5.2).
pub const MEDIA_TYPE: &str = "application/statuslist+cwt";

/// The most bytes a compressed `lst` may inflate to: 16 MiB, 2^27 one-bit entries (the
/// draft's size table, Appendix B, tops out at 12 MB for 100 million entries). Past it the
/// list is refused, whatever its signature.
pub const MAX_DECOMPRESSED: usize = 16 << 20;

/// COSE header label `typ` (RFC 9596).
const HEADER_TYP: i64 = 16;
/// COSE header label of x5chain (RFC 9360).
const X5CHAIN: i64 = iana::HeaderParameter::X5Chain as i64;
/// CWT claim keys (RFC 8392 §4 and the draft's §5.2).
const CLAIM_SUB: i64 = 2;
const CLAIM_EXP: i64 = 4;
const CLAIM_IAT: i64 = 6;
const CLAIM_TTL: i64 = 65534;
const CLAIM_STATUS_LIST: i64 = 65533;

/// Why a status list, its token or a status reference was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusListError {
    /// Not well-formed CBOR, or not the expected structure; names the part.
    Malformed(&'static str),
    /// `bits` is not 1, 2, 4 or 8 (§4.1 step 1).
    UnsupportedBits(u64),
    /// `lst` is not a valid zlib stream (RFC 1950: header, DEFLATE data, Adler-32), or has
    /// bytes after it.
    BadCompression,
    /// `lst` inflates to more than the limit ([`MAX_DECOMPRESSED`]).
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A status value does not fit in `bits`.
    StatusTooWide {
        /// The value.
        status: u8,
        /// Bits per entry of the list.
        bits: u8,
    },
    /// The index is outside the list (§8.3: the Referenced Token must then be rejected).
    IndexOutOfRange {
        /// The index asked for.
        idx: u64,
        /// Entries in the list.
        len: u64,
    },
    /// The COSE message is not a COSE_Sign1_Tagged (§5.2).
    NotSign1Tagged,
    /// The COSE algorithm is not ES256.
    UnsupportedAlgorithm,
    /// The protected `typ` header is missing or not [`MEDIA_TYPE`] (§5.2).
    WrongType,
    /// No x5chain certificate in the header.
    NoSignerCertificate,
    /// The signer certificate does not chain to a trusted root at `now`.
    UntrustedSigner(pki::CertificateError),
    /// The COSE_Sign1 signature does not verify with the signer certificate's key.
    BadSignature,
    /// `sub` is not the URI the token was fetched from (§8.3 step 4a).
    SubjectMismatch {
        /// The URI expected.
        expected: String,
        /// The `sub` in the token.
        found: String,
    },
    /// The token's `exp` has passed (§8.3 step 4c).
    Expired {
        /// `exp` of the token.
        exp: i64,
        /// The time of the check.
        now: i64,
    },
    /// A [`StatusRef`] names another list than the one it was checked against.
    UriMismatch,
    /// A value cannot be encoded.
    Encode(&'static str),
}

impl fmt::Display for StatusListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed {what}"),
            Self::UnsupportedBits(b) => write!(f, "bits {b} is not 1, 2, 4 or 8"),
            Self::BadCompression => f.write_str("lst is not a valid zlib stream"),
            Self::TooLarge { limit } => write!(f, "lst inflates to more than {limit} bytes"),
            Self::StatusTooWide { status, bits } => {
                write!(f, "status {status:#04x} does not fit in {bits} bits")
            }
            Self::IndexOutOfRange { idx, len } => {
                write!(f, "index {idx} outside a list of {len} entries")
            }
            Self::NotSign1Tagged => f.write_str("not a COSE_Sign1_Tagged"),
            Self::UnsupportedAlgorithm => f.write_str("signature algorithm is not ES256"),
            Self::WrongType => write!(f, "typ is not {MEDIA_TYPE}"),
            Self::NoSignerCertificate => f.write_str("no x5chain signer certificate"),
            Self::UntrustedSigner(e) => write!(f, "signer certificate not trusted: {e}"),
            Self::BadSignature => f.write_str("status list signature does not verify"),
            Self::SubjectMismatch { expected, found } => {
                write!(f, "sub {found:?} is not the URI fetched, {expected:?}")
            }
            Self::Expired { exp, now } => write!(f, "expired at {exp} (now {now})"),
            Self::UriMismatch => f.write_str("status reference names another list"),
            Self::Encode(what) => write!(f, "cannot encode {what}"),
        }
    }
}

impl From<StatusListError> for Error {
    fn from(e: StatusListError) -> Self {
        Error::StatusList(e)
    }
}

fn malformed(what: &'static str) -> Error {
    Error::StatusList(StatusListError::Malformed(what))
}

fn check_bits(bits: u64) -> Result<u8, Error> {
    match bits {
        1 | 2 | 4 | 8 => Ok(bits as u8),
        b => Err(StatusListError::UnsupportedBits(b).into()),
    }
}

/// A Status List (§4): `bits` per entry, entries packed least significant bits first.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    bytes: Vec<u8>,
}

impl fmt::Debug for StatusList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusList")
            .field("bits", &self.bits)
            .field("len", &self.len())
            .field("not_valid", &self.iter().filter(|&s| s != VALID).count())
            .finish()
    }
}

impl StatusList {
    /// A list of at least `len` entries, all [`VALID`] (the default value of §13.3, so
    /// unused entries cannot be told from valid ones). The byte array is whole bytes
    /// (§13.4), so [`Self::len`] is `len` rounded up to a multiple of `8 / bits`.
    pub fn new(bits: u8, len: u64) -> Result<Self, Error> {
        let bits = check_bits(u64::from(bits))?;
        let per = u64::from(8 / bits);
        let n = usize::try_from(len.div_ceil(per))
            .map_err(|_| StatusListError::Encode("status list too long"))?;
        Ok(Self {
            bits,
            bytes: vec![0; n],
        })
    }

    /// The list of exactly these statuses (padded with [`VALID`] to a whole byte).
    pub fn from_statuses(bits: u8, statuses: &[u8]) -> Result<Self, Error> {
        let mut l = Self::new(bits, statuses.len() as u64)?;
        for (i, &s) in statuses.iter().enumerate() {
            l.set(i as u64, s)?;
        }
        Ok(l)
    }

    /// The list over an uncompressed byte array (§4.1 steps 2 and 3).
    pub fn from_bytes(bits: u8, bytes: Vec<u8>) -> Result<Self, Error> {
        Ok(Self {
            bits: check_bits(u64::from(bits))?,
            bytes,
        })
    }

    /// Bits per entry: 1, 2, 4 or 8.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// Entries in the list.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64 * u64::from(8 / self.bits)
    }

    /// True if the list has no entry.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The uncompressed byte array.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn locate(&self, idx: u64) -> Option<(usize, u32)> {
        let per = u64::from(8 / self.bits);
        let byte = usize::try_from(idx / per).ok()?;
        let shift = (idx % per) as u32 * u32::from(self.bits);
        (byte < self.bytes.len()).then_some((byte, shift))
    }

    fn mask(&self) -> u8 {
        ((1u16 << self.bits) - 1) as u8
    }

    /// The status at `idx` (§4.1 step 3), or `None` outside the list.
    pub fn get(&self, idx: u64) -> Option<u8> {
        let (byte, shift) = self.locate(idx)?;
        Some((self.bytes[byte] >> shift) & self.mask())
    }

    /// Set the status at `idx`.
    pub fn set(&mut self, idx: u64, status: u8) -> Result<(), Error> {
        let mask = self.mask();
        if status & !mask != 0 {
            return Err(StatusListError::StatusTooWide {
                status,
                bits: self.bits,
            }
            .into());
        }
        let len = self.len();
        let (byte, shift) = self
            .locate(idx)
            .ok_or(StatusListError::IndexOutOfRange { idx, len })?;
        let b = &mut self.bytes[byte];
        *b = (*b & !(mask << shift)) | (status << shift);
        Ok(())
    }

    /// Every status, from index 0.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        let per = 8 / self.bits;
        let mask = self.mask();
        let bits = self.bits;
        self.bytes
            .iter()
            .flat_map(move |&b| (0..per).map(move |k| (b >> (k * bits)) & mask))
    }

    /// The compressed byte array: zlib (RFC 1950) DEFLATE at the highest level, as §4.1
    /// step 4 recommends.
    pub fn compress(&self) -> Result<Vec<u8>, Error> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&self.bytes)
            .map_err(|_| StatusListError::Encode("zlib"))?;
        Ok(z.finish().map_err(|_| StatusListError::Encode("zlib"))?)
    }

    /// Inflate `lst` into a list of `bits` per entry, refusing more than `limit` bytes of
    /// output, a stream that is not zlib, and bytes after the stream.
    pub fn decompress(bits: u8, lst: &[u8], limit: usize) -> Result<Self, Error> {
        let bits = check_bits(u64::from(bits))?;
        let mut z = flate2::bufread::ZlibDecoder::new(lst);
        let mut out = Vec::new();
        (&mut z)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| StatusListError::BadCompression)?;
        if out.len() > limit {
            return Err(StatusListError::TooLarge { limit }.into());
        }
        if !z.into_inner().is_empty() {
            return Err(StatusListError::BadCompression.into());
        }
        Ok(Self { bits, bytes: out })
    }

    /// The CBOR `StatusList` (§4.3): `{"bits": uint, "lst": bstr}`.
    pub fn to_value(&self) -> Result<Value, Error> {
        Ok(Value::Map(vec![
            (Value::Text("bits".into()), Value::Integer(self.bits.into())),
            (Value::Text("lst".into()), Value::Bytes(self.compress()?)),
        ]))
    }

    /// CBOR bytes of [`Self::to_value`].
    pub fn to_cbor(&self) -> Result<Vec<u8>, Error> {
        to_cbor(&self.to_value()?)
    }

    /// Decode a CBOR `StatusList` (§4.3), inflating at most [`MAX_DECOMPRESSED`] bytes. An
    /// `aggregation_uri` must be a text string and is otherwise ignored, as are members
    /// this draft does not define; a repeated member is an error.
    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_value_with_limit(v, MAX_DECOMPRESSED)
    }

    /// [`Self::from_value`] with another inflation limit, in bytes.
    pub fn from_value_with_limit(v: &Value, limit: usize) -> Result<Self, Error> {
        let m = text_map(v, "StatusList")?;
        let bits = as_u64(required(&m, "bits")?, "bits")?;
        let bits = check_bits(bits)?;
        let lst = as_bytes(required(&m, "lst")?, "lst")?;
        if let Some(a) = m.get("aggregation_uri") {
            as_text(a, "aggregation_uri")?;
        }
        Self::decompress(bits, lst, limit)
    }

    /// Decode CBOR bytes of a `StatusList`.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, Error> {
        Self::from_value(&from_cbor(bytes, "StatusList")?)
    }
}

/// A Referenced Token's reference into a Status List (§6.3, `StatusListInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusRef {
    /// The index of the token's entry in the list.
    pub idx: u64,
    /// The URI of the Status List Token (its `sub`).
    pub uri: String,
}

impl StatusRef {
    /// The `Status` map (§6.3) holding this reference: `{"status_list": {"idx", "uri"}}`.
    pub fn to_value(&self) -> Value {
        Value::Map(vec![(
            Value::Text("status_list".into()),
            Value::Map(vec![
                (Value::Text("idx".into()), Value::Integer(self.idx.into())),
                (Value::Text("uri".into()), Value::Text(self.uri.clone())),
            ]),
        )])
    }

    /// The Status List reference in a `Status` map (§6.3): `None` if the map names only
    /// other status mechanisms; an error if it is not a map of text keys, or its
    /// `status_list` is not `{"idx": uint, "uri": tstr}`.
    pub fn from_value(v: &Value) -> Result<Option<Self>, Error> {
        let m = text_map(v, "Status")?;
        let Some(info) = m.get("status_list") else {
            return Ok(None);
        };
        let info = text_map(info, "StatusListInfo")?;
        let idx = as_u64(required(&info, "idx")?, "idx")?;
        let uri = as_text(required(&info, "uri")?, "uri")?;
        if uri.is_empty() {
            return Err(malformed("uri"));
        }
        Ok(Some(Self {
            idx,
            uri: uri.to_owned(),
        }))
    }
}

/// What the issuer states in a Status List Token (§5.2), besides the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// `sub`: the URI the token is served at.
    pub uri: String,
    /// `iat`, unix seconds.
    pub iat: i64,
    /// `exp`, unix seconds (RECOMMENDED).
    pub exp: Option<i64>,
    /// `ttl`, seconds, positive (RECOMMENDED).
    pub ttl: Option<u64>,
}

/// Sign a Status List Token in CWT form (§5.2) with `signer` (ES256, its certificate as
/// x5chain). Gives the bytes an HTTP response carries (§8.2).
pub fn sign(
    signer: &CertifiedKey,
    claims: &TokenClaims,
    list: &StatusList,
) -> Result<Vec<u8>, Error> {
    if claims.ttl == Some(0) {
        return Err(StatusListError::Encode("ttl must be positive").into());
    }
    let mut payload = vec![
        (int(CLAIM_SUB), Value::Text(claims.uri.clone())),
        (int(CLAIM_IAT), Value::Integer(claims.iat.into())),
    ];
    if let Some(exp) = claims.exp {
        payload.push((int(CLAIM_EXP), Value::Integer(exp.into())));
    }
    if let Some(ttl) = claims.ttl {
        payload.push((int(CLAIM_TTL), Value::Integer(ttl.into())));
    }
    payload.push((int(CLAIM_STATUS_LIST), list.to_value()?));
    let sign1 = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::ES256)
                .value(HEADER_TYP, Value::Text(MEDIA_TYPE.into()))
                .build(),
        )
        .unprotected(
            HeaderBuilder::new()
                .value(X5CHAIN, Value::Bytes(signer.cert_der()))
                .build(),
        )
        .payload(to_cbor(&Value::Map(payload))?)
        .create_signature(&[], |data| {
            crate::crypto::sign(signer.key(), data).to_bytes().to_vec()
        })
        .build();
    sign1
        .to_tagged_vec()
        .map_err(|_| StatusListError::Encode("COSE_Sign1").into())
}

/// A Status List Token whose signature, chain, type, subject and expiry were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedStatusList {
    /// `sub`: the URI it was fetched from.
    pub uri: String,
    /// `iat`.
    pub iat: i64,
    /// `exp`, if stated.
    pub exp: Option<i64>,
    /// `ttl`, if stated.
    pub ttl: Option<u64>,
    /// The list.
    pub list: StatusList,
    /// The signer certificate (from x5chain).
    pub signer: Certificate,
}

impl VerifiedStatusList {
    /// The status of the Referenced Token `r` (§8.3 steps 6 and 7): its `uri` must be this
    /// list's and its `idx` inside the list, else no statement can be made and the token
    /// must be rejected.
    pub fn status_of(&self, r: &StatusRef) -> Result<u8, Error> {
        if r.uri != self.uri {
            return Err(StatusListError::UriMismatch.into());
        }
        self.list.get(r.idx).ok_or_else(|| {
            StatusListError::IndexOutOfRange {
                idx: r.idx,
                len: self.list.len(),
            }
            .into()
        })
    }
}

/// The claims of a token before its list is inflated.
struct RawClaims {
    sub: String,
    iat: i64,
    exp: Option<i64>,
    ttl: Option<u64>,
    status_list: Value,
}

fn claims_of(sign1: &CoseSign1) -> Result<RawClaims, Error> {
    let payload = sign1
        .payload
        .as_deref()
        .ok_or_else(|| malformed("CWT payload"))?;
    let v = from_cbor(payload, "CWT claims")?;
    let Value::Map(entries) = v else {
        return Err(malformed("CWT claims"));
    };
    let mut m: BTreeMap<i64, Value> = BTreeMap::new();
    for (k, v) in entries {
        // Claims with text keys, or integer keys this draft does not define, are allowed
        // (§5.2 rule 1) and ignored; a repeated claim is not a valid CBOR map (RFC 8949 §5.6).
        let Value::Integer(i) = k else { continue };
        let Ok(key) = i64::try_from(i) else { continue };
        if m.insert(key, v).is_some() {
            return Err(malformed("repeated CWT claim"));
        }
    }
    let sub = as_text(m.get(&CLAIM_SUB).ok_or_else(|| malformed("sub"))?, "sub")?.to_owned();
    let iat = numeric_date(m.get(&CLAIM_IAT).ok_or_else(|| malformed("iat"))?, "iat")?;
    let exp = m
        .get(&CLAIM_EXP)
        .map(|v| numeric_date(v, "exp"))
        .transpose()?;
    let ttl = m.get(&CLAIM_TTL).map(|v| as_u64(v, "ttl")).transpose()?;
    if ttl == Some(0) {
        return Err(malformed("ttl (not positive)"));
    }
    let status_list = m
        .remove(&CLAIM_STATUS_LIST)
        .ok_or_else(|| malformed("status_list"))?;
    Ok(RawClaims {
        sub,
        iat,
        exp,
        ttl,
        status_list,
    })
}

/// A CWT NumericDate (RFC 8392 §2): an integer, or a finite float (floored).
fn numeric_date(v: &Value, what: &'static str) -> Result<i64, Error> {
    match v {
        Value::Integer(i) => i64::try_from(*i).map_err(|_| malformed(what)),
        Value::Float(f) if f.is_finite() && f.abs() < 9.0e15 => Ok(f.floor() as i64),
        _ => Err(malformed(what)),
    }
}

fn header_value(h: &coset::Header, label: i64) -> Option<&Value> {
    h.rest
        .iter()
        .find(|(l, _)| *l == Label::Int(label))
        .map(|(_, v)| v)
}

fn signer_certificate(sign1: &CoseSign1) -> Result<Certificate, Error> {
    let v = header_value(&sign1.unprotected, X5CHAIN)
        .or_else(|| header_value(&sign1.protected.header, X5CHAIN))
        .ok_or(StatusListError::NoSignerCertificate)?;
    let der = match v {
        Value::Bytes(b) => b,
        Value::Array(a) => match a.first() {
            Some(Value::Bytes(b)) => b,
            _ => return Err(StatusListError::NoSignerCertificate.into()),
        },
        _ => return Err(StatusListError::NoSignerCertificate.into()),
    };
    pki::parse_der(der).map_err(|_| StatusListError::NoSignerCertificate.into())
}

/// Verify a Status List Token in CWT form (§5.2, §8.3 steps 3 to 5) fetched from
/// `expected_uri`, against the trusted `roots` at `now` (unix seconds).
pub fn verify(
    bytes: &[u8],
    roots: &[Certificate],
    now: i64,
    expected_uri: &str,
) -> Result<VerifiedStatusList, Error> {
    let sign1 = CoseSign1::from_tagged_slice(bytes).map_err(|_| StatusListError::NotSign1Tagged)?;
    let header = &sign1.protected.header;
    if header.alg
        != Some(coset::RegisteredLabelWithPrivate::Assigned(
            iana::Algorithm::ES256,
        ))
    {
        return Err(StatusListError::UnsupportedAlgorithm.into());
    }
    if !matches!(header_value(header, HEADER_TYP), Some(Value::Text(t)) if t == MEDIA_TYPE) {
        return Err(StatusListError::WrongType.into());
    }
    let signer = signer_certificate(&sign1)?;
    let now_u = u64::try_from(now).map_err(|_| StatusListError::Malformed("now"))?;
    let mut last = None;
    let mut trusted = false;
    for root in roots {
        let checked = pki::check_validity(root, now_u)
            .and_then(|()| pki::verify_issued_by(&signer, root, now_u));
        match checked {
            Ok(()) => {
                trusted = true;
                break;
            }
            Err(Error::Certificate(e)) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    if !trusted {
        return Err(StatusListError::UntrustedSigner(
            last.unwrap_or(pki::CertificateError::BadInput("no trusted root")),
        )
        .into());
    }
    let key = pki::cert_verifying_key(&signer)?;
    sign1
        .verify_signature(&[], |sig, data| {
            let sig = Signature::from_slice(sig).map_err(|_| ())?;
            crate::crypto::verify(&key, data, &sig).map_err(|_| ())
        })
        .map_err(|()| StatusListError::BadSignature)?;
    let c = claims_of(&sign1)?;
    if c.sub != expected_uri {
        return Err(StatusListError::SubjectMismatch {
            expected: expected_uri.to_owned(),
            found: c.sub,
        }
        .into());
    }
    if let Some(exp) = c.exp {
        // RFC 8392 §3.1.4: not to be accepted on or after exp.
        if now >= exp {
            return Err(StatusListError::Expired { exp, now }.into());
        }
    }
    let list = StatusList::from_value(&c.status_list)?;
    Ok(VerifiedStatusList {
        uri: c.sub,
        iat: c.iat,
        exp: c.exp,
        ttl: c.ttl,
        list,
        signer,
    })
}

/// A verifier's cache of verified Status List Tokens by URI (§13.7: cache for `ttl` after
/// fetching, never past `exp`). Sans-IO: the caller fetches and verifies, and hands in the
/// time.
///
/// §11.5 asks clients to keep `ttl` within bounds of their own so an issuer cannot make
/// them hammer (or never refresh) a list: the stated `ttl` is clamped to
/// `[min_ttl, max_ttl]` (by default 1 minute and 1 day; [`Self::with_ttl_bounds`]); `exp`
/// always wins.
#[derive(Debug, Clone)]
pub struct StatusListCache {
    entries: BTreeMap<String, (i64, VerifiedStatusList)>,
    min_ttl: u64,
    max_ttl: u64,
}

impl Default for StatusListCache {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusListCache {
    /// Default lower bound of a cached list's lifetime, seconds.
    pub const DEFAULT_MIN_TTL: u64 = 60;
    /// Default upper bound of a cached list's lifetime, seconds.
    pub const DEFAULT_MAX_TTL: u64 = 86_400;

    /// An empty cache with the default bounds.
    pub fn new() -> Self {
        Self::with_ttl_bounds(Self::DEFAULT_MIN_TTL, Self::DEFAULT_MAX_TTL)
    }

    /// An empty cache clamping every `ttl` to `[min_ttl, max_ttl]` seconds.
    pub fn with_ttl_bounds(min_ttl: u64, max_ttl: u64) -> Self {
        Self {
            entries: BTreeMap::new(),
            min_ttl,
            max_ttl: max_ttl.max(min_ttl),
        }
    }

    /// Keep `list` (fetched and verified at `fetched_at`) under its URI, replacing what was
    /// there. Gives the time until which [`Self::get`] returns it.
    pub fn insert(&mut self, list: VerifiedStatusList, fetched_at: i64) -> i64 {
        let ttl = list.ttl.unwrap_or(0).clamp(self.min_ttl, self.max_ttl);
        let by_ttl = fetched_at.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
        let until = list.exp.map_or(by_ttl, |e| e.min(by_ttl));
        self.entries.insert(list.uri.clone(), (until, list));
        until
    }

    /// The list cached for `uri`, if it is still fresh at `now`.
    pub fn get(&self, uri: &str, now: i64) -> Option<&VerifiedStatusList> {
        self.entries
            .get(uri)
            .filter(|(until, _)| now < *until)
            .map(|(_, l)| l)
    }

    /// Drop every list that is no longer fresh at `now`.
    pub fn purge(&mut self, now: i64) {
        self.entries.retain(|_, (until, _)| now < *until);
    }

    /// Lists held (fresh or not yet purged).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if no list is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

// ---- CBOR helpers -----------------------------------------------------------------------------

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

fn to_cbor(v: &Value) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).map_err(|_| StatusListError::Encode("CBOR"))?;
    Ok(out)
}

fn from_cbor(bytes: &[u8], what: &'static str) -> Result<Value, Error> {
    // ciborium bounds its recursion depth, so hostile nesting is an error, not a crash.
    let mut r = bytes;
    let v: Value = ciborium::from_reader(&mut r).map_err(|_| malformed(what))?;
    if !r.is_empty() {
        return Err(malformed(what));
    }
    Ok(v)
}

/// The text-keyed members of a CBOR map (other keys ignored); a repeated key is an error.
fn text_map<'a>(v: &'a Value, what: &'static str) -> Result<BTreeMap<&'a str, &'a Value>, Error> {
    let Value::Map(entries) = v else {
        return Err(malformed(what));
    };
    let mut m = BTreeMap::new();
    for (k, v) in entries {
        if let Value::Text(k) = k {
            if m.insert(k.as_str(), v).is_some() {
                return Err(malformed(what));
            }
        }
    }
    Ok(m)
}

fn required<'a>(m: &BTreeMap<&str, &'a Value>, key: &'static str) -> Result<&'a Value, Error> {
    m.get(key).copied().ok_or_else(|| malformed(key))
}

fn as_u64(v: &Value, what: &'static str) -> Result<u64, Error> {
    match v {
        Value::Integer(i) => u64::try_from(*i).map_err(|_| malformed(what)),
        _ => Err(malformed(what)),
    }
}

fn as_text<'a>(v: &'a Value, what: &'static str) -> Result<&'a str, Error> {
    match v {
        Value::Text(s) => Ok(s),
        _ => Err(malformed(what)),
    }
}

fn as_bytes<'a>(v: &'a Value, what: &'static str) -> Result<&'a [u8], Error> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => Err(malformed(what)),
    }
}

#[cfg(test)]
mod tests;
