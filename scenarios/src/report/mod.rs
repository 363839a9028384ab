//! Rollout reports: what a run measured, as JSON with a stable schema, merged exactly across
//! shards, and rendered as SVG charts and a self-contained HTML page.
//!
//! The JSON schema is documented field by field in `docs/report-schema.md` and on the types
//! here. Its rules:
//! - **Deterministic.** Everything except the `wall_clock` section is a function of the
//!   run's seed and configuration: maps are `BTreeMap`s, floats are derived only from
//!   integers at output, and [`Report::to_deterministic_json`] leaves `wall_clock` out.
//!   The same seed and configuration give byte-identical deterministic JSON.
//! - **Mergeable.** Shards of the same run (same seed, population size, configuration digest
//!   and phases, disjoint index ranges) merge exactly with [`Report::merge`]: counts add, and
//!   histograms merge by adding counts. Merging shard reports gives the same deterministic
//!   JSON as one run over the union of their ranges.
//! - **Stable.** `schema_version` changes only when a field changes meaning or disappears;
//!   new fields may be added without a version change, and readers ignore unknown fields.

mod hist;
mod html;
mod svg;

pub use hist::{Hist, HIST_MAX, HIST_SIGFIG};
pub use html::render_html;
pub use svg::{Chart, ChartKind, Marker, Series};

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use protocol::crypto::OpCounts;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sim_issuer::issuer::Retained;
use time::Date;

use crate::arrival::Route;
use crate::region::Region;
use crate::Error;

/// The outcome a presentation the relying party accepted is counted under.
pub const PRESENTATION_ACCEPTED: &str = "accepted";

/// The `schema` value of every report.
pub const SCHEMA: &str = "midsim-rollout-report";
/// The current schema version.
pub const SCHEMA_VERSION: u32 = 1;

/// How a route is labelled in charts and the HTML page.
fn route_name(r: Route) -> &'static str {
    match r {
        Route::IcTap => "IC tap",
        Route::Qr => "QR at desk",
    }
}

/// A calendar day (local time of the run), `"YYYY-MM-DD"` in JSON, usable as a map key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub Date);

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(f, "{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
    }
}

impl FromStr for Day {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        Date::parse(s, fmt)
            .map(Day)
            .map_err(|e| Error::ReportJson(format!("day {s:?}: {e}")))
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A rollout phase as the report shows it (a marker on every chart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    /// Name ("pilot", "phase 1", ..., "nationwide").
    pub name: String,
    /// Opening day.
    pub opens: Day,
}

/// What run the report describes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The run's seed.
    pub seed: u64,
    /// Residents in the whole population (all shards).
    pub population_size: u64,
    /// Identifies the configuration (e.g. a hash of the config file); shards must agree.
    pub config_digest: String,
    /// Population index ranges `[start, end)` covered by this report, sorted and coalesced.
    pub shards: Vec<(u64, u64)>,
    /// First simulated day.
    pub start: Day,
    /// Last simulated day.
    pub end: Day,
    /// Rollout phases, in opening order.
    pub phases: Vec<Phase>,
}

/// Counts per day per key, e.g. refusals per reason per day.
pub type DailyCounts = BTreeMap<String, BTreeMap<Day, u64>>;

/// A histogram over the whole run and one per day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistSeries {
    /// All values of the run.
    pub all: Hist,
    /// Values per day.
    pub by_day: BTreeMap<Day, Hist>,
}

impl HistSeries {
    /// Records `value` on `day`.
    pub fn record(&mut self, day: Day, value: u64) {
        self.all.record(value);
        self.by_day.entry(day).or_default().record(value);
    }

    fn merge(&mut self, other: &HistSeries) -> Result<(), Error> {
        self.all.merge(&other.all)?;
        for (day, h) in &other.by_day {
            self.by_day.entry(*day).or_default().merge(h)?;
        }
        Ok(())
    }
}

/// Wall-clock measurements of one shard: not deterministic, kept apart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WallClock {
    /// The shard's index range.
    pub shard: (u64, u64),
    /// Wall time of the run in seconds.
    pub elapsed_seconds: f64,
    /// Flows completed per wall-clock second.
    pub flows_per_second: f64,
    /// Peak resident memory in bytes, if measured.
    pub peak_rss_bytes: Option<u64>,
    /// The crypto provider the shard ran with (`rustcrypto`, `aws-lc`).
    #[serde(default)]
    pub crypto_provider: Option<String>,
}

/// A rollout report. Record into it during a run; merge shard reports; write it as JSON,
/// charts or HTML.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// What run this is.
    pub run: RunInfo,
    /// Issuances per day, by route, by region of the legal address.
    pub issuances: BTreeMap<Day, BTreeMap<Route, BTreeMap<Region, u64>>>,
    /// Residents eligible to apply (17+ by the end, with a card), by region: the
    /// denominators of adoption.
    pub eligible_by_region: BTreeMap<Region, u64>,
    /// Refusals per reason (`not_yet_open`, `under_age`, `wrong_password`, ...) per day.
    pub refusals: DailyCounts,
    /// Failed flows per kind (`timeout`, `torn_tap`, ...) per day.
    pub failures: DailyCounts,
    /// Life-cycle events after issuance per kind (`card_reported_lost`, `reissued`, ...)
    /// per day. Reissues are counted here, not in `issuances`.
    pub events: DailyCounts,
    /// Desk queue waits in milliseconds.
    pub desk_wait_ms: HistSeries,
    /// Issuer request latency in microseconds.
    pub issuer_latency_us: HistSeries,
    /// Presentations at relying parties per kind (`government`, `bank`, `hospital`,
    /// `age-check`), per outcome (`accepted`, a verifier refusal key such as `revoked`, an
    /// `m900_<code>`, or `declined_by_holder`), per day.
    pub presentations: BTreeMap<String, DailyCounts>,
    /// Relying parties' request latency in microseconds, per kind.
    pub verifier_latency_us: BTreeMap<String, HistSeries>,
    /// Public-key operations and SHA-256 computations of the whole run (issuer set-up,
    /// card personalisation and every flow), counted by `protocol::crypto`. The same under
    /// every provider.
    pub crypto_ops: OpCounts,
    /// What the issuer keeps at the end of the run (summed over shards): its memory grows
    /// with these, the engine's does not.
    pub issuer_records: Retained,
    /// Wall-clock figures per shard (not deterministic; left out of the deterministic JSON).
    pub wall_clock: Vec<WallClock>,
}

/// Totals derived from the counts, for people reading the JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// All issuances.
    pub issued: u64,
    /// Issuances by route.
    pub issued_by_route: BTreeMap<Route, u64>,
    /// Issuances by region.
    pub issued_by_region: BTreeMap<Region, u64>,
    /// All eligible residents.
    pub eligible: u64,
    /// All refusals.
    pub refused: u64,
    /// All failures.
    pub failed: u64,
    /// All presentations at relying parties.
    #[serde(default)]
    pub presented: u64,
    /// Presentations the relying party accepted.
    #[serde(default)]
    pub presentations_accepted: u64,
}

/// The JSON document: stored fields plus derived ones (`totals`, `cumulative_adoption`).
#[derive(Serialize)]
struct ReportOut<'a> {
    schema: &'static str,
    schema_version: u32,
    run: &'a RunInfo,
    totals: Totals,
    issuances: &'a BTreeMap<Day, BTreeMap<Route, BTreeMap<Region, u64>>>,
    eligible_by_region: &'a BTreeMap<Region, u64>,
    cumulative_adoption: BTreeMap<Region, Vec<(Day, u64)>>,
    refusals: &'a DailyCounts,
    failures: &'a DailyCounts,
    events: &'a DailyCounts,
    desk_wait_ms: &'a HistSeries,
    issuer_latency_us: &'a HistSeries,
    presentations: &'a BTreeMap<String, DailyCounts>,
    verifier_latency_us: &'a BTreeMap<String, HistSeries>,
    crypto_ops: &'a OpCounts,
    issuer_records: &'a Retained,
    #[serde(skip_serializing_if = "Option::is_none")]
    wall_clock: Option<&'a Vec<WallClock>>,
}

/// What a reader needs from the JSON (derived fields are recomputed, unknown ones ignored).
#[derive(Deserialize)]
struct ReportIn {
    schema: String,
    schema_version: u32,
    run: RunInfo,
    #[serde(default)]
    issuances: BTreeMap<Day, BTreeMap<Route, BTreeMap<Region, u64>>>,
    #[serde(default)]
    eligible_by_region: BTreeMap<Region, u64>,
    #[serde(default)]
    refusals: DailyCounts,
    #[serde(default)]
    failures: DailyCounts,
    #[serde(default)]
    events: DailyCounts,
    #[serde(default)]
    desk_wait_ms: HistSeries,
    #[serde(default)]
    issuer_latency_us: HistSeries,
    #[serde(default)]
    presentations: BTreeMap<String, DailyCounts>,
    #[serde(default)]
    verifier_latency_us: BTreeMap<String, HistSeries>,
    #[serde(default)]
    crypto_ops: OpCounts,
    #[serde(default)]
    issuer_records: Retained,
    #[serde(default)]
    wall_clock: Vec<WallClock>,
}

fn add_daily(into: &mut DailyCounts, from: &DailyCounts) {
    for (key, days) in from {
        let dst = into.entry(key.clone()).or_default();
        for (day, n) in days {
            *dst.entry(*day).or_default() += n;
        }
    }
}

fn coalesce(ranges: &mut Vec<(u64, u64)>) -> Result<(), Error> {
    ranges.retain(|r| r.0 < r.1);
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for &(s, e) in ranges.iter() {
        match out.last_mut() {
            Some(last) if s < last.1 => {
                return Err(Error::ReportMismatch(format!(
                    "index ranges overlap: [{}, {}) and [{s}, {e})",
                    last.0, last.1
                )))
            }
            Some(last) if s == last.1 => last.1 = e,
            _ => out.push((s, e)),
        }
    }
    *ranges = out;
    Ok(())
}

impl Report {
    /// An empty report for `run`.
    pub fn new(run: RunInfo) -> Report {
        Report {
            run,
            issuances: BTreeMap::new(),
            eligible_by_region: BTreeMap::new(),
            refusals: BTreeMap::new(),
            failures: BTreeMap::new(),
            events: BTreeMap::new(),
            desk_wait_ms: HistSeries::default(),
            issuer_latency_us: HistSeries::default(),
            presentations: BTreeMap::new(),
            verifier_latency_us: BTreeMap::new(),
            crypto_ops: OpCounts::ZERO,
            issuer_records: Retained::default(),
            wall_clock: Vec::new(),
        }
    }

    /// Counts one issuance.
    pub fn record_issuance(&mut self, day: Day, route: Route, region: Region) {
        *self
            .issuances
            .entry(day)
            .or_default()
            .entry(route)
            .or_default()
            .entry(region)
            .or_default() += 1;
    }

    /// Counts one eligible resident of `region`.
    pub fn record_eligible(&mut self, region: Region) {
        *self.eligible_by_region.entry(region).or_default() += 1;
    }

    /// Counts one refusal for `reason` (snake_case) on `day`.
    pub fn record_refusal(&mut self, day: Day, reason: &str) {
        *self
            .refusals
            .entry(reason.to_owned())
            .or_default()
            .entry(day)
            .or_default() += 1;
    }

    /// Counts one failed flow of `kind` (snake_case) on `day`.
    pub fn record_failure(&mut self, day: Day, kind: &str) {
        *self
            .failures
            .entry(kind.to_owned())
            .or_default()
            .entry(day)
            .or_default() += 1;
    }

    /// Counts one life-cycle event of `kind` (snake_case) on `day`.
    pub fn record_event(&mut self, day: Day, kind: &str) {
        *self
            .events
            .entry(kind.to_owned())
            .or_default()
            .entry(day)
            .or_default() += 1;
    }

    /// Records a desk wait in milliseconds.
    pub fn record_desk_wait(&mut self, day: Day, wait_ms: u64) {
        self.desk_wait_ms.record(day, wait_ms);
    }

    /// Records an issuer request latency in microseconds.
    pub fn record_issuer_latency(&mut self, day: Day, micros: u64) {
        self.issuer_latency_us.record(day, micros);
    }

    /// Counts one presentation at a relying party of `kind` with `outcome` on `day`
    /// ([`PRESENTATION_ACCEPTED`], a refusal key, `m900_<code>` or `declined_by_holder`).
    pub fn record_presentation(&mut self, day: Day, kind: &str, outcome: &str) {
        *self
            .presentations
            .entry(kind.to_owned())
            .or_default()
            .entry(outcome.to_owned())
            .or_default()
            .entry(day)
            .or_default() += 1;
    }

    /// Records a relying party's request latency in microseconds.
    pub fn record_verifier_latency(&mut self, day: Day, kind: &str, micros: u64) {
        self.verifier_latency_us
            .entry(kind.to_owned())
            .or_default()
            .record(day, micros);
    }

    /// Merges another shard's report of the same run into this one.
    ///
    /// Fails, changing nothing, if the runs differ (seed, population size, configuration
    /// digest, phases, dates) or the index ranges overlap.
    pub fn merge(&mut self, other: &Report) -> Result<(), Error> {
        let (a, b) = (&self.run, &other.run);
        let same = a.seed == b.seed
            && a.population_size == b.population_size
            && a.config_digest == b.config_digest
            && a.start == b.start
            && a.end == b.end
            && a.phases == b.phases;
        if !same {
            return Err(Error::ReportMismatch(format!(
                "seed {} vs {}, population {} vs {}, config {:?} vs {:?}, or dates and phases differ",
                a.seed, b.seed, a.population_size, b.population_size, a.config_digest, b.config_digest
            )));
        }
        let mut shards = a.shards.clone();
        shards.extend_from_slice(&b.shards);
        coalesce(&mut shards)?;
        // Histogram merges can fail only on layout mismatch; do them on copies first so a
        // failure leaves `self` unchanged.
        let mut desk = self.desk_wait_ms.clone();
        desk.merge(&other.desk_wait_ms)?;
        let mut latency = self.issuer_latency_us.clone();
        latency.merge(&other.issuer_latency_us)?;
        let mut verifier_latency = self.verifier_latency_us.clone();
        for (kind, h) in &other.verifier_latency_us {
            verifier_latency.entry(kind.clone()).or_default().merge(h)?;
        }

        self.run.shards = shards;
        self.desk_wait_ms = desk;
        self.issuer_latency_us = latency;
        self.verifier_latency_us = verifier_latency;
        for (kind, counts) in &other.presentations {
            add_daily(self.presentations.entry(kind.clone()).or_default(), counts);
        }
        for (day, routes) in &other.issuances {
            let d = self.issuances.entry(*day).or_default();
            for (route, regions) in routes {
                let r = d.entry(*route).or_default();
                for (region, n) in regions {
                    *r.entry(*region).or_default() += n;
                }
            }
        }
        for (region, n) in &other.eligible_by_region {
            *self.eligible_by_region.entry(*region).or_default() += n;
        }
        add_daily(&mut self.refusals, &other.refusals);
        add_daily(&mut self.failures, &other.failures);
        add_daily(&mut self.events, &other.events);
        self.crypto_ops += other.crypto_ops;
        let (a, b) = (&mut self.issuer_records, &other.issuer_records);
        a.residents += b.residents;
        a.credentials += b.credentials;
        a.active += b.active;
        a.offers += b.offers;
        a.tokens += b.tokens;
        a.nonces += b.nonces;
        a.idempotency += b.idempotency;
        self.wall_clock.extend(other.wall_clock.iter().cloned());
        self.wall_clock.sort_by_key(|w| w.shard);
        Ok(())
    }

    /// Totals over the whole run.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for routes in self.issuances.values() {
            for (route, regions) in routes {
                for (region, n) in regions {
                    t.issued += n;
                    *t.issued_by_route.entry(*route).or_default() += n;
                    *t.issued_by_region.entry(*region).or_default() += n;
                }
            }
        }
        t.eligible = self.eligible_by_region.values().sum();
        t.refused = self.refusals.values().flat_map(|d| d.values()).sum();
        t.failed = self.failures.values().flat_map(|d| d.values()).sum();
        for outcomes in self.presentations.values() {
            for (outcome, days) in outcomes {
                let n: u64 = days.values().sum();
                t.presented += n;
                if outcome == PRESENTATION_ACCEPTED {
                    t.presentations_accepted += n;
                }
            }
        }
        t
    }

    /// Cumulative issuances per region at the end of each day that had any (both routes).
    pub fn cumulative_adoption(&self) -> BTreeMap<Region, Vec<(Day, u64)>> {
        let mut running: BTreeMap<Region, u64> = BTreeMap::new();
        let mut out: BTreeMap<Region, Vec<(Day, u64)>> = BTreeMap::new();
        for (day, routes) in &self.issuances {
            let mut today: BTreeMap<Region, u64> = BTreeMap::new();
            for regions in routes.values() {
                for (region, n) in regions {
                    *today.entry(*region).or_default() += n;
                }
            }
            for (region, n) in today {
                let total = running.entry(region).or_default();
                *total += n;
                out.entry(region).or_default().push((*day, *total));
            }
        }
        out
    }

    fn to_out(&self, with_wall_clock: bool) -> ReportOut<'_> {
        ReportOut {
            schema: SCHEMA,
            schema_version: SCHEMA_VERSION,
            run: &self.run,
            totals: self.totals(),
            issuances: &self.issuances,
            eligible_by_region: &self.eligible_by_region,
            cumulative_adoption: self.cumulative_adoption(),
            refusals: &self.refusals,
            failures: &self.failures,
            events: &self.events,
            desk_wait_ms: &self.desk_wait_ms,
            issuer_latency_us: &self.issuer_latency_us,
            presentations: &self.presentations,
            verifier_latency_us: &self.verifier_latency_us,
            crypto_ops: &self.crypto_ops,
            issuer_records: &self.issuer_records,
            wall_clock: with_wall_clock.then_some(&self.wall_clock),
        }
    }

    /// The deterministic JSON: everything but `wall_clock`. Byte-identical for the same seed
    /// and configuration.
    pub fn to_deterministic_json(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(&self.to_out(false))
            .map_err(|e| Error::ReportJson(e.to_string()))
    }

    /// The full JSON, with the `wall_clock` section last.
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(&self.to_out(true))
            .map_err(|e| Error::ReportJson(e.to_string()))
    }

    /// Parses a report written by [`Report::to_json`] or [`Report::to_deterministic_json`].
    pub fn from_json(json: &str) -> Result<Report, Error> {
        let r: ReportIn =
            serde_json::from_str(json).map_err(|e| Error::ReportJson(e.to_string()))?;
        if r.schema != SCHEMA {
            return Err(Error::ReportJson(format!(
                "schema {:?} is not {SCHEMA:?}",
                r.schema
            )));
        }
        if r.schema_version != SCHEMA_VERSION {
            return Err(Error::ReportJson(format!(
                "schema version {} is not {SCHEMA_VERSION}",
                r.schema_version
            )));
        }
        let mut run = r.run;
        coalesce(&mut run.shards)?;
        Ok(Report {
            run,
            issuances: r.issuances,
            eligible_by_region: r.eligible_by_region,
            refusals: r.refusals,
            failures: r.failures,
            events: r.events,
            desk_wait_ms: r.desk_wait_ms,
            issuer_latency_us: r.issuer_latency_us,
            presentations: r.presentations,
            verifier_latency_us: r.verifier_latency_us,
            crypto_ops: r.crypto_ops,
            issuer_records: r.issuer_records,
            wall_clock: r.wall_clock,
        })
    }

    /// The report's charts, in the order the HTML page shows them: issuances per day by route
    /// and by region, cumulative adoption by region, desk waits, issuer latency percentiles,
    /// refusals by reason. Each carries the phase dates as markers.
    pub fn charts(&self) -> Vec<Chart> {
        let markers: Vec<Marker> = self
            .run
            .phases
            .iter()
            .map(|p| Marker {
                day: p.opens.0,
                label: p.name.clone(),
            })
            .collect();
        let chart = |title: &str, y_label: &str, kind: ChartKind, series: Vec<Series>| Chart {
            title: title.to_owned(),
            y_label: y_label.to_owned(),
            kind,
            start: self.run.start.0,
            end: self.run.end.0,
            series,
            markers: markers.clone(),
        };

        let mut by_route: BTreeMap<Route, Vec<(Date, f64)>> = BTreeMap::new();
        let mut by_region: BTreeMap<Region, Vec<(Date, f64)>> = BTreeMap::new();
        for (day, routes) in &self.issuances {
            let mut regions_today: BTreeMap<Region, u64> = BTreeMap::new();
            for (route, regions) in routes {
                let n: u64 = regions.values().sum();
                by_route.entry(*route).or_default().push((day.0, n as f64));
                for (region, n) in regions {
                    *regions_today.entry(*region).or_default() += n;
                }
            }
            for (region, n) in regions_today {
                by_region.entry(region).or_default().push((day.0, n as f64));
            }
        }
        let routes = by_route
            .into_iter()
            .map(|(r, points)| Series {
                name: route_name(r).to_owned(),
                points,
            })
            .collect();
        let regions = by_region
            .into_iter()
            .map(|(r, points)| Series {
                name: r.name_en().to_owned(),
                points,
            })
            .collect();
        let adoption = self
            .cumulative_adoption()
            .into_iter()
            .map(|(r, points)| {
                let eligible = self.eligible_by_region.get(&r).copied().unwrap_or(0).max(1) as f64;
                Series {
                    name: r.name_en().to_owned(),
                    points: points
                        .into_iter()
                        .map(|(d, n)| (d.0, 100.0 * n as f64 / eligible))
                        .collect(),
                }
            })
            .collect();
        let percentiles = |h: &HistSeries, qs: &[(f64, &str)], scale: f64| -> Vec<Series> {
            qs.iter()
                .map(|(q, name)| Series {
                    name: (*name).to_owned(),
                    points: h
                        .by_day
                        .iter()
                        .map(|(d, hist)| (d.0, hist.quantile(*q) as f64 / scale))
                        .collect(),
                })
                .collect()
        };
        let waits = percentiles(
            &self.desk_wait_ms,
            &[(0.5, "p50"), (0.9, "p90"), (0.99, "p99")],
            60_000.0,
        );
        let latency = percentiles(
            &self.issuer_latency_us,
            &[(0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (0.999, "p99.9")],
            1_000.0,
        );
        let refusals = self
            .refusals
            .iter()
            .map(|(reason, days)| Series {
                name: reason.clone(),
                points: days.iter().map(|(d, n)| (d.0, *n as f64)).collect(),
            })
            .collect();
        let mut presented_by_kind = Vec::new();
        let mut refused_by_outcome: BTreeMap<&str, BTreeMap<Day, u64>> = BTreeMap::new();
        for (kind, outcomes) in &self.presentations {
            let mut per_day: BTreeMap<Day, u64> = BTreeMap::new();
            for (outcome, days) in outcomes {
                for (d, n) in days {
                    *per_day.entry(*d).or_default() += n;
                    if outcome != PRESENTATION_ACCEPTED {
                        *refused_by_outcome
                            .entry(outcome)
                            .or_default()
                            .entry(*d)
                            .or_default() += n;
                    }
                }
            }
            presented_by_kind.push(Series {
                name: kind.clone(),
                points: per_day.into_iter().map(|(d, n)| (d.0, n as f64)).collect(),
            });
        }
        let presentation_refusals = refused_by_outcome
            .into_iter()
            .map(|(outcome, days)| Series {
                name: outcome.to_owned(),
                points: days.into_iter().map(|(d, n)| (d.0, n as f64)).collect(),
            })
            .collect();
        let verifier_latency = self
            .verifier_latency_us
            .iter()
            .flat_map(|(kind, h)| {
                percentiles(h, &[(0.5, "p50"), (0.99, "p99")], 1_000.0)
                    .into_iter()
                    .map(move |mut s| {
                        s.name = format!("{kind} {}", s.name);
                        s
                    })
            })
            .collect();
        vec![
            chart(
                "Issuances per day by route",
                "issuances",
                ChartKind::StackedBars,
                routes,
            ),
            chart(
                "Issuances per day by region",
                "issuances",
                ChartKind::Lines,
                regions,
            ),
            chart(
                "Cumulative adoption by region",
                "% of eligible",
                ChartKind::Lines,
                adoption,
            ),
            chart("Desk queue wait", "minutes", ChartKind::Lines, waits),
            chart(
                "Issuer latency percentiles",
                "ms",
                ChartKind::Lines,
                latency,
            ),
            chart(
                "Refusals per day by reason",
                "refusals",
                ChartKind::StackedBars,
                refusals,
            ),
            chart(
                "Presentations per day by relying party",
                "presentations",
                ChartKind::StackedBars,
                presented_by_kind,
            ),
            chart(
                "Presentations refused per day by M900 reason (or declined)",
                "presentations",
                ChartKind::StackedBars,
                presentation_refusals,
            ),
            chart(
                "Verifier latency percentiles by relying party",
                "ms",
                ChartKind::Lines,
                verifier_latency,
            ),
        ]
    }
}

#[cfg(test)]
mod tests;
