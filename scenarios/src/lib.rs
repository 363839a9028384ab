//! Population, end-to-end flows, deterministic simulation, load, faults, reports, certification suites, and the `midsim` command-line tool (being written).
