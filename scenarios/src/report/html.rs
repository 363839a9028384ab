//! A self-contained HTML page for a report: inline CSS and SVG, no scripts, no network.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::svg::escape;
use super::Report;
use crate::region::Region;

/// Renders the report as one HTML document: run summary, totals, adoption by region, every
/// chart of [`Report::charts`] inline, and the wall-clock section last (it is the only part
/// that differs between two runs of the same seed and configuration).
pub fn render_html(report: &Report) -> String {
    let run = &report.run;
    let totals = report.totals();
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        h,
        "<title>Mobile ID rollout report, seed {}</title>",
        run.seed
    );
    h.push_str(
        "<style>body{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}\
         table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}\
         th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}</style>\n",
    );
    h.push_str("</head>\n<body>\n<h1>Mobile ID rollout report</h1>\n");
    let shards: Vec<String> = run
        .shards
        .iter()
        .map(|(a, b)| format!("[{a}, {b})"))
        .collect();
    let _ = writeln!(
        h,
        "<p>Seed {} · population {} · residents covered {} · {} to {} · configuration {}</p>",
        run.seed,
        run.population_size,
        escape(&shards.join(" ")),
        run.start,
        run.end,
        escape(&run.config_digest)
    );
    h.push_str("<h2>Phases</h2>\n<table><tr><th>phase</th><th>opens</th></tr>\n");
    for p in &run.phases {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(&p.name),
            p.opens
        );
    }
    h.push_str("</table>\n<h2>Totals</h2>\n<table>\n");
    let _ = writeln!(h, "<tr><td>eligible</td><td>{}</td></tr>", totals.eligible);
    let _ = writeln!(h, "<tr><td>issued</td><td>{}</td></tr>", totals.issued);
    for (route, n) in &totals.issued_by_route {
        let _ = writeln!(
            h,
            "<tr><td>issued by {}</td><td>{n}</td></tr>",
            super::route_name(*route)
        );
    }
    let _ = writeln!(h, "<tr><td>refused</td><td>{}</td></tr>", totals.refused);
    let _ = writeln!(h, "<tr><td>failed</td><td>{}</td></tr>", totals.failed);
    let _ = writeln!(
        h,
        "<tr><td>desk wait p50 / p99 (min)</td><td>{:.1} / {:.1}</td></tr>",
        report.desk_wait_ms.all.quantile(0.5) as f64 / 60_000.0,
        report.desk_wait_ms.all.quantile(0.99) as f64 / 60_000.0
    );
    let _ = writeln!(
        h,
        "<tr><td>issuer latency p50 / p99 (ms)</td><td>{:.1} / {:.1}</td></tr>",
        report.issuer_latency_us.all.quantile(0.5) as f64 / 1_000.0,
        report.issuer_latency_us.all.quantile(0.99) as f64 / 1_000.0
    );
    h.push_str("</table>\n<h2>Adoption by region</h2>\n");
    h.push_str("<table><tr><th>region</th><th>code</th><th>eligible</th><th>issued</th><th>adoption</th></tr>\n");
    for region in Region::ALL {
        let eligible = report.eligible_by_region.get(&region).copied().unwrap_or(0);
        let issued = totals.issued_by_region.get(&region).copied().unwrap_or(0);
        let share = if eligible == 0 {
            0.0
        } else {
            100.0 * issued as f64 / eligible as f64
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{:02}</td><td>{eligible}</td><td>{issued}</td><td>{share:.1}%</td></tr>",
            region.name_en(),
            region.code()
        );
    }
    h.push_str("</table>\n");
    if !report.refusals.is_empty() || !report.failures.is_empty() {
        h.push_str(
            "<h2>Refusals and failures</h2>\n<table><tr><th>reason</th><th>count</th></tr>\n",
        );
        for (kind, days) in report.refusals.iter().chain(&report.failures) {
            let n: u64 = days.values().sum();
            let _ = writeln!(h, "<tr><td>{}</td><td>{n}</td></tr>", escape(kind));
        }
        h.push_str("</table>\n");
    }
    if !report.presentations.is_empty() {
        h.push_str(
            "<h2>Presentations at relying parties</h2>\n<table><tr><th>relying party</th>\
             <th>presented</th><th>accepted</th><th>refused or declined</th>\
             <th>verifier latency p50 / p99 (ms)</th></tr>\n",
        );
        let mut reasons: BTreeMap<&str, u64> = BTreeMap::new();
        for (kind, outcomes) in &report.presentations {
            let mut presented = 0;
            let mut accepted = 0;
            for (outcome, days) in outcomes {
                let n: u64 = days.values().sum();
                presented += n;
                if outcome == super::PRESENTATION_ACCEPTED {
                    accepted += n;
                } else {
                    *reasons.entry(outcome).or_default() += n;
                }
            }
            let (p50, p99) = report
                .verifier_latency_us
                .get(kind)
                .map_or((0.0, 0.0), |h| {
                    (
                        h.all.quantile(0.5) as f64 / 1_000.0,
                        h.all.quantile(0.99) as f64 / 1_000.0,
                    )
                });
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{presented}</td><td>{accepted}</td><td>{}</td><td>{p50:.1} / {p99:.1}</td></tr>",
                escape(kind),
                presented - accepted
            );
        }
        h.push_str("</table>\n");
        if !reasons.is_empty() {
            h.push_str("<table><tr><th>refusal (M900 reason) or decline</th><th>count</th></tr>\n");
            for (reason, n) in reasons {
                let _ = writeln!(h, "<tr><td>{}</td><td>{n}</td></tr>", escape(reason));
            }
            h.push_str("</table>\n");
        }
    }
    h.push_str("<h2>Crypto operations and issuer records</h2>\n<table><tr><th>operation</th><th>count</th></tr>\n");
    for (name, n) in report.crypto_ops.fields() {
        let _ = writeln!(h, "<tr><td>{name}</td><td>{n}</td></tr>");
    }
    let r = &report.issuer_records;
    for (name, n) in [
        ("issuer keeps: changed registry records", r.residents),
        ("issuer keeps: credentials", r.credentials),
        ("issuer keeps: active mobile IDs", r.active),
        ("issuer keeps: idempotency records (24 h)", r.idempotency),
    ] {
        let _ = writeln!(h, "<tr><td>{name}</td><td>{n}</td></tr>");
    }
    h.push_str("</table>\n<h2>Charts</h2>\n");
    for chart in report.charts() {
        let _ = write!(h, "<figure>\n{}</figure>\n", chart.to_svg());
    }
    if !report.wall_clock.is_empty() {
        h.push_str("<h2>Wall clock (not deterministic)</h2>\n");
        h.push_str("<table><tr><th>shard</th><th>seconds</th><th>flows/s</th><th>peak RSS (MiB)</th><th>crypto</th></tr>\n");
        for w in &report.wall_clock {
            let rss = w.peak_rss_bytes.map_or_else(
                || "-".to_owned(),
                |b| format!("{:.1}", b as f64 / 1_048_576.0),
            );
            let _ = writeln!(
                h,
                "<tr><td>{} of {}</td><td>{:.1}</td><td>{:.1}</td><td>{rss}</td><td>{}</td></tr>",
                w.shard.0,
                w.shard.1,
                w.elapsed_seconds,
                w.flows_per_second,
                escape(w.crypto_provider.as_deref().unwrap_or("-"))
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}
