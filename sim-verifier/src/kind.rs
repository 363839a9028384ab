//! The relying-party kinds and what each asks for: the `filter` of its profile.

use core::fmt;
use std::str::FromStr;

use protocol::mdoc::element as el;
use protocol::mip::Filter;

/// A kind of relying party. Each asks only for what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RpKind {
    /// A government office (주민센터, 구청): full identity.
    Government,
    /// A bank's know-your-customer check: name, RRN and birth date.
    Bank,
    /// A hospital's reception: name, birth date and portrait.
    Hospital,
    /// A shop's age check (tobacco, alcohol): `age_over_19` only.
    AgeCheck,
}

impl RpKind {
    /// Every kind, in report order.
    pub const ALL: [RpKind; 4] = [Self::Government, Self::Bank, Self::Hospital, Self::AgeCheck];

    /// The key used in files, reports and on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Self::Government => "government",
            Self::Bank => "bank",
            Self::Hospital => "hospital",
            Self::AgeCheck => "age-check",
        }
    }

    /// The name the holder sees on the consent screen.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Government => "Government office (행정복지센터)",
            Self::Bank => "Bank account opening (은행)",
            Self::Hospital => "Hospital reception (병원)",
            Self::AgeCheck => "Age check at a shop (편의점)",
        }
    }

    /// The elements it needs, split as the profile's filter carries them: plain assertions
    /// and privacy-sensitive elements (RRN, portrait, address).
    pub fn requested(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::Government => (
                &[
                    el::FAMILY_NAME,
                    el::GIVEN_NAME,
                    el::BIRTH_DATE,
                    el::ISSUE_DATE,
                    el::EXPIRY_DATE,
                    el::DOCUMENT_NUMBER,
                ],
                &[el::RRN_MASKED, el::LEGAL_ADDRESS_REGION, el::PORTRAIT],
            ),
            Self::Bank => (
                &[el::FAMILY_NAME, el::GIVEN_NAME, el::BIRTH_DATE],
                &[el::RRN_MASKED],
            ),
            Self::Hospital => (
                &[el::FAMILY_NAME, el::GIVEN_NAME, el::BIRTH_DATE],
                &[el::PORTRAIT],
            ),
            Self::AgeCheck => (&[el::AGE_OVER_19], &[]),
        }
    }

    /// The profile's filter, accepting credentials of `issuers`.
    pub fn filter(self, issuers: &[String]) -> Filter {
        let (assertions, privacy) = self.requested();
        Filter {
            required_assertion_list: assertions.iter().map(|s| (*s).to_owned()).collect(),
            required_privacy_list: privacy.iter().map(|s| (*s).to_owned()).collect(),
            allow_issuer_list: issuers.to_vec(),
        }
    }

    /// Its service provider code (spCode) in the simulation.
    pub fn sp_code(self) -> &'static str {
        match self {
            Self::Government => "SP-GOV-0001",
            Self::Bank => "SP-BANK-0001",
            Self::Hospital => "SP-HOSP-0001",
            Self::AgeCheck => "SP-SHOP-0001",
        }
    }
}

impl fmt::Display for RpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Not a relying-party kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown relying-party kind {0:?} (expected government, bank, hospital or age-check)")]
pub struct UnknownKind(pub String);

impl FromStr for RpKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.key() == s)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back_and_unknown_ones_are_named() {
        for k in RpKind::ALL {
            assert_eq!(k.key().parse::<RpKind>(), Ok(k));
        }
        assert_eq!(
            "pharmacy".parse::<RpKind>(),
            Err(UnknownKind("pharmacy".into()))
        );
    }

    #[test]
    fn the_age_check_asks_for_one_element_and_nothing_private() {
        let f = RpKind::AgeCheck.filter(&[]);
        assert_eq!(f.requested().collect::<Vec<_>>(), [el::AGE_OVER_19]);
        assert!(f.required_privacy_list.is_empty());
        assert!(RpKind::Hospital
            .filter(&[])
            .requested()
            .all(|e| e != el::RRN_MASKED));
    }
}
