//! The files of the card's LDS1 application (ICAO Doc 9303-10): EF.CardAccess, EF.COM, DG1
//! holder data, DG2 portrait, DG14 security infos, DG15 Active Authentication public key.
//! EF.SOD is in [`crate::sod`].
//!
//! Our card is a Korean resident registration card, not a passport, so DG1 holds holder data
//! rather than an MRZ. The real card's data format is not published (see DOMAIN.md); the DG1
//! profile here is ours. It reuses the 9303-10 DG11/DG12 tags (§4.7.11, §4.7.12) inside the
//! DG1 template `61` so that a generic eMRTD reader can still walk it as BER-TLV.
//!
//! Every decoder refuses malformed input with a typed [`Error`], never a panic.

use core::fmt;

use const_oid::ObjectIdentifier;
use der::{Any, Decode, Encode, Sequence, Tagged};
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};

use crate::reader::Reader;
use crate::tlv::{self, Tag, Tlv};
use crate::{DecodeErrorKind, Error};

/// An elementary file of the LDS1 application, with its file identifier, short file
/// identifier and template tag (ICAO 9303-10 §3.11.4 and Table 35 / §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LdsFile {
    /// EF.CardAccess, in the master file (9303-10 §3.11.2): PACE parameters.
    CardAccess,
    /// EF.COM (9303-10 §4.6.1): LDS version and the list of present data groups.
    Com,
    /// DG1: holder data (our profile; see the module docs).
    Dg1,
    /// DG2: the encoded face (portrait).
    Dg2,
    /// DG14: security options (SecurityInfos).
    Dg14,
    /// DG15: the Active Authentication public key.
    Dg15,
    /// EF.SOD: the Document Security Object (see [`crate::sod`]).
    Sod,
}

impl LdsFile {
    /// Every file, in file-identifier order.
    pub const ALL: [LdsFile; 7] = [
        LdsFile::Dg1,
        LdsFile::Dg2,
        LdsFile::Dg14,
        LdsFile::Dg15,
        LdsFile::CardAccess,
        LdsFile::Sod,
        LdsFile::Com,
    ];

    /// The file identifier (FID) for SELECT.
    pub fn fid(self) -> u16 {
        match self {
            Self::CardAccess => 0x011C,
            Self::Com => 0x011E,
            Self::Dg1 => 0x0101,
            Self::Dg2 => 0x0102,
            Self::Dg14 => 0x010E,
            Self::Dg15 => 0x010F,
            Self::Sod => 0x011D,
        }
    }

    /// The short file identifier (SFI) for READ BINARY with P1 bit b8 set.
    pub fn sfi(self) -> u8 {
        match self {
            Self::CardAccess => 0x1C,
            Self::Com => 0x1E,
            Self::Dg1 => 0x01,
            Self::Dg2 => 0x02,
            Self::Dg14 => 0x0E,
            Self::Dg15 => 0x0F,
            Self::Sod => 0x1D,
        }
    }

    /// The tag of the file's outer template (9303-10 Table 35), or `None` for EF.CardAccess,
    /// which is a bare DER `SET OF SecurityInfo`.
    pub fn tag(self) -> Option<u8> {
        match self {
            Self::CardAccess => None,
            Self::Com => Some(0x60),
            Self::Dg1 => Some(0x61),
            Self::Dg2 => Some(0x75),
            Self::Dg14 => Some(0x6E),
            Self::Dg15 => Some(0x6F),
            Self::Sod => Some(0x77),
        }
    }

    /// The data group number, for data groups.
    pub fn dg_number(self) -> Option<u8> {
        match self {
            Self::Dg1 => Some(1),
            Self::Dg2 => Some(2),
            Self::Dg14 => Some(14),
            Self::Dg15 => Some(15),
            Self::CardAccess | Self::Com | Self::Sod => None,
        }
    }

    /// The data group with this number, if this profile has it.
    pub fn from_dg_number(n: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.dg_number() == Some(n))
    }

    /// The file with this FID.
    pub fn from_fid(fid: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.fid() == fid)
    }

    /// The file with this SFI.
    pub fn from_sfi(sfi: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.sfi() == sfi)
    }
}

/// Read one TLV filling all of `bytes` and check its tag: the template of an LDS file.
fn template<'a>(bytes: &'a [u8], tag: u32, what: &'static str) -> Result<&'a [u8], Error> {
    let (t, value, used) = tlv::read_one(bytes).map_err(|e| rename(e, what))?;
    if t != Tag(tag) {
        return Err(Error::decode(what, DecodeErrorKind::BadTag, 0));
    }
    if used != bytes.len() {
        return Err(Error::decode(what, DecodeErrorKind::TrailingData, used));
    }
    Ok(value)
}

/// Give a decode error from a helper the name of the structure being decoded.
fn rename(e: Error, what: &'static str) -> Error {
    match e {
        Error::Decode { kind, position, .. } => Error::decode(what, kind, position),
        e => e,
    }
}

/// A child of a template: its tag, its value, and its absolute offset.
type Field<'a> = (Tag, &'a [u8], usize);

/// The direct children of a template value, each with its absolute offset (`base` is the
/// offset of `value` in the file).
fn children<'a>(value: &'a [u8], base: usize, what: &'static str) -> Result<Vec<Field<'a>>, Error> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(rest) = value.get(pos..).filter(|r| !r.is_empty()) {
        let (tag, v, used) = tlv::read_one(rest).map_err(|e| match e {
            Error::Decode { kind, position, .. } => {
                Error::decode(what, kind, base + pos + position)
            }
            e => e,
        })?;
        out.push((tag, v, base + pos));
        pos += used;
    }
    Ok(out)
}

/// The value of the one child with `tag`, or a `Missing` error naming `field`.
fn required<'a>(
    fields: &[Field<'a>],
    tag: u32,
    field: &'static str,
    end: usize,
) -> Result<(&'a [u8], usize), Error> {
    fields
        .iter()
        .find(|(t, _, _)| *t == Tag(tag))
        .map(|(_, v, pos)| (*v, *pos))
        .ok_or_else(|| Error::decode(field, DecodeErrorKind::Missing, end))
}

// ---------------------------------------------------------------------------------------------
// Dates and DG1

/// A calendar date (proleptic Gregorian), written `YYYYMMDD` in DG1.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, 1..=9999.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of the month, 1..=31 (checked against the month).
    pub day: u8,
}

impl Date {
    /// A date, if it exists.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1..=9999).contains(&year) && (1..=days).contains(&day)).then_some(Self {
            year,
            month,
            day,
        })
    }

    /// `YYYYMMDD`.
    pub fn to_yyyymmdd(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// Parse `YYYYMMDD` (exactly eight ASCII digits forming a real date).
    pub fn parse_yyyymmdd(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "date YYYYMMDD";
        let mut r = Reader::new(bytes, WHAT);
        let year = digits(r.take(4)?).ok_or_else(|| r.err(DecodeErrorKind::BadValue))?;
        let month = digits(r.take(2)?).ok_or_else(|| r.err(DecodeErrorKind::BadValue))?;
        let day = digits(r.take(2)?).ok_or_else(|| r.err(DecodeErrorKind::BadValue))?;
        r.expect_end()?;
        let (Ok(year), Ok(month), Ok(day)) =
            (u16::try_from(year), u8::try_from(month), u8::try_from(day))
        else {
            return Err(Error::decode(WHAT, DecodeErrorKind::BadValue, 0));
        };
        Self::new(year, month, day).ok_or(Error::decode(WHAT, DecodeErrorKind::BadValue, 0))
    }
}

/// The value of a run of ASCII digits.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// DG1 tags. ICAO 9303-10 §4.7.11 (DG11) and §4.7.12 (DG12) define them for the passport;
/// this profile borrows them for the resident card.
mod dg1_tag {
    /// Full name (DG11 "name of holder"), UTF-8.
    pub(super) const NAME: u32 = 0x5F0E;
    /// Resident registration number (DG11 "personal number"), 13 ASCII digits.
    pub(super) const RRN: u32 = 0x5F10;
    /// Date of birth (DG11 "full date of birth"), `YYYYMMDD`.
    pub(super) const BIRTH_DATE: u32 = 0x5F2B;
    /// First-level administrative region code (DG11 "permanent address"), 2 ASCII digits.
    pub(super) const REGION: u32 = 0x5F42;
    /// Date of issue (DG12), `YYYYMMDD`.
    pub(super) const ISSUE_DATE: u32 = 0x5F26;
    /// Card (document) number, printable ASCII.
    pub(super) const CARD_NUMBER: u32 = 0x5A;
}

/// The holder data in DG1:
/// `61 { 5F0E name, 5F10 RRN, 5F2B birth date, 5F42 region code, 5F26 issue date,
/// 5A card number }`.
///
/// `Debug` masks the resident registration number as `900101-1******` (DOMAIN.md).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HolderData {
    /// Full name as printed on the card (UTF-8, Hangul), non-empty.
    pub name: String,
    /// Resident registration number: 13 ASCII digits, no dash.
    pub rrn: String,
    /// Date of birth.
    pub birth_date: Date,
    /// Two-digit first-level administrative division code of the legal address, e.g. `"11"`
    /// for Seoul.
    pub region_code: String,
    /// Date the card was issued.
    pub issue_date: Date,
    /// The card's number: 1 to 32 ASCII letters, digits or `-`.
    pub card_number: String,
}

impl HolderData {
    /// Check the field rules that [`HolderData::decode`] enforces.
    fn validate(&self) -> Result<(), (&'static str, u32)> {
        if self.name.is_empty() || self.name.chars().any(char::is_control) {
            return Err(("DG1 name (5F0E)", dg1_tag::NAME));
        }
        if !is_rrn(self.rrn.as_bytes()) {
            return Err(("DG1 RRN (5F10)", dg1_tag::RRN));
        }
        if self.region_code.len() != 2 || !self.region_code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(("DG1 region code (5F42)", dg1_tag::REGION));
        }
        if !is_card_number(self.card_number.as_bytes()) {
            return Err(("DG1 card number (5A)", dg1_tag::CARD_NUMBER));
        }
        Ok(())
    }

    /// Encode DG1. Fails if a field breaks the rules documented on it.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        self.validate().map_err(|(what, _)| Error::Encode {
            what,
            reason: "value does not follow the DG1 profile",
        })?;
        Ok(Tlv::constructed(
            0x61,
            vec![
                Tlv::primitive(dg1_tag::NAME, self.name.as_bytes()),
                Tlv::primitive(dg1_tag::RRN, self.rrn.as_bytes()),
                Tlv::primitive(
                    dg1_tag::BIRTH_DATE,
                    self.birth_date.to_yyyymmdd().into_bytes(),
                ),
                Tlv::primitive(dg1_tag::REGION, self.region_code.as_bytes()),
                Tlv::primitive(
                    dg1_tag::ISSUE_DATE,
                    self.issue_date.to_yyyymmdd().into_bytes(),
                ),
                Tlv::primitive(dg1_tag::CARD_NUMBER, self.card_number.as_bytes()),
            ],
        )
        .encode())
    }

    /// Decode DG1. Every field is required; unknown tags inside the template are ignored.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let value = template(bytes, 0x61, "DG1")?;
        let base = bytes.len() - value.len();
        let fields = children(value, base, "DG1")?;
        let end = bytes.len();
        let text = |tag, what| -> Result<String, Error> {
            let (v, pos) = required(&fields, tag, what, end)?;
            String::from_utf8(v.to_vec())
                .map_err(|_| Error::decode(what, DecodeErrorKind::BadValue, pos))
        };
        let date = |tag, what| -> Result<Date, Error> {
            let (v, pos) = required(&fields, tag, what, end)?;
            Date::parse_yyyymmdd(v).map_err(|_| Error::decode(what, DecodeErrorKind::BadValue, pos))
        };
        let holder = Self {
            name: text(dg1_tag::NAME, "DG1 name (5F0E)")?,
            rrn: text(dg1_tag::RRN, "DG1 RRN (5F10)")?,
            birth_date: date(dg1_tag::BIRTH_DATE, "DG1 birth date (5F2B)")?,
            region_code: text(dg1_tag::REGION, "DG1 region code (5F42)")?,
            issue_date: date(dg1_tag::ISSUE_DATE, "DG1 issue date (5F26)")?,
            card_number: text(dg1_tag::CARD_NUMBER, "DG1 card number (5A)")?,
        };
        holder.validate().map_err(|(what, tag)| {
            let pos = fields
                .iter()
                .find(|(t, _, _)| *t == Tag(tag))
                .map_or(0, |(_, _, p)| *p);
            Error::decode(what, DecodeErrorKind::BadValue, pos)
        })?;
        Ok(holder)
    }

    /// The RRN as reports may show it: birth-date part and the century/sex digit only,
    /// `900101-1******`.
    pub fn masked_rrn(&self) -> String {
        mask_rrn(&self.rrn)
    }
}

/// Mask a resident registration number as `YYMMDD-G******` (DOMAIN.md); anything that is not
/// 13 digits is masked entirely.
pub fn mask_rrn(rrn: &str) -> String {
    match (rrn.get(..6), rrn.get(6..7)) {
        (Some(birth), Some(g)) if is_rrn(rrn.as_bytes()) => format!("{birth}-{g}******"),
        _ => "******-*******".to_owned(),
    }
}

fn is_rrn(b: &[u8]) -> bool {
    b.len() == 13 && b.iter().all(u8::is_ascii_digit)
}

fn is_card_number(b: &[u8]) -> bool {
    (1..=32).contains(&b.len()) && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

impl fmt::Debug for HolderData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HolderData")
            .field("name", &self.name)
            .field("rrn", &format_args!("{}", self.masked_rrn()))
            .field("birth_date", &self.birth_date)
            .field("region_code", &self.region_code)
            .field("issue_date", &self.issue_date)
            .field("card_number", &self.card_number)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// DG2

/// DG2, the encoded face (9303-10 §4.7.2), as one biometric information template:
/// `75 { 7F61 { 02 01 01, 7F60 { A1 { 87 0101, 88 0008 }, 5F2E <portrait> } } }`.
///
/// Simplified but structurally per spec: the biometric header template carries only the
/// format owner (`0101`, ISO/IEC JTC 1/SC 37) and format type (`0008`, face image); the
/// biometric data block `5F2E` carries the portrait image bytes as they are (a real passport
/// wraps them in an ISO/IEC 19794-5 record).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Dg2 {
    /// The portrait image bytes (for example a JPEG).
    pub portrait: Vec<u8>,
}

/// Format owner ISO/IEC JTC 1/SC 37 (ISO/IEC 7816-11 Table 7, tag 87).
const BIOMETRIC_FORMAT_OWNER: [u8; 2] = [0x01, 0x01];
/// Format type "face image" (tag 88).
const BIOMETRIC_FORMAT_TYPE_FACE: [u8; 2] = [0x00, 0x08];

impl Dg2 {
    /// Encode DG2.
    pub fn encode(&self) -> Vec<u8> {
        Tlv::constructed(
            0x75,
            vec![Tlv::constructed(
                0x7F61,
                vec![
                    // Number of instances (9303-10 §4.7.2.1).
                    Tlv::primitive(0x02, vec![0x01]),
                    Tlv::constructed(
                        0x7F60,
                        vec![
                            Tlv::constructed(
                                0xA1,
                                vec![
                                    Tlv::primitive(0x87, BIOMETRIC_FORMAT_OWNER.to_vec()),
                                    Tlv::primitive(0x88, BIOMETRIC_FORMAT_TYPE_FACE.to_vec()),
                                ],
                            ),
                            Tlv::primitive(0x5F2E, self.portrait.clone()),
                        ],
                    ),
                ],
            )],
        )
        .encode()
    }

    /// Decode DG2: the first biometric information template's data block.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "DG2";
        let tree = Tlv::decode(bytes).map_err(|e| rename(e, WHAT))?;
        if tree.tag != Tag(0x75) {
            return Err(Error::decode(WHAT, DecodeErrorKind::BadTag, 0));
        }
        let missing = |what| Error::decode(what, DecodeErrorKind::Missing, bytes.len());
        let group = tree
            .child(0x7F61)
            .ok_or_else(|| missing("DG2 group template (7F61)"))?;
        let count = group
            .child(0x02)
            .and_then(Tlv::as_primitive)
            .ok_or_else(|| missing("DG2 instance count (02)"))?;
        if count.is_empty() || count.iter().all(|&b| b == 0) {
            return Err(Error::decode(
                "DG2 instance count (02)",
                DecodeErrorKind::BadValue,
                0,
            ));
        }
        let bit = group
            .child(0x7F60)
            .ok_or_else(|| missing("DG2 biometric template (7F60)"))?;
        bit.child(0xA1)
            .ok_or_else(|| missing("DG2 biometric header (A1)"))?;
        let portrait = bit
            .child(0x5F2E)
            .and_then(Tlv::as_primitive)
            .ok_or_else(|| missing("DG2 biometric data (5F2E)"))?;
        Ok(Self {
            portrait: portrait.to_vec(),
        })
    }
}

impl fmt::Debug for Dg2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dg2")
            .field("portrait", &format_args!("{} bytes", self.portrait.len()))
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// EF.COM

/// EF.COM (9303-10 §4.6.1): `60 { 5F01 LDS version, 5F36 Unicode version, 5C tag list }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Com {
    /// LDS version `aabb` (four ASCII digits), `"0108"` for LDS 1.8.
    pub lds_version: String,
    /// Unicode version `aabbcc` (six ASCII digits), `"040000"` for Unicode 4.0.0.
    pub unicode_version: String,
    /// The template tags of the data groups present, one byte each (e.g. `61 75 6E 6F`).
    pub tags: Vec<u8>,
}

impl Com {
    /// EF.COM for LDS 1.8 / Unicode 4.0.0 listing `files` (files without a template tag, and
    /// EF.COM and EF.SOD themselves, are left out).
    pub fn new(files: &[LdsFile]) -> Self {
        Self {
            lds_version: "0108".to_owned(),
            unicode_version: "040000".to_owned(),
            tags: files
                .iter()
                .filter(|f| f.dg_number().is_some())
                .filter_map(|f| f.tag())
                .collect(),
        }
    }

    /// Encode EF.COM. Fails if a version is not the right number of digits.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        if !is_digits(&self.lds_version, 4) {
            return Err(Error::Encode {
                what: "EF.COM LDS version (5F01)",
                reason: "must be four ASCII digits",
            });
        }
        if !is_digits(&self.unicode_version, 6) {
            return Err(Error::Encode {
                what: "EF.COM Unicode version (5F36)",
                reason: "must be six ASCII digits",
            });
        }
        Ok(Tlv::constructed(
            0x60,
            vec![
                Tlv::primitive(0x5F01, self.lds_version.as_bytes()),
                Tlv::primitive(0x5F36, self.unicode_version.as_bytes()),
                Tlv::primitive(0x5C, self.tags.clone()),
            ],
        )
        .encode())
    }

    /// Decode EF.COM.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let value = template(bytes, 0x60, "EF.COM")?;
        let base = bytes.len() - value.len();
        let fields = children(value, base, "EF.COM")?;
        let end = bytes.len();
        let version = |tag, n, what| -> Result<String, Error> {
            let (v, pos) = required(&fields, tag, what, end)?;
            match core::str::from_utf8(v) {
                Ok(s) if is_digits(s, n) => Ok(s.to_owned()),
                _ => Err(Error::decode(what, DecodeErrorKind::BadValue, pos)),
            }
        };
        Ok(Self {
            lds_version: version(0x5F01, 4, "EF.COM LDS version (5F01)")?,
            unicode_version: version(0x5F36, 6, "EF.COM Unicode version (5F36)")?,
            tags: required(&fields, 0x5C, "EF.COM tag list (5C)", end)?
                .0
                .to_vec(),
        })
    }
}

fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

// ---------------------------------------------------------------------------------------------
// SecurityInfos: EF.CardAccess and DG14

/// `id-PACE-ECDH-GM-AES-CBC-CMAC-128` (9303-11 §9.2.1): PACE, ECDH generic mapping,
/// AES-128 secure messaging.
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_128: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.2");
/// `id-PACE` (BSI TR-03110 / 9303-11 §9.2.1): every PACE protocol OID starts with it.
pub const ID_PACE: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4");
/// `id-icao-mrtd-security-aaProtocolObject` (9303-11 §9.2.8): ActiveAuthenticationInfo.
pub const ID_AA: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.5");
/// `ecdsa-plain-SHA256` (BSI TR-03111 §5.2.1): ECDSA with SHA-256, signature as plain r||s.
pub const ECDSA_PLAIN_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.4.0.127.0.7.1.1.4.1.3");
/// PACE standardized domain parameter 12: NIST P-256 (9303-11 §9.5.1 Table 31).
pub const PACE_PARAM_NIST_P256: u32 = 12;

/// `PACEInfo ::= SEQUENCE { protocol, version INTEGER, parameterId INTEGER OPTIONAL }`
/// (9303-11 §9.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PaceInfo {
    /// The PACE protocol OID (under [`ID_PACE`]).
    pub protocol: ObjectIdentifier,
    /// The PACE version; 2 for 9303-11.
    pub version: u32,
    /// The standardized domain parameter id, e.g. [`PACE_PARAM_NIST_P256`].
    pub parameter_id: Option<u32>,
}

impl PaceInfo {
    /// The one profile this simulation speaks: ECDH generic mapping, AES-128, NIST P-256,
    /// version 2.
    pub fn ecdh_gm_aes128_p256() -> Self {
        Self {
            protocol: ID_PACE_ECDH_GM_AES_CBC_CMAC_128,
            version: 2,
            parameter_id: Some(PACE_PARAM_NIST_P256),
        }
    }
}

/// `ActiveAuthenticationInfo ::= SEQUENCE { protocol id-AA, version INTEGER,
/// signatureAlgorithm OBJECT IDENTIFIER }` (9303-11 §9.2.8; the algorithm is required for
/// ECDSA).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActiveAuthenticationInfo {
    /// The version; 1.
    pub version: u32,
    /// The signature algorithm, e.g. [`ECDSA_PLAIN_SHA256`].
    pub signature_algorithm: ObjectIdentifier,
}

impl ActiveAuthenticationInfo {
    /// Version 1 with ecdsa-plain-SHA256, what [`crate::aa`] implements.
    pub fn ecdsa_plain_sha256() -> Self {
        Self {
            version: 1,
            signature_algorithm: ECDSA_PLAIN_SHA256,
        }
    }
}

/// One `SecurityInfo` (9303-11 §9.2): the kinds this crate understands, and any other kept
/// as its DER bytes so it survives a round trip.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SecurityInfo {
    /// A PACEInfo.
    Pace(PaceInfo),
    /// An ActiveAuthenticationInfo.
    ActiveAuthentication(ActiveAuthenticationInfo),
    /// Any other SecurityInfo (for example ChipAuthenticationInfo), as DER.
    Other(Vec<u8>),
}

impl fmt::Debug for SecurityInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pace(p) => fmt::Debug::fmt(p, f),
            Self::ActiveAuthentication(a) => fmt::Debug::fmt(a, f),
            Self::Other(der) => write!(f, "Other({})", hex::encode_upper(der)),
        }
    }
}

/// `SecurityInfo ::= SEQUENCE { protocol OBJECT IDENTIFIER, requiredData ANY DEFINED BY
/// protocol, optionalData ANY DEFINED BY protocol OPTIONAL }` (9303-11 §9.2).
#[derive(Sequence)]
struct RawSecurityInfo {
    protocol: ObjectIdentifier,
    required_data: Any,
    #[asn1(optional = "true")]
    optional_data: Option<Any>,
}

impl SecurityInfo {
    fn to_der(&self) -> Result<Vec<u8>, Error> {
        let raw = match self {
            Self::Other(der) => return Ok(der.clone()),
            Self::Pace(p) => RawSecurityInfo {
                protocol: p.protocol,
                required_data: Any::encode_from(&p.version)?,
                optional_data: p.parameter_id.map(|id| Any::encode_from(&id)).transpose()?,
            },
            Self::ActiveAuthentication(a) => RawSecurityInfo {
                protocol: ID_AA,
                required_data: Any::encode_from(&a.version)?,
                optional_data: Some(Any::encode_from(&a.signature_algorithm)?),
            },
        };
        Ok(raw.to_der()?)
    }

    fn from_der(der: &[u8]) -> Result<Self, Error> {
        let raw = RawSecurityInfo::from_der(der)?;
        // A PACEInfo's protocol is two arcs below id-PACE (id-PACE-ECDH-GM-AES-CBC-CMAC-128 is
        // id-PACE.2.2); one arc below are PACEDomainParameterInfos, kept as Other.
        let grandparent = raw.protocol.parent().and_then(|p| p.parent());
        let integer = raw.required_data.tag() == der::Tag::Integer;
        if grandparent == Some(ID_PACE) && integer {
            Ok(Self::Pace(PaceInfo {
                protocol: raw.protocol,
                version: raw.required_data.decode_as()?,
                parameter_id: raw.optional_data.map(|a| a.decode_as()).transpose()?,
            }))
        } else if raw.protocol == ID_AA {
            let alg = raw.optional_data.ok_or(Error::decode(
                "ActiveAuthenticationInfo signatureAlgorithm",
                DecodeErrorKind::Missing,
                der.len(),
            ))?;
            Ok(Self::ActiveAuthentication(ActiveAuthenticationInfo {
                version: raw.required_data.decode_as()?,
                signature_algorithm: alg.decode_as()?,
            }))
        } else {
            Ok(Self::Other(der.to_vec()))
        }
    }
}

/// `SecurityInfos ::= SET OF SecurityInfo` (9303-11 §9.2): the content of EF.CardAccess, and
/// of DG14 inside its `6E` template.
///
/// Decoding keeps the order found; encoding sorts the elements as DER requires (X.690
/// §11.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SecurityInfos(pub Vec<SecurityInfo>);

impl SecurityInfos {
    /// EF.CardAccess of this simulation's card: one PACEInfo.
    pub fn card_access() -> Self {
        Self(vec![SecurityInfo::Pace(PaceInfo::ecdh_gm_aes128_p256())])
    }

    /// DG14 of this simulation's card: the PACEInfo and the ActiveAuthenticationInfo.
    pub fn dg14() -> Self {
        Self(vec![
            SecurityInfo::Pace(PaceInfo::ecdh_gm_aes128_p256()),
            SecurityInfo::ActiveAuthentication(ActiveAuthenticationInfo::ecdsa_plain_sha256()),
        ])
    }

    /// The PACEInfos, in order.
    pub fn pace_infos(&self) -> impl Iterator<Item = &PaceInfo> {
        self.0.iter().filter_map(|i| match i {
            SecurityInfo::Pace(p) => Some(p),
            _ => None,
        })
    }

    /// The first ActiveAuthenticationInfo.
    pub fn active_authentication(&self) -> Option<&ActiveAuthenticationInfo> {
        self.0.iter().find_map(|i| match i {
            SecurityInfo::ActiveAuthentication(a) => Some(a),
            _ => None,
        })
    }

    /// The DER `SET OF`, i.e. the bytes of EF.CardAccess.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut items = self
            .0
            .iter()
            .map(SecurityInfo::to_der)
            .collect::<Result<Vec<_>, _>>()?;
        // X.690 §11.6: SET OF components in ascending order of their encodings.
        items.sort();
        Ok(tlv::encode(Tag(0x31), &items.concat()))
    }

    /// Decode the DER `SET OF` (EF.CardAccess). Unknown SecurityInfos are kept as
    /// [`SecurityInfo::Other`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "SecurityInfos";
        let value = template(bytes, 0x31, WHAT)?;
        let base = bytes.len() - value.len();
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(rest) = value.get(pos..).filter(|r| !r.is_empty()) {
            let (tag, _, used) = tlv::read_one(rest).map_err(|e| match e {
                Error::Decode { kind, position, .. } => {
                    Error::decode(WHAT, kind, base + pos + position)
                }
                e => e,
            })?;
            if tag != Tag(0x30) {
                return Err(Error::decode(WHAT, DecodeErrorKind::BadTag, base + pos));
            }
            let der = rest.get(..used).unwrap_or_default();
            out.push(SecurityInfo::from_der(der)?);
            pos += used;
        }
        Ok(Self(out))
    }

    /// DG14: `6E { SecurityInfos }` (9303-10 §4.7.14).
    pub fn encode_dg14(&self) -> Result<Vec<u8>, Error> {
        Ok(tlv::encode(Tag(0x6E), &self.encode()?))
    }

    /// Decode DG14.
    pub fn decode_dg14(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(template(bytes, 0x6E, "DG14")?)
    }
}

// ---------------------------------------------------------------------------------------------
// DG15

/// DG15: `6F { SubjectPublicKeyInfo }`, the Active Authentication public key (9303-11 §6.1,
/// 9303-10 §4.7.15). The key is P-256 with the named-curve parameters of RFC 5480.
pub fn encode_dg15(key: &VerifyingKey) -> Result<Vec<u8>, Error> {
    let spki = key
        .to_public_key_der()
        .map_err(|e| Error::Der(e.to_string()))?;
    Ok(tlv::encode(Tag(0x6F), spki.as_bytes()))
}

/// Decode DG15 to the P-256 public key it holds.
pub fn decode_dg15(bytes: &[u8]) -> Result<VerifyingKey, Error> {
    let spki = template(bytes, 0x6F, "DG15")?;
    VerifyingKey::from_public_key_der(spki).map_err(|_| Error::BadPoint("DG15 public key"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::asn1::SetOfVec;
    use p256::ecdsa::SigningKey;
    use proptest::prelude::*;

    fn der_sorted(items: Vec<Any>) -> Result<Vec<u8>, Error> {
        Ok(SetOfVec::try_from(items)?.to_der()?)
    }

    fn holder() -> HolderData {
        HolderData {
            name: "홍길동".to_owned(),
            rrn: "9001011234568".to_owned(),
            birth_date: Date::new(1990, 1, 1).unwrap(),
            region_code: "11".to_owned(),
            issue_date: Date::new(2025, 3, 14).unwrap(),
            card_number: "KR-0000123456".to_owned(),
        }
    }

    #[test]
    fn file_ids_follow_9303_10() {
        assert_eq!(LdsFile::from_fid(0x011D), Some(LdsFile::Sod));
        assert_eq!(LdsFile::from_sfi(0x1C), Some(LdsFile::CardAccess));
        assert_eq!(LdsFile::from_dg_number(15), Some(LdsFile::Dg15));
        assert_eq!(LdsFile::from_fid(0x0103), None);
        for f in LdsFile::ALL {
            assert_eq!(LdsFile::from_fid(f.fid()), Some(f));
            assert_eq!(LdsFile::from_sfi(f.sfi()), Some(f));
            assert_eq!(
                f.fid() & 0x1F,
                u16::from(f.sfi()),
                "SFI is the FID's low five bits"
            );
        }
        assert_eq!(LdsFile::Dg2.tag(), Some(0x75));
        assert_eq!(LdsFile::CardAccess.tag(), None);
    }

    #[test]
    fn dg1_round_trips_and_debug_masks_the_rrn() {
        let h = holder();
        let bytes = h.encode().unwrap();
        assert_eq!(bytes[0], 0x61);
        let back = HolderData::decode(&bytes).unwrap();
        assert_eq!(back, h);
        let dbg = format!("{back:?}");
        assert!(!dbg.contains("9001011234568"));
        assert!(dbg.contains("900101-1******"));
        insta::assert_debug_snapshot!(back);
        // The RRN is in DG1 verbatim (only reports mask it).
        assert!(bytes.windows(13).any(|w| w == b"9001011234568"));
    }

    #[test]
    fn dg1_missing_field_is_a_typed_error() {
        let full = HolderData::decode(&holder().encode().unwrap()).unwrap();
        let without_rrn = Tlv::constructed(
            0x61,
            vec![
                Tlv::primitive(0x5F0E, full.name.as_bytes()),
                Tlv::primitive(0x5F2B, b"19900101".to_vec()),
                Tlv::primitive(0x5F42, b"11".to_vec()),
                Tlv::primitive(0x5F26, b"20250314".to_vec()),
                Tlv::primitive(0x5A, b"X1".to_vec()),
            ],
        )
        .encode();
        assert!(matches!(
            HolderData::decode(&without_rrn),
            Err(Error::Decode {
                what: "DG1 RRN (5F10)",
                kind: DecodeErrorKind::Missing,
                ..
            })
        ));
    }

    #[test]
    fn dg1_rejects_bad_values() {
        let mut h = holder();
        h.rrn = "900101-123456".to_owned();
        assert!(h.encode().is_err());
        let bytes = holder().encode().unwrap();
        // Corrupt the birth date month to 13.
        let s = hex::encode_upper(&bytes).replace(
            &hex::encode_upper(b"19900101"),
            &hex::encode_upper(b"19901301"),
        );
        assert!(matches!(
            HolderData::decode(&hex::decode(s).unwrap()),
            Err(Error::Decode {
                what: "DG1 birth date (5F2B)",
                kind: DecodeErrorKind::BadValue,
                ..
            })
        ));
        assert!(HolderData::decode(&[bytes.as_slice(), &[0]].concat()).is_err());
        assert_eq!(
            Date::new(2024, 2, 29).map(Date::to_yyyymmdd),
            Some("20240229".into())
        );
        assert_eq!(Date::new(2025, 2, 29), None);
    }

    #[test]
    fn rrn_masking_never_leaks_malformed_numbers() {
        assert_eq!(mask_rrn("0501013123456"), "050101-3******");
        assert_eq!(mask_rrn("12345"), "******-*******");
        assert_eq!(mask_rrn("홍길동홍길동홍길동홍길동홍"), "******-*******");
    }

    #[test]
    fn dg2_round_trips() {
        let dg2 = Dg2 {
            portrait: (0..=255u8).cycle().take(1000).collect(),
        };
        let bytes = dg2.encode();
        assert_eq!(&bytes[..2], &[0x75, 0x82]);
        let back = Dg2::decode(&bytes).unwrap();
        assert_eq!(back, dg2);
        assert_eq!(format!("{back:?}"), "Dg2 { portrait: 1000 bytes }");
        assert!(Dg2::decode(&Tlv::constructed(0x75, vec![]).encode()).is_err());
    }

    #[test]
    fn com_round_trips() {
        let com = Com::new(&LdsFile::ALL);
        assert_eq!(com.tags, vec![0x61, 0x75, 0x6E, 0x6F]);
        let bytes = com.encode().unwrap();
        assert_eq!(
            hex::encode_upper(&bytes),
            "60165F0104303130385F36063034303030305C04617 56E6F".replace(' ', "")
        );
        assert_eq!(Com::decode(&bytes).unwrap(), com);
    }

    #[test]
    fn card_access_round_trips_with_9303_bytes() {
        let ca = SecurityInfos::card_access();
        let bytes = ca.encode().unwrap();
        // SET { SEQUENCE { OID 0.4.0.127.0.7.2.2.4.2.2, INTEGER 2, INTEGER 12 } }
        assert_eq!(
            hex::encode_upper(&bytes),
            "31143012060A04007F0007020204020202010202010C"
        );
        let back = SecurityInfos::decode(&bytes).unwrap();
        assert_eq!(back, ca);
        assert_eq!(back.pace_infos().count(), 1);
    }

    #[test]
    fn unknown_security_infos_survive() {
        // A ChipAuthenticationInfo (id-CA-ECDH-AES-CBC-CMAC-128, version 1).
        let ca_info = hex::decode("300F060A04007F00070202030202020101").unwrap();
        let mut infos = SecurityInfos::dg14();
        infos.0.push(SecurityInfo::Other(ca_info.clone()));
        let bytes = infos.encode().unwrap();
        let back = SecurityInfos::decode(&bytes).unwrap();
        assert!(back.0.contains(&SecurityInfo::Other(ca_info)));
        assert_eq!(back.encode().unwrap(), bytes);
        // The hand-rolled SET ordering agrees with the der crate's.
        let anys = back
            .0
            .iter()
            .map(|i| Any::from_der(&i.to_der().unwrap()).unwrap())
            .collect();
        assert_eq!(der_sorted(anys).unwrap(), bytes);
    }

    #[test]
    fn dg14_round_trips() {
        let dg14 = SecurityInfos::dg14();
        let bytes = dg14.encode_dg14().unwrap();
        assert_eq!(bytes[0], 0x6E);
        let back = SecurityInfos::decode_dg14(&bytes).unwrap();
        assert_eq!(
            back.active_authentication(),
            Some(&ActiveAuthenticationInfo::ecdsa_plain_sha256())
        );
        assert_eq!(
            back.pace_infos().next(),
            Some(&PaceInfo::ecdh_gm_aes128_p256())
        );
        insta::assert_debug_snapshot!(back);
    }

    #[test]
    fn dg15_round_trips() {
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let bytes = encode_dg15(key.verifying_key()).unwrap();
        assert_eq!(bytes[0], 0x6F);
        assert_eq!(&decode_dg15(&bytes).unwrap(), key.verifying_key());
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(
            decode_dg15(&bad).is_err(),
            "a point off the curve is refused"
        );
    }

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = HolderData::decode(&bytes);
            let _ = Dg2::decode(&bytes);
            let _ = Com::decode(&bytes);
            let _ = SecurityInfos::decode(&bytes);
            let _ = SecurityInfos::decode_dg14(&bytes);
            let _ = decode_dg15(&bytes);
            let _ = Date::parse_yyyymmdd(&bytes);
        }

        #[test]
        fn decoders_never_panic_on_mutated_files(
            which in 0usize..5,
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
            let mut bytes = match which {
                0 => holder().encode().unwrap(),
                1 => Dg2 { portrait: vec![1, 2, 3] }.encode(),
                2 => Com::new(&LdsFile::ALL).encode().unwrap(),
                3 => SecurityInfos::dg14().encode_dg14().unwrap(),
                _ => encode_dg15(key.verifying_key()).unwrap(),
            };
            for (i, b) in flips {
                let i = i.index(bytes.len());
                bytes[i] ^= b;
            }
            let _ = HolderData::decode(&bytes);
            let _ = Dg2::decode(&bytes);
            let _ = Com::decode(&bytes);
            let _ = SecurityInfos::decode_dg14(&bytes);
            let _ = decode_dg15(&bytes);
        }

        #[test]
        fn dg1_round_trips_for_any_valid_holder(
            name in "[가-힣]{1,5}",
            rrn in "[0-9]{13}",
            region in "[0-9]{2}",
            card in "[A-Z0-9-]{1,32}",
            y in 1900u16..2100, m in 1u8..=12, d in 1u8..=28,
        ) {
            let h = HolderData {
                name, rrn, region_code: region, card_number: card,
                birth_date: Date::new(y, m, d).unwrap(),
                issue_date: Date::new(2025, m, d).unwrap(),
            };
            prop_assert_eq!(HolderData::decode(&h.encode().unwrap()).unwrap(), h);
        }
    }
}
