//! EF.SOD, the Document Security Object (ICAO Doc 9303-10 §4.6.2), and Passive
//! Authentication (9303-11 §5.1, 9303-12).
//!
//! EF.SOD is `77 { ContentInfo }` where the ContentInfo is a CMS SignedData (RFC 5652 §5):
//!
//! ```text
//! SignedData { version 3, digestAlgorithms { sha256 },
//!   encapContentInfo { id-icao-mrtd-security-ldsSecurityObject, eContent = DER
//!     LDSSecurityObject { version 0, sha256, SEQUENCE OF { dataGroupNumber, hash } } },
//!   certificates { Document Signer certificate },
//!   signerInfos { SignerInfo { version 1, issuerAndSerialNumber, sha256,
//!     signedAttrs { contentType, messageDigest }, ecdsa-with-SHA256, signature } } }
//! ```
//!
//! The SignedData is assembled from the `cms` crate's types by hand rather than with its
//! builder, so nothing reads the clock (no signingTime) and every field is the one 9303-10
//! asks for.

use core::fmt;
use std::collections::BTreeMap;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
    SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ID_SHA_256};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use p256::ecdsa::{DerSignature, Signature};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::Certificate;

use crate::pki::{self, CertificateError, CertifiedKey, KeyUsages};
use crate::tlv::{self, Tag};
use crate::{DecodeErrorKind, Error};

/// `id-icao-mrtd-security-ldsSecurityObject` (9303-10 §4.6.2.2).
pub const ID_LDS_SECURITY_OBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.1");

/// The highest data group number (9303-10 §4.6.2.2: `ub-DataGroups` is 16).
pub const MAX_DATA_GROUP: u8 = 16;

/// `DataGroupHash ::= SEQUENCE { dataGroupNumber DataGroupNumber, dataGroupHashValue OCTET
/// STRING }` (9303-10 §4.6.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
struct DataGroupHash {
    data_group_number: u8,
    data_group_hash_value: OctetString,
}

/// `LDSSecurityObject ::= SEQUENCE { version LDSSecurityObjectVersion, hashAlgorithm
/// DigestAlgorithmIdentifier, dataGroupHashValues SEQUENCE SIZE (2..ub-DataGroups) OF
/// DataGroupHash, ldsVersionInfo LDSVersionInfo OPTIONAL }` (9303-10 §4.6.2.2). We write
/// version 0 (V0, no ldsVersionInfo) and accept V1's ldsVersionInfo on decode.
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
struct LdsSecurityObject {
    version: u8,
    hash_algorithm: AlgorithmIdentifierOwned,
    data_group_hash_values: Vec<DataGroupHash>,
    #[asn1(optional = "true")]
    lds_version_info: Option<Any>,
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    // RFC 5754 §2: the parameters of SHA-256 SHOULD be absent.
    AlgorithmIdentifierOwned {
        oid: ID_SHA_256,
        parameters: None,
    }
}

fn ecdsa_sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA_256,
        parameters: None,
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, Error> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

/// Build EF.SOD over `data_groups` (data group number and the whole file, template tag
/// included, as read from the chip) and sign it with the Document Signer `signer`.
///
/// 9303-10 §4.6.2.2 requires between 2 and 16 data groups, each numbered 1 to 16 and listed
/// once. ECDSA is RFC 6979 deterministic, so the same inputs give the same bytes.
pub fn create_sod(data_groups: &[(u8, &[u8])], signer: &CertifiedKey) -> Result<Vec<u8>, Error> {
    let mut hashes = BTreeMap::new();
    for &(n, bytes) in data_groups {
        if !(1..=MAX_DATA_GROUP).contains(&n) {
            return Err(Error::Encode {
                what: "LDSSecurityObject",
                reason: "data group number outside 1..=16",
            });
        }
        if hashes.insert(n, crate::crypto::sha256(bytes)).is_some() {
            return Err(Error::Encode {
                what: "LDSSecurityObject",
                reason: "data group listed twice",
            });
        }
    }
    if hashes.len() < 2 {
        return Err(Error::Encode {
            what: "LDSSecurityObject",
            reason: "9303-10 requires at least two data group hashes",
        });
    }
    let lso = LdsSecurityObject {
        version: 0,
        hash_algorithm: sha256_alg(),
        data_group_hash_values: hashes
            .iter()
            .map(|(&n, h)| {
                Ok(DataGroupHash {
                    data_group_number: n,
                    data_group_hash_value: OctetString::new(h.as_slice())?,
                })
            })
            .collect::<Result<_, der::Error>>()?,
        lds_version_info: None,
    };
    let econtent = lso.to_der()?;

    // RFC 5652 §11.1, §11.2: contentType and messageDigest are the signed attributes; the
    // digest is over the eContent OCTET STRING's value only (§5.4).
    let digest = crate::crypto::sha256(&econtent);
    let signed_attrs: SignedAttributes = SetOfVec::try_from(vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_LDS_SECURITY_OBJECT)?)?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest.as_slice())?)?,
        )?,
    ])?;
    // RFC 5652 §5.4: the signature is over the DER of the attributes with the SET OF tag.
    let signature: DerSignature =
        crate::crypto::sign(signer.key(), &signed_attrs.to_der()?).to_der();

    let ds = signer.cert();
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: ds.tbs_certificate.issuer.clone(),
            serial_number: ds.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256_alg(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: ecdsa_sha256_alg(),
        signature: OctetString::new(signature.as_bytes())?,
        unsigned_attrs: None,
    };
    let signed_data = SignedData {
        // RFC 5652 §5.1: version 3 since eContentType is not id-data.
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![sha256_alg()])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_LDS_SECURITY_OBJECT,
            econtent: Some(Any::new(der::Tag::OctetString, econtent)?),
        },
        certificates: Some(CertificateSet(SetOfVec::try_from(vec![
            CertificateChoices::Certificate(ds.clone()),
        ])?)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    let content_info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    };
    Ok(tlv::encode(Tag(0x77), &content_info.to_der()?))
}

/// A decoded EF.SOD. Decoding checks the structure only; [`Sod::verify_signature`] and
/// [`passive_authentication`] check the cryptography.
#[derive(Clone)]
pub struct Sod {
    hashes: BTreeMap<u8, Vec<u8>>,
    ds_cert: Certificate,
    econtent: Vec<u8>,
    signer_info: SignerInfo,
}

impl Sod {
    /// Decode EF.SOD (`77 { ContentInfo }`). Requires SHA-256, exactly one SignerInfo, and
    /// the Document Signer certificate it names inside `certificates`.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "EF.SOD";
        let (tag, value, used) = tlv::read_one(bytes).map_err(|e| match e {
            Error::Decode { kind, position, .. } => Error::decode(WHAT, kind, position),
            e => e,
        })?;
        if tag != Tag(0x77) {
            return Err(Error::decode(WHAT, DecodeErrorKind::BadTag, 0));
        }
        if used != bytes.len() {
            return Err(Error::decode(WHAT, DecodeErrorKind::TrailingData, used));
        }
        let bad = |what: &'static str| Error::decode(what, DecodeErrorKind::BadValue, 0);

        let content_info = ContentInfo::from_der(value)?;
        if content_info.content_type != ID_SIGNED_DATA {
            return Err(bad("EF.SOD contentType (want signedData)"));
        }
        let signed_data: SignedData = content_info.content.decode_as()?;
        // RFC 5652 §5.1: version 3 because eContentType is not id-data; 9303-10 §4.6.2.1
        // lists the one digest algorithm used.
        if signed_data.version != CmsVersion::V3 {
            return Err(bad("EF.SOD SignedData version (want 3)"));
        }
        if signed_data.digest_algorithms.as_slice() != [sha256_alg()] {
            return Err(bad("EF.SOD digestAlgorithms (want SHA-256)"));
        }
        let encap = &signed_data.encap_content_info;
        if encap.econtent_type != ID_LDS_SECURITY_OBJECT {
            return Err(bad("EF.SOD eContentType (want ldsSecurityObject)"));
        }
        let econtent_any = encap.econtent.as_ref().ok_or(Error::decode(
            "EF.SOD eContent",
            DecodeErrorKind::Missing,
            0,
        ))?;
        let econtent = econtent_any.decode_as::<OctetString>()?.into_bytes();
        let lso = LdsSecurityObject::from_der(&econtent)?;
        if lso.hash_algorithm.oid != ID_SHA_256 {
            return Err(bad("LDSSecurityObject hashAlgorithm (want SHA-256)"));
        }
        let mut hashes = BTreeMap::new();
        for dgh in lso.data_group_hash_values {
            let n = dgh.data_group_number;
            let h = dgh.data_group_hash_value.into_bytes();
            if !(1..=MAX_DATA_GROUP).contains(&n) || h.len() != 32 {
                return Err(bad("LDSSecurityObject DataGroupHash"));
            }
            if hashes.insert(n, h).is_some() {
                return Err(bad("LDSSecurityObject DataGroupHash (duplicate number)"));
            }
        }

        let mut signer_infos = signed_data.signer_infos.0.into_vec().into_iter();
        let (Some(signer_info), None) = (signer_infos.next(), signer_infos.next()) else {
            return Err(bad("EF.SOD signerInfos (want exactly one)"));
        };
        // RFC 5652 §5.3: version 1 goes with issuerAndSerialNumber.
        if signer_info.version != CmsVersion::V1 {
            return Err(bad("EF.SOD SignerInfo version (want 1)"));
        }
        let SignerIdentifier::IssuerAndSerialNumber(sid) = &signer_info.sid else {
            return Err(bad("EF.SOD SignerInfo sid (want issuerAndSerialNumber)"));
        };
        let ds_cert = signed_data
            .certificates
            .into_iter()
            .flat_map(|set| set.0.into_vec())
            .find_map(|c| match c {
                CertificateChoices::Certificate(c)
                    if c.tbs_certificate.issuer == sid.issuer
                        && c.tbs_certificate.serial_number == sid.serial_number =>
                {
                    Some(c)
                }
                _ => None,
            })
            .ok_or(Error::decode(
                "EF.SOD Document Signer certificate",
                DecodeErrorKind::Missing,
                0,
            ))?;
        Ok(Self {
            hashes,
            ds_cert,
            econtent,
            signer_info,
        })
    }

    /// The data group hashes (SHA-256), by data group number.
    pub fn dg_hashes(&self) -> &BTreeMap<u8, Vec<u8>> {
        &self.hashes
    }

    /// The SHA-256 hash EF.SOD holds for data group `n`.
    pub fn dg_hash(&self, n: u8) -> Option<&[u8]> {
        self.hashes.get(&n).map(Vec::as_slice)
    }

    /// The Document Signer certificate carried in EF.SOD.
    pub fn ds_certificate(&self) -> &Certificate {
        &self.ds_cert
    }

    /// The DER LDSSecurityObject (the eContent that is signed).
    pub fn lds_security_object(&self) -> &[u8] {
        &self.econtent
    }

    /// Check the CMS signature (RFC 5652 §5.4, §5.6): the signed attributes carry
    /// contentType = ldsSecurityObject and messageDigest = SHA-256(eContent), and the
    /// Document Signer's ECDSA signature over their DER `SET OF` verifies. Does not check
    /// the certificate chain.
    pub fn verify_signature(&self) -> Result<(), Error> {
        let si = &self.signer_info;
        if si.digest_alg.oid != ID_SHA_256 {
            return Err(Error::BadSignature(
                "SignerInfo digestAlgorithm is not SHA-256",
            ));
        }
        if si.signature_algorithm.oid != ECDSA_WITH_SHA_256 {
            return Err(Error::BadSignature(
                "SignerInfo signatureAlgorithm is not ecdsa-with-SHA256",
            ));
        }
        let attrs = si
            .signed_attrs
            .as_ref()
            .ok_or(Error::BadSignature("SignerInfo has no signed attributes"))?;
        let single = |oid| -> Option<&Any> {
            let mut matching = attrs.iter().filter(|a| a.oid == oid);
            match (matching.next(), matching.next()) {
                (Some(a), None) if a.values.len() == 1 => a.values.get(0),
                _ => None,
            }
        };
        let content_type = single(ID_CONTENT_TYPE)
            .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
            .ok_or(Error::BadSignature("signed attribute contentType missing"))?;
        if content_type != ID_LDS_SECURITY_OBJECT {
            return Err(Error::BadSignature(
                "signed attribute contentType is not ldsSecurityObject",
            ));
        }
        let digest = single(ID_MESSAGE_DIGEST)
            .and_then(|v| v.decode_as::<OctetString>().ok())
            .ok_or(Error::BadSignature(
                "signed attribute messageDigest missing",
            ))?;
        if digest.as_bytes() != crate::crypto::sha256(&self.econtent).as_slice() {
            return Err(Error::BadSignature(
                "messageDigest does not match the LDSSecurityObject",
            ));
        }
        let key = pki::cert_verifying_key(&self.ds_cert)?;
        let sig = Signature::from_der(si.signature.as_bytes())
            .map_err(|_| Error::BadSignature("EF.SOD signature is not a DER ECDSA signature"))?;
        crate::crypto::verify(&key, &attrs.to_der()?, &sig)
            .map_err(|_| Error::BadSignature("EF.SOD signature"))
    }
}

impl fmt::Debug for Sod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hashes: BTreeMap<u8, String> = self
            .hashes
            .iter()
            .map(|(n, h)| (*n, hex::encode_upper(h)))
            .collect();
        f.debug_struct("Sod")
            .field("dg_hashes", &hashes)
            .field(
                "ds_subject",
                &self.ds_cert.tbs_certificate.subject.to_string(),
            )
            .field(
                "ds_issuer",
                &self.ds_cert.tbs_certificate.issuer.to_string(),
            )
            .field("signature", &format_args!("<redacted>"))
            .finish()
    }
}

/// What Passive Authentication established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassiveAuthReport {
    /// The Document Signer's subject name.
    pub ds_subject: String,
    /// The subject name of the trust anchor (CSCA) that issued the Document Signer.
    pub csca_subject: String,
    /// The data groups whose hashes were checked, ascending.
    pub checked: Vec<u8>,
    /// Data groups EF.SOD covers that were not supplied (so not checked), ascending.
    pub not_supplied: Vec<u8>,
}

/// Passive Authentication (9303-11 §5.1, 9303-12 §5):
///
/// 1. decode EF.SOD;
/// 2. check its CMS signature ([`Sod::verify_signature`]), else [`Error::BadSignature`];
/// 3. check the Document Signer certificate was issued by one of `trust_anchors` and is
///    valid at `now` (unix seconds), else [`Error::Certificate`] with
///    [`CertificateError::UntrustedIssuer`] (no anchor issued it), or
///    [`CertificateError::Expired`] / [`CertificateError::NotYetValid`];
/// 4. check the Document Signer's keyUsage allows digitalSignature, else
///    [`CertificateError::KeyUsage`];
/// 5. check the hash of every supplied data group (number, whole file), else
///    [`Error::HashMismatch`], or [`Error::DataGroupNotCovered`] if EF.SOD has no hash for it.
pub fn passive_authentication(
    sod: &[u8],
    data_groups: &[(u8, &[u8])],
    trust_anchors: &[Certificate],
    now: u64,
) -> Result<PassiveAuthReport, Error> {
    let sod = Sod::decode(sod)?;
    sod.verify_signature()?;

    // An anchor whose name and signature match but whose window fails gives the validity
    // error; with no such anchor, the Document Signer is from an unknown root.
    let mut validity_error = None;
    let mut csca = None;
    for anchor in trust_anchors {
        match pki::verify_issued_by(&sod.ds_cert, anchor, now) {
            Ok(()) => {
                csca = Some(anchor);
                break;
            }
            Err(
                e @ Error::Certificate(
                    CertificateError::Expired { .. } | CertificateError::NotYetValid { .. },
                ),
            ) => validity_error = Some(e),
            Err(_) => {}
        }
    }
    let csca = match (csca, validity_error) {
        (Some(c), _) => c,
        (None, Some(e)) => return Err(e),
        (None, None) => return Err(CertificateError::UntrustedIssuer.into()),
    };
    // 9303-12 §7.1.1 Table 6: a Document Signer's keyUsage is digitalSignature.
    if !pki::has_key_usage(&sod.ds_cert, KeyUsages::DigitalSignature) {
        return Err(CertificateError::KeyUsage.into());
    }

    let mut checked = Vec::new();
    for &(n, bytes) in data_groups {
        let expected = sod.dg_hash(n).ok_or(Error::DataGroupNotCovered(n))?;
        if crate::crypto::sha256(bytes).as_slice() != expected {
            return Err(Error::HashMismatch(n));
        }
        checked.push(n);
    }
    checked.sort_unstable();
    checked.dedup();
    let not_supplied = sod
        .hashes
        .keys()
        .filter(|n| !checked.contains(n))
        .copied()
        .collect();
    Ok(PassiveAuthReport {
        ds_subject: sod.ds_cert.tbs_certificate.subject.to_string(),
        csca_subject: csca.tbs_certificate.subject.to_string(),
        checked,
        not_supplied,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lds::{encode_dg15, Com, Dg2, HolderData, LdsFile, SecurityInfos};
    use crate::pki::{issue, self_signed_root, CertUsage};
    use p256::ecdsa::SigningKey;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    const T0: u64 = 1_735_689_600; // 2025-01-01
    const YEAR: u64 = 365 * 24 * 3600;

    struct Card {
        csca: CertifiedKey,
        ds: CertifiedKey,
        dgs: Vec<(u8, Vec<u8>)>,
        sod: Vec<u8>,
    }

    impl Card {
        fn dgs(&self) -> Vec<(u8, &[u8])> {
            self.dgs.iter().map(|(n, b)| (*n, b.as_slice())).collect()
        }
    }

    fn dg1() -> Vec<u8> {
        HolderData {
            name: "김민지".into(),
            rrn: "0503154123456".into(),
            birth_date: crate::lds::Date::new(2005, 3, 15).unwrap(),
            region_code: "26".into(),
            issue_date: crate::lds::Date::new(2025, 2, 14).unwrap(),
            card_number: "C123456789".into(),
        }
        .encode()
        .unwrap()
    }

    fn card(seed: u64) -> Card {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let csca = self_signed_root(&mut rng, "KR CSCA", "KR", T0, T0 + 15 * YEAR).unwrap();
        let ds = issue(
            &csca,
            &mut rng,
            "KR DS 001",
            T0,
            T0 + 5 * YEAR,
            CertUsage::DocumentSigner,
        )
        .unwrap();
        let aa_key = SigningKey::random(&mut rng);
        let dgs = vec![
            (1, dg1()),
            (
                2,
                Dg2 {
                    portrait: vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
                }
                .encode(),
            ),
            (14, SecurityInfos::dg14().encode_dg14().unwrap()),
            (15, encode_dg15(aa_key.verifying_key()).unwrap()),
        ];
        let refs: Vec<(u8, &[u8])> = dgs.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let sod = create_sod(&refs, &ds).unwrap();
        Card { csca, ds, dgs, sod }
    }

    fn anchors(c: &Card) -> Vec<Certificate> {
        vec![c.csca.cert().clone()]
    }

    #[test]
    fn same_seed_gives_identical_root_ds_and_sod() {
        let a = card(42);
        let b = card(42);
        assert_eq!(a.csca.cert_der(), b.csca.cert_der());
        assert_eq!(a.ds.cert_der(), b.ds.cert_der());
        assert_eq!(a.sod, b.sod);
        assert_ne!(a.sod, card(43).sod);
    }

    #[test]
    fn passive_authentication_accepts_a_genuine_card() {
        let c = card(1);
        let report = passive_authentication(&c.sod, &c.dgs(), &anchors(&c), T0 + YEAR).unwrap();
        assert_eq!(report.checked, vec![1, 2, 14, 15]);
        assert!(report.not_supplied.is_empty());
        assert_eq!(report.csca_subject, "CN=KR CSCA,C=KR");
        assert_eq!(report.ds_subject, "CN=KR DS 001,C=KR");
        // Checking only some data groups reports the rest as not supplied.
        let some = passive_authentication(&c.sod, &c.dgs()[..1], &anchors(&c), T0 + 1).unwrap();
        assert_eq!(some.not_supplied, vec![2, 14, 15]);
    }

    #[test]
    fn tampered_data_group_is_a_hash_mismatch() {
        let c = card(1);
        let mut dgs = c.dgs.clone();
        let last = dgs[1].1.len() - 1;
        dgs[1].1[last] ^= 0x01;
        let refs: Vec<(u8, &[u8])> = dgs.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        assert_eq!(
            passive_authentication(&c.sod, &refs, &anchors(&c), T0 + 1),
            Err(Error::HashMismatch(2))
        );
        assert_eq!(
            passive_authentication(&c.sod, &[(3, b"x")], &anchors(&c), T0 + 1),
            Err(Error::DataGroupNotCovered(3))
        );
    }

    #[test]
    fn expired_document_signer_is_refused() {
        let c = card(1);
        assert!(matches!(
            passive_authentication(&c.sod, &c.dgs(), &anchors(&c), T0 + 6 * YEAR),
            Err(Error::Certificate(CertificateError::Expired { .. }))
        ));
    }

    #[test]
    fn document_signer_from_a_foreign_root_is_refused() {
        let genuine = card(1);
        // Same names, different keys: a forged country CA.
        let forged = card(2);
        assert_eq!(
            passive_authentication(&forged.sod, &forged.dgs(), &anchors(&genuine), T0 + 1),
            Err(Error::Certificate(CertificateError::UntrustedIssuer))
        );
        // A root with another name altogether.
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let other = self_signed_root(&mut rng, "JP CSCA", "JP", T0, T0 + YEAR).unwrap();
        assert_eq!(
            passive_authentication(
                &genuine.sod,
                &genuine.dgs(),
                &[other.cert().clone()],
                T0 + 1
            ),
            Err(Error::Certificate(CertificateError::UntrustedIssuer))
        );
        // With both anchors, the genuine one is found.
        let both = [other.cert().clone(), genuine.csca.cert().clone()];
        passive_authentication(&genuine.sod, &genuine.dgs(), &both, T0 + 1).unwrap();
    }

    #[test]
    fn tampered_signature_is_refused() {
        let c = card(1);
        let mut sod = c.sod.clone();
        // The signature is the last field of the last SignerInfo: the last byte is s's.
        let last = sod.len() - 1;
        sod[last] ^= 0x01;
        assert_eq!(
            passive_authentication(&sod, &c.dgs(), &anchors(&c), T0 + 1),
            Err(Error::BadSignature("EF.SOD signature"))
        );
    }

    #[test]
    fn tampered_security_object_breaks_the_message_digest() {
        let c = card(1);
        let h = Sod::decode(&c.sod).unwrap().dg_hash(1).unwrap().to_vec();
        let pos = c.sod.windows(32).position(|w| w == h.as_slice()).unwrap();
        let mut sod = c.sod.clone();
        sod[pos] ^= 0x80;
        assert_eq!(
            passive_authentication(&sod, &c.dgs(), &anchors(&c), T0 + 1),
            Err(Error::BadSignature(
                "messageDigest does not match the LDSSecurityObject"
            ))
        );
    }

    #[test]
    fn sod_signed_directly_by_the_csca_is_refused() {
        let c = card(1);
        let sod = create_sod(&c.dgs(), &c.csca).unwrap();
        assert_eq!(
            passive_authentication(&sod, &c.dgs(), &anchors(&c), T0 + 1),
            Err(Error::Certificate(CertificateError::KeyUsage))
        );
    }

    #[test]
    fn decoded_sod_exposes_hashes_and_certificate() {
        let c = card(1);
        let sod = Sod::decode(&c.sod).unwrap();
        assert_eq!(sod.ds_certificate(), c.ds.cert());
        for (n, b) in &c.dgs {
            assert_eq!(
                sod.dg_hash(*n).unwrap(),
                crate::crypto::sha256(b).as_slice()
            );
        }
        insta::assert_debug_snapshot!(sod);
    }

    #[test]
    fn create_sod_checks_its_input() {
        let c = card(1);
        assert!(create_sod(&[(1, b"a")], &c.ds).is_err(), "at least two");
        assert!(
            create_sod(&[(1, b"a"), (1, b"b")], &c.ds).is_err(),
            "duplicate"
        );
        assert!(
            create_sod(&[(0, b"a"), (2, b"b")], &c.ds).is_err(),
            "number 0"
        );
        assert!(
            create_sod(&[(17, b"a"), (2, b"b")], &c.ds).is_err(),
            "number 17"
        );
    }

    /// An independent CMS implementation accepts EF.SOD: OpenSSL verifies the signature and
    /// the chain to the CSCA and hands back exactly the LDSSecurityObject.
    #[test]
    fn openssl_verifies_the_sod_as_cms() {
        let c = card(5);
        let (tag, content_info, _) = tlv::read_one(&c.sod).unwrap();
        assert_eq!(tag, Tag(0x77));
        let dir = std::env::temp_dir().join(format!("midsim-sod-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sod.der"), content_info).unwrap();
        std::fs::write(dir.join("root.pem"), c.csca.cert_pem()).unwrap();
        let out = std::process::Command::new("openssl")
            .args([
                "cms", "-verify", "-inform", "DER", "-binary", "-purpose", "any",
            ])
            .args(["-attime", &(T0 + YEAR).to_string()])
            .arg("-in")
            .arg(dir.join("sod.der"))
            .arg("-CAfile")
            .arg(dir.join("root.pem"))
            .arg("-out")
            .arg(dir.join("lso.der"))
            .output()
            .expect("openssl must be installed for this test");
        let lso = std::fs::read(dir.join("lso.der")).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "openssl cms -verify: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(lso, Sod::decode(&c.sod).unwrap().lds_security_object());
    }

    #[test]
    fn com_lists_what_the_sod_covers() {
        // EF.COM and EF.SOD agree on the data groups of this card profile.
        let c = card(1);
        let sod = Sod::decode(&c.sod).unwrap();
        let com = Com::new(&LdsFile::ALL);
        let from_sod: Vec<u8> = sod
            .dg_hashes()
            .keys()
            .filter_map(|&n| LdsFile::from_dg_number(n).and_then(LdsFile::tag))
            .collect();
        assert_eq!(com.tags, from_sod);
    }

    proptest! {
        #[test]
        fn sod_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Sod::decode(&bytes);
            let _ = passive_authentication(&bytes, &[], &[], T0);
        }

        #[test]
        fn mutated_sod_never_panics_and_never_passes(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        ) {
            let c = card(1);
            let mut sod = c.sod.clone();
            for (i, b) in flips {
                let i = i.index(sod.len());
                sod[i] ^= b;
            }
            let _ = Sod::decode(&sod);
            // Any change to EF.SOD must make Passive Authentication fail, except
            // changes to the carried DS certificate's unsigned parts that keep it decodable
            // and identical in what is checked, which do not exist: the whole
            // certificate is signed. So: never Ok.
            prop_assert!(passive_authentication(&sod, &c.dgs(), &anchors(&c), T0 + 1).is_err());
        }
    }
}
