//! The rollout policy: who may get a mobile ID, where, from when, and what an IC card costs.
//!
//! The numbers come from a TOML data file ([`Policy::from_toml`]); the one shipped with the
//! crate ([`Policy::default_rollout`], `data/rollout.toml`) holds the 2024-2025 schedule from
//! `shared/DOMAIN.md`. [`Policy::check`] turns an [`Applicant`] into a [`Decision`], and every
//! refusal is a [`Refusal`] that names its reason.

use core::fmt;
use std::collections::BTreeMap;

use serde::Deserialize;
use time::{Date, UtcOffset};

use crate::time::{age_on, birthday_at, local_date, UnixTime};
use crate::Error;

/// The rollout file shipped with the crate.
pub const DEFAULT_ROLLOUT_TOML: &str = include_str!("../data/rollout.toml");

/// A first-level division (province or metropolitan city).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Two-digit administrative code, e.g. `"11"` for Seoul.
    pub code: String,
    /// English name.
    pub name: String,
    /// Approximate residents in thousands (a default weight, not ground truth).
    pub population_thousands: u32,
}

/// A part of the country a phase opens, by district-code prefix.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    /// Prefix of a five-digit district code: `"27"` is all of Daegu, `"27720"` Gunwi County.
    pub code: String,
    /// English name.
    pub name: String,
}

/// One step of the rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// Name, e.g. `"phase 1"`.
    pub name: String,
    /// The day it opens, at local midnight.
    pub opens: Date,
    /// Applications only at a community center of the legal address's district, none online.
    pub jurisdiction_only: bool,
    /// Opens to every legal address.
    pub everyone: bool,
    /// The areas it opens (ignored when `everyone`).
    pub areas: Vec<Area>,
}

impl Phase {
    fn covers(&self, district: &str) -> bool {
        self.everyone || self.areas.iter().any(|a| district.starts_with(&a.code))
    }
}

/// Fees in won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    /// Swapping an older plastic card (or replacing an IC card) for a new IC card.
    pub ic_card_won: u32,
    /// An IC card for someone who never had a resident card.
    pub first_card_won: u32,
}

/// The rollout policy, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Local time zone of the dates in this policy.
    pub utc_offset: UtcOffset,
    /// Minimum age in completed years.
    pub minimum_age: u8,
    /// Years a mobile ID stays valid before it must be reissued.
    pub mobile_id_validity_years: u8,
    /// Fees.
    pub fees: Fees,
    /// First-level divisions by code.
    pub regions: BTreeMap<String, Region>,
    /// Phases in order of opening.
    pub phases: Vec<Phase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    utc_offset_hours: i8,
    minimum_age: u8,
    mobile_id_validity_years: u8,
    fees: Fees,
    /// Accepted for rollout files written before the region table moved to
    /// `protocol::region`; each entry must agree with it.
    #[serde(default)]
    regions: Vec<RawRegion>,
    phases: Vec<RawPhase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegion {
    code: String,
    name: String,
    #[allow(dead_code)]
    population_thousands: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    name: String,
    opens: toml::value::Datetime,
    #[serde(default)]
    jurisdiction_only: bool,
    #[serde(default)]
    everyone: bool,
    #[serde(default)]
    areas: Vec<Area>,
}

fn policy_err(reason: impl Into<String>) -> Error {
    Error::Policy(reason.into())
}

fn is_digits(s: &str, lens: core::ops::RangeInclusive<usize>) -> bool {
    lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

impl Policy {
    /// The 2024-2025 rollout shipped in `data/rollout.toml`.
    pub fn default_rollout() -> Self {
        // The shipped file is checked by the tests of this module; a broken edit to it fails
        // them, so falling back to the hard-coded minimum here is never reached in a build
        // whose tests pass.
        Self::from_toml(DEFAULT_ROLLOUT_TOML).unwrap_or_else(|_| Self::empty())
    }

    fn empty() -> Self {
        Self {
            utc_offset: UtcOffset::UTC,
            minimum_age: 17,
            mobile_id_validity_years: 3,
            fees: Fees {
                ic_card_won: 10_000,
                first_card_won: 0,
            },
            regions: BTreeMap::new(),
            phases: Vec::new(),
        }
    }

    /// Parse and validate a rollout file. Refuses unknown keys, bad codes, phases out of
    /// order and dates with a time part, naming the problem.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| policy_err(e.to_string()))?;
        let utc_offset = UtcOffset::from_hms(raw.utc_offset_hours, 0, 0)
            .map_err(|_| policy_err("utc_offset_hours out of range"))?;
        if raw.mobile_id_validity_years == 0 {
            return Err(policy_err("mobile_id_validity_years must be at least 1"));
        }
        // The regions are the workspace's one table; a file may still list them, and then
        // every entry must agree with it.
        let regions: BTreeMap<String, Region> = protocol::region::Region::ALL
            .into_iter()
            .map(|r| {
                let code = format!("{:02}", r.code());
                let region = Region {
                    code: code.clone(),
                    name: r.name_en().to_owned(),
                    population_thousands: r.default_population_thousands(),
                };
                (code, region)
            })
            .collect();
        for r in &raw.regions {
            match regions.get(&r.code) {
                Some(known) if known.name == r.name => {}
                _ => {
                    return Err(policy_err(format!(
                        "region {:?} ({}) is not in the region table (protocol::region)",
                        r.code, r.name
                    )))
                }
            }
        }
        let mut phases: Vec<Phase> = Vec::new();
        for p in raw.phases {
            let opens = match (p.opens.date, p.opens.time, p.opens.offset) {
                (Some(d), None, None) => time::Month::try_from(d.month)
                    .ok()
                    .and_then(|m| Date::from_calendar_date(i32::from(d.year), m, d.day).ok()),
                _ => None,
            }
            .ok_or_else(|| policy_err(format!("phase {:?}: opens must be a plain date", p.name)))?;
            if let Some(prev) = phases.last() {
                if prev.opens >= opens {
                    return Err(policy_err(format!(
                        "phase {:?} opens before or with the phase before it",
                        p.name
                    )));
                }
            }
            if !p.everyone && p.areas.is_empty() {
                return Err(policy_err(format!("phase {:?} opens no area", p.name)));
            }
            for a in &p.areas {
                if !is_digits(&a.code, 2..=5) || !regions.contains_key(&a.code[..2]) {
                    return Err(policy_err(format!(
                        "phase {:?}: area code {:?} is not a known region or district prefix",
                        p.name, a.code
                    )));
                }
            }
            phases.push(Phase {
                name: p.name,
                opens,
                jurisdiction_only: p.jurisdiction_only,
                everyone: p.everyone,
                areas: p.areas,
            });
        }
        if phases.is_empty() {
            return Err(policy_err("no phases"));
        }
        Ok(Self {
            utc_offset,
            minimum_age: raw.minimum_age,
            mobile_id_validity_years: raw.mobile_id_validity_years,
            fees: raw.fees,
            regions,
            phases,
        })
    }

    /// The first phase that opens this district, if any does.
    pub fn opening_phase(&self, district: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.covers(district))
    }

    /// The phase in force on `day`, if the rollout has started.
    pub fn phase_on(&self, day: Date) -> Option<&Phase> {
        self.phases.iter().rev().find(|p| p.opens <= day)
    }

    /// The first day on which applications need not be made in the legal address's
    /// jurisdiction (the first phase without `jurisdiction_only`).
    pub fn free_choice_from(&self) -> Option<Date> {
        self.phases
            .iter()
            .find(|p| !p.jurisdiction_only)
            .map(|p| p.opens)
    }

    /// The fee for a new IC card: free for someone who never had a resident card.
    pub fn ic_card_fee(&self, had_a_card_before: bool) -> u32 {
        if had_a_card_before {
            self.fees.ic_card_won
        } else {
            self.fees.first_card_won
        }
    }

    /// Decide whether `who` may get a mobile ID by `route` through `channel` at `now`.
    ///
    /// Checks run in a fixed order and the first failing one is reported: nationality, age,
    /// card, district, opening date, channel.
    pub fn check(
        &self,
        who: &Applicant<'_>,
        route: Route,
        channel: &Channel,
        now: UnixTime,
    ) -> Decision {
        let Some(today) = local_date(now, self.utc_offset) else {
            return Decision::Refused(Refusal::ClockOutOfRange);
        };
        if !who.korean {
            return Decision::Refused(Refusal::NotKorean);
        }
        let min_age = i32::from(self.minimum_age);
        if age_on(who.birth_date, today) < min_age {
            return Decision::Refused(Refusal::UnderAge {
                minimum_age: self.minimum_age,
                eligible_on: birthday_at(who.birth_date, min_age).unwrap_or(today),
            });
        }
        match who.card {
            CardKind::None => return Decision::Refused(Refusal::NoResidentCard),
            _ if who.card_reported_lost => return Decision::Refused(Refusal::CardReportedLost),
            CardKind::Plastic if route == Route::IcTap => {
                return Decision::Refused(Refusal::IcCardRequired)
            }
            _ => {}
        }
        if !is_digits(who.district, 5..=5) || !self.regions.contains_key(&who.district[..2]) {
            return Decision::Refused(Refusal::UnknownDistrict {
                district: who.district.to_owned(),
            });
        }
        let Some(first) = self.opening_phase(who.district) else {
            return Decision::Refused(Refusal::NeverOpens);
        };
        if today < first.opens {
            return Decision::Refused(Refusal::NotYetOpen {
                opens_on: first.opens,
                phase: first.name.clone(),
            });
        }
        let in_force = self.phase_on(today).unwrap_or(first);
        if in_force.jurisdiction_only {
            let until = self.free_choice_from();
            match channel {
                Channel::App => {
                    return Decision::Refused(Refusal::OnlineNotYetOpen { opens_on: until })
                }
                Channel::Desk { district } if *district != who.district => {
                    return Decision::Refused(Refusal::OutsideJurisdiction {
                        legal_district: who.district.to_owned(),
                        desk_district: district.clone(),
                        until,
                    })
                }
                Channel::Desk { .. } => {}
            }
        }
        if route == Route::Qr && *channel == Channel::App {
            return Decision::Refused(Refusal::QrOnlyAtDesk);
        }
        Decision::Allowed {
            phase: in_force.name.clone(),
        }
    }
}

/// The kind of physical resident card someone holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// No resident card yet.
    None,
    /// An older plastic card without a chip.
    Plastic,
    /// An IC-chip card.
    Ic,
}

/// What the policy needs to know about an applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applicant<'a> {
    /// Korean national (RRN gender digit 1-4).
    pub korean: bool,
    /// Date of birth.
    pub birth_date: Date,
    /// Five-digit district code of the legal address.
    pub district: &'a str,
    /// The card held.
    pub card: CardKind,
    /// The card has been reported lost.
    pub card_reported_lost: bool,
}

/// How the mobile ID would be issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Tap an IC card on the phone.
    IcTap,
    /// Scan a one-time QR code at a community center.
    Qr,
}

/// Where the application is made.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Channel {
    /// At a community service center in a district (five-digit code).
    Desk {
        /// The center's district.
        district: String,
    },
    /// Online, in the Mobile ID app (IC tap without a visit).
    App,
}

/// The outcome of an eligibility check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The application may go ahead.
    Allowed {
        /// The phase in force.
        phase: String,
    },
    /// The application is refused.
    Refused(Refusal),
}

/// Why an application is refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Refusal {
    /// The rollout has not reached this legal address yet.
    NotYetOpen {
        /// The day it opens.
        opens_on: Date,
        /// The phase that opens it.
        phase: String,
    },
    /// No phase of the policy ever opens this legal address.
    NeverOpens,
    /// Younger than the minimum age.
    UnderAge {
        /// The minimum age.
        minimum_age: u8,
        /// The day the applicant becomes old enough.
        eligible_on: Date,
    },
    /// Only Korean nationals are eligible.
    NotKorean,
    /// The applicant holds no resident card.
    NoResidentCard,
    /// The resident card has been reported lost.
    CardReportedLost,
    /// The IC route needs an IC card.
    IcCardRequired,
    /// The QR route starts at a community center desk.
    QrOnlyAtDesk,
    /// In this phase, applications are taken only in the legal address's district.
    OutsideJurisdiction {
        /// The legal address's district.
        legal_district: String,
        /// The desk's district.
        desk_district: String,
        /// The day any center will do.
        until: Option<Date>,
    },
    /// In this phase, applications are taken only at a community center, not online.
    OnlineNotYetOpen {
        /// The day online applications open.
        opens_on: Option<Date>,
    },
    /// The legal address's district code is not one the policy knows.
    UnknownDistrict {
        /// The code given.
        district: String,
    },
    /// `now` is outside the years the calendar handles.
    ClockOutOfRange,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotYetOpen { opens_on, phase } => write!(
                f,
                "not yet open for this legal address: opens on {opens_on} ({phase})"
            ),
            Self::NeverOpens => f.write_str("the rollout never opens this legal address"),
            Self::UnderAge {
                minimum_age,
                eligible_on,
            } => write!(f, "under {minimum_age}: eligible from {eligible_on}"),
            Self::NotKorean => f.write_str("only Korean nationals are eligible"),
            Self::NoResidentCard => f.write_str("no resident registration card"),
            Self::CardReportedLost => f.write_str("the resident card has been reported lost"),
            Self::IcCardRequired => f.write_str("the IC route needs an IC card"),
            Self::QrOnlyAtDesk => f.write_str("the QR route starts at a community center"),
            Self::OutsideJurisdiction {
                legal_district,
                desk_district,
                until,
            } => {
                write!(
                    f,
                    "apply at a center of district {legal_district}, not {desk_district}"
                )?;
                if let Some(d) = until {
                    write!(f, " (any center from {d})")?;
                }
                Ok(())
            }
            Self::OnlineNotYetOpen { opens_on } => {
                f.write_str("online applications are not open yet")?;
                if let Some(d) = opens_on {
                    write!(f, ": they open on {d}")?;
                }
                Ok(())
            }
            Self::UnknownDistrict { district } => write!(f, "unknown district code {district:?}"),
            Self::ClockOutOfRange => f.write_str("the current time is out of range"),
        }
    }
}

#[cfg(test)]
mod tests;
