//! The issuer's PKI: a country signing CA (CSCA) and its Document Signer for IC cards'
//! EF.SOD, and an IACA root with its mdoc signer for mobile IDs. All P-256, real X.509
//! (`protocol::pki`).

use protocol::pki::{self, CertUsage, Certificate, CertifiedKey};
use rand_core::CryptoRngCore;

use crate::time::UnixTime;
use crate::Error;

const YEAR: i64 = 365 * 86_400;

/// The four keys of the issuer.
#[derive(Debug, Clone)]
pub struct IssuerPki {
    /// Country signing CA: the trust anchor of Passive Authentication.
    pub csca: CertifiedKey,
    /// Document Signer: signs EF.SOD of the IC cards the issuer produces.
    pub document_signer: CertifiedKey,
    /// IACA root: the trust anchor of mobile IDs.
    pub iaca: CertifiedKey,
    /// mdoc signer: signs MSOs.
    pub mdoc_signer: CertifiedKey,
}

impl IssuerPki {
    /// Generate the roots (valid 20 years from a year before `now`) and signers (valid 10
    /// years from a year before `now`).
    pub fn generate(rng: &mut impl CryptoRngCore, now: UnixTime) -> Result<Self, Error> {
        let nb = u64::try_from(now - YEAR).map_err(|_| Error::Policy("now before 1971".into()))?;
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
        let iaca = pki::iaca_root(
            rng,
            "Mock MOIS IACA",
            "KR",
            "https://issuer.midsim.invalid/iaca",
            nb,
            root_na,
        )?;
        let mdoc_signer = pki::issue(
            &iaca,
            rng,
            "Mock MOIS mdoc signer",
            nb,
            na,
            CertUsage::MdocSigner,
        )?;
        Ok(Self {
            csca,
            document_signer,
            iaca,
            mdoc_signer,
        })
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
