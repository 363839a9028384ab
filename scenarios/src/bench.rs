//! `midsim bench`: the engine's flows against their own crypto floor, measured in one run.
//!
//! For each crypto provider and each route (IC tap, desk QR) the benchmark runs rounds of
//! whole issuance flows on one thread, exactly as the rollout runs them: `sim-phone`'s app
//! through the pair harness ([`crate::harness`]), the card personalised by the issuer's
//! Document Signer on the phone's reader (PACE, reads, the phone's Passive and Active
//! Authentication), the desk's QR image read by the phone's camera, token, nonce, proof of
//! possession from the phone's keystore, mdoc signing and verification, all through the
//! issuer behind its [`Gate`] on a paused tokio clock. Between flow rounds it times each
//! operation kind the flows use, through the same provider ([`protocol::crypto`]). The
//! flows' operation counts ([`crypto::measure`]) times those per-operation costs give the
//! crypto floor; the ratio of the flow's median time to its floor is what the harness adds.
//! The camera's own decoding time is metered apart ([`crate::harness::take_camera_meter`]).
//! Medians over rounds, interleaved, so that noise from a shared machine hits both sides
//! alike. `midsim bench` adds a whole default rollout on one thread against the floor of
//! the operations its report counts ([`RolloutRun`]).
//!
//! What it does not do: run flows in parallel (figures are per core), or time HTTP (the
//! issuer benches in `sim-issuer/benches` do that).

use std::time::{Duration, Instant};

use p256::elliptic_curve::group::Group;
use p256::elliptic_curve::Field;
use p256::{ProjectivePoint, PublicKey, Scalar};
use protocol::crypto::{self, CryptoProvider, OpCounts};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use sim_issuer::issuer::{Issuer, IssuerConfig};
use sim_issuer::policy::Policy;
use time::macros::date;

use crate::arrival::Route;
use crate::flows::{self, FlowConfig, Gate, IssuerCapacity, Outcome};
use crate::population::{CardType, Population, PopulationConfig, Resident};
use crate::vtime;
use crate::Error;

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Seed of the population and the issuer.
    pub seed: u64,
    /// Flows per round and route.
    pub flows_per_round: usize,
    /// Rounds (flow rounds and cost rounds alternate).
    pub rounds: usize,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            seed: 1,
            flows_per_round: 20,
            rounds: 5,
        }
    }
}

/// Nanoseconds per operation, for each kind the flows count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpCosts {
    /// ECDSA P-256 key generation.
    pub ecdsa_keygen: f64,
    /// ECDSA P-256 signing (256-byte message).
    pub ecdsa_sign: f64,
    /// ECDSA P-256 verification (256-byte message).
    pub ecdsa_verify: f64,
    /// ECDH key pair generation.
    pub ecdh_keygen: f64,
    /// ECDH agreement.
    pub ecdh: f64,
    /// Variable-base scalar multiplication (p256).
    pub point_mul: f64,
    /// Fixed-base scalar multiplication (p256).
    pub point_mul_base: f64,
    /// One SHA-256 compression block.
    pub sha256_block: f64,
}

impl OpCosts {
    /// Row labels of [`OpCosts::values`].
    pub const LABELS: [&'static str; 8] = [
        "ecdsa_keygen",
        "ecdsa_sign",
        "ecdsa_verify",
        "ecdh_keygen",
        "ecdh",
        "point_mul (PACE mapping, p256)",
        "point_mul_base (PACE mapping)",
        "sha256 per 64-byte block",
    ];

    /// The costs in the order of [`OpCosts::LABELS`].
    pub fn values(&self) -> [f64; 8] {
        [
            self.ecdsa_keygen,
            self.ecdsa_sign,
            self.ecdsa_verify,
            self.ecdh_keygen,
            self.ecdh,
            self.point_mul,
            self.point_mul_base,
            self.sha256_block,
        ]
    }

    /// The floor of `ops`: Σ count × cost, in nanoseconds.
    pub fn floor_ns(&self, ops: &OpCounts) -> f64 {
        self.breakdown_ns(ops).iter().map(|(_, ns)| ns).sum()
    }

    /// The floor of `ops` by operation kind, in nanoseconds.
    pub fn breakdown_ns(&self, ops: &OpCounts) -> Vec<(&'static str, f64)> {
        vec![
            ("ecdsa_keygen", ops.ecdsa_keygen as f64 * self.ecdsa_keygen),
            ("ecdsa_sign", ops.ecdsa_sign as f64 * self.ecdsa_sign),
            ("ecdsa_verify", ops.ecdsa_verify as f64 * self.ecdsa_verify),
            ("ecdh_keygen", ops.ecdh_keygen as f64 * self.ecdh_keygen),
            ("ecdh", ops.ecdh as f64 * self.ecdh),
            ("point_mul", ops.point_mul as f64 * self.point_mul),
            (
                "point_mul_base",
                ops.point_mul_base as f64 * self.point_mul_base,
            ),
            ("sha256", ops.sha256_blocks as f64 * self.sha256_block),
        ]
    }

    fn median_of(samples: &[OpCosts]) -> OpCosts {
        let m = |f: fn(&OpCosts) -> f64| median(samples.iter().map(f).collect());
        OpCosts {
            ecdsa_keygen: m(|c| c.ecdsa_keygen),
            ecdsa_sign: m(|c| c.ecdsa_sign),
            ecdsa_verify: m(|c| c.ecdsa_verify),
            ecdh_keygen: m(|c| c.ecdh_keygen),
            ecdh: m(|c| c.ecdh),
            point_mul: m(|c| c.point_mul),
            point_mul_base: m(|c| c.point_mul_base),
            sha256_block: m(|c| c.sha256_block),
        }
    }
}

/// One route under one provider.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RouteResult {
    /// `ic_tap` or `desk_qr`.
    pub route: String,
    /// Flows run (all issued).
    pub flows: u64,
    /// Median over rounds of the mean flow time, ns.
    pub flow_ns: f64,
    /// Flows per second on one core (1 / `flow_ns`).
    pub flows_per_sec: f64,
    /// Operations of one flow (every flow of a route does the same operations; SHA-256
    /// blocks vary with name lengths and are rounded).
    pub ops_per_flow: OpCounts,
    /// The crypto floor of one flow, ns.
    pub floor_ns: f64,
    /// The floor by operation kind, ns.
    pub floor_breakdown_ns: Vec<(String, f64)>,
    /// `flow_ns / floor_ns`: 1.25 means the harness adds 25 % over the crypto.
    pub ratio: f64,
    /// Mean wall time of the phone's camera decoding the desk's QR code, per flow, ns
    /// (zero for the IC route; part of `flow_ns`).
    #[serde(default)]
    pub camera_ns: f64,
}

/// Everything measured under one provider.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProviderResult {
    /// Provider name.
    pub provider: String,
    /// Median per-operation costs.
    pub costs: OpCosts,
    /// Per route.
    pub routes: Vec<RouteResult>,
}

/// Peak memory of one rollout run by the benchmark.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemoryRun {
    /// Residents.
    pub population: u64,
    /// Last simulated day.
    pub end: String,
    /// Peak resident set size of the rollout process, bytes.
    pub peak_rss_bytes: u64,
    /// Mobile IDs issued in the run.
    pub issued: u64,
    /// Wall time, seconds.
    pub wall_seconds: f64,
    /// What the issuer kept at the end (its memory grows with these).
    pub issuer_records: sim_issuer::issuer::Retained,
}

/// The harness's target: at most this much over the crypto floor.
pub const TARGET_OVERHEAD: f64 = 0.25;
/// The memory target: the largest run within this factor of the smallest.
pub const TARGET_MEMORY_RATIO: f64 = 2.0;

/// Everything `midsim bench` measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchReport {
    /// Seed.
    pub seed: u64,
    /// Flows per round and route.
    pub flows_per_round: usize,
    /// Rounds.
    pub rounds: usize,
    /// Per provider.
    pub providers: Vec<ProviderResult>,
    /// Memory runs, smallest population first.
    pub memory: Vec<MemoryRun>,
    /// Peak memory of the largest run over the smallest's.
    pub memory_ratio: Option<f64>,
    /// A whole default rollout on one thread against its crypto floor.
    #[serde(default)]
    pub rollout: Option<RolloutRun>,
}

/// A whole rollout on one thread: its wall time against the crypto floor of every operation
/// its report counts, at the per-operation costs measured in the same `midsim bench` run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RolloutRun {
    /// The crypto provider.
    pub provider: String,
    /// Residents.
    pub population: u64,
    /// Last simulated day.
    pub end: String,
    /// Mobile IDs issued.
    pub issued: u64,
    /// Wall time, seconds (the whole process, one worker thread).
    pub wall_seconds: f64,
    /// The report's `crypto_ops` times the measured per-operation costs, seconds.
    pub floor_seconds: f64,
    /// `wall_seconds / floor_seconds`.
    pub ratio: f64,
}

/// The whole-rollout target: wall time at most this multiple of its crypto floor.
pub const TARGET_ROLLOUT_RATIO: f64 = 1.25;

impl RolloutRun {
    /// The figures of one rollout whose report counted `ops`, under `costs`.
    pub fn new(
        provider: &ProviderResult,
        population: u64,
        end: String,
        issued: u64,
        wall_seconds: f64,
        ops: &OpCounts,
    ) -> Self {
        let floor_seconds = provider.costs.floor_ns(ops) / 1e9;
        RolloutRun {
            provider: provider.provider.clone(),
            population,
            end,
            issued,
            wall_seconds,
            floor_seconds,
            ratio: wall_seconds / floor_seconds,
        }
    }
}

impl BenchReport {
    /// Assembles the report.
    pub fn new(
        cfg: &BenchConfig,
        providers: Vec<ProviderResult>,
        mut memory: Vec<MemoryRun>,
    ) -> Self {
        memory.sort_by_key(|m| m.population);
        let memory_ratio = match (memory.first(), memory.last()) {
            (Some(a), Some(b)) if memory.len() > 1 && a.peak_rss_bytes > 0 => {
                Some(b.peak_rss_bytes as f64 / a.peak_rss_bytes as f64)
            }
            _ => None,
        };
        BenchReport {
            seed: cfg.seed,
            flows_per_round: cfg.flows_per_round,
            rounds: cfg.rounds,
            providers,
            memory,
            memory_ratio,
            rollout: None,
        }
    }

    /// The human-readable summary `midsim bench` prints.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut t = String::new();
        let _ = writeln!(
            t,
            "midsim bench: seed {}, {} rounds of {} flows per route, one thread (figures per core)\n",
            self.seed, self.rounds, self.flows_per_round
        );
        let _ = write!(t, "{:<34}", "cost per operation (µs, median)");
        for p in &self.providers {
            let _ = write!(t, "{:>12}", p.provider);
        }
        t.push('\n');
        for (k, name) in OpCosts::LABELS.iter().enumerate() {
            let _ = write!(t, "  {name:<32}");
            for p in &self.providers {
                let _ = write!(t, "{:>12.2}", p.costs.values()[k] / 1e3);
            }
            t.push('\n');
        }
        if let Some(p) = self.providers.first() {
            let _ = write!(t, "\n{:<34}", "operations per flow");
            for r in &p.routes {
                let _ = write!(t, "{:>12}", r.route);
            }
            t.push('\n');
            for (i, (name, _)) in OpCounts::ZERO.fields().iter().enumerate() {
                let _ = write!(t, "  {name:<32}");
                for r in &p.routes {
                    let _ = write!(t, "{:>12}", r.ops_per_flow.fields()[i].1);
                }
                t.push('\n');
            }
        }
        let _ = writeln!(
            t,
            "\n{:<9}{:<12}{:>14}{:>11}{:>19}{:>12}{:>21}",
            "route",
            "crypto",
            "flows/s/core",
            "flow ms",
            "crypto floor ms",
            "camera ms",
            "harness over floor"
        );
        for p in &self.providers {
            for r in &p.routes {
                let over = r.ratio - 1.0;
                let verdict = if over <= TARGET_OVERHEAD {
                    "meets"
                } else {
                    "misses"
                };
                let _ = writeln!(
                    t,
                    "{:<9}{:<12}{:>14.1}{:>11.2}{:>19.2}{:>12.3}{:>13.1} % ({verdict} < {:.0} %)",
                    r.route,
                    p.provider,
                    r.flows_per_sec,
                    r.flow_ns / 1e6,
                    r.floor_ns / 1e6,
                    r.camera_ns / 1e6,
                    over * 100.0,
                    TARGET_OVERHEAD * 100.0
                );
            }
        }
        if let Some(r) = &self.rollout {
            let verdict = if r.ratio <= TARGET_ROLLOUT_RATIO {
                "meets"
            } else {
                "misses"
            };
            let _ = writeln!(
                t,
                "\nwhole rollout, one thread, crypto {}: {} residents to {}, {} issued: {:.1} s wall / {:.1} s crypto floor = {:.2}x ({verdict} <= {TARGET_ROLLOUT_RATIO:.2}x)",
                r.provider, r.population, r.end, r.issued, r.wall_seconds, r.floor_seconds, r.ratio
            );
        }
        if !self.memory.is_empty() {
            let _ = writeln!(t, "\npeak memory of a rollout (whole process)");
            for m in &self.memory {
                let _ = writeln!(
                    t,
                    "  {:>10} residents to {}: {:>8.1} MB  ({} issued, {:.1} s wall; issuer keeps {} residents, {} credentials)",
                    m.population,
                    m.end,
                    m.peak_rss_bytes as f64 / 1048576.0,
                    m.issued,
                    m.wall_seconds,
                    m.issuer_records.residents,
                    m.issuer_records.credentials,
                );
            }
            if let Some(r) = self.memory_ratio {
                let verdict = if r <= TARGET_MEMORY_RATIO {
                    "meets"
                } else {
                    "misses"
                };
                let _ = writeln!(
                    t,
                    "  largest / smallest: {r:.2}x ({verdict} the {TARGET_MEMORY_RATIO:.0}x target)"
                );
            }
        }
        t
    }

    /// A self-contained HTML page: the summary and bar charts (inline SVG).
    pub fn to_html(&self) -> String {
        let mut bars = Vec::new();
        for p in &self.providers {
            for r in &p.routes {
                bars.push((
                    format!("{} · {}", r.route, p.provider),
                    r.floor_ns / 1e6,
                    r.flow_ns / 1e6,
                ));
            }
        }
        let flow_chart = bar_chart(
            "Flow time against its crypto floor (ms per flow, one core)",
            &bars,
            "crypto floor",
            "harness",
        );
        let mem: Vec<_> = self
            .memory
            .iter()
            .map(|m| {
                let mb = m.peak_rss_bytes as f64 / 1048576.0;
                (format!("{} residents", m.population), mb, mb)
            })
            .collect();
        let mem_chart = if mem.is_empty() {
            String::new()
        } else {
            bar_chart("Peak memory of a rollout (MB)", &mem, "peak RSS", "")
        };
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>midsim bench</title>\
             <style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}\
             pre{{background:#f6f6f6;padding:1em;overflow:auto}}</style></head><body>\
             <h1>midsim bench</h1>{flow_chart}{mem_chart}<pre>{}</pre></body></html>\n",
            html_escape(&self.to_text())
        )
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Horizontal bars: `(label, first part, total)`; the first part in blue, the rest orange.
fn bar_chart(title: &str, bars: &[(String, f64, f64)], first: &str, rest: &str) -> String {
    use std::fmt::Write;
    let max = bars
        .iter()
        .map(|b| b.2.max(b.1))
        .fold(0.0, f64::max)
        .max(1e-9);
    let (left, width, row) = (230.0, 520.0, 28.0);
    let height = 50.0 + row * bars.len() as f64;
    let mut svg = format!(
        "<h2>{}</h2><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"860\" height=\"{height}\" \
         font-size=\"12\">",
        html_escape(title)
    );
    for (i, (label, a, total)) in bars.iter().enumerate() {
        let y = 10.0 + row * i as f64;
        let wa = width * a / max;
        let wt = width * total.max(*a) / max;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{left}\" y=\"{y}\" width=\"{wa:.1}\" height=\"18\" fill=\"#4c78a8\"/>\
             <rect x=\"{:.1}\" y=\"{y}\" width=\"{:.1}\" height=\"18\" fill=\"#f58518\"/>\
             <text x=\"{:.1}\" y=\"{}\">{total:.2}</text>",
            left - 6.0,
            y + 13.0,
            html_escape(label),
            left + wa,
            (wt - wa).max(0.0),
            left + wt + 4.0,
            y + 13.0
        );
    }
    let ly = height - 22.0;
    let _ = write!(
        svg,
        "<rect x=\"{left}\" y=\"{ly}\" width=\"12\" height=\"12\" fill=\"#4c78a8\"/>\
         <text x=\"{}\" y=\"{}\">{first}</text>",
        left + 16.0,
        ly + 10.0
    );
    if !rest.is_empty() {
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{ly}\" width=\"12\" height=\"12\" fill=\"#f58518\"/>\
             <text x=\"{}\" y=\"{}\">{rest}</text>",
            left + 130.0,
            left + 146.0,
            ly + 10.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Runs the flow benchmark under `provider` on the current thread; `progress` is called
/// after each round with (rounds done, rounds).
pub fn run(
    cfg: &BenchConfig,
    provider: &'static CryptoProvider,
    mut progress: impl FnMut(usize, usize),
) -> Result<ProviderResult, Error> {
    if cfg.flows_per_round == 0 || cfg.rounds == 0 {
        return Err(Error::config(
            "bench",
            "flows and rounds must be at least 1",
        ));
    }
    crypto::with_provider(provider, || {
        let need = cfg.flows_per_round * cfg.rounds;
        let (ic, plastic) = residents(cfg.seed, need)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .map_err(|e| Error::Runtime(e.to_string()))?;
        rt.block_on(async {
            let issuer = Issuer::new(
                cfg.seed,
                IssuerConfig::default(),
                Policy::default_rollout(),
                vtime::midnight_of(crate::sim::START, KST),
            )
            .map_err(|e| Error::Issuer(e.to_string()))?;
            let capacity = IssuerCapacity {
                concurrent: 1,
                service_ms: 50,
                ..IssuerCapacity::default()
            };
            // Tuesday 2025-04-01, 10:00 KST: every region open, the app route too.
            let gate = Gate::new(issuer, capacity, vtime::midnight_of(OPEN_DAY, KST) + 36_000);
            let flow_cfg = FlowConfig {
                wrong_password_share: 0.0,
                ..FlowConfig::default()
            };
            let mut costs = Vec::new();
            let mut samples: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            let mut ops = [OpCounts::ZERO; 2];
            let mut camera = [Duration::ZERO; 2];
            crate::harness::take_camera_meter();
            for round in 0..cfg.rounds {
                let slice = round * cfg.flows_per_round..(round + 1) * cfg.flows_per_round;
                for (k, people) in [&ic, &plastic].into_iter().enumerate() {
                    let mut elapsed = Duration::ZERO;
                    for r in &people[slice.clone()] {
                        flows::ensure_registered(&gate, cfg.seed, r)?;
                        let started = Instant::now();
                        let (outcome, n) = measure_async(async {
                            if k == 0 {
                                flows::ic_tap(&gate, cfg.seed, r, &flow_cfg, 1, &mut Vec::new())
                                    .await
                            } else {
                                flows::desk_qr(&gate, cfg.seed, r, 1, false).await
                            }
                        })
                        .await;
                        elapsed += started.elapsed();
                        ops[k] += n;
                        match outcome {
                            Outcome::Issued { .. } => {}
                            other => {
                                return Err(Error::Runtime(format!(
                                    "bench flow for resident {} did not issue: {other:?} \
                                     (same run: midsim bench --seed {} --flows {} --rounds {})",
                                    r.index, cfg.seed, cfg.flows_per_round, cfg.rounds
                                )))
                            }
                        }
                    }
                    samples[k].push(elapsed.as_nanos() as f64 / cfg.flows_per_round as f64);
                    camera[k] += crate::harness::take_camera_meter().1;
                }
                costs.push(op_costs(round as u64));
                progress(round + 1, cfg.rounds);
            }
            let costs = OpCosts::median_of(&costs);
            let flows = need as u64;
            let routes = [Route::IcTap, Route::Qr]
                .into_iter()
                .enumerate()
                .map(|(k, route)| {
                    let per_flow = per_flow(ops[k], flows);
                    let flow_ns = median(samples[k].clone());
                    let floor_ns = costs.floor_ns(&per_flow);
                    RouteResult {
                        route: match route {
                            Route::IcTap => "ic_tap".into(),
                            Route::Qr => "desk_qr".into(),
                        },
                        flows,
                        flow_ns,
                        flows_per_sec: 1e9 / flow_ns,
                        ops_per_flow: per_flow,
                        floor_ns,
                        floor_breakdown_ns: costs
                            .breakdown_ns(&per_flow)
                            .into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect(),
                        ratio: flow_ns / floor_ns,
                        camera_ns: camera[k].as_nanos() as f64 / flows as f64,
                    }
                })
                .collect();
            Ok(ProviderResult {
                provider: provider.name.to_owned(),
                costs,
                routes,
            })
        })
    })
}

/// This process's peak resident set size in bytes (`VmHWM` of `/proc/self/status`), where
/// the system has one.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

const KST: i32 = 9 * 3600;
const OPEN_DAY: time::Date = date!(2025 - 04 - 01);

/// The first `n` IC-card holders and `n` older-card holders aged 17+ on the open day.
fn residents(seed: u64, n: usize) -> Result<(Vec<Resident>, Vec<Resident>), Error> {
    const SIZE: u64 = 10_000_000;
    let pop = Population::new(
        PopulationConfig {
            size: SIZE,
            ..PopulationConfig::default()
        },
        seed,
    )?;
    let (mut ic, mut plastic) = (Vec::new(), Vec::new());
    let mut i = 0;
    while ic.len() < n || plastic.len() < n {
        if i >= SIZE {
            return Err(Error::config(
                "bench",
                "not enough residents for that many flows",
            ));
        }
        let r = pop.resident(i);
        i += 1;
        if r.age_on(OPEN_DAY) < 17 {
            continue;
        }
        match r.card {
            CardType::Ic if ic.len() < n => ic.push(r),
            CardType::Plastic if plastic.len() < n => plastic.push(r),
            _ => {}
        }
    }
    Ok((ic, plastic))
}

/// Counts the operations of one future that runs alone on this thread.
async fn measure_async<T>(f: impl std::future::Future<Output = T>) -> (T, OpCounts) {
    let before = crypto::counts();
    let out = f.await;
    (out, crypto::counts() - before)
}

fn per_flow(total: OpCounts, flows: u64) -> OpCounts {
    total.map(|v| (v + flows / 2) / flows.max(1))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Times each operation kind through the provider in force (and p256 for the mapping).
fn op_costs(salt: u64) -> OpCosts {
    const EC: usize = 40;
    let mut rng = ChaCha20Rng::seed_from_u64(0xBE7C ^ salt);
    let msg = [0x5Au8; 256];
    let keys: Vec<_> = (0..EC)
        .map(|_| crypto::generate_signing_key(&mut rng))
        .collect();
    let sigs: Vec<_> = keys.iter().map(|k| crypto::sign(k, &msg)).collect();
    let pairs: Vec<_> = (0..EC).map(|_| crypto::generate_ecdh(&mut rng)).collect();
    let scalars: Vec<Scalar> = (0..EC).map(|_| Scalar::random(&mut rng)).collect();
    let time = |f: &mut dyn FnMut(usize)| {
        let t = Instant::now();
        for i in 0..EC {
            f(i);
        }
        t.elapsed().as_nanos() as f64 / EC as f64
    };
    let mut sink = 0u8;
    let ecdsa_keygen = time(&mut |_| {
        sink ^= crypto::generate_signing_key(&mut rng).to_bytes()[0];
    });
    let ecdsa_sign = time(&mut |i| sink ^= crypto::sign(&keys[i], &msg).to_bytes()[0]);
    let ecdsa_verify = time(&mut |i| {
        sink ^= u8::from(crypto::verify(keys[i].verifying_key(), &msg, &sigs[i]).is_ok());
    });
    let ecdh_keygen = time(&mut |_| sink ^= crypto::generate_ecdh(&mut rng).1.to_sec1_bytes()[1]);
    let ecdh = time(&mut |i| {
        let peer: &PublicKey = &pairs[(i + 1) % EC].1;
        sink ^= crypto::ecdh(&pairs[i].0, peer).map(|x| x[0]).unwrap_or(0);
    });
    let point_mul = time(&mut |i| {
        let p = pairs[i].1.to_projective() * scalars[i];
        sink ^= u8::from(bool::from(p.is_identity()));
    });
    let point_mul_base = time(&mut |i| {
        let p = ProjectivePoint::GENERATOR * scalars[i];
        sink ^= u8::from(bool::from(p.is_identity()));
    });
    // 16 blocks: 1015 bytes plus padding.
    let block = vec![0xA5u8; 16 * 64 - 9];
    let sha = {
        let t = Instant::now();
        for i in 0..200u32 {
            sink ^= crypto::sha256_parts(&[&block, &i.to_le_bytes()[..0]])[0];
        }
        t.elapsed().as_nanos() as f64 / (200.0 * 16.0)
    };
    std::hint::black_box(sink);
    OpCosts {
        ecdsa_keygen,
        ecdsa_sign,
        ecdsa_verify,
        ecdh_keygen,
        ecdh,
        point_mul,
        point_mul_base,
        sha256_block: sha,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_bench_issues_every_flow_and_counts_the_operations_each_route_needs() {
        let cfg = BenchConfig {
            seed: 3,
            flows_per_round: 2,
            rounds: 1,
        };
        let res = run(&cfg, &protocol::crypto::RUSTCRYPTO, |_, _| {}).unwrap();
        let tap = &res.routes[0];
        let qr = &res.routes[1];
        assert_eq!(
            (tap.route.as_str(), qr.route.as_str()),
            ("ic_tap", "desk_qr")
        );
        // PACE: two ECDH key pairs and agreements, two mappings (one var-base and one
        // fixed-base multiplication each) and two key pairs on the mapped generator.
        assert_eq!(tap.ops_per_flow.ecdh_keygen, 2);
        assert_eq!(tap.ops_per_flow.ecdh, 2);
        assert_eq!(tap.ops_per_flow.point_mul, 4);
        assert_eq!(tap.ops_per_flow.point_mul_base, 2);
        // QR: no card, so no PACE at all.
        assert_eq!(qr.ops_per_flow.ecdh + qr.ops_per_flow.point_mul, 0);
        // Signatures: the tap adds the card's Active Authentication and Passive
        // Authentication checks to what both routes do (proof JWT, MSO, mdoc check).
        assert!(tap.ops_per_flow.ecdsa_sign > qr.ops_per_flow.ecdsa_sign);
        assert!(tap.ops_per_flow.ecdsa_verify > qr.ops_per_flow.ecdsa_verify);
        assert!(qr.ops_per_flow.ecdsa_sign >= 2 && qr.ops_per_flow.ecdsa_verify >= 3);
        for r in &res.routes {
            assert!(
                r.floor_ns > 0.0 && r.flow_ns > 0.0 && r.ratio.is_finite(),
                "{r:?}"
            );
        }
    }

    #[test]
    fn the_floor_is_the_sum_of_counts_times_costs() {
        let costs = OpCosts {
            ecdsa_sign: 10.0,
            ecdsa_verify: 100.0,
            sha256_block: 1.0,
            ..OpCosts::default()
        };
        let ops = OpCounts {
            ecdsa_sign: 2,
            ecdsa_verify: 3,
            sha256: 5,
            sha256_blocks: 7,
            ..OpCounts::ZERO
        };
        assert_eq!(costs.floor_ns(&ops), 20.0 + 300.0 + 7.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
