//! ISO/IEC 18013-5 mdoc credentials as the issuer signs them: `IssuerSigned` with its
//! `IssuerSignedItem`s and the Mobile Security Object (MSO) signed as COSE_Sign1.
//!
//! - Encoding ([`issue`]): every item is `#6.24(bstr .cbor IssuerSignedItem)` (§8.3.2.1.2.2)
//!   with a fresh 32-byte `random` and a digestID drawn as a random permutation; the MSO
//!   (§9.1.2.4) holds the SHA-256 of each item's tagged bytes, the holder's device key as a
//!   COSE_Key, the docType and the validity as `tdate` (tag 0, no fractional seconds); it is
//!   signed as an untagged COSE_Sign1 with ES256 in the protected header and the signer
//!   certificate as `x5chain` (label 33) in the unprotected header, the payload being
//!   `#6.24(bstr .cbor MobileSecurityObject)`. With [`IssueParams::status`] the MSO also
//!   carries `status` (ISO/IEC 18013-5 second edition), the reference into a Token Status
//!   List (draft-ietf-oauth-status-list §6.3, [`crate::status_list`]).
//! - Verification ([`IssuerSigned::verify`]): algorithm, signer certificate issued by one of
//!   the trusted IACA roots (the root valid at `now`), signature, docType, the signer
//!   certificate valid at the MSO's `signed` time, digest of every item, and the MSO's
//!   validity at `now`. The signer is checked at signing time, not at `now`, so mdocs signed
//!   before the issuer rotated to a new signer (18013-5 Annex B: a signer certificate lives
//!   at most 457 days) stay verifiable for the whole life of their MSO. The answer is a [`VerifiedMdoc`], with the MSO's
//!   status reference if it has one (an MSO without `status` still verifies).
//!
//! The document type of the mobile resident registration card is [`DOC_TYPE`]; its elements
//! are in [`element`] and [`ResidentClaims`] builds them.
//!
//! The presentation, a `DeviceResponse` with the holder's device signature over a mip
//! session, is in [`device`].
//!
//! Decoding is total: any bytes give an [`IssuerSigned`] or an [`Error::Mdoc`] naming what
//! was wrong.

use core::fmt;
use std::collections::BTreeMap;

use ciborium::Value;
use coset::{iana, CoseSign1, CoseSign1Builder, HeaderBuilder, Label};
use p256::ecdsa::{Signature, VerifyingKey};
use rand_core::CryptoRngCore;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::pki::{self, Certificate, CertifiedKey};
use crate::status_list::StatusRef;
use crate::Error;

/// docType of the mobile resident registration card.
pub const DOC_TYPE: &str = "kr.go.mois.mrrc.1";
/// The namespace of its elements (the same string as the docType, as 18013-5 does for the
/// mDL).
pub const NAMESPACE: &str = DOC_TYPE;

/// CBOR tag of embedded CBOR (RFC 8949 §3.4.5.1).
const TAG_CBOR: u64 = 24;
/// CBOR tag of a date/time string (RFC 8949 §3.4.1).
const TAG_TDATE: u64 = 0;
/// CBOR tag of a full-date string (RFC 8943).
const TAG_FULL_DATE: u64 = 1004;
/// COSE header label of x5chain (RFC 9360).
const X5CHAIN: i64 = iana::HeaderParameter::X5Chain as i64;

/// Element identifiers of [`NAMESPACE`].
pub mod element {
    /// Family name (tstr).
    pub const FAMILY_NAME: &str = "family_name";
    /// Given name (tstr).
    pub const GIVEN_NAME: &str = "given_name";
    /// Date of birth (full-date).
    pub const BIRTH_DATE: &str = "birth_date";
    /// Resident registration number with the digits after G masked (tstr, `900101-1******`).
    pub const RRN_MASKED: &str = "resident_registration_number_masked";
    /// Two-digit code of the legal address's first-level division (tstr).
    pub const LEGAL_ADDRESS_REGION: &str = "legal_address_region";
    /// Portrait (bstr, JPEG).
    pub const PORTRAIT: &str = "portrait";
    /// Aged 17 or more at issuance (bool).
    pub const AGE_OVER_17: &str = "age_over_17";
    /// Aged 19 or more at issuance (bool).
    pub const AGE_OVER_19: &str = "age_over_19";
    /// Day of issue of the mobile ID (full-date).
    pub const ISSUE_DATE: &str = "issue_date";
    /// Day the mobile ID must be reissued (full-date).
    pub const EXPIRY_DATE: &str = "expiry_date";
    /// Document number of the mobile ID (tstr).
    pub const DOCUMENT_NUMBER: &str = "document_number";
}

/// Why an mdoc was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MdocError {
    /// The bytes are not well-formed CBOR, or not the expected structure; names the part.
    Malformed(&'static str),
    /// The COSE algorithm is not ES256.
    UnsupportedAlgorithm,
    /// The digest algorithm is not SHA-256.
    UnsupportedDigest,
    /// No x5chain certificate in the unprotected header.
    NoSignerCertificate,
    /// The signer certificate does not chain to a trusted root valid at `now`, or was not
    /// valid at the MSO's `signed` time.
    UntrustedSigner(pki::CertificateError),
    /// The COSE_Sign1 signature does not verify with the signer certificate's key.
    BadSignature,
    /// The device signature does not verify with the MSO's device key over the expected
    /// session transcript (another session, or another key) ([`device`]).
    BadDeviceSignature,
    /// A `DeviceResponse` whose status is not 0 (OK) (18013-5 §8.3.2.1.2.3).
    ResponseStatus(u64),
    /// A `DeviceResponse` without exactly one document; the count found.
    DocumentCount(usize),
    /// The MSO's docType is not the one expected.
    DocTypeMismatch {
        /// The docType in the MSO.
        found: String,
    },
    /// An item's digest is missing from the MSO or differs from it.
    DigestMismatch {
        /// Namespace of the item.
        namespace: String,
        /// Its element identifier.
        element: String,
    },
    /// Two items of a namespace share a digestID.
    DuplicateDigestId,
    /// `now` is before validFrom.
    NotYetValid,
    /// `now` is after validUntil.
    Expired,
    /// A value cannot be encoded (e.g. a time out of range).
    Encode(&'static str),
}

impl fmt::Display for MdocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed {what}"),
            Self::UnsupportedAlgorithm => f.write_str("signature algorithm is not ES256"),
            Self::UnsupportedDigest => f.write_str("digest algorithm is not SHA-256"),
            Self::NoSignerCertificate => f.write_str("no x5chain signer certificate"),
            Self::UntrustedSigner(e) => write!(f, "signer certificate not trusted: {e}"),
            Self::BadSignature => f.write_str("issuer signature does not verify"),
            Self::BadDeviceSignature => {
                f.write_str("device signature does not verify over the session transcript")
            }
            Self::ResponseStatus(s) => write!(f, "DeviceResponse status {s}"),
            Self::DocumentCount(n) => write!(f, "{n} documents where one was expected"),
            Self::DocTypeMismatch { found } => write!(f, "unexpected docType {found:?}"),
            Self::DigestMismatch { namespace, element } => {
                write!(f, "digest of {namespace}/{element} does not match the MSO")
            }
            Self::DuplicateDigestId => f.write_str("duplicate digestID"),
            Self::NotYetValid => f.write_str("not yet valid"),
            Self::Expired => f.write_str("expired"),
            Self::Encode(what) => write!(f, "cannot encode {what}"),
        }
    }
}

impl From<MdocError> for Error {
    fn from(e: MdocError) -> Self {
        Error::Mdoc(e)
    }
}

fn malformed(what: &'static str) -> Error {
    Error::Mdoc(MdocError::Malformed(what))
}

/// The claims of a mobile resident registration card.
#[derive(Clone, PartialEq, Eq)]
pub struct ResidentClaims {
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Date of birth.
    pub birth_date: Date,
    /// Masked RRN, `YYMMDD-G******`.
    pub rrn_masked: String,
    /// Two-digit region code of the legal address.
    pub legal_address_region: String,
    /// Portrait (JPEG bytes).
    pub portrait: Vec<u8>,
    /// Aged 17 or more.
    pub age_over_17: bool,
    /// Aged 19 or more.
    pub age_over_19: bool,
    /// Day of issue.
    pub issue_date: Date,
    /// Day it must be reissued.
    pub expiry_date: Date,
    /// Document number.
    pub document_number: String,
}

impl fmt::Debug for ResidentClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResidentClaims")
            .field("family_name", &self.family_name)
            .field("given_name", &self.given_name)
            .field("birth_date", &self.birth_date)
            .field("rrn_masked", &self.rrn_masked)
            .field("legal_address_region", &self.legal_address_region)
            .field("portrait", &format_args!("<{} bytes>", self.portrait.len()))
            .field("age_over_17", &self.age_over_17)
            .field("age_over_19", &self.age_over_19)
            .field("issue_date", &self.issue_date)
            .field("expiry_date", &self.expiry_date)
            .field("document_number", &self.document_number)
            .finish()
    }
}

/// A CBOR full-date (RFC 8943, tag 1004), as 18013-5 uses for birth_date.
pub fn full_date(d: Date) -> Value {
    Value::Tag(TAG_FULL_DATE, Box::new(Value::Text(d.to_string())))
}

/// A CBOR tdate (tag 0) for a unix time, `YYYY-MM-DDTHH:MM:SSZ` (18013-5 §7.2.1: no
/// fractional seconds, UTC).
pub fn tdate(unix: i64) -> Result<Value, Error> {
    let t = OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|_| MdocError::Encode("tdate out of range"))?;
    let s = t
        .format(&Rfc3339)
        .map_err(|_| MdocError::Encode("tdate out of range"))?;
    Ok(Value::Tag(TAG_TDATE, Box::new(Value::Text(s))))
}

fn parse_tdate(v: &Value) -> Result<i64, Error> {
    match v {
        Value::Tag(TAG_TDATE, inner) => match inner.as_ref() {
            Value::Text(s) => OffsetDateTime::parse(s, &Rfc3339)
                .map(|t| t.unix_timestamp())
                .map_err(|_| malformed("tdate")),
            _ => Err(malformed("tdate")),
        },
        _ => Err(malformed("tdate")),
    }
}

impl ResidentClaims {
    /// The elements in the order they are issued.
    pub fn to_elements(&self) -> Vec<(String, Value)> {
        use element::*;
        vec![
            (FAMILY_NAME.into(), Value::Text(self.family_name.clone())),
            (GIVEN_NAME.into(), Value::Text(self.given_name.clone())),
            (BIRTH_DATE.into(), full_date(self.birth_date)),
            (RRN_MASKED.into(), Value::Text(self.rrn_masked.clone())),
            (
                LEGAL_ADDRESS_REGION.into(),
                Value::Text(self.legal_address_region.clone()),
            ),
            (PORTRAIT.into(), Value::Bytes(self.portrait.clone())),
            (AGE_OVER_17.into(), Value::Bool(self.age_over_17)),
            (AGE_OVER_19.into(), Value::Bool(self.age_over_19)),
            (ISSUE_DATE.into(), full_date(self.issue_date)),
            (EXPIRY_DATE.into(), full_date(self.expiry_date)),
            (
                DOCUMENT_NUMBER.into(),
                Value::Text(self.document_number.clone()),
            ),
        ]
    }
}

/// The validity of an MSO, in unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// When the MSO was signed.
    pub signed: i64,
    /// Valid from.
    pub valid_from: i64,
    /// Valid until.
    pub valid_until: i64,
}

/// One issuer-signed namespace: its name and the tagged bytes of each item
/// (`#6.24(bstr)`, exactly as hashed).
#[derive(Debug, Clone, PartialEq)]
pub struct SignedNamespace {
    /// Namespace name.
    pub name: String,
    /// `IssuerSignedItemBytes`, each the full encoding of the tag-24 value.
    pub items: Vec<Vec<u8>>,
}

/// `IssuerSigned` (18013-5 §8.3.2.1.2.2): the items and the issuer's signature over their
/// digests.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerSigned {
    /// The namespaces, in encoding order.
    pub namespaces: Vec<SignedNamespace>,
    /// The COSE_Sign1 over the MSO.
    pub issuer_auth: CoseSign1,
}

/// A decoded `IssuerSignedItem`.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerSignedItem {
    /// digestID.
    pub digest_id: u64,
    /// random (salt).
    pub random: Vec<u8>,
    /// elementIdentifier.
    pub element_identifier: String,
    /// elementValue.
    pub element_value: Value,
}

impl IssuerSignedItem {
    fn to_value(&self) -> Value {
        Value::Map(vec![
            (
                Value::Text("digestID".into()),
                Value::Integer(self.digest_id.into()),
            ),
            (
                Value::Text("random".into()),
                Value::Bytes(self.random.clone()),
            ),
            (
                Value::Text("elementIdentifier".into()),
                Value::Text(self.element_identifier.clone()),
            ),
            (
                Value::Text("elementValue".into()),
                self.element_value.clone(),
            ),
        ])
    }

    /// Decode from the tagged bytes `#6.24(bstr .cbor IssuerSignedItem)`.
    pub fn from_tagged_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let inner = unwrap_tag24(&from_cbor(bytes, "IssuerSignedItemBytes")?)?;
        let v = from_cbor(&inner, "IssuerSignedItem")?;
        let m = as_map(&v, "IssuerSignedItem")?;
        Ok(Self {
            digest_id: as_u64(get(m, "digestID")?, "digestID")?,
            random: as_bytes(get(m, "random")?, "random")?.to_vec(),
            element_identifier: as_text(get(m, "elementIdentifier")?, "elementIdentifier")?
                .to_owned(),
            element_value: get(m, "elementValue")?.clone(),
        })
    }
}

/// What the issuer puts into an mdoc besides the elements.
#[derive(Debug, Clone)]
pub struct IssueParams<'a> {
    /// docType (and namespace) of the document.
    pub doc_type: &'a str,
    /// The holder's device key, bound into the MSO.
    pub device_key: &'a VerifyingKey,
    /// Validity of the MSO.
    pub validity: Validity,
    /// Where relying parties learn the document's revocation: its entry in a Token Status
    /// List, written into the MSO as `status` (none: the MSO has no `status`).
    pub status: Option<StatusRef>,
}

fn to_cbor(v: &Value) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).map_err(|_| MdocError::Encode("CBOR"))?;
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

fn tag24(bytes: Vec<u8>) -> Value {
    Value::Tag(TAG_CBOR, Box::new(Value::Bytes(bytes)))
}

fn unwrap_tag24(v: &Value) -> Result<Vec<u8>, Error> {
    match v {
        Value::Tag(TAG_CBOR, inner) => match inner.as_ref() {
            Value::Bytes(b) => Ok(b.clone()),
            _ => Err(malformed("tag 24 content")),
        },
        _ => Err(malformed("tag 24")),
    }
}

fn as_map<'a>(v: &'a Value, what: &'static str) -> Result<&'a [(Value, Value)], Error> {
    match v {
        Value::Map(m) => Ok(m),
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

fn as_u64(v: &Value, what: &'static str) -> Result<u64, Error> {
    match v {
        Value::Integer(i) => u64::try_from(*i).map_err(|_| malformed(what)),
        _ => Err(malformed(what)),
    }
}

fn get<'a>(m: &'a [(Value, Value)], key: &'static str) -> Result<&'a Value, Error> {
    m.iter()
        .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
        .map(|(_, v)| v)
        .ok_or_else(|| malformed(key))
}

fn get_int(m: &[(Value, Value)], key: i64) -> Option<&Value> {
    m.iter()
        .find(|(k, _)| matches!(k, Value::Integer(i) if i128::from(*i) == i128::from(key)))
        .map(|(_, v)| v)
}

/// The COSE_Key (RFC 9053 §7.1.1, EC2) of a P-256 public key.
pub fn cose_key(key: &VerifyingKey) -> Value {
    let point = key.to_encoded_point(false);
    let x = point.x().map(|x| x.to_vec()).unwrap_or_default();
    let y = point.y().map(|y| y.to_vec()).unwrap_or_default();
    Value::Map(vec![
        (Value::Integer(1.into()), Value::Integer(2.into())),
        (Value::Integer((-1).into()), Value::Integer(1.into())),
        (Value::Integer((-2).into()), Value::Bytes(x)),
        (Value::Integer((-3).into()), Value::Bytes(y)),
    ])
}

/// The P-256 public key of a COSE_Key.
pub fn key_from_cose(v: &Value) -> Result<VerifyingKey, Error> {
    let m = as_map(v, "COSE_Key")?;
    let kty = get_int(m, 1).ok_or_else(|| malformed("COSE_Key kty"))?;
    let crv = get_int(m, -1).ok_or_else(|| malformed("COSE_Key crv"))?;
    if *kty != Value::Integer(2.into()) || *crv != Value::Integer(1.into()) {
        return Err(malformed("COSE_Key (not EC2 P-256)"));
    }
    let x = as_bytes(get_int(m, -2).ok_or_else(|| malformed("COSE_Key x"))?, "x")?;
    let y = as_bytes(get_int(m, -3).ok_or_else(|| malformed("COSE_Key y"))?, "y")?;
    if x.len() != 32 || y.len() != 32 {
        return Err(malformed("COSE_Key coordinates"));
    }
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(4);
    sec1.extend_from_slice(x);
    sec1.extend_from_slice(y);
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| Error::BadPoint("COSE_Key"))
}

/// Issue an mdoc: salt and number the elements, build and sign the MSO with `signer`
/// (an mdoc signer certificate of the IACA root).
pub fn issue(
    rng: &mut impl CryptoRngCore,
    signer: &CertifiedKey,
    params: &IssueParams<'_>,
    elements: &[(String, Value)],
) -> Result<IssuerSigned, Error> {
    // digestIDs as a random permutation, so they say nothing about the element (§9.1.2.5).
    let mut ids: Vec<u64> = (0..elements.len() as u64).collect();
    for i in (1..ids.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        ids.swap(i, j);
    }
    let mut items = Vec::with_capacity(elements.len());
    let mut digests = Vec::with_capacity(elements.len());
    for ((name, value), id) in elements.iter().zip(ids) {
        let mut random = vec![0u8; 32];
        rng.fill_bytes(&mut random);
        let item = IssuerSignedItem {
            digest_id: id,
            random,
            element_identifier: name.clone(),
            element_value: value.clone(),
        };
        let tagged = to_cbor(&tag24(to_cbor(&item.to_value())?))?;
        digests.push((
            Value::Integer(id.into()),
            Value::Bytes(crate::crypto::sha256(&tagged).to_vec()),
        ));
        items.push(tagged);
    }
    let v = params.validity;
    let mso = Value::Map(vec![
        (Value::Text("version".into()), Value::Text("1.0".into())),
        (
            Value::Text("digestAlgorithm".into()),
            Value::Text("SHA-256".into()),
        ),
        (
            Value::Text("valueDigests".into()),
            Value::Map(vec![(
                Value::Text(params.doc_type.into()),
                Value::Map(digests),
            )]),
        ),
        (
            Value::Text("deviceKeyInfo".into()),
            Value::Map(vec![(
                Value::Text("deviceKey".into()),
                cose_key(params.device_key),
            )]),
        ),
        (
            Value::Text("docType".into()),
            Value::Text(params.doc_type.into()),
        ),
        (
            Value::Text("validityInfo".into()),
            Value::Map(vec![
                (Value::Text("signed".into()), tdate(v.signed)?),
                (Value::Text("validFrom".into()), tdate(v.valid_from)?),
                (Value::Text("validUntil".into()), tdate(v.valid_until)?),
            ]),
        ),
    ]);
    let mso = match (mso, &params.status) {
        (Value::Map(mut m), Some(status)) => {
            m.push((Value::Text("status".into()), status.to_value()));
            Value::Map(m)
        }
        (mso, _) => mso,
    };
    let payload = to_cbor(&tag24(to_cbor(&mso)?))?;
    let sign1 = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(iana::Algorithm::ES256)
                .build(),
        )
        .unprotected(
            HeaderBuilder::new()
                .value(X5CHAIN, Value::Bytes(signer.cert_der()))
                .build(),
        )
        .payload(payload)
        .create_signature(&[], |data| {
            let sig = crate::crypto::sign(signer.key(), data);
            sig.to_bytes().to_vec()
        })
        .build();
    Ok(IssuerSigned {
        namespaces: vec![SignedNamespace {
            name: params.doc_type.into(),
            items,
        }],
        issuer_auth: sign1,
    })
}

/// An mdoc whose issuer signature, chain, digests and validity have been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedMdoc {
    /// docType.
    pub doc_type: String,
    /// The holder's device key from the MSO.
    pub device_key: VerifyingKey,
    /// MSO validity.
    pub validity: Validity,
    /// The signer certificate (from x5chain).
    pub signer: Certificate,
    /// Element values by namespace and identifier.
    pub elements: BTreeMap<String, BTreeMap<String, Value>>,
    /// The MSO's reference into a Token Status List, if it has one
    /// ([`crate::status_list`]; checking it is the verifier's next step).
    pub status: Option<StatusRef>,
}

impl VerifiedMdoc {
    /// The MSO's validity at `now` (18013-5 §9.3.1 step 5: validFrom ≤ now ≤ validUntil).
    pub fn check_validity(&self, now: i64) -> Result<(), Error> {
        if now < self.validity.valid_from {
            return Err(MdocError::NotYetValid.into());
        }
        if now > self.validity.valid_until {
            return Err(MdocError::Expired.into());
        }
        Ok(())
    }
}

impl IssuerSigned {
    /// Encode as CBOR: `{"nameSpaces": {ns: [IssuerSignedItemBytes]}, "issuerAuth":
    /// COSE_Sign1}`.
    pub fn to_value(&self) -> Result<Value, Error> {
        use coset::AsCborValue;
        let mut nss = Vec::with_capacity(self.namespaces.len());
        for ns in &self.namespaces {
            let items = ns
                .items
                .iter()
                .map(|b| from_cbor(b, "IssuerSignedItemBytes"))
                .collect::<Result<Vec<_>, _>>()?;
            nss.push((Value::Text(ns.name.clone()), Value::Array(items)));
        }
        let auth = self
            .issuer_auth
            .clone()
            .to_cbor_value()
            .map_err(|_| MdocError::Encode("COSE_Sign1"))?;
        Ok(Value::Map(vec![
            (Value::Text("nameSpaces".into()), Value::Map(nss)),
            (Value::Text("issuerAuth".into()), auth),
        ]))
    }

    /// CBOR bytes of [`Self::to_value`].
    pub fn to_cbor(&self) -> Result<Vec<u8>, Error> {
        to_cbor(&self.to_value()?)
    }

    /// Decode from CBOR bytes.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, Error> {
        Self::from_value(&from_cbor(bytes, "IssuerSigned")?)
    }

    /// Decode from a CBOR value.
    pub fn from_value(v: &Value) -> Result<Self, Error> {
        use coset::AsCborValue;
        let m = as_map(v, "IssuerSigned")?;
        let mut namespaces = Vec::new();
        if let Ok(nss) = get(m, "nameSpaces") {
            for (k, items) in as_map(nss, "nameSpaces")? {
                let name = as_text(k, "namespace name")?.to_owned();
                let Value::Array(items) = items else {
                    return Err(malformed("namespace items"));
                };
                let items = items
                    .iter()
                    .map(|i| match i {
                        Value::Tag(TAG_CBOR, _) => to_cbor(i),
                        _ => Err(malformed("IssuerSignedItemBytes")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                namespaces.push(SignedNamespace { name, items });
            }
        }
        let issuer_auth = CoseSign1::from_cbor_value(get(m, "issuerAuth")?.clone())
            .map_err(|_| malformed("issuerAuth COSE_Sign1"))?;
        Ok(Self {
            namespaces,
            issuer_auth,
        })
    }

    /// The signer certificate from the unprotected x5chain (the first if it is an array).
    pub fn signer_certificate(&self) -> Result<Certificate, Error> {
        let v = self
            .issuer_auth
            .unprotected
            .rest
            .iter()
            .find(|(l, _)| *l == Label::Int(X5CHAIN))
            .map(|(_, v)| v)
            .ok_or(MdocError::NoSignerCertificate)?;
        let der = match v {
            Value::Bytes(b) => b,
            Value::Array(a) => match a.first() {
                Some(Value::Bytes(b)) => b,
                _ => return Err(MdocError::NoSignerCertificate.into()),
            },
            _ => return Err(MdocError::NoSignerCertificate.into()),
        };
        pki::parse_der(der).map_err(|_| MdocError::NoSignerCertificate.into())
    }

    /// Verify against the trusted IACA `roots` at `now` (unix seconds), expecting
    /// `doc_type`. Every item present must match its digest; items may be left out
    /// (selective disclosure). The checks run in the order of
    /// [`device::DeviceResponse::verify`] without its device step: issuer signature and
    /// chain, digests, then the MSO's validity.
    pub fn verify(
        &self,
        roots: &[Certificate],
        doc_type: &str,
        now: i64,
    ) -> Result<VerifiedMdoc, Error> {
        let v = self.verify_issuer_data(roots, doc_type, now)?;
        v.check_validity(now)?;
        Ok(v)
    }

    /// Steps 1 and 2 of verification: the algorithm, the signer certificate chained to one
    /// of `roots` (the root valid at `now`), the issuer signature, the MSO's docType, the
    /// signer certificate valid at the MSO's `signed` time, and the digest of every item
    /// present. The MSO's validity is *not* checked: the caller must still
    /// call [`VerifiedMdoc::check_validity`].
    pub(crate) fn verify_issuer_data(
        &self,
        roots: &[Certificate],
        doc_type: &str,
        now: i64,
    ) -> Result<VerifiedMdoc, Error> {
        let alg = &self.issuer_auth.protected.header.alg;
        if *alg
            != Some(coset::RegisteredLabelWithPrivate::Assigned(
                iana::Algorithm::ES256,
            ))
        {
            return Err(MdocError::UnsupportedAlgorithm.into());
        }
        let signer = self.signer_certificate()?;
        let now_u = u64::try_from(now).map_err(|_| MdocError::Expired)?;
        let mut last = None;
        let mut trusted = false;
        for root in roots {
            let checked = pki::check_validity(root, now_u)
                .and_then(|()| pki::verify_signed_by(&signer, root));
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
            return Err(MdocError::UntrustedSigner(
                last.unwrap_or(pki::CertificateError::BadInput("no trusted root")),
            )
            .into());
        }
        let key = pki::cert_verifying_key(&signer)?;
        self.issuer_auth
            .verify_signature(&[], |sig, data| {
                let sig = Signature::from_slice(sig).map_err(|_| ())?;
                crate::crypto::verify(&key, data, &sig).map_err(|_| ())
            })
            .map_err(|()| MdocError::BadSignature)?;
        let payload = self
            .issuer_auth
            .payload
            .as_deref()
            .ok_or_else(|| malformed("COSE_Sign1 payload"))?;
        let mso = from_cbor(&unwrap_tag24(&from_cbor(payload, "MSO bytes")?)?, "MSO")?;
        let mso = as_map(&mso, "MSO")?;
        if as_text(get(mso, "version")?, "version")? != "1.0" {
            return Err(malformed("MSO version"));
        }
        if as_text(get(mso, "digestAlgorithm")?, "digestAlgorithm")? != "SHA-256" {
            return Err(MdocError::UnsupportedDigest.into());
        }
        let found = as_text(get(mso, "docType")?, "docType")?;
        if found != doc_type {
            return Err(MdocError::DocTypeMismatch {
                found: found.to_owned(),
            }
            .into());
        }
        let dki = as_map(get(mso, "deviceKeyInfo")?, "deviceKeyInfo")?;
        let device_key = key_from_cose(get(dki, "deviceKey")?)?;
        let vi = as_map(get(mso, "validityInfo")?, "validityInfo")?;
        let validity = Validity {
            signed: parse_tdate(get(vi, "signed")?)?,
            valid_from: parse_tdate(get(vi, "validFrom")?)?,
            valid_until: parse_tdate(get(vi, "validUntil")?)?,
        };
        // The signer's window at the time it signed (its key is trusted for what it signed
        // while its certificate was valid); a negative time is before any certificate.
        let signed_u = u64::try_from(validity.signed).unwrap_or(0);
        match pki::check_validity(&signer, signed_u) {
            Ok(()) => {}
            Err(Error::Certificate(e)) => return Err(MdocError::UntrustedSigner(e).into()),
            Err(e) => return Err(e),
        }
        let status = match get(mso, "status") {
            Ok(s) => StatusRef::from_value(s)?,
            Err(_) => None,
        };
        let value_digests = as_map(get(mso, "valueDigests")?, "valueDigests")?;
        let mut elements = BTreeMap::new();
        for ns in &self.namespaces {
            let digests = value_digests
                .iter()
                .find(|(k, _)| matches!(k, Value::Text(t) if *t == ns.name))
                .map(|(_, v)| as_map(v, "namespace digests"))
                .transpose()?
                .unwrap_or(&[]);
            let mut seen = std::collections::BTreeSet::new();
            let out: &mut BTreeMap<String, Value> = elements.entry(ns.name.clone()).or_default();
            for bytes in &ns.items {
                let item = IssuerSignedItem::from_tagged_bytes(bytes)?;
                if !seen.insert(item.digest_id) {
                    return Err(MdocError::DuplicateDigestId.into());
                }
                let expected = digests
                    .iter()
                    .find(|(k, _)| {
                        matches!(k, Value::Integer(i) if u64::try_from(*i).ok() == Some(item.digest_id))
                    })
                    .map(|(_, v)| v);
                let actual = crate::crypto::sha256(bytes);
                if !matches!(expected, Some(Value::Bytes(d)) if d.as_slice() == actual.as_slice()) {
                    return Err(MdocError::DigestMismatch {
                        namespace: ns.name.clone(),
                        element: item.element_identifier,
                    }
                    .into());
                }
                out.insert(item.element_identifier, item.element_value);
            }
        }
        Ok(VerifiedMdoc {
            doc_type: found.to_owned(),
            device_key,
            validity,
            signer,
            elements,
            status,
        })
    }

    /// A file holding this document the way mdoc tools read one: the `DeviceResponse`
    /// shape `{"version": "1.0", "documents": [{"docType", "issuerSigned"}], "status": 0}`
    /// without `deviceSigned` (there is no presentation yet).
    pub fn to_document_file(&self, doc_type: &str) -> Result<Vec<u8>, Error> {
        let doc = Value::Map(vec![
            (Value::Text("docType".into()), Value::Text(doc_type.into())),
            (Value::Text("issuerSigned".into()), self.to_value()?),
        ]);
        to_cbor(&Value::Map(vec![
            (Value::Text("version".into()), Value::Text("1.0".into())),
            (Value::Text("documents".into()), Value::Array(vec![doc])),
            (Value::Text("status".into()), Value::Integer(0.into())),
        ]))
    }

    /// Keep only the items whose element identifier `keep` accepts (selective disclosure;
    /// the issuer signature still verifies).
    #[must_use]
    pub fn disclose(&self, keep: impl Fn(&str, &str) -> bool) -> Self {
        let mut out = self.clone();
        for ns in &mut out.namespaces {
            ns.items.retain(|b| {
                IssuerSignedItem::from_tagged_bytes(b)
                    .map(|i| keep(&ns.name, &i.element_identifier))
                    .unwrap_or(false)
            });
        }
        out
    }
}

pub mod device;

#[cfg(test)]
mod tests;
