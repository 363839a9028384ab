//! Per-resident costs that the rollout simulation pays millions of times: generating a
//! resident, finding only their district, and deciding their arrival.

// criterion_group! and criterion_main! generate undocumented public functions.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use scenarios::arrival::{ArrivalConfig, ArrivalModel, OpeningTable};
use scenarios::population::{Population, PopulationConfig};

fn population(c: &mut Criterion) {
    let pop = Population::new(
        PopulationConfig {
            size: u64::MAX,
            ..PopulationConfig::default()
        },
        1,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let model = ArrivalModel::new(ArrivalConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let table = OpeningTable::korea_2025();
    let mut i = 0u64;
    c.bench_function("resident", |b| {
        b.iter(|| {
            i += 1;
            black_box(pop.resident(i))
        })
    });
    c.bench_function("district_of", |b| {
        b.iter(|| {
            i += 1;
            black_box(pop.district_of(i))
        })
    });
    c.bench_function("resident_and_arrival", |b| {
        b.iter(|| {
            i += 1;
            let r = pop.resident(i);
            black_box(model.decide(1, &r, &table))
        })
    });
}

criterion_group!(benches, population);
criterion_main!(benches);
