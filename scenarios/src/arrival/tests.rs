use super::*;
use crate::population::{Population, PopulationConfig};
use crate::vtime::{local_day, midnight_of, second_of_day, weekday_index, KST_OFFSET_SECONDS};
use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;

fn model(f: impl FnOnce(&mut ArrivalConfig)) -> ArrivalModel {
    let mut c = ArrivalConfig {
        horizon_end: date!(2030 - 12 - 31),
        ..ArrivalConfig::default()
    };
    f(&mut c);
    ArrivalModel::new(c).unwrap()
}

const PHASE_1: Date = date!(2025 - 02 - 14);

/// Share of `n` draws from `start` that land in the first 7 local days.
fn first_week_share(m: &ArrivalModel, online: Option<UnixTime>, n: usize) -> f64 {
    let start = midnight_of(PHASE_1, KST_OFFSET_SECONDS);
    let start_day = local_day(start, KST_OFFSET_SECONDS);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut first = 0;
    for _ in 0..n {
        // After the horizon (a hyperbolic tail) counts as not in the first week.
        let at = m.arrival_after(start, online, &mut rng);
        first +=
            usize::from(at.is_some_and(|at| local_day(at, KST_OFFSET_SECONDS) < start_day + 7));
    }
    first as f64 / n as f64
}

#[test]
fn first_week_share_is_one_minus_two_to_the_minus_seven_over_half_life() {
    // h = 7 days: half of all arrivals in the first week; h = 3.5: three quarters.
    // Weekday weights repeat weekly, so they move arrivals within a week but not across.
    let n = 20_000;
    let tol = 0.015; // ~4 standard deviations of a share near 0.5 over 20k draws
    let desk7 = first_week_share(&model(|_| {}), None, n);
    assert!((desk7 - 0.5).abs() < tol, "{desk7}");
    let desk35 = first_week_share(&model(|c| c.half_life_days = 3.5), None, n);
    assert!((desk35 - 0.75).abs() < tol, "{desk35}");
    let remote = first_week_share(&model(|c| c.half_life_days = 14.0), Some(0), n);
    let expected = 1.0 - 2f64.powf(-0.5);
    assert!((remote - expected).abs() < tol, "{remote} vs {expected}");
}

#[test]
fn hyperbolic_decay_puts_seven_over_seven_plus_h_in_the_first_week() {
    // Uniform weekday weights: the first-week share is F(7) = 7 / (7 + h) exactly.
    let m = model(|c| {
        c.decay = Decay::Hyperbolic;
        c.half_life_days = 3.0;
        c.remote.weekday_weights = [1.0; 7];
    });
    let share = first_week_share(&m, Some(0), 20_000);
    assert!((share - 0.7).abs() < 0.015, "{share}");
}

#[test]
fn desk_visits_fall_on_weekdays_within_opening_hours() {
    let m = model(|_| {});
    let start = midnight_of(PHASE_1, KST_OFFSET_SECONDS);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut nine_oclock = 0;
    let n = 20_000;
    for _ in 0..n {
        let at = m.arrival_after(start, None, &mut rng).unwrap();
        let day = local_day(at, KST_OFFSET_SECONDS);
        assert!(weekday_index(day) < 5, "weekend visit at {at}");
        let s = second_of_day(at, KST_OFFSET_SECONDS);
        assert!(
            (9 * 3600..18 * 3600).contains(&s),
            "visit at {s}s after midnight"
        );
        nine_oclock += usize::from(s < 10 * 3600);
    }
    // The 09:00 hour carries 1.4 of the 9.3 total hourly weight: 15.05%.
    let share = nine_oclock as f64 / n as f64;
    assert!((share - 1.4 / 9.3).abs() < 0.01, "{share}");
}

#[test]
fn arrivals_after_the_horizon_are_none_with_the_tail_probability() {
    // Horizon = the 7th day: arrivals later than the first week are cut, 2^(-7/7) = half.
    let m = model(|c| c.horizon_end = date!(2025 - 02 - 20));
    let start = midnight_of(PHASE_1, KST_OFFSET_SECONDS);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let n = 20_000;
    let none = (0..n)
        .filter(|_| m.arrival_after(start, None, &mut rng).is_none())
        .count();
    let share = none as f64 / f64::from(n);
    assert!((share - 0.5).abs() < 0.015, "{share}");
}

#[test]
fn desks_close_at_six_pm_local_on_the_day_of_the_visit() {
    let m = model(|_| {});
    let ten_am = midnight_of(PHASE_1, KST_OFFSET_SECONDS) + 10 * 3600;
    assert_eq!(
        m.desk_closes_at(ten_am),
        midnight_of(PHASE_1, KST_OFFSET_SECONDS) + 18 * 3600
    );
    // 2025-02-14T18:00+09:00 = 09:00Z.
    assert_eq!(m.desk_closes_at(ten_am), 1_739_523_600);
}

#[test]
fn an_arrival_never_precedes_its_start_even_mid_day() {
    let m = model(|_| {});
    // Friday 14:30 KST: the first day's arrivals must come after that.
    let start = midnight_of(PHASE_1, KST_OFFSET_SECONDS) + 14 * 3600 + 1800;
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for _ in 0..5_000 {
        assert!(m.arrival_after(start, None, &mut rng).unwrap() >= start);
    }
}

#[test]
fn nobody_applies_before_their_address_opens_and_routes_follow_the_card() {
    let pop = Population::new(
        PopulationConfig {
            size: 30_000,
            ..PopulationConfig::default()
        },
        9,
    )
    .unwrap();
    let m = ArrivalModel::new(ArrivalConfig::default()).unwrap();
    let table = OpeningTable::korea_2025();
    let online = table.online.unwrap();
    let (mut applied, mut remote, mut pilot) = (0, 0, 0);
    for r in pop.iter() {
        match m.decide(42, &r, &table) {
            Decision::Applies(a) => {
                applied += 1;
                let opens = table.opens_at(r.district()).unwrap();
                assert!(a.at >= opens, "{r:?} applied at {} before {}", a.at, opens);
                assert!(r.age_on(date_of(a.at)) >= 17, "{r:?}");
                match (r.card, a.route, a.channel) {
                    (CardType::Ic, Route::IcTap, Channel::Remote) => {
                        assert!(a.at >= online);
                        remote += 1;
                    }
                    (CardType::Ic, Route::IcTap, Channel::Desk)
                    | (CardType::Plastic, Route::Qr | Route::IcTap, Channel::Desk) => {
                        assert_eq!(
                            a.swaps_card,
                            r.card == CardType::Plastic && a.route == Route::IcTap
                        );
                        let s = second_of_day(a.at, KST_OFFSET_SECONDS);
                        assert!((9 * 3600..18 * 3600).contains(&s));
                        assert!(weekday_index(local_day(a.at, KST_OFFSET_SECONDS)) < 5);
                    }
                    other => panic!("unexpected {other:?} for {r:?}"),
                }
                if a.at < midnight_of(PHASE_1, KST_OFFSET_SECONDS) {
                    // Only the pilot areas open before phase 1.
                    pilot += 1;
                    let code = r.district().code;
                    assert!(
                        [
                            36110, 51720, 41281, 41285, 41287, 48880, 30170, 27720, 31710, 46130,
                            46830
                        ]
                        .contains(&code),
                        "{code}"
                    );
                }
            }
            Decision::DoesNot(NoArrival::NoCard) => assert_eq!(r.card, CardType::None),
            Decision::DoesNot(NoArrival::NoSmartphone) => assert!(!r.has_smartphone()),
            Decision::DoesNot(_) => {}
        }
    }
    assert!(applied > 5_000, "{applied}");
    assert!(remote > 0 && pilot > 0, "{remote} {pilot}");
}

#[test]
fn early_attempts_come_before_the_opening_and_swaps_follow_their_share() {
    let pop = Population::new(
        PopulationConfig {
            size: 40_000,
            ..PopulationConfig::default()
        },
        10,
    )
    .unwrap();
    let m = ArrivalModel::new(ArrivalConfig {
        early_attempt_share: 0.2,
        swap_to_ic_share: 0.3,
        ..ArrivalConfig::default()
    })
    .unwrap();
    let table = OpeningTable::korea_2025();
    let (mut applied, mut early, mut plastic, mut swaps) = (0u32, 0u32, 0u32, 0u32);
    for r in pop.iter() {
        let Decision::Applies(a) = m.decide(1, &r, &table) else {
            continue;
        };
        applied += 1;
        if r.card == CardType::Plastic {
            plastic += 1;
            swaps += u32::from(a.swaps_card);
        }
        if let Some(e) = a.early_attempt {
            early += 1;
            let opens = table.opens_at(r.district()).unwrap();
            let start = opens.max(midnight_of(r.birthday_at(17), KST_OFFSET_SECONDS));
            assert!(e < start, "{e} not before {start}");
            assert!(
                e >= start - 15 * 86_400,
                "{e} more than the window before {start}"
            );
            if e < table.online.unwrap() || r.card != CardType::Ic {
                let s = second_of_day(e, KST_OFFSET_SECONDS);
                assert!((9 * 3600..18 * 3600).contains(&s));
                assert!(weekday_index(local_day(e, KST_OFFSET_SECONDS)) < 5);
            }
        }
    }
    let early_share = f64::from(early) / f64::from(applied);
    assert!((early_share - 0.2).abs() < 0.02, "{early_share}");
    let swap_share = f64::from(swaps) / f64::from(plastic);
    assert!((swap_share - 0.3).abs() < 0.02, "{swap_share}");
}

fn date_of(t: UnixTime) -> Date {
    crate::vtime::date_of_day(local_day(t, KST_OFFSET_SECONDS)).unwrap()
}

#[test]
fn decisions_are_deterministic_per_seed_and_resident() {
    let pop = Population::new(PopulationConfig::default(), 1).unwrap();
    let m = ArrivalModel::new(ArrivalConfig::default()).unwrap();
    let table = OpeningTable::korea_2025();
    let a: Vec<Decision> = (0..200)
        .map(|i| m.decide(5, &pop.resident(i), &table))
        .collect();
    let b: Vec<Decision> = (0..200)
        .rev()
        .map(|i| m.decide(5, &pop.resident(i), &table))
        .collect();
    assert!(a.iter().eq(b.iter().rev()));
    let c: Vec<Decision> = (0..200)
        .map(|i| m.decide(6, &pop.resident(i), &table))
        .collect();
    assert_ne!(a, c);
}

#[test]
fn opening_table_takes_the_earliest_matching_area() {
    let t = OpeningTable::korea_2025();
    let at = |d| midnight_of(d, KST_OFFSET_SECONDS);
    let district = |c| crate::region::District::by_code(c).unwrap();
    assert_eq!(t.opens_at(district(41285)), Some(at(date!(2024 - 12 - 27))));
    assert_eq!(t.opens_at(district(41290)), Some(at(date!(2025 - 02 - 28))));
    assert_eq!(t.opens_at(district(11680)), Some(at(date!(2025 - 03 - 14))));
    assert_eq!(t.opens_at(district(27110)), Some(at(date!(2025 - 02 - 14))));
    let empty = OpeningTable::default();
    assert_eq!(empty.opens_at(district(11680)), None);
}

#[test]
fn bad_configurations_name_the_field() {
    let bad = |f: fn(&mut ArrivalConfig)| {
        let mut c = ArrivalConfig::default();
        f(&mut c);
        match ArrivalModel::new(c) {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(bad(|c| c.half_life_days = 0.0), "arrival.half_life_days");
    assert_eq!(bad(|c| c.uptake = f64::INFINITY), "arrival.uptake");
    assert_eq!(bad(|c| c.desk.close_hour = 25), "arrival.desk");
    assert_eq!(
        bad(|c| c.desk.hour_weights.pop().map(drop).unwrap_or(())),
        "arrival.desk"
    );
    assert_eq!(
        bad(|c| c.remote.weekday_weights = [0.0; 7]),
        "arrival.remote"
    );
    assert_eq!(bad(|c| c.desk.hour_weights[0] = -1.0), "arrival.desk");
    assert_eq!(
        bad(|c| c.utc_offset_seconds = 100_000),
        "arrival.utc_offset_seconds"
    );
}

proptest::proptest! {
    #[test]
    fn arrival_after_never_panics_and_respects_start(
        start in -10_000_000_000i64..10_000_000_000,
        online in proptest::option::of(-10_000_000_000i64..10_000_000_000),
        half_life in 0.001f64..10_000.0,
        seed in proptest::prelude::any::<u64>(),
    ) {
        let m = model(|c| c.half_life_days = half_life);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        if let Some(at) = m.arrival_after(start, online, &mut rng) {
            proptest::prop_assert!(at >= start);
        }
    }
}
