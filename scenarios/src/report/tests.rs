use super::*;
use time::macros::date;

fn run(shards: Vec<(u64, u64)>) -> RunInfo {
    RunInfo {
        seed: 7,
        population_size: 100,
        config_digest: "test".to_owned(),
        shards,
        start: Day(date!(2025 - 02 - 10)),
        end: Day(date!(2025 - 03 - 31)),
        phases: vec![
            Phase {
                name: "phase 1".to_owned(),
                opens: Day(date!(2025 - 02 - 14)),
            },
            Phase {
                name: "nationwide".to_owned(),
                opens: Day(date!(2025 - 03 - 28)),
            },
        ],
    }
}

/// Records resident `i`'s made-up outcome: everything a function of `i` alone.
fn record(r: &mut Report, i: u64) {
    let day = Day(date!(2025 - 02 - 14) + time::Duration::days((i % 40) as i64));
    let region = Region::ALL[(i % 17) as usize];
    r.record_eligible(region);
    match i % 5 {
        0 => r.record_refusal(day, "not_yet_open"),
        1 => r.record_failure(day, "timeout"),
        2 => {
            r.record_issuance(day, Route::Qr, region);
            r.record_desk_wait(day, (i * 7919) % 3_600_000);
        }
        _ => r.record_issuance(day, Route::IcTap, region),
    }
    r.record_issuer_latency(day, 1_000 + (i * 104_729) % 500_000);
}

fn report_over(range: std::ops::Range<u64>) -> Report {
    let mut r = Report::new(run(vec![(range.start, range.end)]));
    for i in range {
        record(&mut r, i);
    }
    r
}

#[test]
fn same_inputs_give_byte_identical_json() {
    let a = report_over(0..100).to_deterministic_json().unwrap();
    let b = report_over(0..100).to_deterministic_json().unwrap();
    assert_eq!(a, b);
    assert!(a.starts_with("{\n  \"schema\": \"midsim-rollout-report\",\n  \"schema_version\": 1,"));
    assert!(!a.contains("wall_clock"));
}

#[test]
fn merged_shard_reports_equal_the_report_of_the_union() {
    let mut merged = report_over(40..100);
    merged.merge(&report_over(0..40)).unwrap();
    let whole = report_over(0..100);
    assert_eq!(merged.run.shards, vec![(0, 100)]);
    assert_eq!(
        merged.to_deterministic_json().unwrap(),
        whole.to_deterministic_json().unwrap()
    );
    assert_eq!(merged, whole);
}

#[test]
fn json_round_trips_with_the_wall_clock_section_kept_apart() {
    let mut r = report_over(0..100);
    r.wall_clock.push(WallClock {
        shard: (0, 100),
        elapsed_seconds: 1.5,
        flows_per_second: 66.7,
        peak_rss_bytes: Some(1 << 20),
        crypto_provider: Some("rustcrypto".into()),
    });
    let full = r.to_json().unwrap();
    assert!(full.contains("\"wall_clock\""));
    let back = Report::from_json(&full).unwrap();
    assert_eq!(back, r);
    // Wall clock differs between runs; the deterministic JSON does not.
    let mut other = r.clone();
    other.wall_clock[0].elapsed_seconds = 99.0;
    assert_eq!(
        other.to_deterministic_json().unwrap(),
        r.to_deterministic_json().unwrap()
    );
    assert_ne!(other.to_json().unwrap(), full);
}

#[test]
fn derived_totals_and_cumulative_adoption_add_up() {
    let r = report_over(0..100);
    let t = r.totals();
    assert_eq!(t.eligible, 100);
    assert_eq!(t.issued, 60);
    assert_eq!(t.issued_by_route[&Route::Qr], 20);
    assert_eq!(t.refused, 20);
    assert_eq!(t.failed, 20);
    let cum = r.cumulative_adoption();
    let total: u64 = cum.values().map(|v| v.last().map_or(0, |p| p.1)).sum();
    assert_eq!(total, 60);
    for points in cum.values() {
        assert!(points
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
    }
}

#[test]
fn reports_of_different_runs_or_overlapping_shards_do_not_merge() {
    let mut a = report_over(0..50);
    let before = a.clone();
    assert!(matches!(
        a.merge(&report_over(40..100)),
        Err(Error::ReportMismatch(_))
    ));
    let mut other_seed = report_over(50..100);
    other_seed.run.seed = 8;
    assert!(matches!(
        a.merge(&other_seed),
        Err(Error::ReportMismatch(_))
    ));
    assert_eq!(a, before);
}

#[test]
fn bad_json_is_a_typed_error() {
    assert!(matches!(Report::from_json("{"), Err(Error::ReportJson(_))));
    let json = report_over(0..10).to_json().unwrap();
    let wrong = json.replace("\"schema_version\": 1", "\"schema_version\": 2");
    assert!(matches!(
        Report::from_json(&wrong),
        Err(Error::ReportJson(_))
    ));
    let wrong = json.replace("midsim-rollout-report", "something-else");
    assert!(matches!(
        Report::from_json(&wrong),
        Err(Error::ReportJson(_))
    ));
    assert!("2025-13-01".parse::<Day>().is_err());
}

#[test]
fn html_is_self_contained_and_has_every_chart() {
    let html = render_html(&report_over(0..100));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg ").count(), 9);
    assert!(html.contains("Presentations per day by relying party"));
    assert!(html.contains("Verifier latency percentiles by relying party"));
    assert!(!html.contains("<script"));
    assert!(!html.contains("src=") && !html.contains("href="));
    assert!(html.contains("phase 1"));
    assert!(html.contains("Gyeonggi"));
}

proptest::proptest! {
    #[test]
    fn from_json_never_panics(s in "\\PC{0,200}") {
        let _ = Report::from_json(&s);
    }
}
