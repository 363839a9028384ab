//! The issuer's PKI: a country signing CA (CSCA) and its Document Signer for IC cards'
//! EF.SOD, and an IACA root with its mdoc signers for mobile IDs. All P-256, real X.509
//! (`protocol::pki`).
//!
//! The IACA and its signers follow ISO/IEC 18013-5 Annex B: the IACA is valid 20 years; an
//! mdoc signer certificate at most 457 days ([`MDOC_SIGNER_VALIDITY`]), so the signers
//! rotate. Signer `k` takes over `k` years after the IACA's notBefore
//! ([`MDOC_SIGNER_ROTATION`]) and stays valid 92 days after the next one takes over;
//! [`IssuerPki::mdoc_signer_at`] is the one to sign with at a given time. Verifiers check a
//! signer at the MSO's `signed` time, so credentials signed before a rotation still verify.
//! Every signer for the IACA's lifetime is made up front, deterministically: the one current
//! at generation from the caller's RNG (in the place the single signer used to be drawn, so
//! the RNG's later output is unchanged), the others from a ChaCha20 seeded by a hash of the
//! IACA's private key.
//!
//! Both IACA and signers name the IACA's CRL ([`CRL_URL`]); the issuer serves it at
//! [`CRL_PATH`] ([`IssuerPki::crl`]): thisUpdate at 00:00 UTC of the day, nextUpdate a day
//! later, the day number as cRLNumber, and no entries, as no signer is ever revoked here.

use protocol::pki::{self, CertUsage, Certificate, CertifiedKey, CrlParams, IacaParams};
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRngCore, SeedableRng};

use crate::time::UnixTime;
use crate::Error;

const YEAR: i64 = 365 * 86_400;
const DAY: i64 = 86_400;

/// The issuing authority's address in the IACA's (and its signers') issuerAltName.
pub const IACA_ALT_NAME: &str = "https://issuer.midsim.invalid/iaca";
/// Where the IACA's CRL is published, as its certificates name it in cRLDistributionPoints.
pub const CRL_URL: &str = "https://issuer.midsim.invalid/crl/iaca.crl";
/// The path of the CRL on the issuer's HTTP server (`GET`).
pub const CRL_PATH: &str = "/crl/iaca.crl";
/// The media type of a DER CRL (RFC 2585 §4.2).
pub const CRL_MEDIA_TYPE: &str = "application/pkix-crl";
/// How often a CRL is issued, seconds: daily, each CRL's nextUpdate is a day after its
/// thisUpdate.
pub const CRL_PERIOD: i64 = DAY;
/// How long each mdoc signer signs before the next takes over, seconds: a year.
pub const MDOC_SIGNER_ROTATION: i64 = YEAR;
/// notAfter - notBefore of an mdoc signer certificate: 457 days, the Annex B maximum (a
/// year of signing and three months of overlap).
pub const MDOC_SIGNER_VALIDITY: i64 = pki::MDOC_SIGNER_MAX_VALIDITY as i64;

/// The keys of the issuer.
#[derive(Debug, Clone)]
pub struct IssuerPki {
    /// Country signing CA: the trust anchor of Passive Authentication.
    pub csca: CertifiedKey,
    /// Document Signer: signs EF.SOD of the IC cards the issuer produces.
    pub document_signer: CertifiedKey,
    /// IACA root: the trust anchor of mobile IDs.
    pub iaca: CertifiedKey,
    /// The mdoc signer current at the `now` the PKI was generated with. Signing code uses
    /// [`IssuerPki::mdoc_signer_at`], which follows the rotation.
    pub mdoc_signer: CertifiedKey,
    /// Every mdoc signer of the IACA's lifetime, signer `k` from `signers_from + k` years.
    mdoc_signers: Vec<CertifiedKey>,
    /// The IACA's notBefore: when signer 0 takes over.
    signers_from: UnixTime,
}

impl IssuerPki {
    /// Generate the roots (valid 20 years from a year before `now`), the Document Signer
    /// (valid 10 years from then) and the mdoc signers (one a year for the IACA's 20 years,
    /// each valid [`MDOC_SIGNER_VALIDITY`]).
    pub fn generate(rng: &mut impl CryptoRngCore, now: UnixTime) -> Result<Self, Error> {
        let signers_from = now
            .checked_sub(YEAR)
            .filter(|t| *t >= 0)
            .ok_or_else(|| Error::Policy("now before 1971".into()))?;
        let nb =
            u64::try_from(signers_from).map_err(|_| Error::Policy("now before 1971".into()))?;
        let root_na = nb + 20 * YEAR as u64;
        let na = nb + 10 * YEAR as u64;
        let csca = pki::self_signed_root(rng, "Mock MOIS CSCA", "KR", nb, root_na)?;
        let document_signer = pki::issue(
            &csca,
            rng,
            "Mock MOIS Document Signer",
            nb,
            na,
            CertUsage::DocumentSigner,
        )?;
        let iaca = pki::iaca_root_with(
            rng,
            &IacaParams {
                cn: "Mock MOIS IACA",
                country: "KR",
                issuer_alt_uri: IACA_ALT_NAME,
                crl_uri: CRL_URL,
                not_before: nb,
                not_after: root_na,
            },
        )?;
        let periods = (20 * YEAR / MDOC_SIGNER_ROTATION) as usize;
        let current = period_of(signers_from, periods, now);
        let seed = protocol::crypto::sha256_parts(&[
            b"midsim mdoc signer rotation",
            &[0],
            &iaca.key().to_bytes(),
        ]);
        let mut derived = ChaCha20Rng::from_seed(seed);
        let mut mdoc_signers = Vec::with_capacity(periods);
        for k in 0..periods {
            let from = nb + k as u64 * MDOC_SIGNER_ROTATION as u64;
            let until = (from + MDOC_SIGNER_VALIDITY as u64).min(root_na);
            let cn = format!("Mock MOIS mdoc signer {}", k + 1);
            let signer = if k == current {
                pki::issue(&iaca, rng, &cn, from, until, CertUsage::MdocSigner)?
            } else {
                pki::issue(&iaca, &mut derived, &cn, from, until, CertUsage::MdocSigner)?
            };
            mdoc_signers.push(signer);
        }
        let mdoc_signer = mdoc_signers[current].clone();
        Ok(Self {
            csca,
            document_signer,
            iaca,
            mdoc_signer,
            mdoc_signers,
            signers_from,
        })
    }

    /// The mdoc signer to sign with at `now`: the latest to have taken over by then (the
    /// first before the IACA's notBefore, the last after its final rotation).
    pub fn mdoc_signer_at(&self, now: UnixTime) -> &CertifiedKey {
        let k = period_of(self.signers_from, self.mdoc_signers.len(), now);
        &self.mdoc_signers[k]
    }

    /// Every mdoc signer of the IACA's lifetime, in the order they take over.
    pub fn mdoc_signers(&self) -> &[CertifiedKey] {
        &self.mdoc_signers
    }

    /// The IACA's CRL at `now`, DER (RFC 5280 §5, v2, ecdsa-with-SHA256): thisUpdate at
    /// 00:00 UTC of `now`'s day, nextUpdate a day later ([`CRL_PERIOD`]), cRLNumber the day's
    /// number since the epoch (so it grows with every CRL), no revoked certificates. The
    /// same day gives the same bytes.
    pub fn crl(&self, now: UnixTime) -> Result<Vec<u8>, Error> {
        let day = u64::try_from(now.div_euclid(CRL_PERIOD))
            .map_err(|_| Error::Policy("now before 1970".into()))?;
        let this_update = day * CRL_PERIOD as u64;
        Ok(pki::sign_crl(
            &self.iaca,
            &CrlParams {
                crl_number: day,
                this_update,
                next_update: this_update + CRL_PERIOD as u64,
                revoked: &[],
            },
        )?)
    }

    /// Trust anchors for Passive Authentication.
    pub fn country_roots(&self) -> Vec<Certificate> {
        vec![self.csca.cert().clone()]
    }

    /// Trust anchors for mdoc verification.
    pub fn mdoc_roots(&self) -> Vec<Certificate> {
        vec![self.iaca.cert().clone()]
    }
}

/// The index of the signer period `now` falls in, clamped to `0..periods`.
fn period_of(from: UnixTime, periods: usize, now: UnixTime) -> usize {
    let k = now
        .saturating_sub(from)
        .div_euclid(MDOC_SIGNER_ROTATION)
        .max(0);
    usize::try_from(k)
        .unwrap_or(usize::MAX)
        .min(periods.saturating_sub(1))
}

#[cfg(test)]
mod tests;
