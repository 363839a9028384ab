use super::*;
use proptest::prelude::*;
use time::macros::date;

fn pop(size: u64, seed: u64) -> Population {
    Population::new(
        PopulationConfig {
            size,
            ..PopulationConfig::default()
        },
        seed,
    )
    .unwrap()
}

#[test]
fn placeholder_rrn_is_a_valid_legacy_number() {
    assert!(Rrn::EXAMPLE.has_valid_check_digit());
    assert_eq!(Rrn::EXAMPLE.birth_date(), date!(1900 - 01 - 01));
}

#[test]
fn same_seed_and_index_give_the_same_resident_in_any_order() {
    let p = pop(1000, 7);
    let forward: Vec<Resident> = (0..50).map(|i| p.resident(i)).collect();
    let backward: Vec<Resident> = (0..50).rev().map(|i| p.resident(i)).collect();
    assert!(forward.iter().eq(backward.iter().rev()));
    assert_eq!(pop(1000, 7).resident(3), forward[3]);
    assert_ne!(pop(1000, 8).resident(3), forward[3]);
    assert_ne!(forward[0], forward[1]);
}

#[test]
fn rrns_agree_with_birth_date_and_sex_and_legacy_ones_validate() {
    let p = pop(20_000, 1);
    let (mut legacy, mut random) = (0, 0);
    for r in p.iter() {
        assert_eq!(r.rrn.birth_date(), r.birth_date, "{r:?}");
        assert_eq!(r.rrn.sex(), r.sex);
        // Born before the change: a legacy number with a valid check digit (bar the 0.1%
        // reassigned ones). Born after: the random kind, whose check digit is luck.
        if r.birth_date < date!(2020 - 10 - 05) {
            legacy += usize::from(r.rrn.has_valid_check_digit());
        } else {
            random += 1;
        }
    }
    // Almost everyone was born before October 2020, a few percent after: both kinds exist.
    assert!(legacy > 18_000, "{legacy}");
    assert!(random > 100, "{random}");
}

#[test]
fn regions_follow_the_configured_weights_within_tolerance() {
    let p = pop(100_000, 11);
    let mut counts: BTreeMap<Region, u64> = BTreeMap::new();
    let mut goyang = 0u64;
    for r in p.iter() {
        *counts.entry(r.region()).or_default() += 1;
        if r.district().code_starts_with("4128") {
            goyang += 1;
        }
    }
    let total: f64 = Region::ALL
        .iter()
        .map(|r| f64::from(r.default_population_thousands()))
        .sum();
    let mut chi2 = 0.0;
    for r in Region::ALL {
        let expected = 100_000.0 * f64::from(r.default_population_thousands()) / total;
        let observed = counts.get(&r).copied().unwrap_or(0) as f64;
        // Each count within 5 binomial standard deviations of its expectation.
        assert!(
            (observed - expected).abs() < 5.0 * expected.sqrt(),
            "{r}: {observed} vs {expected}"
        );
        chi2 += (observed - expected).powi(2) / expected;
    }
    // 16 degrees of freedom: the 0.1% critical value is 39.25.
    assert!(chi2 < 39.25, "chi-square {chi2}");
    // Goyang is about 1,070 of Gyeonggi's districts' 13,8xx thousand: ~7.7%.
    let gyeonggi = counts[&Region::Gyeonggi] as f64;
    let share = goyang as f64 / gyeonggi;
    let expected: f64 = 1070.0
        / Region::Gyeonggi
            .districts()
            .iter()
            .map(|d| f64::from(d.population_thousands))
            .sum::<f64>();
    assert!((share - expected).abs() < 0.01, "{share} vs {expected}");
}

#[test]
fn ages_stay_in_the_configured_range_and_the_young_get_ic_cards_or_none() {
    let p = pop(20_000, 3);
    let cfg = p.config();
    let mut plastic = 0;
    for r in p.iter() {
        let age = r.age_on(cfg.reference_date);
        assert!((0..=100).contains(&age), "{age}");
        let seventeenth = r.birthday_at(17);
        match r.card {
            CardType::Ic => assert!(r.ic.is_some()),
            _ => assert!(r.ic.is_none()),
        }
        if seventeenth > cfg.horizon_end {
            assert_eq!(r.card, CardType::None, "{r:?}");
        } else if seventeenth >= cfg.ic_first_card_from {
            assert_eq!(r.card, CardType::Ic, "{r:?}");
        }
        if r.birth_date.year() >= 2008 {
            assert_ne!(r.card, CardType::Plastic);
        }
        plastic += usize::from(r.card == CardType::Plastic);
        assert!((0.0..=1.0).contains(&r.adoption_propensity));
        if let Some(phone) = r.phone {
            let s = phone.to_string();
            assert!(s.starts_with("010-") && s.len() == 13, "{s}");
        }
    }
    // About 80% are 17+ with an older card; 94% of those still hold plastic.
    assert!((13_000..17_000).contains(&plastic), "{plastic}");
}

#[test]
fn debug_output_masks_the_rrn_and_redacts_card_secrets() {
    let p = pop(1000, 5);
    let r = (0..1000)
        .map(|i| p.resident(i))
        .find(|r| r.ic.is_some())
        .unwrap();
    let dbg = format!("{r:?}");
    assert!(!dbg.contains(&r.rrn.expose()[7..]), "{dbg}");
    assert!(dbg.contains(&r.rrn.to_string()));
    assert!(dbg.contains("<redacted>"));
    let ic = r.ic.unwrap();
    assert_eq!(ic.password.as_str().len(), 4);
    assert_eq!(ic.can.as_str().len(), 6);
    assert!(ic.can.as_str().bytes().all(|b| b.is_ascii_digit()));
}

#[test]
fn bad_configurations_are_rejected_with_the_field_named() {
    let bad = |f: fn(&mut PopulationConfig)| {
        let mut c = PopulationConfig::default();
        f(&mut c);
        match Population::new(c, 0) {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    };
    assert_eq!(
        bad(|c| c.region_weights.clear()),
        "population.region_weights"
    );
    assert_eq!(
        bad(|c| {
            c.region_weights.insert(Region::Jeju, f64::NAN);
        }),
        "population.region_weights"
    );
    assert_eq!(bad(|c| c.age_bands[1].min_age = 3), "population.age_bands");
    assert_eq!(bad(|c| c.age_bands.clear()), "population.age_bands");
    assert_eq!(bad(|c| c.cards.ic = 1.5), "population.cards.ic");
    assert_eq!(
        bad(|c| {
            c.cards.ic = 0.6;
            c.cards.none = 0.6;
        }),
        "population.cards"
    );
    assert_eq!(bad(|c| c.smartphone.reverse()), "population.smartphone");
    assert_eq!(
        bad(|c| c.propensity_exponent = 0.0),
        "population.propensity_exponent"
    );
    assert_eq!(
        bad(|c| c.horizon_end = date!(2000 - 01 - 01)),
        "population.horizon_end"
    );
    assert_eq!(
        bad(|c| c.reference_date = date!(1900 - 01 - 01)),
        "population.reference_date"
    );
}

#[test]
fn config_round_trips_through_json_with_defaults_filled_in() {
    let c = PopulationConfig::default();
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<PopulationConfig>(&json).unwrap(), c);
    let partial: PopulationConfig = serde_json::from_str(r#"{"size": 5}"#).unwrap();
    assert_eq!(partial.size, 5);
    assert_eq!(partial.age_bands, c.age_bands);
    assert!(serde_json::from_str::<PopulationConfig>(r#"{"sise": 5}"#).is_err());
}

#[test]
fn invalid_shards_are_errors() {
    let p = pop(10, 0);
    assert_eq!(
        p.shard(0, 0),
        Err(Error::InvalidShard { index: 0, count: 0 })
    );
    assert_eq!(
        p.shard(3, 3),
        Err(Error::InvalidShard { index: 3, count: 3 })
    );
    assert_eq!(p.shard(0, 1), Ok(0..10));
    assert_eq!(p.shard(2, 3), Ok(6..10));
}

#[test]
fn district_of_agrees_with_the_generated_resident_and_shard_by_partitions() {
    let p = pop(3_000, 21);
    for i in 0..300 {
        assert_eq!(p.district_of(i), p.resident(i).district());
    }
    let mut seen = vec![0u8; 3_000];
    for k in 0..4 {
        for i in p.shard_by(k, 4, |_, d| u64::from(d.code)).unwrap() {
            seen[i as usize] += 1;
            // Every resident of a district is in the same shard.
            assert_eq!(
                crate::rng::splitmix64(u64::from(p.district_of(i).code)) % 4,
                k
            );
        }
    }
    assert!(seen.iter().all(|&n| n == 1));
    assert!(p.shard_by(4, 4, |_, _| 0).is_err());
    let gyeonggi = p.expected_residents(District::by_code(41281).unwrap());
    assert!(
        (gyeonggi - 3_000.0 * 13_694.0 / 51_272.0 * 490.0 / 13_858.0).abs() < 1.0,
        "{gyeonggi}"
    );
}

proptest! {
    #[test]
    fn any_configuration_is_rejected_or_generates_without_panicking(
        weights in proptest::collection::vec(-1.0f64..100.0, 17),
        bands in proptest::collection::vec((0u8..130, 0u8..130, -1.0f64..10.0), 0..6),
        none in -0.5f64..1.5,
        ic in -0.5f64..1.5,
        reassigned in -0.5f64..1.5,
        exponent in -1.0f64..5.0,
        seed in any::<u64>(),
    ) {
        let config = PopulationConfig {
            size: 20,
            region_weights: Region::ALL.into_iter().zip(weights).collect(),
            age_bands: bands
                .into_iter()
                .map(|(a, b, weight)| AgeBand { min_age: a.min(b), max_age: a.max(b), weight })
                .collect(),
            cards: CardShares { none, ic },
            reassigned_rrn_share: reassigned,
            propensity_exponent: exponent,
            ..PopulationConfig::default()
        };
        if let Ok(p) = Population::new(config, seed) {
            for r in p.iter() {
                prop_assert!(r.rrn.birth_date() == r.birth_date);
                prop_assert!(p.config().region_weights[&r.region()] > 0.0);
            }
        }
    }

    #[test]
    fn shards_partition_the_population(size in 0u64..10_000, count in 1u64..64) {
        let mut next = 0;
        for i in 0..count {
            let r = shard_range(size, i, count).unwrap();
            prop_assert_eq!(r.start, next);
            prop_assert!(r.end - r.start <= size / count + 1);
            next = r.end;
        }
        prop_assert_eq!(next, size);
    }

    #[test]
    fn shard_range_never_panics(size in any::<u64>(), index in any::<u64>(), count in any::<u64>()) {
        let _ = shard_range(size, index, count);
    }
}
