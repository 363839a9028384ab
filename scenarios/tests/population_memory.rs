//! Generating residents one at a time keeps nothing per resident: a counting allocator shows
//! that every byte allocated for a resident is freed when it is dropped, and that each resident
//! costs a bounded number of allocations (its name).

use scenarios::population::{Population, PopulationConfig};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn a_million_residents_generated_one_by_one_leave_no_allocation_behind() {
    const N: u64 = 1_000_000;
    let population = Population::new(
        PopulationConfig {
            size: N,
            ..PopulationConfig::default()
        },
        2025,
    )
    .unwrap();
    let region = Region::new(GLOBAL);
    let mut checksum = 0u64;
    for resident in population.iter() {
        checksum = checksum.wrapping_add(resident.name.len() as u64);
    }
    let stats = region.change();
    assert!(checksum > N);
    // Everything allocated while generating was freed again: no per-resident state.
    assert_eq!(stats.bytes_allocated, stats.bytes_deallocated, "{stats:?}");
    assert_eq!(stats.allocations, stats.deallocations, "{stats:?}");
    // One allocation per resident: the name string.
    assert!(stats.allocations <= N as usize, "{stats:?}");
}
