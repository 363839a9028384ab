use super::*;
use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;

fn waits(visits: &[Visit]) -> Vec<Millis> {
    visits
        .iter()
        .map(|v| match v {
            Visit::Served { wait, .. } => *wait,
            Visit::TurnedAway { .. } => -1,
        })
        .collect()
}

#[test]
fn one_clerk_serves_back_to_back_arrivals_in_order() {
    // Arrivals at 0, 1, 2 min, 3 min each: waits 0, 2, 4 min.
    let m = 60_000;
    let out = serve_all(1, &[(0, 3 * m), (m, 3 * m), (2 * m, 3 * m)]).unwrap();
    assert_eq!(waits(&out), vec![0, 2 * m, 4 * m]);
    assert_eq!(
        out[2],
        Visit::Served {
            start: 6 * m,
            end: 9 * m,
            wait: 4 * m,
            clerk: 0
        }
    );
}

#[test]
fn two_clerks_take_the_queue_in_pairs() {
    // Four at once, 10 each, two clerks: 0, 0, 10, 10.
    let out = serve_all(2, &[(0, 10), (0, 10), (0, 10), (0, 10)]).unwrap();
    assert_eq!(waits(&out), vec![0, 0, 10, 10]);
}

#[test]
fn mixed_service_times_go_to_whichever_clerk_frees_first() {
    // Clerk 0: visitor A 0..5. Clerk 1: B 1..3. C (t=2) waits for clerk 1 at 3, 3..7.
    // D (t=3) waits for clerk 0 at 5, 5..6. E (t=10) finds both free: no wait.
    let out = serve_all(2, &[(0, 5), (1, 2), (2, 4), (3, 1), (10, 1)]).unwrap();
    assert_eq!(waits(&out), vec![0, 0, 1, 2, 0]);
    assert_eq!(
        out[2],
        Visit::Served {
            start: 3,
            end: 7,
            wait: 1,
            clerk: 1
        }
    );
    assert_eq!(
        out[3],
        Visit::Served {
            start: 5,
            end: 6,
            wait: 2,
            clerk: 0
        }
    );
}

#[test]
fn input_order_is_kept_and_ties_are_fifo_by_position() {
    let out = serve_all(1, &[(5, 1), (0, 2), (5, 1)]).unwrap();
    // Sorted: (0,2) 0..2, (5,1) 5..6, then the later-listed (5,1) 6..7.
    assert_eq!(waits(&out), vec![0, 0, 1]);
}

#[test]
fn visitors_who_cannot_be_called_before_closing_are_turned_away_without_using_a_clerk() {
    let mut q = DeskQueue::new(1).unwrap();
    assert_eq!(
        q.arrive(0, 100, Some(150)).unwrap(),
        Visit::Served {
            start: 0,
            end: 100,
            wait: 0,
            clerk: 0
        }
    );
    assert_eq!(
        q.arrive(10, 100, Some(150)).unwrap(),
        Visit::Served {
            start: 100,
            end: 200,
            wait: 90,
            clerk: 0
        }
    );
    assert_eq!(
        q.arrive(20, 100, Some(150)).unwrap(),
        Visit::TurnedAway { waited: 130 }
    );
    // The next day the clerk is free at 200 as before.
    assert_eq!(
        q.arrive(1_000, 5, Some(2_000)).unwrap(),
        Visit::Served {
            start: 1_000,
            end: 1_005,
            wait: 0,
            clerk: 0
        }
    );
}

#[test]
fn out_of_order_arrivals_and_bad_parameters_are_errors() {
    let mut q = DeskQueue::new(2).unwrap();
    q.arrive(10, 1, None).unwrap();
    assert_eq!(
        q.arrive(9, 1, None),
        Err(Error::OutOfOrder { at: 9, after: 10 })
    );
    assert!(q.arrive(11, -1, None).is_err());
    assert!(DeskQueue::new(0).is_err());
    assert!(ServiceTime::Exponential { mean_seconds: 0.0 }
        .validate()
        .is_err());
    assert!(ServiceTime::Uniform {
        min_seconds: 5.0,
        max_seconds: 1.0
    }
    .validate()
    .is_err());
    assert!(ServiceTime::LogNormal {
        median_seconds: 1.0,
        sigma: f64::NAN
    }
    .validate()
    .is_err());
    assert!(DeskConfig {
        clerks_per_center: 0,
        ..DeskConfig::default()
    }
    .validate()
    .is_err());
    assert!(DeskConfig::default().validate().is_ok());
}

#[test]
fn erlang_c_matches_hand_computed_values() {
    // M/M/1: Wq = ρ/(μ-λ). λ=1/60, μ=1/45: ρ=0.75, Wq = 0.75/(1/180) = 135.
    let w = erlang_c_mean_wait(1.0 / 60.0, 1.0 / 45.0, 1).unwrap();
    assert!((w - 135.0).abs() < 1e-9, "{w}");
    // M/M/3 with a = 2.5: P(wait) = 15.625/22.25, Wq = P/(3μ-λ) with μ=1/50, λ=1/20.
    let w = erlang_c_mean_wait(1.0 / 20.0, 1.0 / 50.0, 3).unwrap();
    assert!((w - (15.625 / 22.25) / 0.01).abs() < 1e-9, "{w}");
    assert_eq!(erlang_c_mean_wait(1.0, 1.0, 1), None);
    assert_eq!(erlang_c_mean_wait(0.0, 1.0, 1), None);
}

/// Mean simulated wait (seconds) over `n` Poisson arrivals with exponential service.
fn simulated_mean_wait(rate: f64, mean_service: f64, clerks: u32, n: usize, seed: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let service = ServiceTime::Exponential {
        mean_seconds: mean_service,
    };
    let mut q = DeskQueue::new(clerks).unwrap();
    let mut t = 0.0f64;
    let mut total = 0i64;
    for _ in 0..n {
        t += -(1.0 - rng.random::<f64>()).ln() / rate;
        match q
            .arrive(
                (t * 1000.0) as Millis,
                service.sample_millis(&mut rng),
                None,
            )
            .unwrap()
        {
            Visit::Served { wait, .. } => total += wait,
            Visit::TurnedAway { .. } => unreachable!(),
        }
    }
    total as f64 / 1000.0 / n as f64
}

#[test]
fn simulated_mm1_and_mmc_mean_waits_match_the_formulas() {
    // ρ = 0.6 converges quickly; 200k visitors keep the error well under 10%.
    let expected = erlang_c_mean_wait(1.0 / 50.0, 1.0 / 30.0, 1).unwrap(); // 45 s
    let got = simulated_mean_wait(1.0 / 50.0, 30.0, 1, 200_000, 1);
    assert!(
        (got / expected - 1.0).abs() < 0.1,
        "M/M/1: {got} vs {expected}"
    );
    let expected = erlang_c_mean_wait(1.0 / 20.0, 1.0 / 42.0, 3).unwrap(); // ρ = 0.7
    let got = simulated_mean_wait(1.0 / 20.0, 42.0, 3, 200_000, 2);
    assert!(
        (got / expected - 1.0).abs() < 0.1,
        "M/M/3: {got} vs {expected}"
    );
}

#[test]
fn service_time_samples_have_the_configured_mean() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for s in [
        ServiceTime::Fixed { seconds: 90.0 },
        ServiceTime::Uniform {
            min_seconds: 60.0,
            max_seconds: 180.0,
        },
        ServiceTime::Exponential {
            mean_seconds: 200.0,
        },
        ServiceTime::default(),
    ] {
        let n = 50_000;
        let mean = (0..n)
            .map(|_| s.sample_millis(&mut rng) as f64)
            .sum::<f64>()
            / 1000.0
            / f64::from(n);
        assert!(
            (mean / s.mean_seconds() - 1.0).abs() < 0.03,
            "{s:?}: {mean}"
        );
    }
}

#[test]
fn desks_keep_one_independent_queue_per_center() {
    let a = CenterId {
        district: 11110,
        number: 0,
    };
    let b = CenterId {
        district: 11110,
        number: 1,
    };
    let mut desks = Desks::new(1).unwrap();
    assert_eq!(
        desks.arrive(a, 0, 10, None).unwrap(),
        Visit::Served {
            start: 0,
            end: 10,
            wait: 0,
            clerk: 0
        }
    );
    // Center b is free although a is busy; an earlier arrival at b is fine.
    assert_eq!(
        desks.arrive(b, 0, 10, None).unwrap(),
        Visit::Served {
            start: 0,
            end: 10,
            wait: 0,
            clerk: 0
        }
    );
    assert_eq!(
        desks.arrive(a, 5, 10, None).unwrap(),
        Visit::Served {
            start: 10,
            end: 20,
            wait: 5,
            clerk: 0
        }
    );
    assert_eq!(desks.centers_visited(), 2);
    assert!(Desks::new(0).is_err());
}

#[test]
fn centers_are_stable_per_resident_and_cover_the_district() {
    let d = crate::region::District::by_code(41281).unwrap();
    let cfg = DeskConfig::default();
    let n = cfg.centers_for(490_000.0);
    assert_eq!(n, 33);
    assert_eq!(cfg.centers_for(10.0), 1);
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..10_000 {
        let c = center_for_index(d, i, n);
        assert_eq!(c, center_for_index(d, i, n));
        assert!(c.number < n);
        seen.insert(c.number);
    }
    assert_eq!(seen.len(), n as usize);
}

#[test]
fn a_thin_sample_pools_a_regions_centers_so_each_keeps_a_real_centers_load() {
    let d = crate::region::District::by_code(41281).unwrap();
    let cfg = DeskConfig::default();
    // 150k-resident sample: Gyeonggi has ~38k simulated residents over ~40 districts, so
    // its districts share round(38k / 15k) = 3 centers keyed by the region's code.
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..1_000 {
        let c = center_in_sample(&cfg, d, i, 1_000.0, 38_000.0);
        assert_eq!(c.district, u32::from(d.region.code()));
        seen.insert(c.number);
    }
    assert_eq!(seen.len(), 3);
    // A sample the size of the country gives every district its own centers.
    let c = center_in_sample(&cfg, d, 5, 490_000.0, 13_600_000.0);
    assert_eq!(c, center_for_index(d, 5, 33));
}

proptest::proptest! {
    #[test]
    fn waits_are_never_negative_and_clerks_never_overlap(
        mut visits in proptest::collection::vec((0i64..10_000, 0i64..1_000), 0..200),
        clerks in 1u32..5,
    ) {
        visits.sort_by_key(|v| v.0);
        let out = serve_all(clerks, &visits).unwrap();
        let mut busy: Vec<Vec<(Millis, Millis)>> = vec![Vec::new(); clerks as usize];
        for (v, o) in visits.iter().zip(&out) {
            match *o {
                Visit::Served { start, end, wait, clerk } => {
                    proptest::prop_assert!(wait >= 0 && start == v.0 + wait && end == start + v.1);
                    busy[clerk as usize].push((start, end));
                }
                Visit::TurnedAway { .. } => proptest::prop_assert!(false),
            }
        }
        for spans in &busy {
            for w in spans.windows(2) {
                proptest::prop_assert!(w[0].1 <= w[1].0);
            }
        }
    }
}
