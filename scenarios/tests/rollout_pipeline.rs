//! The foundations working together, as the rollout simulation will use them: a population,
//! the arrival model against DOMAIN.md's schedule, community-center desk queues, and the
//! report. Shards split by community center (whose queue couples its visitors), and merging
//! the shard reports gives exactly the single-run report.

use scenarios::region::Districts as _;
use std::collections::BTreeMap;

use rand::RngExt;
use scenarios::arrival::{
    ArrivalConfig, ArrivalModel, Channel, Decision, OpeningTable, Openings, Route,
};
use scenarios::desk::{center_for_index, CenterId, DeskConfig, Desks, Visit};
use scenarios::population::{CardType, Population, PopulationConfig};
use scenarios::region::Region;
use scenarios::report::{render_html, Day, Phase, Report, RunInfo};
use scenarios::rng::{rng_for, Stream};
use scenarios::vtime::{date_of_day, local_day, weekday_index, KST_OFFSET_SECONDS};
use time::macros::date;

const SEED: u64 = 2025;
const SIZE: u64 = 20_000;

/// A desk visit waiting to be queued: (arrival ms, index, region, route, service ms).
type PendingVisit = (i64, u64, Region, Route, i64);

struct World {
    population: Population,
    arrivals: ArrivalModel,
    openings: OpeningTable,
    desk: DeskConfig,
}

fn world() -> World {
    let population = Population::new(
        PopulationConfig {
            size: SIZE,
            ..PopulationConfig::default()
        },
        SEED,
    )
    .unwrap();
    let arrivals = ArrivalModel::new(ArrivalConfig {
        horizon_end: date!(2025 - 06 - 30),
        ..ArrivalConfig::default()
    })
    .unwrap();
    // A scaled-down population: one center per 500 simulated residents, one clerk each,
    // so that launch days queue.
    let desk = DeskConfig {
        clerks_per_center: 1,
        residents_per_center: 500,
        ..DeskConfig::default()
    };
    World {
        population,
        arrivals,
        openings: OpeningTable::korea_2025(),
        desk,
    }
}

impl World {
    fn center(&self, index: u64) -> CenterId {
        let d = self.population.district_of(index);
        center_for_index(
            d,
            index,
            self.desk.centers_for(self.population.expected_residents(d)),
        )
    }

    fn run_info(&self, shard: (u64, u64)) -> RunInfo {
        RunInfo {
            seed: SEED,
            population_size: SIZE,
            config_digest: "pipeline-test".to_owned(),
            shards: vec![shard],
            start: Day(date!(2024 - 12 - 27)),
            end: Day(date!(2025 - 06 - 30)),
            phases: [
                ("pilot", date!(2024 - 12 - 27)),
                ("phase 1", date!(2025 - 02 - 14)),
                ("phase 2", date!(2025 - 02 - 28)),
                ("phase 3", date!(2025 - 03 - 14)),
                ("nationwide", date!(2025 - 03 - 28)),
            ]
            .into_iter()
            .map(|(name, d)| Phase {
                name: name.to_owned(),
                opens: Day(d),
            })
            .collect(),
        }
    }

    /// Simulates the residents `indices` into a report covering the range `shard`.
    fn simulate(&self, indices: impl Iterator<Item = u64>, shard: (u64, u64)) -> Report {
        let off = KST_OFFSET_SECONDS;
        let day_of = |t: i64| Day(date_of_day(local_day(t, off)).unwrap());
        let mut report = Report::new(self.run_info(shard));
        let mut queues: BTreeMap<CenterId, Vec<PendingVisit>> = BTreeMap::new();
        for i in indices {
            let r = self.population.resident(i);
            if r.card != CardType::None && r.birthday_at(17) <= date!(2025 - 06 - 30) {
                report.record_eligible(r.region());
            }
            let Decision::Applies(a) = self.arrivals.decide(SEED, &r, &self.openings) else {
                continue;
            };
            if let Some(early) = a.early_attempt {
                // The issuer refuses it: the address has not opened yet.
                report.record_refusal(day_of(early), "not_yet_open");
            }
            let mut rng = rng_for(SEED, i, Stream::Desk);
            match a.channel {
                Channel::Remote => {
                    report.record_issuance(day_of(a.at), a.route, r.region());
                    let latency = 20_000 + rng.random_range(0..80_000u64);
                    report.record_issuer_latency(day_of(a.at), latency);
                }
                Channel::Desk => {
                    let service = self.desk.service.sample_millis(&mut rng);
                    queues.entry(self.center(i)).or_default().push((
                        a.at * 1000,
                        i,
                        r.region(),
                        a.route,
                        service,
                    ));
                }
            }
        }
        let mut desks = Desks::new(self.desk.clerks_per_center).unwrap();
        for (center, visits) in &mut queues {
            visits.sort_by_key(|v| (v.0, v.1));
            for &(at_ms, _, region, route, service) in visits.iter() {
                let closes = self.arrivals.desk_closes_at(at_ms / 1000) * 1000;
                match desks.arrive(*center, at_ms, service, Some(closes)).unwrap() {
                    Visit::Served { wait, .. } => {
                        report.record_desk_wait(day_of(at_ms / 1000), wait as u64);
                        report.record_issuance(day_of(at_ms / 1000), route, region);
                    }
                    Visit::TurnedAway { .. } => {
                        report.record_refusal(day_of(at_ms / 1000), "desk_closed");
                    }
                }
            }
        }
        report
    }
}

#[test]
fn shard_reports_split_by_center_merge_into_the_single_run_report() {
    let w = world();
    let whole = w.simulate(0..SIZE, (0, SIZE));
    assert!(whole.totals().issued > 1_000, "{:?}", whole.totals());
    assert!(whole.desk_wait_ms.all.count() > 500);
    assert!(whole.refusals.contains_key("not_yet_open"));

    // Three shards keyed by community center: a center's queue stays in one shard. Each
    // shard's report claims a third of the index space so that the ranges coalesce.
    let thirds = [
        (0, SIZE / 3),
        (SIZE / 3, 2 * SIZE / 3),
        (2 * SIZE / 3, SIZE),
    ];
    let mut merged: Option<Report> = None;
    for (k, range) in thirds.into_iter().enumerate() {
        let indices = w
            .population
            .shard_by(k as u64, 3, |i, _| {
                let c = w.center(i);
                (u64::from(c.district) << 32) | u64::from(c.number)
            })
            .unwrap();
        let part = w.simulate(indices, range);
        match merged.as_mut() {
            None => merged = Some(part),
            Some(m) => m.merge(&part).unwrap(),
        }
    }
    let merged = merged.unwrap();
    assert_eq!(
        merged.to_deterministic_json().unwrap(),
        whole.to_deterministic_json().unwrap()
    );
}

#[test]
fn no_issuance_precedes_the_opening_of_its_address_and_desks_keep_office_hours() {
    let w = world();
    let report = w.simulate(0..SIZE, (0, SIZE));
    // Earliest opening of any district of each region (pilot areas open first).
    let earliest = |region: Region| {
        region
            .districts()
            .iter()
            .filter_map(|d| w.openings.opens_at(d))
            .min()
            .map(|t| date_of_day(local_day(t, KST_OFFSET_SECONDS)).unwrap())
            .unwrap()
    };
    for (day, routes) in &report.issuances {
        for (route, regions) in routes {
            for region in regions.keys() {
                assert!(
                    day.0 >= earliest(*region),
                    "{route:?} issuance in {region} on {day}"
                );
            }
        }
    }
    // Seoul opens with phase 3 (2025-03-14) and has no pilot area.
    let seoul_first = report
        .issuances
        .iter()
        .find(|(_, routes)| routes.values().any(|r| r.contains_key(&Region::Seoul)))
        .map(|(d, _)| d.0)
        .unwrap();
    assert!(seoul_first >= date!(2025 - 03 - 14), "{seoul_first}");
    // Desk waits are recorded only on weekdays.
    for day in report.desk_wait_ms.by_day.keys() {
        let n = scenarios::vtime::day_of_date(day.0);
        assert!(weekday_index(n) < 5, "{day}");
    }
}

#[test]
fn the_html_report_of_a_run_is_deterministic_and_self_contained() {
    let w = world();
    let a = render_html(&w.simulate(0..SIZE, (0, SIZE)));
    let b = render_html(&w.simulate(0..SIZE, (0, SIZE)));
    assert_eq!(a, b);
    assert_eq!(a.matches("<svg ").count(), 9);
    assert!(!a.contains("<script"));
    if let Ok(dir) = std::env::var("MIDSIM_REPORT_OUT") {
        std::fs::write(format!("{dir}/pipeline-report.html"), &a).unwrap();
    }
}
