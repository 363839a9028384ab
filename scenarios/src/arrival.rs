//! The arrival model: when (and whether, and how) each resident applies for a mobile ID.
//!
//! A pure function of (seed, resident, configuration, opening schedule), drawing from the
//! resident's own [`Stream::Arrival`] RNG, so it is the same in every shard and every replay.
//!
//! # The model
//! 1. **Who.** A resident applies within the horizon only if they hold a card, own a
//!    smartphone and are old enough by the horizon's end; then with probability
//!    `uptake × adoption_propensity`.
//! 2. **From when.** The earliest instant is the later of their legal address's opening
//!    ([`Openings::opens_at`], fed in by the simulation from the issuer's rollout data) and
//!    local midnight of the day they reach the minimum age.
//! 3. **Which day.** Interest decays after that start: the delay in days is exponential with
//!    the configured half-life `h`, so a share `1 - 2^(-d/h)` would apply within `d` days
//!    (or hyperbolic, `d / (d + h)`, for a longer tail).
//!    The day it lands on is then accepted with probability proportional to the channel's
//!    weekday weight, and redrawn otherwise. Because the weekday weights repeat weekly, the
//!    share of arrivals in the first 7 days stays exactly `1 - 2^(-7/h)` for exponential decay
//!    (the redraw only moves arrivals between weekdays inside each week).
//! 4. **Which channel.** Older-card holders visit a community center (QR route). IC holders
//!    tap in the app from anywhere once online application opens
//!    ([`Openings::online_from`]); before that they too must visit a center.
//! 5. **What time.** A desk visit falls in the opening hours (default 09:00-18:00 KST, weekdays
//!    only) with an hourly pattern; a remote tap follows a daytime pattern over all 24 hours.
//! 6. **Extras.** Some older-card holders swap to an IC card at the desk first (then issue by
//!    IC tap there); some applicants also try once too early, in the two weeks before their
//!    address opens, which the issuer should refuse as not yet open.
//!
//! Public holidays and a second surge when online application opens are not modelled.

use rand::RngExt;
use serde::{Deserialize, Serialize};
use time::macros::date;
use time::Date;

use crate::population::{CardType, Resident};
use crate::region::District;
use crate::rng::{rng_for, Stream};
use crate::vtime::{self, UnixTime};
use crate::Error;

/// When residents of a district can first apply. Implemented by the simulation from the
/// issuer's rollout policy; [`OpeningTable`] is a ready-made one.
pub trait Openings {
    /// The instant residents whose legal address is in `district` can first apply at a
    /// community center, or `None` if never within the schedule.
    fn opens_at(&self, district: &District) -> Option<UnixTime>;

    /// The instant IC holders can apply online (tap from anywhere), if ever.
    fn online_from(&self) -> Option<UnixTime>;
}

/// An opening schedule as a list of (district-code prefix, opening instant); a district opens
/// at the earliest instant among the prefixes it matches (`""` matches every district).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningTable {
    /// District-code prefixes and when they open.
    pub areas: Vec<(String, UnixTime)>,
    /// When IC holders can apply online.
    pub online: Option<UnixTime>,
}

impl OpeningTable {
    /// DOMAIN.md's 2024-25 schedule ("Rollout schedule"), opening at local midnight KST: the
    /// pilot areas on 2024-12-27, phases 1-3 on 2025-02-14, 02-28 and 03-14, everyone (and
    /// online application for IC holders) on 2025-03-28. District codes as in the issuer's
    /// rollout data. For tests and defaults; a simulation should feed in the issuer's data.
    pub fn korea_2025() -> OpeningTable {
        let at = |d: Date| vtime::midnight_of(d, vtime::KST_OFFSET_SECONDS);
        let mut areas = Vec::new();
        let mut add = |codes: &[&str], d: Date| {
            for c in codes {
                areas.push(((*c).to_owned(), at(d)));
            }
        };
        add(
            &[
                "36110", "51720", "4128", "48880", "30170", "27720", "31710", "46130", "46830",
            ],
            date!(2024 - 12 - 27),
        );
        add(
            &["27", "30", "31", "36", "51", "52", "46", "47", "48", "50"],
            date!(2025 - 02 - 14),
        );
        add(&["28", "41", "43", "44"], date!(2025 - 02 - 28));
        add(&["11", "26", "29"], date!(2025 - 03 - 14));
        add(&[""], date!(2025 - 03 - 28));
        OpeningTable {
            areas,
            online: Some(at(date!(2025 - 03 - 28))),
        }
    }
}

impl Openings for OpeningTable {
    fn opens_at(&self, district: &District) -> Option<UnixTime> {
        self.areas
            .iter()
            .filter(|(prefix, _)| prefix.is_empty() || district.code_starts_with(prefix))
            .map(|(_, t)| *t)
            .min()
    }

    fn online_from(&self) -> Option<UnixTime> {
        self.online
    }
}

/// How a resident applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// IC card tapped on the phone (NFC).
    IcTap,
    /// One-time QR code at a community center desk (older card).
    Qr,
}

/// Where a resident applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// At a community center desk, during opening hours.
    Desk,
    /// Anywhere, in the app.
    Remote,
}

/// A decided application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    /// When the resident starts the application (arrives at the desk, or opens the app).
    pub at: UnixTime,
    /// Card route.
    pub route: Route,
    /// Desk or remote.
    pub channel: Channel,
    /// An older-card holder who first swaps to an IC card at the desk (paying the fee, see
    /// the issuer's policy) and then issues by IC tap there.
    pub swaps_card: bool,
    /// An attempt before the address opened (heard of the launch elsewhere): the issuer
    /// should refuse it as not yet open. Same channel rules as `at`, strictly before the
    /// resident's start.
    pub early_attempt: Option<UnixTime>,
}

/// Why a resident does not apply within the horizon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NoArrival {
    /// Holds no resident card.
    NoCard,
    /// Owns no smartphone.
    NoSmartphone,
    /// Below the minimum age until after the horizon.
    TooYoung,
    /// The schedule never opens for their legal address.
    NeverOpens,
    /// Not interested (the uptake draw).
    NotInterested,
    /// Would apply, but after the horizon.
    AfterHorizon,
}

/// The decision for one resident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Applies at this instant by this route.
    Applies(Arrival),
    /// Does not apply within the horizon.
    DoesNot(NoArrival),
}

/// How interest decays after a resident's start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    /// Exponential: a share `1 - 2^(-d/h)` within `d` days.
    #[default]
    Exponential,
    /// Hyperbolic (a long tail of latecomers): a share `d / (d + h)` within `d` days.
    Hyperbolic,
}

/// Weekday and hourly pattern of one channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayPattern {
    /// Relative weight of Monday..Sunday (0 closes the day).
    pub weekday_weights: [f64; 7],
    /// First hour (local) with arrivals.
    pub open_hour: u8,
    /// Hour (local) at which arrivals stop; `open_hour < close_hour <= 24`.
    pub close_hour: u8,
    /// Relative weight of each hour from `open_hour` to `close_hour - 1`.
    pub hour_weights: Vec<f64>,
}

/// The arrival model's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArrivalConfig {
    /// Local time's offset from UTC in seconds (KST: 32400).
    pub utc_offset_seconds: i32,
    /// Half-life of interest after a resident's start, in days: half of those who apply do
    /// so within this many days (before weekday and horizon effects).
    pub half_life_days: f64,
    /// Shape of the decay.
    pub decay: Decay,
    /// Scales adoption propensity into the probability of applying within the horizon.
    pub uptake: f64,
    /// Minimum age to apply (DOMAIN.md: 17).
    pub min_age: u8,
    /// Share of older-card holders who swap to an IC card at the desk before issuing.
    pub swap_to_ic_share: f64,
    /// Share of applicants who also try once, too early, in the days before their address
    /// opens.
    pub early_attempt_share: f64,
    /// How many days before their opening early attempts happen (uniformly), 1..=365.
    pub early_window_days: u16,
    /// Last local day on which arrivals happen.
    pub horizon_end: Date,
    /// Community center visits: weekdays 09:00-18:00 by default.
    pub desk: DayPattern,
    /// Remote taps in the app: every day, a daytime pattern over 24 hours.
    pub remote: DayPattern,
}

impl Default for ArrivalConfig {
    fn default() -> Self {
        ArrivalConfig {
            utc_offset_seconds: vtime::KST_OFFSET_SECONDS,
            half_life_days: 7.0,
            decay: Decay::Exponential,
            uptake: 1.0,
            min_age: 17,
            swap_to_ic_share: 0.1,
            early_attempt_share: 0.02,
            early_window_days: 14,
            horizon_end: date!(2025 - 12 - 31),
            desk: DayPattern {
                weekday_weights: [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0],
                open_hour: 9,
                close_hour: 18,
                // Busy mornings, a lunchtime dip, a late-afternoon rush.
                hour_weights: vec![1.4, 1.3, 1.1, 0.7, 0.9, 1.0, 1.0, 1.1, 0.8],
            },
            remote: DayPattern {
                weekday_weights: [1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.8],
                open_hour: 0,
                close_hour: 24,
                hour_weights: vec![
                    0.3, 0.15, 0.08, 0.05, 0.05, 0.1, 0.3, 0.7, 1.0, 1.2, 1.3, 1.3, 1.5, 1.3, 1.2,
                    1.2, 1.2, 1.2, 1.3, 1.4, 1.6, 1.6, 1.2, 0.7,
                ],
            },
        }
    }
}

fn finite_nonneg(field: &'static str, v: f64) -> Result<(), Error> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            field,
            format!("{v} is not a finite number >= 0"),
        ))
    }
}

impl DayPattern {
    fn validate(&self, field: &'static str) -> Result<(), Error> {
        for &w in self.weekday_weights.iter().chain(&self.hour_weights) {
            finite_nonneg(field, w)?;
        }
        if self.weekday_weights.iter().sum::<f64>() <= 0.0 {
            return Err(Error::config(field, "no weekday has a positive weight"));
        }
        if !(self.open_hour < self.close_hour && self.close_hour <= 24) {
            return Err(Error::config(
                field,
                format!(
                    "hours {}..{} are not within 0..24",
                    self.open_hour, self.close_hour
                ),
            ));
        }
        let hours = usize::from(self.close_hour - self.open_hour);
        if self.hour_weights.len() != hours {
            return Err(Error::config(
                field,
                format!(
                    "{} hour weights for {hours} open hours",
                    self.hour_weights.len()
                ),
            ));
        }
        if self.hour_weights.iter().sum::<f64>() <= 0.0 {
            return Err(Error::config(field, "no hour has a positive weight"));
        }
        Ok(())
    }
}

/// A validated pattern with its sampling tables.
#[derive(Clone, Debug)]
struct Pattern {
    /// Weekday acceptance probabilities (weight / max weight).
    accept: [f64; 7],
    open_hour: u8,
    /// Cumulative hour weights, normalised to end at 1.
    hours: Vec<f64>,
}

impl Pattern {
    fn new(p: &DayPattern) -> Pattern {
        let max = p.weekday_weights.iter().copied().fold(0.0, f64::max);
        let accept = p.weekday_weights.map(|w| w / max);
        let total: f64 = p.hour_weights.iter().sum();
        let mut acc = 0.0;
        let hours = p
            .hour_weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        Pattern {
            accept,
            open_hour: p.open_hour,
            hours,
        }
    }

    /// A second of the local day: an hour by weight, then uniform within it.
    fn second_of_day<R: RngExt + ?Sized>(&self, rng: &mut R) -> i64 {
        let u = rng.random::<f64>();
        let h = self
            .hours
            .partition_point(|c| *c <= u)
            .min(self.hours.len().saturating_sub(1));
        let hour = i64::from(self.open_hour) + h as i64;
        hour * 3600 + rng.random_range(0..3600i64)
    }
}

/// The arrival model: a validated [`ArrivalConfig`] with its sampling tables.
#[derive(Clone, Debug)]
pub struct ArrivalModel {
    config: ArrivalConfig,
    lambda_per_day: f64,
    desk: Pattern,
    remote: Pattern,
}

/// Bound on redraws of a day rejected by the weekday pattern. With any valid pattern the
/// acceptance probability per draw is at least 1/7, so this is never reached in practice.
const MAX_DRAWS: usize = 1000;

impl ArrivalModel {
    /// Validates the configuration and builds the sampling tables.
    pub fn new(config: ArrivalConfig) -> Result<ArrivalModel, Error> {
        if !(config.half_life_days.is_finite() && config.half_life_days > 0.0) {
            return Err(Error::config(
                "arrival.half_life_days",
                format!("{} is not a finite number > 0", config.half_life_days),
            ));
        }
        if !(config.uptake.is_finite() && (0.0..=1.0).contains(&config.uptake)) {
            return Err(Error::config(
                "arrival.uptake",
                format!("{} is not a share in 0..=1", config.uptake),
            ));
        }
        if !(-18 * 3600..=18 * 3600).contains(&config.utc_offset_seconds) {
            return Err(Error::config(
                "arrival.utc_offset_seconds",
                "must be within ±18 hours",
            ));
        }
        for (field, v) in [
            ("arrival.swap_to_ic_share", config.swap_to_ic_share),
            ("arrival.early_attempt_share", config.early_attempt_share),
        ] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(Error::config(field, format!("{v} is not a share in 0..=1")));
            }
        }
        if !(1..=365).contains(&config.early_window_days) {
            return Err(Error::config(
                "arrival.early_window_days",
                format!("{} is not in 1..=365", config.early_window_days),
            ));
        }
        config.desk.validate("arrival.desk")?;
        config.remote.validate("arrival.remote")?;
        Ok(ArrivalModel {
            lambda_per_day: std::f64::consts::LN_2 / config.half_life_days,
            desk: Pattern::new(&config.desk),
            remote: Pattern::new(&config.remote),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ArrivalConfig {
        &self.config
    }

    /// The decision for `resident` in the run with `seed`.
    pub fn decide(&self, seed: u64, resident: &Resident, openings: &impl Openings) -> Decision {
        let mut rng = rng_for(seed, resident.index, Stream::Arrival);
        let cfg = &self.config;
        let off = cfg.utc_offset_seconds;
        if resident.card == CardType::None {
            return Decision::DoesNot(NoArrival::NoCard);
        }
        if !resident.has_smartphone() {
            return Decision::DoesNot(NoArrival::NoSmartphone);
        }
        let of_age = resident.birthday_at(cfg.min_age);
        if of_age > cfg.horizon_end {
            return Decision::DoesNot(NoArrival::TooYoung);
        }
        let Some(opens) = openings.opens_at(resident.district()) else {
            return Decision::DoesNot(NoArrival::NeverOpens);
        };
        if !rng.random_bool((cfg.uptake * resident.adoption_propensity).clamp(0.0, 1.0)) {
            return Decision::DoesNot(NoArrival::NotInterested);
        }
        let start = opens.max(vtime::midnight_of(of_age, off));
        let online = match resident.card {
            CardType::Ic => openings.online_from(),
            _ => None,
        };
        let Some(at) = self.arrival_after(start, online, &mut rng) else {
            return Decision::DoesNot(NoArrival::AfterHorizon);
        };
        let remote = online.is_some_and(|o| at >= o);
        let swaps_card =
            resident.card == CardType::Plastic && rng.random_bool(cfg.swap_to_ic_share);
        let early_attempt = if rng.random_bool(cfg.early_attempt_share) {
            self.early_attempt(start, online, &mut rng)
        } else {
            None
        };
        Decision::Applies(Arrival {
            at,
            route: if resident.card == CardType::Ic || swaps_card {
                Route::IcTap
            } else {
                Route::Qr
            },
            channel: if remote {
                Channel::Remote
            } else {
                Channel::Desk
            },
            swaps_card,
            early_attempt,
        })
    }

    /// A premature attempt in the `early_window_days` before `start`: a uniform day, kept
    /// with the channel's weekday weight, at a time from its hourly pattern; `None` if no
    /// draw lands strictly before `start`.
    fn early_attempt<R: RngExt + ?Sized>(
        &self,
        start: UnixTime,
        online: Option<UnixTime>,
        rng: &mut R,
    ) -> Option<UnixTime> {
        let off = self.config.utc_offset_seconds;
        let start_day = vtime::local_day(start, off);
        let window = i64::from(self.config.early_window_days);
        for _ in 0..MAX_DRAWS {
            let day = start_day - rng.random_range(1..=window);
            let remote = online.is_some_and(|o| vtime::local_day(o, off) <= day);
            let pattern = if remote { &self.remote } else { &self.desk };
            if rng.random::<f64>() >= pattern.accept[vtime::weekday_index(day)] {
                continue;
            }
            let at = vtime::local_midnight(day, off) + pattern.second_of_day(rng);
            if at < start && !online.is_some_and(|o| remote && at < o) {
                return Some(at);
            }
        }
        None
    }

    /// When the community centers close on the local day of `t` (the desk pattern's
    /// `close_hour`): the `closes` argument of [`crate::desk::DeskQueue::arrive`].
    pub fn desk_closes_at(&self, t: UnixTime) -> UnixTime {
        let off = self.config.utc_offset_seconds;
        vtime::local_midnight(vtime::local_day(t, off), off)
            + i64::from(self.config.desk.close_hour) * 3600
    }

    /// The core draw: an arrival instant at or after `start` for someone who must visit a
    /// desk until `online` (remote from then on; `None`: always a desk), or `None` if it
    /// falls after the horizon. Exposed for tests and for callers with their own eligibility.
    pub fn arrival_after<R: RngExt + ?Sized>(
        &self,
        start: UnixTime,
        online: Option<UnixTime>,
        rng: &mut R,
    ) -> Option<UnixTime> {
        let off = self.config.utc_offset_seconds;
        let start_day = vtime::local_day(start, off);
        let horizon_day = vtime::day_of_date(self.config.horizon_end);
        let online_day = online.map(|o| vtime::local_day(o, off));
        for _ in 0..MAX_DRAWS {
            let u: f64 = rng.random();
            let delay_days = match self.config.decay {
                Decay::Exponential => -(1.0 - u).ln() / self.lambda_per_day,
                // Inverse of F(t) = t / (t + h).
                Decay::Hyperbolic => self.config.half_life_days * u / (1.0 - u),
            };
            // Saturating: a delay of centuries is simply "after the horizon".
            let day = start_day.saturating_add(delay_days.min(1e9) as i64);
            let remote = online_day.is_some_and(|o| day >= o);
            let pattern = if remote { &self.remote } else { &self.desk };
            if rng.random::<f64>() >= pattern.accept[vtime::weekday_index(day)] {
                continue;
            }
            if day > horizon_day {
                return None;
            }
            let at = vtime::local_midnight(day, off) + pattern.second_of_day(rng);
            if at < start || online.is_some_and(|o| remote && at < o) {
                continue;
            }
            return Some(at);
        }
        None
    }
}

#[cfg(test)]
mod tests;
