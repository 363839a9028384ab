//! The resident registry: who lives where, which card they hold, which phones they have.
//!
//! Residents are generated from `(rng, index)` by [`Resident::generate`] so a population can
//! be made lazily and reproducibly; [`Registry`] holds those the issuer has met, keyed in a
//! `BTreeMap` so iteration order is stable.

use core::fmt;
use std::collections::BTreeMap;

use rand_core::CryptoRngCore;
use time::{Date, Duration};

use crate::policy::{Applicant, CardKind, Policy};
use crate::rrn::{Rrn, RrnKind, Sex};
use crate::Error;

/// A resident's key in the registry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ResidentId(pub u64);

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{:010}", self.0)
    }
}

/// Keys of an IC card's chip, as the issuer keeps them to personalise the card.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChipKeys {
    /// Seed of the Active Authentication key pair (a P-256 scalar is derived from it).
    #[serde(with = "hex_seed")]
    pub aa_key_seed: [u8; 32],
}

mod hex_seed {
    pub(super) fn serialize<S: serde::Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<[u8; 32], D::Error> {
        let s: String = serde::Deserialize::deserialize(d)?;
        let v = hex::decode(s).map_err(serde::de::Error::custom)?;
        v.try_into()
            .map_err(|_| serde::de::Error::custom("chip key seed is not 32 bytes"))
    }
}

impl fmt::Debug for ChipKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChipKeys(<redacted>)")
    }
}

/// The physical resident card someone holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CardState {
    /// No card yet (under 17, or never applied).
    None,
    /// An older plastic card without a chip.
    Plastic {
        /// Day of issue.
        issued: Date,
        /// Reported lost.
        reported_lost: bool,
    },
    /// An IC-chip card.
    Ic {
        /// Card number printed on the card and held in DG1.
        card_number: String,
        /// Day of issue.
        issued: Date,
        /// Keys of the chip.
        chip: ChipKeys,
        /// Reported lost.
        reported_lost: bool,
    },
}

impl CardState {
    /// The kind of card.
    pub fn kind(&self) -> CardKind {
        match self {
            Self::None => CardKind::None,
            Self::Plastic { .. } => CardKind::Plastic,
            Self::Ic { .. } => CardKind::Ic,
        }
    }

    /// True if the card has been reported lost.
    pub fn reported_lost(&self) -> bool {
        matches!(
            self,
            Self::Plastic {
                reported_lost: true,
                ..
            } | Self::Ic {
                reported_lost: true,
                ..
            }
        )
    }
}

/// A phone registered to a resident (mobile ID goes only on a phone in the holder's name).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhoneRegistration {
    /// The phone's identifier (e.g. its number).
    pub phone_id: String,
    /// The phone's subscription is in the resident's own name.
    pub in_own_name: bool,
}

/// One resident.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resident {
    /// Registry key.
    pub id: ResidentId,
    /// Family name (Hangul).
    pub family_name: String,
    /// Given name (Hangul).
    pub given_name: String,
    /// Resident registration number (its `Debug` is masked).
    pub rrn: Rrn,
    /// Five-digit district code of the legal address.
    pub district: String,
    /// The physical card.
    pub card: CardState,
    /// Registered phones.
    pub phones: Vec<PhoneRegistration>,
}

const FAMILY: [&str; 10] = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"];
const GIVEN: [&str; 12] = [
    "민준", "서연", "도윤", "서윤", "하준", "지우", "예준", "하은", "지호", "수아", "현우", "지민",
];

/// A few district codes per region for generated addresses (the first is used as the seat).
const DISTRICTS: [(&str, &[&str]); 17] = [
    ("11", &["11110", "11140", "11680"]),
    ("26", &["26110", "26350"]),
    ("27", &["27110", "27720"]),
    ("28", &["28110", "28237"]),
    ("29", &["29110", "29170"]),
    ("30", &["30110", "30170"]),
    ("31", &["31110", "31710"]),
    ("36", &["36110"]),
    ("41", &["41111", "41281", "41461"]),
    ("51", &["51110", "51720"]),
    ("43", &["43111", "43130"]),
    ("44", &["44131", "44200"]),
    ("52", &["52111", "52130"]),
    ("46", &["46110", "46130", "46830"]),
    ("47", &["47111", "47190"]),
    ("48", &["48121", "48880"]),
    ("50", &["50110", "50130"]),
];

fn pick(rng: &mut impl CryptoRngCore, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

impl Resident {
    /// The policy's view of this resident.
    pub fn applicant(&self) -> Applicant<'_> {
        Applicant {
            korean: self.rrn.is_korean(),
            birth_date: self.rrn.birth_date(),
            district: &self.district,
            card: self.card.kind(),
            card_reported_lost: self.card.reported_lost(),
        }
    }

    /// The first-level region code of the legal address.
    pub fn region(&self) -> &str {
        self.district.get(..2).unwrap_or("")
    }

    /// A generated resident: Korean, born between 1940 and `today` minus 17 years, a
    /// legal address drawn by the policy's population weights, a plastic card (or an IC
    /// card for those born 2008 or later), and one phone in their own name.
    pub fn generate(
        rng: &mut impl CryptoRngCore,
        id: ResidentId,
        policy: &Policy,
        today: Date,
    ) -> Result<Self, Error> {
        let newest = today - Duration::days(17 * 366);
        let oldest = Date::from_calendar_date(1940, time::Month::January, 1)
            .map_err(|_| Error::InvalidRrn("calendar"))?;
        let span = (newest - oldest).whole_days().max(1) as u64;
        let birth = oldest + Duration::days((rng.next_u64() % span) as i64);
        let sex = if rng.next_u32() & 1 == 0 {
            Sex::Male
        } else {
            Sex::Female
        };
        let kind = if rng.next_u32() & 1 == 0 {
            RrnKind::CheckDigit
        } else {
            RrnKind::Random
        };
        let rrn = Rrn::generate(rng, birth, sex, true, kind)?;
        let total: u64 = policy
            .regions
            .values()
            .map(|r| u64::from(r.population_thousands))
            .sum::<u64>()
            .max(1);
        let mut draw = rng.next_u64() % total;
        let mut region = "11";
        for r in policy.regions.values() {
            if draw < u64::from(r.population_thousands) {
                region = &r.code;
                break;
            }
            draw -= u64::from(r.population_thousands);
        }
        let district = DISTRICTS
            .iter()
            .find(|(code, _)| *code == region)
            .map(|(_, ds)| ds[pick(rng, ds.len())])
            .unwrap_or("11110")
            .to_owned();
        let card_issued = birth + Duration::days(17 * 366);
        let card = if birth.year() >= 2008 {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            CardState::Ic {
                card_number: card_number(rng),
                issued: card_issued,
                chip: ChipKeys { aa_key_seed: seed },
                reported_lost: false,
            }
        } else {
            CardState::Plastic {
                issued: card_issued,
                reported_lost: false,
            }
        };
        Ok(Self {
            id,
            family_name: FAMILY[pick(rng, FAMILY.len())].to_owned(),
            given_name: GIVEN[pick(rng, GIVEN.len())].to_owned(),
            rrn,
            district,
            card,
            phones: vec![PhoneRegistration {
                phone_id: format!("010-{:04}-{:04}", pick(rng, 10_000), pick(rng, 10_000)),
                in_own_name: true,
            }],
        })
    }
}

/// A fresh 12-digit IC card number.
pub fn card_number(rng: &mut impl CryptoRngCore) -> String {
    format!("{:012}", rng.next_u64() % 1_000_000_000_000)
}

/// The residents the issuer knows.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    residents: BTreeMap<ResidentId, Resident>,
    by_rrn: BTreeMap<Rrn, ResidentId>,
    /// Residents whose record the issuer changed (card swapped or reported lost, ...).
    changed: std::collections::BTreeSet<ResidentId>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a resident. Refuses a duplicate id or RRN.
    pub fn insert(&mut self, r: Resident) -> Result<(), Error> {
        if self.residents.contains_key(&r.id) || self.by_rrn.contains_key(&r.rrn) {
            return Err(Error::DuplicateResident);
        }
        self.by_rrn.insert(r.rrn, r.id);
        self.residents.insert(r.id, r);
        Ok(())
    }

    /// Look a resident up.
    pub fn get(&self, id: ResidentId) -> Result<&Resident, Error> {
        self.residents.get(&id).ok_or(Error::UnknownResident)
    }

    /// Look a resident up for change. The record is marked changed: [`Registry::release`]
    /// keeps it from then on.
    pub fn get_mut(&mut self, id: ResidentId) -> Result<&mut Resident, Error> {
        let r = self.residents.get_mut(&id).ok_or(Error::UnknownResident)?;
        self.changed.insert(id);
        Ok(r)
    }

    /// Drops the record of `id` if it was never changed here, so a caller that can derive
    /// it again (from the national registry it models) registers it on the next visit.
    /// Returns whether it was dropped.
    pub fn release(&mut self, id: ResidentId) -> bool {
        if self.changed.contains(&id) {
            return false;
        }
        match self.residents.remove(&id) {
            Some(r) => {
                self.by_rrn.remove(&r.rrn);
                true
            }
            None => false,
        }
    }

    /// Find a resident by RRN.
    pub fn by_rrn(&self, rrn: &Rrn) -> Option<&Resident> {
        self.by_rrn.get(rrn).and_then(|id| self.residents.get(id))
    }

    /// Number of residents.
    pub fn len(&self) -> usize {
        self.residents.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.residents.is_empty()
    }

    /// Residents in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Resident> {
        self.residents.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use time::macros::date;

    fn generate(seed: u64, n: u64) -> Vec<Resident> {
        let p = Policy::default_rollout();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                Resident::generate(&mut rng, ResidentId(i), &p, date!(2025 - 04 - 01)).unwrap()
            })
            .collect()
    }

    #[test]
    fn generation_is_deterministic_for_a_seed() {
        assert_eq!(generate(1, 20), generate(1, 20));
        assert_ne!(generate(1, 20), generate(2, 20));
    }

    #[test]
    fn generated_residents_are_adult_koreans_with_known_districts_and_matching_cards() {
        let p = Policy::default_rollout();
        for r in generate(3, 300) {
            assert!(r.rrn.is_korean());
            assert!(crate::time::age_on(r.rrn.birth_date(), date!(2025 - 04 - 01)) >= 17);
            assert!(p.regions.contains_key(r.region()), "{}", r.district);
            assert_eq!(
                r.card.kind() == CardKind::Ic,
                r.rrn.birth_date().year() >= 2008
            );
            assert!(!r.card.reported_lost());
        }
    }

    #[test]
    fn release_drops_only_records_the_issuer_never_changed() {
        let mut reg = Registry::new();
        for r in generate(5, 3) {
            reg.insert(r).unwrap();
        }
        let ids: Vec<ResidentId> = reg.iter().map(|r| r.id).collect();
        let rrn1 = reg.get(ids[1]).unwrap().rrn;
        reg.get_mut(ids[0]).unwrap().phones.clear();
        assert!(!reg.release(ids[0]), "a changed record stays");
        assert!(reg.release(ids[1]));
        assert!(reg.get(ids[1]).is_err() && reg.by_rrn(&rrn1).is_none());
        assert!(!reg.release(ids[1]), "already gone");
        assert_eq!(reg.len(), 2);
    }

    #[test]
    fn registry_refuses_duplicates_and_finds_by_rrn() {
        let mut reg = Registry::new();
        let people = generate(4, 3);
        for r in &people {
            reg.insert(r.clone()).unwrap();
        }
        assert_eq!(reg.insert(people[0].clone()), Err(Error::DuplicateResident));
        assert_eq!(reg.by_rrn(&people[1].rrn), Some(&people[1]));
        assert_eq!(reg.get(ResidentId(99)).unwrap_err(), Error::UnknownResident);
        assert_eq!(reg.len(), 3);
    }

    #[test]
    fn resident_debug_masks_the_rrn_and_chip_keys() {
        let r = &generate(5, 40)
            .into_iter()
            .find(|r| r.card.kind() == CardKind::Ic)
            .unwrap();
        let s = format!("{r:?}");
        assert!(s.contains("<redacted>"));
        assert!(!s.contains(&r.rrn.expose()));
        assert!(s.contains(&r.rrn.masked()));
    }
}
