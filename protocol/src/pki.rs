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
//!
//! Key identifiers differ by profile. The 18013-5 IACA and mdoc signer use RFC 5280
//! §4.2.1.2 method 1 (SHA-1 of the subjectPublicKey BIT STRING value), which 18013-5
//! verifiers recompute and compare; the 9303 CSCA and Document Signer keep the RFC 7093
//! SHA-256 form. An authorityKeyIdentifier is always a copy of the issuer's
//! subjectKeyIdentifier, so either kind chains.
//!
//! The IACA also signs a CRL ([`sign_crl`], RFC 5280 §5, X.509 v2) that its certificate
//! and its mdoc signers' certificates point to through cRLDistributionPoints.

use core::fmt;
use std::time::Duration;

use const_oid::db::rfc4519::{CN, COUNTRY_NAME};
use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CRL_DISTRIBUTION_POINTS,
    ID_CE_CRL_NUMBER, ID_CE_EXT_KEY_USAGE, ID_CE_ISSUER_ALT_NAME, ID_CE_KEY_USAGE,
    ID_CE_SUBJECT_KEY_IDENTIFIER,
};
use const_oid::db::rfc5912::ECDSA_WITH_SHA_256;
use const_oid::ObjectIdentifier;
use der::asn1::{
    BitString, GeneralizedTime, Ia5String, OctetString, PrintableStringRef, SetOfVec, Uint,
    UtcTime, Utf8StringRef,
};
use der::{Any, DateTime, Decode, DecodePem, Encode};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use rand_core::CryptoRngCore;
use sha1::{Digest, Sha1};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::crl::{RevokedCert, TbsCertList};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::crl::CrlDistributionPoints;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlNumber, ExtendedKeyUsage, IssuerAltName, KeyUsage,
    SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::time::{Time, Validity};

pub use x509_cert::crl::CertificateList;
pub use x509_cert::ext::pkix::KeyUsages;
pub use x509_cert::serial_number::SerialNumber;
pub use x509_cert::Certificate;

use crate::Error;

/// The extended key usage of an mdoc (document) signer certificate, ISO/IEC 18013-5 Annex B
/// Table B.3: `id-mdl-kp-mdlDS` (1.0.18013.5.1.2).
pub const ID_MDL_KP_MDL_DS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.0.18013.5.1.2");

/// The longest an mdoc signer certificate may be valid, seconds (notAfter - notBefore): 457
/// days, ISO/IEC 18013-5 Annex B.1.4 Table B.3. [`issue`] does not enforce it (older callers
/// pass longer windows in tests); issuers keep to it.
pub const MDOC_SIGNER_MAX_VALIDITY: u64 = 457 * 86_400;

/// The longest an IACA certificate may be valid, seconds: 20 years (of 365.25 days), ISO/IEC
/// 18013-5 Annex B.1.2 Table B.1. [`iaca_root_with`] enforces it.
pub const IACA_MAX_VALIDITY: u64 = 7_305 * 86_400;

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
    /// A CRL is not acceptable in form (not v2, no nextUpdate, ...); names what.
    Crl(&'static str),
    /// `now` is after a CRL's nextUpdate: a newer CRL must be fetched (RFC 5280 §6.3.3 (a)).
    StaleCrl {
        /// The CRL's nextUpdate, unix seconds.
        next_update: u64,
        /// The time checked, unix seconds.
        now: u64,
    },
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
            Self::Crl(what) => write!(f, "unacceptable CRL: {what}"),
            Self::StaleCrl { next_update, now } => {
                write!(f, "stale CRL (nextUpdate {next_update}, now {now})")
            }
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
    /// An ISO/IEC 18013-5 mdoc signer (Annex B.1.4, Table B.3): authorityKeyIdentifier,
    /// subjectKeyIdentifier (SHA-1, RFC 5280 §4.2.1.2 method 1), keyUsage digitalSignature
    /// (critical), extendedKeyUsage `1.0.18013.5.1.2` (critical), and copies of the issuing
    /// IACA's issuerAltName and cRLDistributionPoints when it has them (all non-critical but
    /// the two usages). Signs the MSO.
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
    root(rng, cn, country, RootProfile::Csca, not_before, not_after)
}

/// A self-signed ISO/IEC 18013-5 IACA root without a CRL distribution point: as
/// [`iaca_root_with`] less cRLDistributionPoints, which Table B.1 makes mandatory, so an
/// 18013-5 verifier that checks the profile refuses it. Kept for callers that have no CRL
/// to point to; new code calls [`iaca_root_with`].
pub fn iaca_root(
    rng: &mut impl CryptoRngCore,
    cn: &str,
    country: &str,
    issuer_alt_uri: &str,
    not_before: u64,
    not_after: u64,
) -> Result<CertifiedKey, Error> {
    let profile = RootProfile::Iaca {
        issuer_alt_uri,
        crl_uri: None,
    };
    root(rng, cn, country, profile, not_before, not_after)
}

/// What goes into an IACA root certificate ([`iaca_root_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IacaParams<'a> {
    /// The common name of subject and issuer.
    pub cn: &'a str,
    /// The country (ISO 3166-1 alpha-2, capital letters) of subject and issuer.
    pub country: &'a str,
    /// issuerAltName: a URL at which the issuing authority can be reached.
    pub issuer_alt_uri: &'a str,
    /// cRLDistributionPoints: the URL of the CRL this IACA signs ([`sign_crl`]).
    pub crl_uri: &'a str,
    /// notBefore, unix seconds.
    pub not_before: u64,
    /// notAfter, unix seconds; at most [`IACA_MAX_VALIDITY`] after `not_before`.
    pub not_after: u64,
}

/// A self-signed ISO/IEC 18013-5 IACA root (Annex B.1.2, Table B.1):
/// - basicConstraints cA TRUE pathLen 0, critical;
/// - keyUsage keyCertSign | cRLSign, critical;
/// - subjectKeyIdentifier, SHA-1 of the subjectPublicKey (RFC 5280 §4.2.1.2 method 1);
/// - issuerAltName, the URI `issuer_alt_uri`;
/// - cRLDistributionPoints, one point with the fullName URI `crl_uri` and neither reasons
///   nor cRLIssuer (Table B.1).
///
/// Subject and issuer are `C=<country>, CN=<cn>`. The key and the serial number are drawn
/// from `rng`. A validity longer than [`IACA_MAX_VALIDITY`] is refused.
pub fn iaca_root_with(
    rng: &mut impl CryptoRngCore,
    params: &IacaParams<'_>,
) -> Result<CertifiedKey, Error> {
    if params.not_after.saturating_sub(params.not_before) > IACA_MAX_VALIDITY {
        return Err(CertificateError::BadInput("IACA valid longer than 20 years").into());
    }
    let profile = RootProfile::Iaca {
        issuer_alt_uri: params.issuer_alt_uri,
        crl_uri: Some(params.crl_uri),
    };
    root(
        rng,
        params.cn,
        params.country,
        profile,
        params.not_before,
        params.not_after,
    )
}

/// The extension profile of a root.
#[derive(Clone, Copy)]
enum RootProfile<'a> {
    /// 9303-12 Table 6.
    Csca,
    /// 18013-5 Table B.1.
    Iaca {
        issuer_alt_uri: &'a str,
        crl_uri: Option<&'a str>,
    },
}

fn root(
    rng: &mut impl CryptoRngCore,
    cn: &str,
    country: &str,
    profile: RootProfile<'_>,
    not_before: u64,
    not_after: u64,
) -> Result<CertifiedKey, Error> {
    let key = crate::crypto::generate_signing_key(rng);
    let serial = random_serial(rng)?;
    let name = make_name(Some(country), cn)?;
    let spki = spki_of(key.verifying_key())?;
    let ski = match profile {
        RootProfile::Csca => key_identifier_sha256(&spki)?,
        RootProfile::Iaca { .. } => key_identifier_sha1(&spki)?,
    };
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
            &SubjectKeyIdentifier(ski),
            ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
        )?,
    ];
    if let RootProfile::Iaca {
        issuer_alt_uri,
        crl_uri,
    } = profile
    {
        let uri = ia5(issuer_alt_uri, "issuerAltName URI is not IA5")?;
        extensions.push(ext(
            &IssuerAltName(vec![GeneralName::UniformResourceIdentifier(uri)]),
            ID_CE_ISSUER_ALT_NAME,
            false,
        )?);
        if let Some(crl_uri) = crl_uri {
            let uri = ia5(crl_uri, "cRLDistributionPoints URI is not IA5")?;
            let points = CrlDistributionPoints(vec![DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![
                    GeneralName::UniformResourceIdentifier(uri),
                ])),
                reasons: None,
                crl_issuer: None,
            }]);
            extensions.push(ext(&points, ID_CE_CRL_DISTRIBUTION_POINTS, false)?);
        }
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
/// country is its CSCA's; 18013-5 Table B.3: the mdoc signer's is its IACA's). The
/// authorityKeyIdentifier is the issuer's subjectKeyIdentifier. For
/// [`CertUsage::MdocSigner`] keep `not_after - not_before` within
/// [`MDOC_SIGNER_MAX_VALIDITY`] (not checked here).
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
    let key_identifier = match usage {
        CertUsage::DocumentSigner => key_identifier_sha256,
        CertUsage::MdocSigner => key_identifier_sha1,
    };
    // RFC 5280 §4.2.1.1: the AKI's keyIdentifier is the issuer's SKI. An issuer without one
    // gets the identifier this profile would compute.
    let issuer_ski = match subject_key_identifier(&issuer.cert) {
        Some(ski) => ski,
        None => key_identifier(&issuer.cert.tbs_certificate.subject_public_key_info)?,
    };
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(issuer_ski),
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
            // Table B.3: the issuerAltName is the IACA's; the CRL is the one the IACA signs.
            for oid in [ID_CE_ISSUER_ALT_NAME, ID_CE_CRL_DISTRIBUTION_POINTS] {
                if let Some(e) = find_extension(&issuer.cert, oid) {
                    extensions.push(Extension {
                        extn_id: oid,
                        critical: false,
                        extn_value: e.extn_value.clone(),
                    });
                }
            }
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
    verify_signed_by(cert, issuer)?;
    check_validity(cert, now)
}

/// [`verify_issued_by`] without the validity window: issuer name, issuer is a CA, algorithm
/// and signature. For a verifier that checks the window at another time than now (an mdoc
/// signer at the MSO's `signed` time).
pub fn verify_signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), Error> {
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
    Ok(())
}

/// One entry of a CRL: a revoked certificate's serial number and when it was revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// The certificate's serialNumber.
    pub serial: SerialNumber,
    /// revocationDate, unix seconds.
    pub revoked_at: u64,
}

/// What goes into a CRL ([`sign_crl`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlParams<'a> {
    /// cRLNumber (RFC 5280 §5.2.3): increases with every CRL the issuer signs.
    pub crl_number: u64,
    /// thisUpdate, unix seconds.
    pub this_update: u64,
    /// nextUpdate, unix seconds: when the next CRL will be out, at or after `this_update`.
    pub next_update: u64,
    /// The revoked certificates; empty leaves revokedCertificates out (§5.1.2.6).
    pub revoked: &'a [Revoked],
}

/// An X.509 v2 CRL (RFC 5280 §5.1) signed by `issuer` with ecdsa-with-SHA256, DER encoded:
/// issuer = the issuer's subject, thisUpdate, nextUpdate, the revoked certificates, and the
/// extensions §5.2 requires of a conforming CA, authorityKeyIdentifier (the issuer's
/// subjectKeyIdentifier) and cRLNumber, both non-critical. The issuer must have keyUsage
/// cRLSign ([`CertificateError::KeyUsage`] otherwise).
pub fn sign_crl(issuer: &CertifiedKey, params: &CrlParams<'_>) -> Result<Vec<u8>, Error> {
    if !has_key_usage(&issuer.cert, KeyUsages::CRLSign) {
        return Err(CertificateError::KeyUsage.into());
    }
    if params.next_update < params.this_update {
        return Err(CertificateError::BadInput("nextUpdate is before thisUpdate").into());
    }
    let key_identifier = match subject_key_identifier(&issuer.cert) {
        Some(ski) => ski,
        None => key_identifier_sha1(&issuer.cert.tbs_certificate.subject_public_key_info)?,
    };
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(key_identifier),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let number = CrlNumber(Uint::new(&params.crl_number.to_be_bytes())?);
    let revoked = params
        .revoked
        .iter()
        .map(|r| {
            Ok(RevokedCert {
                serial_number: r.serial.clone(),
                revocation_date: to_time(r.revoked_at)?,
                crl_entry_extensions: None,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let tbs = TbsCertList {
        version: Version::V2,
        signature: ecdsa_sha256(),
        issuer: issuer.cert.tbs_certificate.subject.clone(),
        this_update: to_time(params.this_update)?,
        next_update: Some(to_time(params.next_update)?),
        revoked_certificates: (!revoked.is_empty()).then_some(revoked),
        crl_extensions: Some(vec![
            ext(&aki, ID_CE_AUTHORITY_KEY_IDENTIFIER, false)?,
            ext(&number, ID_CE_CRL_NUMBER, false)?,
        ]),
    };
    let tbs_der = tbs.to_der()?;
    let sig: DerSignature = crate::crypto::sign(&issuer.key, &tbs_der).to_der();
    let crl = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: ecdsa_sha256(),
        signature: BitString::from_bytes(sig.as_bytes())?,
    };
    Ok(crl.to_der()?)
}

/// Decode and check a DER CRL from `issuer` at `now` (unix seconds), RFC 5280 §6.3.3: v2,
/// ecdsa-with-SHA256, issuer name = the issuer's subject, the issuer has keyUsage cRLSign,
/// the signature verifies with the issuer's key, and thisUpdate <= now <= nextUpdate.
/// Trailing bytes are an error. The first failure is returned as [`Error::Certificate`].
pub fn verify_crl(der: &[u8], issuer: &Certificate, now: u64) -> Result<CertificateList, Error> {
    let crl = CertificateList::from_der(der)?;
    let tbs = &crl.tbs_cert_list;
    if tbs.version != Version::V2 {
        return Err(CertificateError::Crl("version is not v2").into());
    }
    if crl.signature_algorithm.oid != ECDSA_WITH_SHA_256 || tbs.signature.oid != ECDSA_WITH_SHA_256
    {
        return Err(CertificateError::UnsupportedAlgorithm.into());
    }
    if tbs.issuer != issuer.tbs_certificate.subject {
        return Err(CertificateError::IssuerNameMismatch.into());
    }
    if !has_key_usage(issuer, KeyUsages::CRLSign) {
        return Err(CertificateError::KeyUsage.into());
    }
    let issuer_key = cert_verifying_key(issuer)?;
    let sig_bytes = crl
        .signature
        .as_bytes()
        .ok_or(CertificateError::Signature)?;
    let sig = Signature::from_der(sig_bytes).map_err(|_| CertificateError::Signature)?;
    crate::crypto::verify(&issuer_key, &tbs.to_der()?, &sig)
        .map_err(|_| CertificateError::Signature)?;
    let this_update = tbs.this_update.to_unix_duration().as_secs();
    if now < this_update {
        return Err(CertificateError::NotYetValid {
            not_before: this_update,
            now,
        }
        .into());
    }
    let next_update = tbs
        .next_update
        .ok_or(CertificateError::Crl("no nextUpdate"))?
        .to_unix_duration()
        .as_secs();
    if now > next_update {
        return Err(CertificateError::StaleCrl { next_update, now }.into());
    }
    Ok(crl)
}

/// True if `crl` lists `cert`'s serial number. The caller has checked the CRL
/// ([`verify_crl`]) against `cert`'s issuer.
pub fn crl_revokes(crl: &CertificateList, cert: &Certificate) -> bool {
    crl.tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .any(|r| r.serial_number == cert.tbs_certificate.serial_number)
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

/// RFC 7093 §2 method 1: the leftmost 160 bits of SHA-256 over the subjectPublicKey bits
/// (the 9303 profiles).
fn key_identifier_sha256(spki: &SubjectPublicKeyInfoOwned) -> Result<OctetString, Error> {
    let digest = crate::crypto::sha256(spki.subject_public_key.raw_bytes());
    Ok(OctetString::new(digest.get(..20).unwrap_or_default())?)
}

/// RFC 5280 §4.2.1.2 method 1: SHA-1 of the value of the subjectPublicKey BIT STRING (the
/// 18013-5 profiles, Annex B Tables B.1 and B.3).
fn key_identifier_sha1(spki: &SubjectPublicKeyInfoOwned) -> Result<OctetString, Error> {
    let digest = Sha1::digest(spki.subject_public_key.raw_bytes());
    Ok(OctetString::new(digest.as_slice())?)
}

/// The certificate's subjectKeyIdentifier, if it has one that decodes.
fn subject_key_identifier(cert: &Certificate) -> Option<OctetString> {
    find_extension(cert, ID_CE_SUBJECT_KEY_IDENTIFIER)
        .and_then(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).ok())
        .map(|ski| ski.0)
}

/// The first extension `oid` of `cert`.
fn find_extension(cert: &Certificate, oid: ObjectIdentifier) -> Option<&Extension> {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == oid)
}

fn ia5(s: &str, what: &'static str) -> Result<Ia5String, Error> {
    Ia5String::new(s).map_err(|_| CertificateError::BadInput(what).into())
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
        let (iaca, ms) = iaca_chain(5);
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

    const IAN: &str = "https://id.example.kr";
    const CRL_URL: &str = "https://id.example.kr/crl/iaca.crl";
    const DAY: u64 = 86_400;

    fn iaca_params() -> IacaParams<'static> {
        IacaParams {
            cn: "KR IACA",
            country: "KR",
            issuer_alt_uri: IAN,
            crl_uri: CRL_URL,
            not_before: T0,
            not_after: T0 + 20 * YEAR,
        }
    }

    /// An IACA with a CRL distribution point and an mdoc signer valid 457 days.
    fn iaca_chain(seed: u64) -> (CertifiedKey, CertifiedKey) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let iaca = iaca_root_with(&mut rng, &iaca_params()).unwrap();
        let ms = issue(
            &iaca,
            &mut rng,
            "KR mdoc signer",
            T0,
            T0 + MDOC_SIGNER_MAX_VALIDITY,
            CertUsage::MdocSigner,
        )
        .unwrap();
        (iaca, ms)
    }

    /// The certificate decoded afresh from its DER encoding with x509-cert.
    fn reparsed(c: &CertifiedKey) -> Certificate {
        Certificate::from_der(&c.cert_der()).unwrap()
    }

    fn extension(c: &Certificate, oid: ObjectIdentifier) -> &Extension {
        find_extension(c, oid).unwrap_or_else(|| panic!("no extension {oid}"))
    }

    fn oids_and_criticality(c: &Certificate) -> Vec<(ObjectIdentifier, bool)> {
        c.tbs_certificate
            .extensions
            .iter()
            .flatten()
            .map(|e| (e.extn_id, e.critical))
            .collect()
    }

    fn sha1_of_key(c: &Certificate) -> Vec<u8> {
        Sha1::digest(
            c.tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        )
        .to_vec()
    }

    fn ski_of(c: &Certificate) -> Vec<u8> {
        let e = extension(c, ID_CE_SUBJECT_KEY_IDENTIFIER);
        SubjectKeyIdentifier::from_der(e.extn_value.as_bytes())
            .unwrap()
            .0
            .as_bytes()
            .to_vec()
    }

    fn aki_of(c: &Certificate) -> Vec<u8> {
        let e = extension(c, ID_CE_AUTHORITY_KEY_IDENTIFIER);
        let aki = AuthorityKeyIdentifier::from_der(e.extn_value.as_bytes()).unwrap();
        assert!(aki.authority_cert_issuer.is_none() && aki.authority_cert_serial_number.is_none());
        aki.key_identifier.unwrap().as_bytes().to_vec()
    }

    fn crl_uris(c: &Certificate) -> Vec<String> {
        let e = extension(c, ID_CE_CRL_DISTRIBUTION_POINTS);
        let points = CrlDistributionPoints::from_der(e.extn_value.as_bytes()).unwrap();
        points
            .0
            .iter()
            .map(|p| {
                // 18013-5 Table B.1: neither reasons nor cRLIssuer.
                assert!(p.reasons.is_none() && p.crl_issuer.is_none());
                match &p.distribution_point {
                    Some(DistributionPointName::FullName(names)) => match names.as_slice() {
                        [GeneralName::UniformResourceIdentifier(u)] => u.to_string(),
                        other => panic!("{other:?}"),
                    },
                    other => panic!("{other:?}"),
                }
            })
            .collect()
    }

    fn validity_secs(c: &Certificate) -> u64 {
        let v = &c.tbs_certificate.validity;
        v.not_after.to_unix_duration().as_secs() - v.not_before.to_unix_duration().as_secs()
    }

    #[test]
    fn iaca_follows_18013_5_table_b1() {
        let (iaca, _) = iaca_chain(5);
        let c = reparsed(&iaca);
        assert_eq!(c.tbs_certificate.version, Version::V3);
        assert_eq!(
            oids_and_criticality(&c),
            vec![
                (ID_CE_BASIC_CONSTRAINTS, true),
                (ID_CE_KEY_USAGE, true),
                (ID_CE_SUBJECT_KEY_IDENTIFIER, false),
                (ID_CE_ISSUER_ALT_NAME, false),
                (ID_CE_CRL_DISTRIBUTION_POINTS, false),
            ]
        );
        let bc = BasicConstraints::from_der(
            extension(&c, ID_CE_BASIC_CONSTRAINTS).extn_value.as_bytes(),
        )
        .unwrap();
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        let ku = KeyUsage::from_der(extension(&c, ID_CE_KEY_USAGE).extn_value.as_bytes()).unwrap();
        assert_eq!(ku.0, KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        // RFC 5280 §4.2.1.2 method 1.
        assert_eq!(ski_of(&c), sha1_of_key(&c));
        assert_eq!(ski_of(&c).len(), 20);
        let ian =
            IssuerAltName::from_der(extension(&c, ID_CE_ISSUER_ALT_NAME).extn_value.as_bytes())
                .unwrap();
        assert!(
            matches!(ian.0.as_slice(), [GeneralName::UniformResourceIdentifier(u)] if u.to_string() == IAN)
        );
        assert_eq!(crl_uris(&c), vec![CRL_URL.to_owned()]);
        assert!(validity_secs(&c) <= IACA_MAX_VALIDITY);
        assert_eq!(c.tbs_certificate.subject, c.tbs_certificate.issuer);
        verify_issued_by(&c, &c, T0 + 1).unwrap();
    }

    #[test]
    fn mdoc_signer_follows_18013_5_table_b3() {
        let (iaca, ms) = iaca_chain(5);
        let root = reparsed(&iaca);
        let c = reparsed(&ms);
        assert_eq!(
            oids_and_criticality(&c),
            vec![
                (ID_CE_AUTHORITY_KEY_IDENTIFIER, false),
                (ID_CE_SUBJECT_KEY_IDENTIFIER, false),
                (ID_CE_KEY_USAGE, true),
                (ID_CE_EXT_KEY_USAGE, true),
                (ID_CE_ISSUER_ALT_NAME, false),
                (ID_CE_CRL_DISTRIBUTION_POINTS, false),
            ]
        );
        assert_eq!(ski_of(&c), sha1_of_key(&c));
        assert_eq!(aki_of(&c), ski_of(&root));
        assert_eq!(aki_of(&c), sha1_of_key(&root));
        let ku = KeyUsage::from_der(extension(&c, ID_CE_KEY_USAGE).extn_value.as_bytes()).unwrap();
        assert_eq!(
            ku.0,
            der::flagset::FlagSet::from(KeyUsages::DigitalSignature)
        );
        let eku =
            ExtendedKeyUsage::from_der(extension(&c, ID_CE_EXT_KEY_USAGE).extn_value.as_bytes())
                .unwrap();
        assert_eq!(eku.0, vec![ID_MDL_KP_MDL_DS]);
        // The issuerAltName is a copy of the IACA's; the CRL is the IACA's.
        assert_eq!(
            extension(&c, ID_CE_ISSUER_ALT_NAME).extn_value,
            extension(&root, ID_CE_ISSUER_ALT_NAME).extn_value
        );
        assert_eq!(crl_uris(&c), vec![CRL_URL.to_owned()]);
        assert!(find_extension(&c, ID_CE_BASIC_CONSTRAINTS).is_none());
        assert!(validity_secs(&c) <= MDOC_SIGNER_MAX_VALIDITY);
        assert_eq!(
            country_of(&c.tbs_certificate.subject),
            Some("KR".to_owned())
        );
        verify_issued_by(&c, &root, T0 + 1).unwrap();
    }

    #[test]
    fn the_9303_profiles_keep_their_sha256_key_identifiers_and_extension_sets() {
        let (csca, ds) = chain(1);
        let (csca, ds) = (reparsed(&csca), reparsed(&ds));
        assert_eq!(
            oids_and_criticality(&csca),
            vec![
                (ID_CE_BASIC_CONSTRAINTS, true),
                (ID_CE_KEY_USAGE, true),
                (ID_CE_SUBJECT_KEY_IDENTIFIER, false),
            ]
        );
        assert_eq!(
            oids_and_criticality(&ds),
            vec![
                (ID_CE_AUTHORITY_KEY_IDENTIFIER, false),
                (ID_CE_SUBJECT_KEY_IDENTIFIER, false),
                (ID_CE_KEY_USAGE, true),
            ]
        );
        let sha256_of_key = |c: &Certificate| {
            let spk = &c.tbs_certificate.subject_public_key_info.subject_public_key;
            crate::crypto::sha256(spk.raw_bytes())[..20].to_vec()
        };
        assert_eq!(ski_of(&csca), sha256_of_key(&csca));
        assert_eq!(ski_of(&ds), sha256_of_key(&ds));
        assert_eq!(aki_of(&ds), ski_of(&csca));
    }

    #[test]
    fn the_old_iaca_root_has_sha1_identifiers_but_no_crl_point() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let iaca = iaca_root(&mut rng, "KR IACA", "KR", IAN, T0, T0 + YEAR).unwrap();
        let ms = issue(&iaca, &mut rng, "s", T0, T0 + DAY, CertUsage::MdocSigner).unwrap();
        assert_eq!(ski_of(iaca.cert()), sha1_of_key(iaca.cert()));
        assert!(find_extension(iaca.cert(), ID_CE_CRL_DISTRIBUTION_POINTS).is_none());
        assert!(find_extension(ms.cert(), ID_CE_CRL_DISTRIBUTION_POINTS).is_none());
        assert!(find_extension(ms.cert(), ID_CE_ISSUER_ALT_NAME).is_some());
        assert_eq!(aki_of(ms.cert()), ski_of(iaca.cert()));
    }

    #[test]
    fn an_iaca_valid_longer_than_20_years_or_with_a_non_ia5_url_is_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let long = IacaParams {
            not_after: T0 + IACA_MAX_VALIDITY + 1,
            ..iaca_params()
        };
        assert_eq!(
            iaca_root_with(&mut rng, &long).unwrap_err(),
            Error::Certificate(CertificateError::BadInput(
                "IACA valid longer than 20 years"
            ))
        );
        let bad_url = IacaParams {
            crl_uri: "https://예.kr/crl",
            ..iaca_params()
        };
        assert!(matches!(
            iaca_root_with(&mut rng, &bad_url),
            Err(Error::Certificate(CertificateError::BadInput(_)))
        ));
        let exact = IacaParams {
            not_after: T0 + IACA_MAX_VALIDITY,
            ..iaca_params()
        };
        iaca_root_with(&mut rng, &exact).unwrap();
    }

    fn daily_crl(iaca: &CertifiedKey, revoked: &[Revoked]) -> Vec<u8> {
        sign_crl(
            iaca,
            &CrlParams {
                crl_number: 7,
                this_update: T0,
                next_update: T0 + DAY,
                revoked,
            },
        )
        .unwrap()
    }

    #[test]
    fn a_crl_is_v2_signed_by_the_iaca_with_aki_and_crl_number() {
        let (iaca, _) = iaca_chain(5);
        let der = daily_crl(&iaca, &[]);
        let crl = verify_crl(&der, iaca.cert(), T0 + 1).unwrap();
        let tbs = &crl.tbs_cert_list;
        assert_eq!(tbs.version, Version::V2);
        assert_eq!(crl.signature_algorithm.oid, ECDSA_WITH_SHA_256);
        assert!(crl.signature_algorithm.parameters.is_none());
        assert_eq!(tbs.issuer, iaca.cert().tbs_certificate.subject);
        assert_eq!(tbs.this_update.to_unix_duration().as_secs(), T0);
        assert_eq!(
            tbs.next_update.unwrap().to_unix_duration().as_secs(),
            T0 + DAY
        );
        assert!(tbs.revoked_certificates.is_none());
        let exts = tbs.crl_extensions.as_ref().unwrap();
        assert_eq!(
            exts.iter()
                .map(|e| (e.extn_id, e.critical))
                .collect::<Vec<_>>(),
            vec![
                (ID_CE_AUTHORITY_KEY_IDENTIFIER, false),
                (ID_CE_CRL_NUMBER, false)
            ]
        );
        let aki = AuthorityKeyIdentifier::from_der(exts[0].extn_value.as_bytes()).unwrap();
        assert_eq!(aki.key_identifier.unwrap().as_bytes(), ski_of(iaca.cert()));
        let number = CrlNumber::from_der(exts[1].extn_value.as_bytes()).unwrap();
        assert_eq!(number.0.as_bytes(), &[7]);
        // Deterministic: the same inputs give the same bytes.
        assert_eq!(daily_crl(&iaca, &[]), der);
    }

    #[test]
    fn a_crl_lists_what_it_revokes() {
        let (iaca, ms) = iaca_chain(5);
        let (_, other) = iaca_chain(6);
        let revoked = [Revoked {
            serial: ms.cert().tbs_certificate.serial_number.clone(),
            revoked_at: T0 - DAY,
        }];
        let crl = verify_crl(&daily_crl(&iaca, &revoked), iaca.cert(), T0).unwrap();
        assert!(crl_revokes(&crl, ms.cert()));
        assert!(!crl_revokes(&crl, other.cert()));
        let entry = &crl.tbs_cert_list.revoked_certificates.as_ref().unwrap()[0];
        assert_eq!(entry.revocation_date.to_unix_duration().as_secs(), T0 - DAY);
        let empty = verify_crl(&daily_crl(&iaca, &[]), iaca.cert(), T0).unwrap();
        assert!(!crl_revokes(&empty, ms.cert()));
    }

    #[test]
    fn a_crl_is_refused_when_stale_early_forged_or_from_another_issuer() {
        let (iaca, ms) = iaca_chain(5);
        let der = daily_crl(&iaca, &[]);
        assert_eq!(
            verify_crl(&der, iaca.cert(), T0 + DAY + 1).unwrap_err(),
            Error::Certificate(CertificateError::StaleCrl {
                next_update: T0 + DAY,
                now: T0 + DAY + 1
            })
        );
        assert!(matches!(
            verify_crl(&der, iaca.cert(), T0 - 1),
            Err(Error::Certificate(CertificateError::NotYetValid { .. }))
        ));
        verify_crl(&der, iaca.cert(), T0 + DAY).unwrap();
        // The same name and another key: the signature fails.
        let mut rng = ChaCha20Rng::seed_from_u64(99);
        let twin = iaca_root_with(&mut rng, &iaca_params()).unwrap();
        assert_eq!(
            verify_crl(&der, twin.cert(), T0).unwrap_err(),
            Error::Certificate(CertificateError::Signature)
        );
        // A signer is not the CRL's issuer, and cannot sign one.
        assert_eq!(
            verify_crl(&der, ms.cert(), T0).unwrap_err(),
            Error::Certificate(CertificateError::IssuerNameMismatch)
        );
        let params = CrlParams {
            crl_number: 1,
            this_update: T0,
            next_update: T0 + DAY,
            revoked: &[],
        };
        assert_eq!(
            sign_crl(&ms, &params).unwrap_err(),
            Error::Certificate(CertificateError::KeyUsage)
        );
        // A flipped bit in the signed part; trailing bytes; a truncated encoding.
        let mut flipped = der.clone();
        let at = flipped.len() / 3;
        flipped[at] ^= 1;
        assert!(verify_crl(&flipped, iaca.cert(), T0).is_err());
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(verify_crl(&trailing, iaca.cert(), T0).is_err());
        assert!(verify_crl(&der[..der.len() - 1], iaca.cert(), T0).is_err());
    }

    proptest::proptest! {
        #[test]
        fn verify_crl_never_panics_on_arbitrary_bytes(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)
        ) {
            let (iaca, _) = iaca_chain(5);
            proptest::prop_assert!(verify_crl(&bytes, iaca.cert(), T0).is_err());
        }
    }

    #[test]
    fn openssl_accepts_the_iaca_chain_with_its_crl_and_sees_it_go_stale() {
        let (iaca, ms) = iaca_chain(4);
        let crl = daily_crl(&iaca, &[]);
        let crl_pem = der::pem::encode_string("X509 CRL", der::pem::LineEnding::LF, &crl).unwrap();
        let dir = std::env::temp_dir().join(format!("midsim-pki-crl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("iaca.pem"), iaca.cert_pem()).unwrap();
        std::fs::write(dir.join("ds.pem"), ms.cert_pem()).unwrap();
        std::fs::write(dir.join("iaca.crl.pem"), crl_pem).unwrap();
        let verify_at = |t: u64| {
            std::process::Command::new("openssl")
                .args(["verify", "-attime", &t.to_string(), "-crl_check"])
                .arg("-CAfile")
                .arg(dir.join("iaca.pem"))
                .arg("-CRLfile")
                .arg(dir.join("iaca.crl.pem"))
                .arg(dir.join("ds.pem"))
                .output()
                .expect("openssl must be installed for this test")
        };
        let ok = verify_at(T0 + 3600);
        let stale = verify_at(T0 + 2 * DAY);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            ok.status.success(),
            "openssl verify: {}{}",
            String::from_utf8_lossy(&ok.stdout),
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(!stale.status.success());
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&stale.stdout),
            String::from_utf8_lossy(&stale.stderr)
        );
        assert!(said.contains("CRL has expired"), "{said}");
    }
}
