//! X.509 certificates for the simulated PKI: the country signing CA (CSCA) and its Document
//! Signers (ICAO Doc 9303-12), and the 18013-5 issuing authority CA (IACA) and its mdoc
//! signers (ISO/IEC 18013-5 Annex B).
//!
//! Every key is ECDSA on NIST P-256 and every signature is `ecdsa-with-SHA256`.
//!
//! Sans-IO: validity dates are unix seconds passed in, serial numbers and keys come from the
//! caller's RNG, and ECDSA signing is RFC 6979 deterministic, so the same seed gives
//! byte-identical certificates. Nothing here reads the clock (no `Validity::from_now`).
//!
//! Certificates are assembled by hand (not with `x509_cert::builder`) because the profiles
//! fix the exact extension set: the builder's leaf profile would add nonRepudiation, which
//! 9303-12 §7.1.1 does not give a Document Signer.

use core::fmt;
use std::time::Duration;

use const_oid::db::rfc4519::{CN, COUNTRY_NAME};
use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE,
    ID_CE_ISSUER_ALT_NAME, ID_CE_KEY_USAGE, ID_CE_SUBJECT_KEY_IDENTIFIER,
};
use const_oid::db::rfc5912::ECDSA_WITH_SHA_256;
use const_oid::ObjectIdentifier;
use der::asn1::{
    BitString, GeneralizedTime, Ia5String, OctetString, PrintableStringRef, SetOfVec, UtcTime,
    Utf8StringRef,
};
use der::{Any, DateTime, Decode, DecodePem, Encode};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use rand_core::CryptoRngCore;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, IssuerAltName, KeyUsage,
    SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

pub use x509_cert::ext::pkix::KeyUsages;
pub use x509_cert::Certificate;

use crate::Error;

/// The extended key usage of an mdoc (document) signer certificate, ISO/IEC 18013-5 Annex B
/// Table B.3: `id-mdl-kp-mdlDS` (1.0.18013.5.1.2).
pub const ID_MDL_KP_MDL_DS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.0.18013.5.1.2");

/// Why a certificate was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateError {
    /// `now` is after the certificate's notAfter.
    Expired {
        /// The certificate's notAfter, unix seconds.
        not_after: u64,
        /// The time checked, unix seconds.
        now: u64,
    },
    /// `now` is before the certificate's notBefore.
    NotYetValid {
        /// The certificate's notBefore, unix seconds.
        not_before: u64,
        /// The time checked, unix seconds.
        now: u64,
    },
    /// The issuer's signature over tbsCertificate does not verify.
    Signature,
    /// The certificate's issuer name is not the issuer certificate's subject name.
    IssuerNameMismatch,
    /// The issuing certificate is not a CA (basicConstraints cA is not TRUE).
    IssuerNotCa,
    /// No trust anchor issued the certificate (a foreign or unknown root).
    UntrustedIssuer,
    /// The certificate's keyUsage does not allow what it was used for (for example a CA
    /// certificate signing EF.SOD directly).
    KeyUsage,
    /// The signature or key algorithm is not ECDSA P-256 with SHA-256.
    UnsupportedAlgorithm,
    /// A value cannot go into a certificate (for example a country code that is not two
    /// letters).
    BadInput(&'static str),
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Expired { not_after, now } => {
                write!(f, "expired (notAfter {not_after}, now {now})")
            }
            Self::NotYetValid { not_before, now } => {
                write!(f, "not yet valid (notBefore {not_before}, now {now})")
            }
            Self::Signature => f.write_str("signature does not verify"),
            Self::IssuerNameMismatch => f.write_str("issuer name mismatch"),
            Self::IssuerNotCa => f.write_str("issuer is not a CA"),
            Self::KeyUsage => f.write_str("key usage does not allow this use"),
            Self::UntrustedIssuer => f.write_str("not issued by any trust anchor"),
            Self::UnsupportedAlgorithm => {
                f.write_str("unsupported algorithm (want ECDSA P-256 with SHA-256)")
            }
            Self::BadInput(what) => write!(f, "bad input: {what}"),
        }
    }
}

impl From<CertificateError> for Error {
    fn from(e: CertificateError) -> Self {
        Error::Certificate(e)
    }
}

/// What an issued (non-root) certificate is for. Each selects a fixed extension profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertUsage {
    /// An ICAO Document Signer (9303-12 §7.1.1, Table 6): keyUsage digitalSignature
    /// (critical), authorityKeyIdentifier, subjectKeyIdentifier. Signs EF.SOD.
    DocumentSigner,
    /// An ISO/IEC 18013-5 mdoc signer (Annex B.1.4, Table B.3): keyUsage digitalSignature
    /// (critical), extendedKeyUsage `1.0.18013.5.1.2` (critical), authorityKeyIdentifier,
    /// subjectKeyIdentifier. Signs the MSO.
    MdocSigner,
}

/// A private key with its certificate.
#[derive(Clone)]
pub struct CertifiedKey {
    key: SigningKey,
    cert: Certificate,
    cert_der: Vec<u8>,
}

impl CertifiedKey {
    /// Pair a key with its certificate; the certificate's public key must be the key's.
    pub fn new(key: SigningKey, cert: Certificate) -> Result<Self, Error> {
        let cert_key = cert_verifying_key(&cert)?;
        if &cert_key != key.verifying_key() {
            return Err(CertificateError::BadInput("certificate is not for this key").into());
        }
        let cert_der = cert.to_der()?;
        Ok(Self {
            key,
            cert,
            cert_der,
        })
    }

    /// The private key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The certificate.
    pub fn cert(&self) -> &Certificate {
        &self.cert
    }

    /// The certificate, DER encoded.
    pub fn cert_der(&self) -> Vec<u8> {
        self.cert_der.clone()
    }

    /// The certificate, PEM encoded (`-----BEGIN CERTIFICATE-----`, LF line endings).
    pub fn cert_pem(&self) -> String {
        // Base64 of bytes we hold cannot fail; the fallback is unreachable in practice.
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &self.cert_der)
            .unwrap_or_default()
    }

    /// The public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.key.verifying_key()
    }
}

impl fmt::Debug for CertifiedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertifiedKey")
            .field("subject", &self.cert.tbs_certificate.subject.to_string())
            .field("issuer", &self.cert.tbs_certificate.issuer.to_string())
            .field("key", &format_args!("<redacted>"))
            .finish()
    }
}

/// A self-signed country signing CA (CSCA, ICAO 9303-12 §7.1.1 Table 6): basicConstraints
/// cA TRUE pathLen 0 (critical), keyUsage keyCertSign|cRLSign (critical),
/// subjectKeyIdentifier. Subject and issuer are `C=<country>, CN=<cn>`.
///
/// `not_before` and `not_after` are unix seconds. The key and the serial number are drawn from
/// `rng`.
pub fn self_signed_root(
    rng: &mut impl CryptoRngCore,
    cn: &str,
    country: &str,
    not_before: u64,
    not_after: u64,
) -> Result<CertifiedKey, Error> {
    root(rng, cn, country, None, not_before, not_after)
}

/// A self-signed ISO/IEC 18013-5 IACA root (Annex B.1.2, Table B.1): as
/// [`self_signed_root`], plus issuerAltName carrying `issuer_alt_uri` (a URL at which the
/// issuing authority can be reached).
pub fn iaca_root(
    rng: &mut impl CryptoRngCore,
    cn: &str,
    country: &str,
    issuer_alt_uri: &str,
    not_before: u64,
    not_after: u64,
) -> Result<CertifiedKey, Error> {
    root(
        rng,
        cn,
        country,
        Some(issuer_alt_uri),
        not_before,
        not_after,
    )
}

fn root(
    rng: &mut impl CryptoRngCore,
    cn: &str,
    country: &str,
    issuer_alt_uri: Option<&str>,
    not_before: u64,
    not_after: u64,
) -> Result<CertifiedKey, Error> {
    let key = crate::crypto::generate_signing_key(rng);
    let serial = random_serial(rng)?;
    let name = make_name(Some(country), cn)?;
    let spki = spki_of(key.verifying_key())?;
    let mut extensions = vec![
        ext(
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            },
            ID_CE_BASIC_CONSTRAINTS,
            true,
        )?,
        ext(
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            ID_CE_KEY_USAGE,
            true,
        )?,
        ext(
            &SubjectKeyIdentifier(key_identifier(&spki)?),
            ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
        )?,
    ];
    if let Some(uri) = issuer_alt_uri {
        let uri = Ia5String::new(uri)
            .map_err(|_| CertificateError::BadInput("issuerAltName URI is not IA5"))?;
        extensions.push(ext(
            &IssuerAltName(vec![GeneralName::UniformResourceIdentifier(uri)]),
            ID_CE_ISSUER_ALT_NAME,
            false,
        )?);
    }
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: serial,
        signature: ecdsa_sha256(),
        issuer: name.clone(),
        validity: validity(not_before, not_after)?,
        subject: name,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let cert = sign_tbs(tbs, &key)?;
    CertifiedKey::new(key, cert)
}

/// Issue a certificate for a fresh key under `issuer`, with the extension profile of `usage`.
/// The subject is `C=<issuer's country>, CN=<cn>` (9303-12 §7.1.1: the Document Signer's
/// country is its CSCA's).
pub fn issue(
    issuer: &CertifiedKey,
    rng: &mut impl CryptoRngCore,
    cn: &str,
    not_before: u64,
    not_after: u64,
    usage: CertUsage,
) -> Result<CertifiedKey, Error> {
    let key = crate::crypto::generate_signing_key(rng);
    let serial = random_serial(rng)?;
    let issuer_name = issuer.cert.tbs_certificate.subject.clone();
    let country = country_of(&issuer_name);
    let subject = make_name(country.as_deref(), cn)?;
    let spki = spki_of(key.verifying_key())?;
    let issuer_spki = &issuer.cert.tbs_certificate.subject_public_key_info;
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(key_identifier(issuer_spki)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let mut extensions = vec![
        ext(&aki, ID_CE_AUTHORITY_KEY_IDENTIFIER, false)?,
        ext(
            &SubjectKeyIdentifier(key_identifier(&spki)?),
            ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
        )?,
        ext(
            &KeyUsage(KeyUsages::DigitalSignature.into()),
            ID_CE_KEY_USAGE,
            true,
        )?,
    ];
    match usage {
        CertUsage::DocumentSigner => {}
        CertUsage::MdocSigner => {
            extensions.push(ext(
                &ExtendedKeyUsage(vec![ID_MDL_KP_MDL_DS]),
                ID_CE_EXT_KEY_USAGE,
                true,
            )?);
        }
    }
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: serial,
        signature: ecdsa_sha256(),
        issuer: issuer_name,
        validity: validity(not_before, not_after)?,
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let cert = sign_tbs(tbs, &issuer.key)?;
    CertifiedKey::new(key, cert)
}

/// Check that `cert` was issued by `issuer` and is valid at `now` (unix seconds): the issuer
/// name matches (RFC 5280 §6.1.3 (a)(4)), the issuer is a CA, the ECDSA P-256 SHA-256
/// signature over the DER tbsCertificate verifies with the issuer's key (§6.1.3 (a)(1)), and
/// `notBefore <= now <= notAfter` (§6.1.3 (a)(2)). Checked in that order; the first failure
/// is returned as [`Error::Certificate`].
pub fn verify_issued_by(cert: &Certificate, issuer: &Certificate, now: u64) -> Result<(), Error> {
    let tbs = &cert.tbs_certificate;
    if tbs.issuer != issuer.tbs_certificate.subject {
        return Err(CertificateError::IssuerNameMismatch.into());
    }
    if !is_ca(issuer) {
        return Err(CertificateError::IssuerNotCa.into());
    }
    if cert.signature_algorithm.oid != ECDSA_WITH_SHA_256 || tbs.signature.oid != ECDSA_WITH_SHA_256
    {
        return Err(CertificateError::UnsupportedAlgorithm.into());
    }
    let issuer_key = cert_verifying_key(issuer)?;
    let tbs_der = tbs.to_der()?;
    let sig_bytes = cert
        .signature
        .as_bytes()
        .ok_or(CertificateError::Signature)?;
    let sig = Signature::from_der(sig_bytes).map_err(|_| CertificateError::Signature)?;
    crate::crypto::verify(&issuer_key, &tbs_der, &sig).map_err(|_| CertificateError::Signature)?;
    check_validity(cert, now)
}

/// Check only the validity window of `cert` at `now` (unix seconds).
pub fn check_validity(cert: &Certificate, now: u64) -> Result<(), Error> {
    let v = &cert.tbs_certificate.validity;
    let not_before = v.not_before.to_unix_duration().as_secs();
    let not_after = v.not_after.to_unix_duration().as_secs();
    if now < not_before {
        return Err(CertificateError::NotYetValid { not_before, now }.into());
    }
    if now > not_after {
        return Err(CertificateError::Expired { not_after, now }.into());
    }
    Ok(())
}

/// The P-256 public key a certificate certifies.
pub fn cert_verifying_key(cert: &Certificate) -> Result<VerifyingKey, Error> {
    let spki_der = cert.tbs_certificate.subject_public_key_info.to_der()?;
    VerifyingKey::from_public_key_der(&spki_der)
        .map_err(|_| CertificateError::UnsupportedAlgorithm.into())
}

/// Decode one DER certificate; trailing bytes are an error.
pub fn parse_der(der: &[u8]) -> Result<Certificate, Error> {
    Ok(Certificate::from_der(der)?)
}

/// Decode one PEM certificate (`-----BEGIN CERTIFICATE-----`).
pub fn parse_pem(pem: &str) -> Result<Certificate, Error> {
    Ok(Certificate::from_pem(pem.as_bytes())?)
}

/// True if the certificate has a keyUsage extension that includes `usage` (RFC 5280
/// §4.2.1.3). A certificate without keyUsage does not qualify: 9303-12 and 18013-5 make it
/// mandatory.
pub fn has_key_usage(cert: &Certificate, usage: KeyUsages) -> bool {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == ID_CE_KEY_USAGE)
        .any(|e| KeyUsage::from_der(e.extn_value.as_bytes()).is_ok_and(|ku| ku.0.contains(usage)))
}

/// True if the certificate has basicConstraints with cA TRUE.
fn is_ca(cert: &Certificate) -> bool {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == ID_CE_BASIC_CONSTRAINTS)
        .any(|e| BasicConstraints::from_der(e.extn_value.as_bytes()).is_ok_and(|bc| bc.ca))
}

fn ecdsa_sha256() -> AlgorithmIdentifierOwned {
    // RFC 5758 §3.2: the parameters field MUST be absent for ecdsa-with-SHA256.
    AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA_256,
        parameters: None,
    }
}

fn sign_tbs(tbs: TbsCertificate, key: &SigningKey) -> Result<Certificate, Error> {
    let tbs_der = tbs.to_der()?;
    let sig: DerSignature = crate::crypto::sign(key, &tbs_der).to_der();
    Ok(Certificate {
        tbs_certificate: tbs,
        signature_algorithm: ecdsa_sha256(),
        signature: BitString::from_bytes(sig.as_bytes())?,
    })
}

fn spki_of(key: &VerifyingKey) -> Result<SubjectPublicKeyInfoOwned, Error> {
    let der = key
        .to_public_key_der()
        .map_err(|e| Error::Der(e.to_string()))?;
    Ok(SubjectPublicKeyInfoOwned::from_der(der.as_bytes())?)
}

/// RFC 7093 §2 method 1: the leftmost 160 bits of SHA-256 over the subjectPublicKey bits.
fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Result<OctetString, Error> {
    let digest = crate::crypto::sha256(spki.subject_public_key.raw_bytes());
    Ok(OctetString::new(digest.get(..20).unwrap_or_default())?)
}

fn ext<T: Encode>(value: &T, oid: ObjectIdentifier, critical: bool) -> Result<Extension, Error> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// Positive, 16 bytes, from the caller's RNG (RFC 5280 §4.1.2.2: at most 20 octets; 9303-12
/// Table 6 likewise).
fn random_serial(rng: &mut impl CryptoRngCore) -> Result<SerialNumber, Error> {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    // Clear the sign bit and make the first byte non-zero so the encoding is exactly 16 bytes.
    bytes[0] = (bytes[0] & 0x7F) | 0x40;
    Ok(SerialNumber::new(&bytes)?)
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
fn to_time(unix: u64) -> Result<Time, Error> {
    let dt = DateTime::from_unix_duration(Duration::from_secs(unix))?;
    if dt.year() < 2050 {
        Ok(Time::UtcTime(UtcTime::from_date_time(dt)?))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

fn validity(not_before: u64, not_after: u64) -> Result<Validity, Error> {
    if not_after < not_before {
        return Err(CertificateError::BadInput("notAfter is before notBefore").into());
    }
    Ok(Validity {
        not_before: to_time(not_before)?,
        not_after: to_time(not_after)?,
    })
}

/// `C=<country>, CN=<cn>`: country as PrintableString (RFC 5280 Appendix A, ISO 3166
/// alpha-2), common name as UTF8String.
fn make_name(country: Option<&str>, cn: &str) -> Result<Name, Error> {
    let mut rdns = Vec::new();
    if let Some(c) = country {
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(CertificateError::BadInput("country must be two capital letters").into());
        }
        let value = Any::encode_from(&PrintableStringRef::new(c)?)?;
        rdns.push(rdn(COUNTRY_NAME, value)?);
    }
    if cn.is_empty() {
        return Err(CertificateError::BadInput("empty common name").into());
    }
    let value = Any::encode_from(&Utf8StringRef::new(cn)?)?;
    rdns.push(rdn(CN, value)?);
    Ok(RdnSequence(rdns))
}

fn rdn(oid: ObjectIdentifier, value: Any) -> Result<RelativeDistinguishedName, Error> {
    let mut set = SetOfVec::new();
    set.insert(AttributeTypeAndValue { oid, value })?;
    Ok(RelativeDistinguishedName(set))
}

/// The country (C) of a name, if it has one.
fn country_of(name: &Name) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == COUNTRY_NAME)
        .and_then(|atv| PrintableStringRef::try_from(&atv.value).ok())
        .map(|s| s.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    // 2025-01-01T00:00:00Z and ten years on.
    const T0: u64 = 1_735_689_600;
    const YEAR: u64 = 365 * 24 * 3600;

    fn chain(seed: u64) -> (CertifiedKey, CertifiedKey) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let root = self_signed_root(&mut rng, "KR CSCA", "KR", T0, T0 + 10 * YEAR).unwrap();
        let ds = issue(
            &root,
            &mut rng,
            "KR Document Signer 1",
            T0,
            T0 + 3 * YEAR,
            CertUsage::DocumentSigner,
        )
        .unwrap();
        (root, ds)
    }

    #[test]
    fn same_seed_gives_identical_certificates() {
        let (r1, d1) = chain(7);
        let (r2, d2) = chain(7);
        assert_eq!(r1.cert_der(), r2.cert_der());
        assert_eq!(d1.cert_der(), d2.cert_der());
        let (r3, _) = chain(8);
        assert_ne!(r1.cert_der(), r3.cert_der());
    }

    #[test]
    fn issued_certificate_verifies_and_root_is_self_signed() {
        let (root, ds) = chain(1);
        verify_issued_by(ds.cert(), root.cert(), T0 + YEAR).unwrap();
        verify_issued_by(root.cert(), root.cert(), T0 + YEAR).unwrap();
        assert_eq!(
            ds.cert().tbs_certificate.subject.to_string(),
            "CN=KR Document Signer 1,C=KR"
        );
        assert_eq!(
            ds.cert().tbs_certificate.issuer.to_string(),
            "CN=KR CSCA,C=KR"
        );
    }

    #[test]
    fn validity_window_is_enforced() {
        let (root, ds) = chain(1);
        assert!(matches!(
            verify_issued_by(ds.cert(), root.cert(), T0 + 4 * YEAR),
            Err(Error::Certificate(CertificateError::Expired { .. }))
        ));
        assert!(matches!(
            verify_issued_by(ds.cert(), root.cert(), T0 - 1),
            Err(Error::Certificate(CertificateError::NotYetValid { .. }))
        ));
        verify_issued_by(ds.cert(), root.cert(), T0).unwrap();
        verify_issued_by(ds.cert(), root.cert(), T0 + 3 * YEAR).unwrap();
    }

    #[test]
    fn foreign_root_with_same_name_fails_signature_and_other_name_fails_name() {
        let (_, ds) = chain(1);
        let mut rng = ChaCha20Rng::seed_from_u64(99);
        let same_name = self_signed_root(&mut rng, "KR CSCA", "KR", T0, T0 + YEAR).unwrap();
        let other = self_signed_root(&mut rng, "JP CSCA", "JP", T0, T0 + YEAR).unwrap();
        assert_eq!(
            verify_issued_by(ds.cert(), same_name.cert(), T0 + 1),
            Err(Error::Certificate(CertificateError::Signature))
        );
        assert_eq!(
            verify_issued_by(ds.cert(), other.cert(), T0 + 1),
            Err(Error::Certificate(CertificateError::IssuerNameMismatch))
        );
    }

    #[test]
    fn a_leaf_cannot_issue() {
        let (root, ds) = chain(1);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let sub = issue(
            &ds,
            &mut rng,
            "sub",
            T0,
            T0 + YEAR,
            CertUsage::DocumentSigner,
        )
        .unwrap();
        assert_eq!(
            verify_issued_by(sub.cert(), ds.cert(), T0 + 1),
            Err(Error::Certificate(CertificateError::IssuerNotCa))
        );
        verify_issued_by(ds.cert(), root.cert(), T0 + 1).unwrap();
    }

    #[test]
    fn pem_and_der_round_trip() {
        let (root, ds) = chain(2);
        assert!(ds.cert_pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert_eq!(&parse_pem(&ds.cert_pem()).unwrap(), ds.cert());
        assert_eq!(&parse_der(&root.cert_der()).unwrap(), root.cert());
        assert!(parse_der(&root.cert_der()[..10]).is_err());
    }

    #[test]
    fn profiles_carry_their_extensions() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let iaca = iaca_root(
            &mut rng,
            "KR IACA",
            "KR",
            "https://id.example.kr",
            T0,
            T0 + YEAR,
        )
        .unwrap();
        let ms = issue(
            &iaca,
            &mut rng,
            "KR mdoc signer",
            T0,
            T0 + YEAR,
            CertUsage::MdocSigner,
        )
        .unwrap();
        let ids = |c: &Certificate| -> Vec<(String, bool)> {
            c.tbs_certificate
                .extensions
                .iter()
                .flatten()
                .map(|e| (e.extn_id.to_string(), e.critical))
                .collect()
        };
        insta::assert_debug_snapshot!((ids(iaca.cert()), ids(ms.cert())));
        let eku = ms
            .cert()
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == ID_CE_EXT_KEY_USAGE)
            .unwrap();
        let eku = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes()).unwrap();
        assert_eq!(eku.0, vec![ID_MDL_KP_MDL_DS]);
        verify_issued_by(ms.cert(), iaca.cert(), T0 + 1).unwrap();
    }

    #[test]
    fn debug_redacts_the_key() {
        let (_, ds) = chain(1);
        let s = format!("{ds:?}");
        assert!(s.contains("<redacted>"));
        assert!(s.contains("CN=KR Document Signer 1,C=KR"));
    }

    #[test]
    fn openssl_accepts_the_chain() {
        let (root, ds) = chain(4);
        let dir = std::env::temp_dir().join(format!("midsim-pki-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("root.pem"), root.cert_pem()).unwrap();
        std::fs::write(dir.join("ds.pem"), ds.cert_pem()).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["verify", "-attime", &(T0 + YEAR).to_string(), "-CAfile"])
            .arg(dir.join("root.pem"))
            .arg(dir.join("ds.pem"))
            .output()
            .expect("openssl must be installed for this test");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "openssl verify: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
