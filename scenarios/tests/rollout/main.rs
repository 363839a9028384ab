//! The rollout engine: determinism of the report, phase gating in the simulated timeline,
//! and single flows against the issuer at chosen instants.

use scenarios::arrival::{Openings, Route};
use scenarios::flows::{self, FlowConfig, Gate, IssuerCapacity, Outcome};
use scenarios::population::{CardType, Population, PopulationConfig};
use scenarios::region::Districts as _;
use scenarios::region::Region;
use scenarios::sim::{self, Progress, SimConfig};
use scenarios::vtime;
use sim_issuer::issuer::{Issuer, IssuerConfig};
use sim_issuer::policy::Policy;
use time::macros::date;
use time::Date;

fn small(seed: u64) -> SimConfig {
    let mut cfg = SimConfig::with_size(seed, 240);
    cfg.set_end(date!(2025 - 04 - 15));
    cfg.shards = 2;
    cfg
}

fn run_all(cfg: &SimConfig) -> scenarios::report::Report {
    let mut merged: Option<scenarios::report::Report> = None;
    for i in 0..cfg.shards {
        let r = sim::run_shard(cfg, i, &Progress::default()).unwrap();
        assert!(r.failed.is_empty(), "failed flows: {:?}", r.failed);
        match merged.as_mut() {
            None => merged = Some(r.report),
            Some(m) => m.merge(&r.report).unwrap(),
        }
    }
    merged.unwrap()
}

#[test]
fn same_seed_and_config_give_byte_identical_report_json() {
    let a = run_all(&small(11)).to_deterministic_json().unwrap();
    let b = run_all(&small(11)).to_deterministic_json().unwrap();
    assert_eq!(a, b);
    let t = scenarios::report::Report::from_json(&a).unwrap().totals();
    assert!(t.issued > 0, "a rollout to mid-April issues something");
    let c = run_all(&small(12)).to_deterministic_json().unwrap();
    assert_ne!(a, c, "another seed gives another run");
}

#[test]
fn the_report_counts_crypto_operations_and_issuer_records() {
    let r = run_all(&small(11));
    let t = r.totals();
    let ops = r.crypto_ops;
    // Every issuance signs an MSO and verifies it, so the counts cover at least that.
    assert!(
        ops.ecdsa_sign >= t.issued && ops.ecdsa_verify >= t.issued,
        "{ops:?}"
    );
    assert!(ops.sha256_blocks >= ops.sha256);
    // The issuer keeps one active ID per holder and at least one credential per issuance.
    assert!(r.issuer_records.credentials >= t.issued);
    assert!(r.issuer_records.active <= r.issuer_records.credentials);
    // Registry records the issuer never changed are released once the resident's flows
    // are over; only changed ones (card swaps, loss reports) stay.
    assert!(
        r.issuer_records.residents < r.issuer_records.active,
        "{:?}",
        r.issuer_records
    );
}

/// The aws-lc provider keeps RFC 6979 signing and draws key scalars as p256 does, so a
/// whole rollout gives the same report bytes under it; only the wall time changes.
#[cfg(feature = "aws-lc")]
#[test]
fn reports_are_byte_identical_under_every_crypto_provider() {
    use protocol::crypto::{with_provider, CryptoProvider};
    let cfg = small(13);
    let reports: Vec<String> = CryptoProvider::available()
        .iter()
        .map(|p| with_provider(p, || run_all(&cfg).to_deterministic_json().unwrap()))
        .collect();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0], reports[1]);
}

#[test]
fn no_region_gets_an_issuance_before_its_first_opening() {
    let policy = Policy::default_rollout();
    let table = sim::openings(&policy);
    let report = run_all(&small(5));
    let mut seen = 0;
    for (day, routes) in &report.issuances {
        for regions in routes.values() {
            for region in regions.keys() {
                let first = region
                    .districts()
                    .iter()
                    .filter_map(|d| table.opens_at(d))
                    .min()
                    .unwrap();
                let day_start = vtime::midnight_of(day.0, vtime::KST_OFFSET_SECONDS);
                assert!(
                    day_start + 86_400 > first,
                    "{region:?} got an issuance on {} before it opened",
                    day.0
                );
                seen += 1;
            }
        }
    }
    assert!(seen > 0);
    // Seoul opens with phase 3 (2025-03-14): nothing there before.
    for (day, routes) in &report.issuances {
        if day.0 < date!(2025 - 03 - 14) {
            for regions in routes.values() {
                assert!(!regions.contains_key(&Region::Seoul), "Seoul on {}", day.0);
            }
        }
    }
}

/// Runs `f` in a paused runtime whose virtual clock starts at `at` (local KST date, 10:00).
fn at_date<T>(at: Date, f: impl AsyncFnOnce(&Gate) -> T) -> T {
    let now = vtime::midnight_of(at, vtime::KST_OFFSET_SECONDS) + 10 * 3600;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let issuer =
            Issuer::new(3, IssuerConfig::default(), Policy::default_rollout(), now).unwrap();
        let gate = Gate::new(issuer, IssuerCapacity::default(), now);
        f(&gate).await
    })
}

fn find(
    pop: &Population,
    pred: impl Fn(&scenarios::population::Resident) -> bool,
) -> scenarios::population::Resident {
    pop.iter()
        .find(|r| pred(r))
        .expect("such a resident in the sample")
}

fn population() -> Population {
    Population::new(
        PopulationConfig {
            size: 5_000,
            ..PopulationConfig::default()
        },
        9,
    )
    .unwrap()
}

#[test]
fn seoul_desk_application_is_refused_before_phase_3_and_issued_after() {
    let pop = population();
    let r = find(&pop, |r| {
        r.region() == Region::Seoul
            && r.card == CardType::Plastic
            && r.age_on(date!(2025 - 01 - 01)) >= 20
    });
    let early = at_date(date!(2025 - 03 - 04), async |g| {
        flows::ensure_registered(g, 9, &r).unwrap();
        flows::desk_qr(g, 9, &r, 0, false).await
    });
    assert_eq!(early, Outcome::Refused("not_yet_open".into()));
    let later = at_date(date!(2025 - 03 - 17), async |g| {
        flows::ensure_registered(g, 9, &r).unwrap();
        flows::desk_qr(g, 9, &r, 1, false).await
    });
    assert!(
        matches!(
            later,
            Outcome::Issued {
                route: Route::Qr,
                ..
            }
        ),
        "{later:?}"
    );
}

#[test]
fn ic_holder_taps_in_the_app_once_online_applications_open() {
    let pop = population();
    let r = find(&pop, |r| {
        r.card == CardType::Ic && r.age_on(date!(2025 - 01 - 01)) >= 18
    });
    let flows_cfg = FlowConfig {
        wrong_password_share: 1.0,
        ..FlowConfig::default()
    };
    let (before, after) = at_date(date!(2025 - 03 - 20), async |g| {
        flows::ensure_registered(g, 9, &r).unwrap();
        let mut refusals = Vec::new();
        let before = flows::ic_tap(g, 9, &r, &flows_cfg, 0, &mut refusals).await;
        // Eight days later, the clock passes 2025-03-28.
        tokio::time::sleep(std::time::Duration::from_secs(8 * 86_400)).await;
        let after = flows::ic_tap(g, 9, &r, &flows_cfg, 1, &mut refusals).await;
        assert_eq!(refusals, ["wrong_card_password", "wrong_card_password"]);
        (before, after)
    });
    assert_eq!(before, Outcome::Refused("online_not_yet_open".into()));
    assert!(
        matches!(
            after,
            Outcome::Issued {
                route: Route::IcTap,
                ..
            }
        ),
        "{after:?}"
    );
}

#[test]
fn applicant_under_17_is_refused_as_under_age() {
    let pop = population();
    let r = find(&pop, |r| {
        r.card != CardType::None && r.age_on(date!(2025 - 06 - 01)) == 16
    });
    let out = at_date(date!(2025 - 06 - 02), async |g| {
        flows::ensure_registered(g, 9, &r).unwrap();
        flows::desk_qr(g, 9, &r, 0, false).await
    });
    assert_eq!(out, Outcome::Refused("under_age".into()));
}

#[test]
fn replay_reruns_one_resident_with_a_trace() {
    let cfg = small(11);
    let res = (0..cfg.population.size)
        .map(|i| sim::replay(&cfg, i).unwrap())
        .find(|r| !r.trace.is_empty())
        .unwrap();
    assert!(res.trace[0].starts_with("resident "), "{:?}", res.trace);
}

#[test]
fn overloaded_issuer_queues_then_times_out_and_retries() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let now = vtime::midnight_of(date!(2025 - 03 - 28), vtime::KST_OFFSET_SECONDS);
    let run = |retries: u32| {
        local.block_on(&rt, async move {
            let issuer =
                Issuer::new(3, IssuerConfig::default(), Policy::default_rollout(), now).unwrap();
            let cap = IssuerCapacity {
                concurrent: 1,
                service_ms: 1_000,
                timeout_ms: 1_500,
                retries,
                backoff_ms: 10_000,
            };
            let gate = std::rc::Rc::new(Gate::new(issuer, cap, now));
            let calls: Vec<_> = (0..3)
                .map(|_| {
                    let g = gate.clone();
                    tokio::task::spawn_local(async move { g.call(|i, t| i.nonce(t).is_ok()).await })
                })
                .collect();
            let mut out = Vec::new();
            for c in calls {
                out.push(c.await.unwrap());
            }
            let mut lat: Vec<u64> = gate
                .drain_latencies()
                .into_iter()
                .map(|(_, us)| us)
                .collect();
            lat.sort_unstable();
            (out, lat)
        })
    };
    // One slot, 1 s each: the second waits 1 s (within the 1.5 s timeout), the third would
    // wait 2 s and gives up.
    let (out, lat) = run(0);
    assert_eq!(out, [Ok(true), Ok(true), Err(flows::Overloaded)]);
    assert_eq!(lat, [1_000_000, 2_000_000]);
    // With one retry after a 10 s backoff the third gets through, its latency counted from
    // its retry.
    let (out, lat) = run(1);
    assert_eq!(out, [Ok(true), Ok(true), Ok(true)]);
    assert_eq!(lat, [1_000_000, 1_000_000, 2_000_000]);
}

/// An adult holding an older (non-IC) card, who applies at the desk.
fn adult_older_card_holder() -> scenarios::population::Resident {
    find(&population(), |r| {
        r.card == CardType::Plastic && r.age_on(date!(2025 - 01 - 01)) >= 20
    })
}

/// Registers `r` and issues their first mobile ID at the desk; gives its document number.
async fn issue_at_desk(g: &Gate, r: &scenarios::population::Resident) -> String {
    flows::ensure_registered(g, 9, r).unwrap();
    match flows::desk_qr(g, 9, r, 1, false).await {
        Outcome::Issued {
            document_number, ..
        } => document_number,
        other => panic!("first issuance: {other:?}"),
    }
}

#[test]
fn lost_card_revokes_the_mobile_id_and_a_replacement_card_reissues_it() {
    let r = adult_older_card_holder();
    let (lost, again) = at_date(date!(2025 - 04 - 01), async |g| {
        let document_number = issue_at_desk(g, &r).await;
        let lost = flows::report_card_lost(g, &r, 1, &document_number).await;
        let again = flows::desk_qr(g, 9, &r, 2, true).await;
        (lost, again)
    });
    assert_eq!(lost, Outcome::Refused("card_reported_lost".into()));
    assert!(matches!(again, Outcome::Issued { .. }), "{again:?}");
}

#[test]
fn a_lost_phone_is_revoked_at_once_and_a_new_handset_gets_the_mobile_id_again() {
    let r = adult_older_card_holder();
    let (lost, again, status) = at_date(date!(2025 - 04 - 01), async |g| {
        let document_number = issue_at_desk(g, &r).await;
        let lost = flows::report_phone_lost(g, &r, 2001, &document_number).await;
        let again = flows::desk_qr(g, 9, &r, 2001, false).await;
        let status = g.issuer().status(&document_number, g.now()).unwrap();
        (lost, again, status)
    });
    assert_eq!(lost, Outcome::Refused("phone_reported_lost".into()));
    assert!(matches!(again, Outcome::Issued { .. }), "{again:?}");
    assert!(
        matches!(
            status,
            sim_issuer::issuer::CredentialStatus::Revoked {
                reason: sim_issuer::issuer::RevocationReason::PhoneReportedLost,
                ..
            }
        ),
        "the lost copy stays revoked for its own reason: {status:?}"
    );
}

#[test]
fn a_new_handset_supersedes_the_old_copy_and_an_unrevoked_copy_is_a_failure() {
    let r = adult_older_card_holder();
    let (before, after) = at_date(date!(2025 - 04 - 01), async |g| {
        let document_number = issue_at_desk(g, &r).await;
        let reason = sim_issuer::issuer::RevocationReason::Superseded;
        let before = flows::expect_revoked(g, &document_number, reason, "superseded");
        let again = flows::desk_qr(g, 9, &r, 2001, false).await;
        assert!(matches!(again, Outcome::Issued { .. }), "{again:?}");
        let after = flows::expect_revoked(g, &document_number, reason, "superseded");
        (before, after)
    });
    assert!(
        matches!(before, Outcome::Failed(ref k, _) if k == "revocation"),
        "{before:?}"
    );
    assert_eq!(after, Outcome::Refused("superseded".into()));
}

#[test]
fn a_tampered_card_is_refused_by_the_phones_passive_authentication_before_its_data_leaves() {
    use scenarios::harness::{Message, Verdict};
    use sim_phone::IssuerRequest;
    let pop = population();
    let r = find(&pop, |r| {
        r.card == CardType::Ic && r.age_on(date!(2025 - 01 - 01)) >= 18
    });
    let flows_cfg = FlowConfig {
        tampered_card_share: 1.0,
        wrong_password_share: 0.0,
        ..FlowConfig::default()
    };
    let (out, sent) = at_date(date!(2025 - 04 - 02), async |g| {
        flows::ensure_registered(g, 9, &r).unwrap();
        let mut sent = Vec::new();
        let mut refusals = Vec::new();
        let filter = |m: &mut Message| {
            if let Message::ToIssuer { request, .. } = m {
                sent.push(request.clone());
            }
            Verdict::Deliver
        };
        let out = flows::ic_tap_altered(g, 9, &r, &flows_cfg, 0, &mut refusals, filter).await;
        (out, sent)
    });
    assert_eq!(
        out,
        Outcome::Refused("passive_authentication_failed".into())
    );
    // Only the nonce for the Active Authentication challenge went out: no card data.
    assert_eq!(sent, [IssuerRequest::Nonce]);

    // In a whole rollout every IC tap is refused under that reason, and counted.
    let mut cfg = small(11);
    cfg.flows.tampered_card_share = 1.0;
    let report = run_all(&cfg);
    let json: serde_json::Value =
        serde_json::from_str(&report.to_deterministic_json().unwrap()).unwrap();
    let refused: u64 = json["refusals"]["passive_authentication_failed"]
        .as_object()
        .map(|days| days.values().filter_map(serde_json::Value::as_u64).sum())
        .unwrap_or(0);
    assert!(refused > 0, "{}", json["refusals"]);
    let ic_issued: u64 = json["issuances"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|routes| routes.get("ic_tap"))
        .flat_map(|regions| regions.as_object().unwrap().values())
        .filter_map(serde_json::Value::as_u64)
        .sum();
    assert_eq!(ic_issued, 0, "no tampered card is issued by tapping");
}

#[test]
fn shards_run_on_other_threads_in_another_order_merge_to_the_same_bytes() {
    let cfg = small(11);
    let in_order = run_all(&cfg).to_deterministic_json().unwrap();
    let handles: Vec<_> = (0..cfg.shards)
        .rev()
        .map(|i| {
            let cfg = cfg.clone();
            std::thread::spawn(move || sim::run_shard(&cfg, i, &Progress::default()).unwrap())
        })
        .collect();
    let mut reports: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap().report)
        .collect();
    let mut merged = reports.pop().unwrap();
    for r in reports {
        merged.merge(&r).unwrap();
    }
    assert_eq!(merged.to_deterministic_json().unwrap(), in_order);
}
