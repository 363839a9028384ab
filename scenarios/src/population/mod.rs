//! The simulated population, generated lazily from (seed, index).
//!
//! [`Population::resident`] computes resident `index` on demand from its own RNG
//! ([`crate::rng::rng_for`] with [`Stream::Resident`]). Nothing is stored per resident: the
//! `Population` holds only the configuration and a few sampling tables built once, so memory
//! does not grow with the population and any shard or replay regenerates the same person.
//!
//! Draw order inside a resident is fixed (sex, age, birth day, road address, name, RRN,
//! card, smartphone, propensity); changing it changes every resident of a seed. Region and
//! district come from a stream of their own ([`Stream::Address`]), so
//! [`Population::district_of`] can find a resident's district without generating the rest:
//! shards that must keep a community center's visitors together split by it
//! ([`Population::shard_by`]).

mod rrn;

pub use rrn::{check_digit, gender_digit, generate as generate_rrn, Rrn, RrnKind};

use crate::region::Districts as _;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use fake::Fake;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use time::macros::date;
use time::Date;

use crate::locale::{Address, FullName, RoadAddress, Sex};
use crate::region::{District, Region};
use crate::rng::{rng_for, Stream};
use crate::Error;

/// An age band and its weight in the age distribution (ages in completed years on the
/// reference date, both ends inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeBand {
    /// Youngest age in the band.
    pub min_age: u8,
    /// Oldest age in the band.
    pub max_age: u8,
    /// Relative weight (any positive scale).
    pub weight: f64,
}

/// Smartphone ownership from an age on (a step function over ages).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeShare {
    /// The step applies from this age (in completed years on the reference date).
    pub from_age: u8,
    /// Share owning a smartphone, 0..=1.
    pub share: f64,
}

/// Card shares among residents whose first card predates IC-only issuance.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardShares {
    /// Share holding no card at all (never issued, lost and not replaced).
    pub none: f64,
    /// Share that already swapped to an IC card; the rest hold the older plastic card.
    pub ic: f64,
}

/// What shapes the population. `Default` is a Korea-like population; every field is an
/// input (DOMAIN.md), and [`PopulationConfig::validate`] says what is wrong with a bad one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PopulationConfig {
    /// Number of residents (indices `0..size`).
    pub size: u64,
    /// The day ages are measured on: the age distribution describes ages on this day.
    pub reference_date: Date,
    /// First issued resident cards are IC cards from this day (DOMAIN.md: from 2025).
    pub ic_first_card_from: Date,
    /// The last day the simulation can reach: residents who turn 17 by then get their first
    /// (IC) card; younger ones hold none.
    pub horizon_end: Date,
    /// Age at which the first resident card is issued (DOMAIN.md: 17).
    pub first_card_age: u8,
    /// Relative weight of each region (missing regions weigh 0). Default: DOMAIN.md's table.
    pub region_weights: BTreeMap<Region, f64>,
    /// The age distribution on the reference date, as non-overlapping bands.
    pub age_bands: Vec<AgeBand>,
    /// Card shares among those whose first card came before IC-only issuance.
    pub cards: CardShares,
    /// Smartphone ownership by age, a step function sorted by `from_age`.
    pub smartphone: Vec<AgeShare>,
    /// Share of residents born before October 2020 whose number was reassigned since then and
    /// so is of the random kind (numbers can be changed after a leak).
    pub reassigned_rrn_share: f64,
    /// Adoption propensity is `u^exponent` for a uniform `u`: 1 is uniform on 0..1, larger
    /// values make most people reluctant.
    pub propensity_exponent: f64,
}

impl Default for PopulationConfig {
    fn default() -> Self {
        // Rough 2024 age pyramid of Korea in 5-year bands, thousands.
        const BANDS: [f64; 20] = [
            1200.0, 1750.0, 2300.0, 2300.0, 2700.0, 3400.0, 3400.0, 3200.0, 3800.0, 4000.0, 4300.0,
            4200.0, 4100.0, 3300.0, 2300.0, 1700.0, 1300.0, 700.0, 250.0, 60.0,
        ];
        let age_bands = BANDS
            .iter()
            .enumerate()
            .map(|(i, &weight)| AgeBand {
                min_age: (i * 5) as u8,
                max_age: if i == 19 { 100 } else { (i * 5 + 4) as u8 },
                weight,
            })
            .collect();
        PopulationConfig {
            size: 100_000,
            reference_date: date!(2024 - 12 - 27),
            ic_first_card_from: date!(2025 - 01 - 01),
            horizon_end: date!(2025 - 12 - 31),
            first_card_age: 17,
            region_weights: Region::ALL
                .into_iter()
                .map(|r| (r, f64::from(r.default_population_thousands())))
                .collect(),
            age_bands,
            cards: CardShares {
                none: 0.01,
                ic: 0.05,
            },
            smartphone: vec![
                AgeShare {
                    from_age: 0,
                    share: 0.3,
                },
                AgeShare {
                    from_age: 10,
                    share: 0.95,
                },
                AgeShare {
                    from_age: 20,
                    share: 0.99,
                },
                AgeShare {
                    from_age: 60,
                    share: 0.95,
                },
                AgeShare {
                    from_age: 70,
                    share: 0.8,
                },
                AgeShare {
                    from_age: 80,
                    share: 0.45,
                },
            ],
            reassigned_rrn_share: 0.001,
            propensity_exponent: 1.5,
        }
    }
}

fn check_share(field: &'static str, v: f64) -> Result<(), Error> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::config(field, format!("{v} is not a share in 0..=1")))
    }
}

impl PopulationConfig {
    /// Checks every field; the error names the field and why it is wrong.
    pub fn validate(&self) -> Result<(), Error> {
        if self.size > u64::from(u32::MAX) {
            return Err(Error::config(
                "population.size",
                "at most 4294967295 residents (indices are kept as 32 bits)",
            ));
        }
        if self.reference_date > self.horizon_end {
            return Err(Error::config(
                "population.horizon_end",
                format!(
                    "{} is before reference_date {}",
                    self.horizon_end, self.reference_date
                ),
            ));
        }
        if !(1921..=2099).contains(&self.reference_date.year()) {
            return Err(Error::config(
                "population.reference_date",
                "must be in 1921..=2099 so that every birth year has an RRN century digit",
            ));
        }
        let mut total = 0.0;
        for (r, &w) in &self.region_weights {
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::config(
                    "population.region_weights",
                    format!("weight {w} of {r} is not a finite number >= 0"),
                ));
            }
            total += w;
        }
        if total <= 0.0 {
            return Err(Error::config(
                "population.region_weights",
                "no region has a positive weight",
            ));
        }
        if self.age_bands.is_empty() {
            return Err(Error::config("population.age_bands", "no age band"));
        }
        let mut bands = self.age_bands.clone();
        bands.sort_by_key(|b| b.min_age);
        let mut total = 0.0;
        for (i, b) in bands.iter().enumerate() {
            if b.min_age > b.max_age || b.max_age > 120 {
                return Err(Error::config(
                    "population.age_bands",
                    format!("band {}..={} is empty or beyond 120", b.min_age, b.max_age),
                ));
            }
            if i > 0 && b.min_age <= bands[i - 1].max_age {
                return Err(Error::config(
                    "population.age_bands",
                    format!("band starting at {} overlaps the previous one", b.min_age),
                ));
            }
            if !(b.weight.is_finite() && b.weight >= 0.0) {
                return Err(Error::config(
                    "population.age_bands",
                    format!("weight {} is not a finite number >= 0", b.weight),
                ));
            }
            total += b.weight;
        }
        if total <= 0.0 {
            return Err(Error::config(
                "population.age_bands",
                "no band has a positive weight",
            ));
        }
        check_share("population.cards.none", self.cards.none)?;
        check_share("population.cards.ic", self.cards.ic)?;
        if self.cards.none + self.cards.ic > 1.0 {
            return Err(Error::config("population.cards", "none + ic exceeds 1"));
        }
        for s in &self.smartphone {
            check_share("population.smartphone", s.share)?;
        }
        if self
            .smartphone
            .windows(2)
            .any(|w| w[0].from_age >= w[1].from_age)
        {
            return Err(Error::config(
                "population.smartphone",
                "steps must be sorted by from_age without repeats",
            ));
        }
        check_share("population.reassigned_rrn_share", self.reassigned_rrn_share)?;
        if !(self.propensity_exponent.is_finite() && self.propensity_exponent > 0.0) {
            return Err(Error::config(
                "population.propensity_exponent",
                format!("{} is not a finite number > 0", self.propensity_exponent),
            ));
        }
        Ok(())
    }
}

/// The card a resident holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardType {
    /// No resident card (too young, or none issued).
    None,
    /// The older plastic card without a chip: QR route at a community center.
    Plastic,
    /// The IC-chip card: tap route from anywhere.
    Ic,
}

/// A fixed-length string of decimal digits that prints as `<redacted>` in Debug.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digits<const N: usize>([u8; N]);

impl<const N: usize> Digits<N> {
    fn random<R: RngExt + ?Sized>(rng: &mut R) -> Self {
        let mut d = [b'0'; N];
        for b in &mut d {
            *b = b'0' + rng.random_range(0..10u8);
        }
        Digits(d)
    }

    /// The digits as ASCII text (for PACE and the card's personalisation).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The digits as ASCII bytes.
    pub fn as_bytes(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for Digits<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The secrets of an IC card: the 4-digit card password and the 6-digit CAN (PACE inputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcSecrets {
    /// The 4-digit card password the holder chose.
    pub password: Digits<4>,
    /// The 6-digit card access number printed on the card.
    pub can: Digits<6>,
}

/// A mobile number `010-XXXX-XXXX`, stored as its last 8 digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhoneNumber(u32);

impl PhoneNumber {
    /// The 8 digits after 010, as a number.
    pub fn subscriber(&self) -> u32 {
        self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "010-{:04}-{:04}", self.0 / 10_000, self.0 % 10_000)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({self})")
    }
}

/// One resident, as generated. Holds no reference to the population; drop it when its flows
/// are over.
#[derive(Clone, Debug, PartialEq)]
pub struct Resident {
    /// Index in the population (the replay key with the seed).
    pub index: u64,
    /// Full name, family name first, no space (`김민준`).
    pub name: String,
    /// Sex.
    pub sex: Sex,
    /// Birth date.
    pub birth_date: Date,
    /// Resident registration number (masked in Debug and Display).
    pub rrn: Rrn,
    /// Legal address (the jurisdiction that decides the rollout phase).
    pub address: Address,
    /// The card held.
    pub card: CardType,
    /// Password and CAN if `card` is `Ic`.
    pub ic: Option<IcSecrets>,
    /// Mobile number if the resident owns a smartphone.
    pub phone: Option<PhoneNumber>,
    /// Willingness to adopt the mobile ID, 0..=1.
    pub adoption_propensity: f64,
}

impl Resident {
    /// The region of the legal address.
    pub fn region(&self) -> Region {
        self.address.region()
    }

    /// The district of the legal address.
    pub fn district(&self) -> &'static District {
        self.address.district
    }

    /// True if the resident owns a smartphone.
    pub fn has_smartphone(&self) -> bool {
        self.phone.is_some()
    }

    /// Completed years on `on` (a 29 February birthday falls on 1 March in common years).
    pub fn age_on(&self, on: Date) -> i32 {
        age_on(self.birth_date, on)
    }

    /// The day the resident turns `years` old.
    pub fn birthday_at(&self, years: u8) -> Date {
        birthday_at(self.birth_date, i32::from(years))
    }
}

/// Completed years of someone born on `birth` on day `on`.
pub fn age_on(birth: Date, on: Date) -> i32 {
    let mut years = on.year() - birth.year();
    if (on.month() as u8, on.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years
}

/// The day someone born on `birth` turns `years` (1 March for 29 February in a common year).
/// Saturates at the ends of `Date`'s range.
pub fn birthday_at(birth: Date, years: i32) -> Date {
    let year = birth.year().saturating_add(years).clamp(-9999, 9999);
    Date::from_calendar_date(year, birth.month(), birth.day())
        .or_else(|_| Date::from_calendar_date(year, time::Month::March, 1))
        .unwrap_or(if years < 0 { Date::MIN } else { Date::MAX })
}

/// The day numbers of the random kind were introduced.
const RANDOM_RRN_FROM: Date = date!(2020 - 10 - 05);

/// Population sampling tables, built once from the configuration.
#[derive(Clone, Debug)]
struct Tables {
    /// Cumulative region weights (normalised to end at 1), with the region.
    regions: Vec<(f64, Region)>,
    /// Per region (by `Region as usize`): cumulative district weights.
    districts: Vec<Vec<(f64, &'static District)>>,
    /// Cumulative age-band weights with the band's birth-date range as Julian days.
    ages: Vec<(f64, (i32, i32))>,
}

fn cumulative<T: Copy>(items: impl Iterator<Item = (f64, T)>) -> Vec<(f64, T)> {
    let mut acc = 0.0;
    let mut out: Vec<(f64, T)> = items
        .filter(|(w, _)| *w > 0.0)
        .map(|(w, t)| {
            acc += w;
            (acc, t)
        })
        .collect();
    for e in &mut out {
        e.0 /= acc;
    }
    out
}

fn pick<T: Copy>(table: &[(f64, T)], u: f64) -> Option<T> {
    let i = table.partition_point(|(c, _)| *c <= u);
    table.get(i.min(table.len().saturating_sub(1))).map(|e| e.1)
}

/// The population: configuration, seed and sampling tables. Residents are computed on demand.
#[derive(Clone, Debug)]
pub struct Population {
    config: PopulationConfig,
    seed: u64,
    tables: Tables,
}

impl Population {
    /// A population of `config.size` residents for `seed`. Fails if the configuration is
    /// invalid (see [`PopulationConfig::validate`]).
    pub fn new(config: PopulationConfig, seed: u64) -> Result<Population, Error> {
        config.validate()?;
        let regions = cumulative(config.region_weights.iter().map(|(r, w)| (*w, *r)));
        let districts = Region::ALL
            .iter()
            .map(|r| {
                cumulative(
                    r.districts()
                        .iter()
                        .map(|d| (f64::from(d.population_thousands), d)),
                )
            })
            .collect();
        let reference = config.reference_date;
        let ages = cumulative(config.age_bands.iter().map(|b| {
            // Age in min..=max on the reference day: born after the (max+1)th birthday
            // before it, and on or before the min-th.
            let earliest = birthday_at(reference, -i32::from(b.max_age) - 1).to_julian_day() + 1;
            let latest = birthday_at(reference, -i32::from(b.min_age)).to_julian_day();
            (b.weight, (earliest, latest))
        }));
        Ok(Population {
            config,
            seed,
            tables: Tables {
                regions,
                districts,
                ages,
            },
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PopulationConfig {
        &self.config
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of residents.
    pub fn size(&self) -> u64 {
        self.config.size
    }

    /// Indices of shard `index` of `count`: contiguous ranges whose sizes differ by at most
    /// one and which together cover `0..size` exactly once.
    pub fn shard(&self, index: u64, count: u64) -> Result<Range<u64>, Error> {
        shard_range(self.config.size, index, count)
    }

    /// Resident `index`, computed from (seed, index). Any index gives a well-defined
    /// resident; `0..size` are the ones in the population.
    pub fn resident(&self, index: u64) -> Resident {
        let mut rng = rng_for(self.seed, index, Stream::Resident);
        let cfg = &self.config;
        let t = &self.tables;

        let sex = if rng.random_bool(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        let (lo, hi) = pick(&t.ages, rng.random::<f64>()).unwrap_or((0, 0));
        let jd = if hi >= lo {
            rng.random_range(lo..=hi)
        } else {
            lo
        };
        let birth_date = Date::from_julian_day(jd).unwrap_or(cfg.reference_date);

        let district = self.district_of(index);
        let address: Address = RoadAddress(district).fake_with_rng(&mut rng);
        let name: String = FullName(sex).fake_with_rng(&mut rng);

        let reassigned = rng.random_bool(cfg.reassigned_rrn_share);
        let kind = if birth_date >= RANDOM_RRN_FROM || reassigned {
            RrnKind::Random
        } else {
            RrnKind::CheckDigit
        };
        // Validation keeps every birth year in 1800..=2099, which G encodes.
        let rrn = rrn::generate(birth_date, sex, kind, &mut rng).unwrap_or(Rrn::EXAMPLE);

        let first_card = birthday_at(birth_date, i32::from(cfg.first_card_age));
        let u_card = rng.random::<f64>();
        let card = if first_card > cfg.horizon_end {
            CardType::None
        } else if first_card >= cfg.ic_first_card_from {
            CardType::Ic
        } else if u_card < cfg.cards.none {
            CardType::None
        } else if u_card < cfg.cards.none + cfg.cards.ic {
            CardType::Ic
        } else {
            CardType::Plastic
        };
        let ic = (card == CardType::Ic).then(|| IcSecrets {
            password: Digits::random(&mut rng),
            can: Digits::random(&mut rng),
        });

        let age = age_on(birth_date, cfg.reference_date).max(0);
        let phone_share = cfg
            .smartphone
            .iter()
            .rev()
            .find(|s| i32::from(s.from_age) <= age)
            .map_or(0.0, |s| s.share);
        let phone = rng
            .random_bool(phone_share)
            .then(|| PhoneNumber(rng.random_range(20_000_000..100_000_000u32)));
        let adoption_propensity = rng.random::<f64>().powf(cfg.propensity_exponent);

        Resident {
            index,
            name,
            sex,
            birth_date,
            rrn,
            address,
            card,
            ic,
            phone,
            adoption_propensity,
        }
    }

    /// The district of resident `index`'s legal address, without generating the rest of the
    /// resident (one RNG seeding and two draws).
    pub fn district_of(&self, index: u64) -> &'static District {
        let mut rng = rng_for(self.seed, index, Stream::Address);
        let t = &self.tables;
        let region = pick(&t.regions, rng.random::<f64>()).unwrap_or(Region::Seoul);
        pick(&t.districts[region as usize], rng.random::<f64>())
            .unwrap_or(&crate::region::DISTRICTS[0])
    }

    /// Expected number of residents of `district` in this population: size × the region's
    /// weight share × the district's share of its region. Use it to size per-district
    /// resources (community centers) for a scaled-down population.
    pub fn expected_residents(&self, district: &District) -> f64 {
        let region_share = {
            let total: f64 = self.config.region_weights.values().sum();
            let w = self
                .config
                .region_weights
                .get(&district.region)
                .copied()
                .unwrap_or(0.0);
            if total > 0.0 {
                w / total
            } else {
                0.0
            }
        };
        let in_region: u32 = district
            .region
            .districts()
            .iter()
            .map(|d| d.population_thousands)
            .sum();
        let district_share = if in_region == 0 {
            0.0
        } else {
            f64::from(district.population_thousands) / f64::from(in_region)
        };
        self.config.size as f64 * region_share * district_share
    }

    /// Expected number of residents of `region` in this population: size × the region's
    /// weight share.
    pub fn expected_region_residents(&self, region: Region) -> f64 {
        let total: f64 = self.config.region_weights.values().sum();
        let w = self
            .config
            .region_weights
            .get(&region)
            .copied()
            .unwrap_or(0.0);
        if total > 0.0 {
            self.config.size as f64 * w / total
        } else {
            0.0
        }
    }

    /// Indices of shard `index` of `count` when shards must keep together the residents
    /// that share a key (for example their community center, which couples them through its
    /// queue): resident `i` belongs to shard `splitmix64(key(i, district)) % count`. Every
    /// shard scans all indices but generates only districts, which is cheap.
    pub fn shard_by<'a, K>(
        &'a self,
        index: u64,
        count: u64,
        key: K,
    ) -> Result<impl Iterator<Item = u64> + 'a, Error>
    where
        K: Fn(u64, &'static District) -> u64 + 'a,
    {
        if count == 0 || index >= count {
            return Err(Error::InvalidShard { index, count });
        }
        Ok((0..self.config.size)
            .filter(move |&i| crate::rng::splitmix64(key(i, self.district_of(i))) % count == index))
    }

    /// Every resident in index order, generated one at a time.
    pub fn iter(&self) -> impl Iterator<Item = Resident> + '_ {
        (0..self.config.size).map(|i| self.resident(i))
    }
}

/// Indices of shard `index` of `count` over `0..size`: `[size*index/count,
/// size*(index+1)/count)`.
pub fn shard_range(size: u64, index: u64, count: u64) -> Result<Range<u64>, Error> {
    if count == 0 || index >= count {
        return Err(Error::InvalidShard { index, count });
    }
    let at = |i: u64| (u128::from(size) * u128::from(i) / u128::from(count)) as u64;
    Ok(at(index)..at(index + 1))
}

#[cfg(test)]
mod tests;
