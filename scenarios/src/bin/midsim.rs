//! `midsim`: the mobile ID simulation and test harness.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use scenarios::report::{render_html, Report, WallClock};
use scenarios::sim::{self, Progress, ShardResult, SimConfig};

/// Residents in the default rollout: a sample of the national population that runs in about
/// two minutes on 2 cores in a release build.
const DEFAULT_POPULATION: u64 = 150_000;

#[derive(Parser)]
#[command(
    name = "midsim",
    version,
    about = "Mobile ID rollout simulation and test harness (no subcommand: the default rollout)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Clone)]
struct RunArgs {
    /// Seed of the run: the same seed and options give the same report.json, byte for byte.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Residents in the population sample.
    #[arg(long, default_value_t = DEFAULT_POPULATION)]
    population: u64,
    /// Last simulated day (YYYY-MM-DD); the run starts at the pilot opening, 2024-12-27.
    #[arg(long, default_value = "2025-06-30")]
    end: String,
    /// Logical shards (part of the configuration: results depend on it, not on threads).
    #[arg(long, default_value_t = 4)]
    shards: u64,
    /// Requests the issuer serves at once (per shard).
    #[arg(long, default_value_t = 2)]
    issuer_concurrent: u32,
    /// Issuer service time per request, ms of virtual time.
    #[arg(long, default_value_t = 20_000)]
    issuer_service_ms: u64,
    /// Share of taps where the holder first types a wrong card password.
    #[arg(long, default_value_t = 0.03)]
    wrong_password_share: f64,
    /// Share of new holders who lose their card (reported, revoked, reissued at the desk).
    #[arg(long, default_value_t = 0.02)]
    card_loss_share: f64,
    /// Share of new holders who lose their phone (reported, revoked, reissued on a new one).
    #[arg(long, default_value_t = 0.01)]
    phone_loss_share: f64,
    /// Share of new holders who change handsets (reissued; the old copy is superseded).
    #[arg(long, default_value_t = 0.04)]
    phone_change_share: f64,
    /// Share of IC cards tampered with after signing (refused by the phone's Passive
    /// Authentication).
    #[arg(long, default_value_t = 0.001)]
    tampered_card_share: f64,
    /// Crypto provider: `rustcrypto`, or `aws-lc` in a build with the `aws-lc` feature.
    /// Reports are the same byte for byte under either; only the wall time changes.
    #[arg(long, default_value = "rustcrypto")]
    crypto: String,
}

impl RunArgs {
    /// Installs the chosen crypto provider for the process.
    fn install_crypto(&self) -> anyhow::Result<()> {
        let p = provider_named(&self.crypto)?;
        p.install_default()
            .map_err(|other| anyhow::anyhow!("crypto provider {} already installed", other.name))
    }

    fn config(&self) -> anyhow::Result<SimConfig> {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        let end = time::Date::parse(&self.end, fmt)
            .with_context(|| format!("--end {:?}: expected YYYY-MM-DD", self.end))?;
        let mut cfg = SimConfig::with_size(self.seed, self.population);
        cfg.set_end(end);
        cfg.shards = self.shards;
        cfg.issuer.concurrent = self.issuer_concurrent;
        cfg.issuer.service_ms = self.issuer_service_ms;
        cfg.flows.wrong_password_share = self.wrong_password_share;
        cfg.flows.card_loss_share = self.card_loss_share;
        cfg.flows.phone_loss_share = self.phone_loss_share;
        cfg.flows.phone_change_share = self.phone_change_share;
        cfg.flows.tampered_card_share = self.tampered_card_share;
        cfg.validate().context("invalid configuration")?;
        Ok(cfg)
    }

    fn replay_command(&self, resident: u64) -> String {
        format!(
            "midsim replay --seed {} --population {} --end {} --shards {} --issuer-concurrent {} --issuer-service-ms {} --wrong-password-share {} --card-loss-share {} --phone-loss-share {} --phone-change-share {} --tampered-card-share {} --resident {resident}",
            self.seed, self.population, self.end, self.shards, self.issuer_concurrent,
            self.issuer_service_ms, self.wrong_password_share, self.card_loss_share,
            self.phone_loss_share, self.phone_change_share, self.tampered_card_share
        )
    }
}

#[derive(Subcommand)]
enum Command {
    /// Tap a virtual IC card: PACE, read every data group, Passive and Active
    /// Authentication; print the APDU transcript and write it to the report folder.
    Tap {
        /// Seed of the demo card (the same seed gives the same card, byte for byte).
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Folder the transcript is written to.
        #[arg(long, default_value = "midsim-report")]
        out: PathBuf,
    },
    /// Run a rollout in virtual time, every flow real, shards in parallel on every core.
    Rollout {
        #[command(flatten)]
        run: RunArgs,
        /// Run only shard I of N (`I/N`, 0-based), e.g. one per Kubernetes Job index.
        #[arg(long)]
        shard: Option<String>,
        /// Worker threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
        /// Folder for report.json, wall-clock.json and report.html.
        #[arg(long, default_value = "midsim-report")]
        out: PathBuf,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Merge shard reports (report.json files, or folders holding one) exactly.
    Merge {
        /// Shard reports.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Output folder.
        #[arg(short, long, default_value = "midsim-report")]
        out: PathBuf,
    },
    /// Benchmark: IC-tap and desk-QR flows per second per core against their crypto floor
    /// (operation counts × per-operation cost, measured in the same run) under every crypto
    /// provider of this build, then the peak memory of a small and a large rollout.
    Bench {
        /// Seed of the population and the issuer.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Flows per round and route.
        #[arg(long, default_value_t = 20)]
        flows: usize,
        /// Rounds; flow rounds and per-operation timings alternate, medians are reported.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Crypto providers to compare (repeatable; default: every one in this build).
        #[arg(long)]
        crypto: Vec<String>,
        /// Population sizes whose rollouts' peak memory is compared, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "100000,10000000")]
        memory: Vec<u64>,
        /// Last day of the memory rollouts (the pilot month keeps a 10M run to minutes).
        #[arg(long, default_value = "2025-01-31")]
        memory_end: String,
        /// Skip the memory rollouts.
        #[arg(long)]
        no_memory: bool,
        /// Skip the whole default rollout on one thread (wall time against its crypto floor).
        #[arg(long)]
        no_rollout: bool,
        /// Folder for bench.json and bench.html.
        #[arg(long, default_value = "midsim-bench")]
        out: PathBuf,
    },
    /// Replay one resident's flows alone, with a trace of each attempt.
    Replay {
        #[command(flatten)]
        run: RunArgs,
        /// Population index of the resident.
        #[arg(long)]
        resident: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Rollout {
        run: DefaultRun::parse_from(["midsim"]).run,
        shard: None,
        threads: None,
        out: PathBuf::from("midsim-report"),
        quiet: false,
    });
    match command {
        Command::Tap { seed, out } => tap(seed, &out),
        Command::Rollout {
            run,
            shard,
            threads,
            out,
            quiet,
        } => rollout(&run, shard.as_deref(), threads, &out, quiet),
        Command::Merge { reports, out } => merge(&reports, &out),
        Command::Replay { run, resident } => replay(&run, resident),
        Command::Bench {
            seed,
            flows,
            rounds,
            crypto,
            memory,
            memory_end,
            no_memory,
            no_rollout,
            out,
        } => {
            let memory = if no_memory { Vec::new() } else { memory };
            bench(&BenchOpts {
                seed,
                flows,
                rounds,
                crypto,
                memory,
                memory_end,
                whole_rollout: !no_rollout,
                out,
            })
        }
    }
}

fn tap(seed: u64, out: &std::path::Path) -> anyhow::Result<()> {
    let report = scenarios::demo::tap(seed);
    let verdict = match &report.evidence {
        Some(ev) => {
            // The app has checked both; the signature is checked again here, independently.
            let active = protocol::aa::verify(&ev.dg15, &ev.aa_challenge, &ev.aa_signature)
                .map_or_else(|e| format!("FAIL ({e})"), |()| "pass".into());
            format!(
                "holder: {:?}\npassive authentication: pass (Document Signer {}, CSCA {}, data groups {:?})\nactive authentication: {active}\n",
                ev.holder, ev.passive.ds_subject, ev.passive.csca_subject, ev.passive.checked
            )
        }
        None => format!(
            "the card was not read: {}\n",
            report
                .shown
                .last()
                .map_or_else(|| "no answer".into(), ToString::to_string)
        ),
    };
    let summary = format!("{}\n{verdict}", report.transcript);
    print!("{summary}");
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join("tap-transcript.txt");
    std::fs::write(&path, &summary).with_context(|| format!("writing {}", path.display()))?;
    println!("transcript written to {}", path.display());
    if report.evidence.is_none() || verdict.contains("FAIL") {
        anyhow::bail!("the card did not authenticate; replay with: midsim tap --seed {seed}");
    }
    Ok(())
}

/// The default rollout's options (no subcommand).
#[derive(Parser)]
struct DefaultRun {
    #[command(flatten)]
    run: RunArgs,
}

fn parse_shard(s: &str) -> anyhow::Result<(u64, u64)> {
    let (i, n) = s
        .split_once('/')
        .with_context(|| format!("--shard {s:?}: expected I/N, e.g. 0/8"))?;
    let i: u64 = i
        .trim()
        .parse()
        .with_context(|| format!("--shard {s:?}: bad index"))?;
    let n: u64 = n
        .trim()
        .parse()
        .with_context(|| format!("--shard {s:?}: bad count"))?;
    if n == 0 || i >= n {
        anyhow::bail!("--shard {s:?}: need 0 <= I < N");
    }
    Ok((i, n))
}

fn rollout(
    args: &RunArgs,
    shard: Option<&str>,
    threads: Option<usize>,
    out: &Path,
    quiet: bool,
) -> anyhow::Result<()> {
    args.install_crypto()?;
    let mut args = args.clone();
    let only = match shard {
        Some(s) => {
            let (i, n) = parse_shard(s)?;
            args.shards = n;
            Some(i)
        }
        None => None,
    };
    let cfg = args.config()?;
    let shards: Vec<u64> = match only {
        Some(i) => vec![i],
        None => (0..cfg.shards).collect(),
    };
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, shards.len());
    let started = Instant::now();
    let results = run_shards(&cfg, &shards, threads, quiet, started);
    let elapsed = started.elapsed().as_secs_f64();
    let (report, flows, failures) = merge_shards(&args, &cfg, results)?;
    write_report(&report, out)?;
    print_summary(&cfg, &report, flows, elapsed, threads, out);
    if failures > 0 {
        anyhow::bail!(
            "{failures} flow(s) failed unexpectedly; the replay commands of the first 10 are printed above"
        );
    }
    Ok(())
}

/// A shard's result with its wall time in seconds.
type ShardRun = (u64, anyhow::Result<(ShardResult, f64)>);

/// Runs `shards` on `threads` worker threads, each taking the next shard when it is free,
/// with a progress bar over virtual days (hidden when `quiet`).
fn run_shards(
    cfg: &SimConfig,
    shards: &[u64],
    threads: usize,
    quiet: bool,
    started: Instant,
) -> Vec<ShardRun> {
    let progress: Vec<Progress> = shards.iter().map(|_| Progress::default()).collect();
    let next = AtomicU64::new(0);
    let start_day = scenarios::vtime::day_of_date(sim::START);
    let end_day = scenarios::vtime::day_of_date(cfg.end) + 1;
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(u64::try_from(end_day - start_day).unwrap_or(1))
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {msg} [{elapsed_precise}, ETA {eta}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let done = std::sync::atomic::AtomicBool::new(false);
    let results = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed) as usize;
                        let Some(&index) = shards.get(k) else { break };
                        let t0 = Instant::now();
                        let r = sim::run_shard(cfg, index, &progress[k])
                            .map(|r| (r, t0.elapsed().as_secs_f64()))
                            .map_err(anyhow::Error::from);
                        progress[k].day.store(end_day, Ordering::Relaxed);
                        mine.push((index, r));
                    }
                    mine
                })
            })
            .collect();
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                show_progress(&bar, &progress, start_day, end_day, started);
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let all = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect();
        done.store(true, Ordering::Relaxed);
        all
    });
    bar.finish_and_clear();
    results
}

/// The bar at the shards' mean virtual day, with the flows run so far and their rate.
fn show_progress(
    bar: &indicatif::ProgressBar,
    progress: &[Progress],
    start_day: i64,
    end_day: i64,
    started: Instant,
) {
    let day_sum: i64 = progress
        .iter()
        .map(|p| p.day.load(Ordering::Relaxed).clamp(start_day, end_day) - start_day)
        .sum();
    let flows: u64 = progress
        .iter()
        .map(|p| p.flows.load(Ordering::Relaxed))
        .sum();
    let avg = day_sum / progress.len().max(1) as i64;
    let date = scenarios::vtime::date_of_day(start_day + avg)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let rate = flows as f64 / started.elapsed().as_secs_f64().max(1e-3);
    bar.set_position(u64::try_from(avg).unwrap_or(0));
    bar.set_message(format!("virtual {date} | {flows} flows, {rate:.0}/s"));
}

/// Merges the shards' reports in shard order, with each shard's wall clock; prints the
/// replay command of the first failed flows. Gives the report, the flows run and the
/// number of failed flows.
fn merge_shards(
    args: &RunArgs,
    cfg: &SimConfig,
    mut results: Vec<ShardRun>,
) -> anyhow::Result<(Report, u64, usize)> {
    results.sort_by_key(|(i, _)| *i);
    let mut merged: Option<Report> = None;
    let mut flows = 0u64;
    let mut failures = 0usize;
    for (index, r) in results {
        let (res, secs) = r.with_context(|| format!("shard {index}/{}", cfg.shards))?;
        flows += res.flows;
        for f in &res.failed {
            failures += 1;
            if failures > 10 {
                continue;
            }
            eprintln!(
                "flow failed: seed {} resident {} ({}: {})\n  replay: {}",
                cfg.seed,
                f.resident,
                f.kind,
                f.detail,
                args.replay_command(f.resident)
            );
        }
        let mut report = res.report;
        report.wall_clock.push(WallClock {
            shard: (index, cfg.shards),
            elapsed_seconds: secs,
            flows_per_second: res.flows as f64 / secs.max(1e-9),
            peak_rss_bytes: scenarios::bench::peak_rss_bytes(),
            crypto_provider: Some(protocol::crypto::provider().name.to_owned()),
        });
        match merged.as_mut() {
            None => merged = Some(report),
            Some(m) => m.merge(&report).context("merging shard reports")?,
        }
    }
    Ok((merged.context("no shard ran")?, flows, failures))
}

/// The run's summary lines.
fn print_summary(
    cfg: &SimConfig,
    report: &Report,
    flows: u64,
    elapsed: f64,
    threads: usize,
    out: &Path,
) {
    let t = report.totals();
    println!(
        "rollout to {}: {} residents, {} flows in {:.1} s wall ({:.0} flows/s on {} threads); {} issued ({} eligible), {} refused, {} failed",
        cfg.end,
        cfg.population.size,
        flows,
        elapsed,
        flows as f64 / elapsed.max(1e-9),
        threads,
        t.issued,
        t.eligible,
        t.refused,
        t.failed
    );
    let lat = &report.issuer_latency_us.all;
    let desk = &report.desk_wait_ms.all;
    println!(
        "issuer latency p50 {:.1} s, p99 {:.1} s, max {:.1} s; desk wait p50 {:.0} min, p99 {:.0} min; {} flows gave up on an overloaded issuer",
        lat.quantile(0.5) as f64 / 1e6,
        lat.quantile(0.99) as f64 / 1e6,
        lat.max() as f64 / 1e6,
        desk.quantile(0.5) as f64 / 60_000.0,
        desk.quantile(0.99) as f64 / 60_000.0,
        report
            .failures
            .get(scenarios::flows::OVERLOADED)
            .map_or(0, |d| d.values().sum::<u64>()),
    );
    if t.presented > 0 {
        let mut all = scenarios::report::Hist::new();
        for h in report.verifier_latency_us.values() {
            // Same histogram bounds on every kind, so merging cannot fail; if it did, the
            // line would show fewer samples, not a wrong figure.
            let _ = all.merge(&h.all);
        }
        let refused_copies: u64 = report
            .events
            .iter()
            .filter(|(k, _)| k.starts_with("revoked_copy_refused_"))
            .map(|(_, d)| d.values().sum::<u64>())
            .sum();
        println!(
            "presentations {}, accepted {}, revoked copies refused {}; verifier latency p50 {:.0} ms, p99 {:.0} ms",
            t.presented,
            t.presentations_accepted,
            refused_copies,
            all.quantile(0.5) as f64 / 1e3,
            all.quantile(0.99) as f64 / 1e3,
        );
    }
    println!(
        "report written to {}/ (report.json, wall-clock.json, report.html)",
        out.display()
    );
}

fn write_report(report: &Report, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let json = report.to_deterministic_json()?;
    std::fs::write(out.join("report.json"), json).context("writing report.json")?;
    let wall = serde_json::to_string_pretty(&report.wall_clock)?;
    std::fs::write(out.join("wall-clock.json"), wall).context("writing wall-clock.json")?;
    std::fs::write(out.join("report.html"), render_html(report)).context("writing report.html")?;
    Ok(())
}

fn read_report(path: &Path) -> anyhow::Result<Report> {
    let file = if path.is_dir() {
        path.join("report.json")
    } else {
        path.to_path_buf()
    };
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let mut report =
        Report::from_json(&text).with_context(|| format!("parsing {}", file.display()))?;
    let wall = file.with_file_name("wall-clock.json");
    if let Ok(w) = std::fs::read_to_string(&wall) {
        report.wall_clock =
            serde_json::from_str(&w).with_context(|| format!("parsing {}", wall.display()))?;
    }
    Ok(report)
}

fn merge(paths: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let mut merged: Option<Report> = None;
    for p in paths {
        let r = read_report(p)?;
        match merged.as_mut() {
            None => merged = Some(r),
            Some(m) => m
                .merge(&r)
                .with_context(|| format!("merging {}", p.display()))?,
        }
    }
    let report = merged.context("no report given")?;
    write_report(&report, out)?;
    let t = report.totals();
    println!(
        "merged {} reports covering {:?}: {} issued, {} refused, {} failed; written to {}/",
        paths.len(),
        report.run.shards,
        t.issued,
        t.refused,
        t.failed,
        out.display()
    );
    Ok(())
}

fn replay(args: &RunArgs, resident: u64) -> anyhow::Result<()> {
    args.install_crypto()?;
    let cfg = args.config()?;
    if resident >= cfg.population.size {
        anyhow::bail!(
            "--resident {resident}: the population has {} residents",
            cfg.population.size
        );
    }
    let res = sim::replay(&cfg, resident)?;
    if res.trace.is_empty() {
        println!(
            "resident {resident} makes no application before {}",
            cfg.end
        );
    }
    for line in &res.trace {
        println!("{line}");
    }
    if !res.failed.is_empty() {
        anyhow::bail!("the flow failed again: {}", res.failed[0].detail);
    }
    Ok(())
}

fn provider_named(name: &str) -> anyhow::Result<&'static protocol::crypto::CryptoProvider> {
    protocol::crypto::CryptoProvider::by_name(name).with_context(|| {
        let have: Vec<_> = protocol::crypto::CryptoProvider::available()
            .iter()
            .map(|p| p.name)
            .collect();
        format!("--crypto {name:?}: this build has {have:?} (aws-lc needs `--features aws-lc`)")
    })
}

/// What `midsim bench` was asked to measure.
struct BenchOpts {
    seed: u64,
    flows: usize,
    rounds: usize,
    crypto: Vec<String>,
    memory: Vec<u64>,
    memory_end: String,
    whole_rollout: bool,
    out: PathBuf,
}

fn bench(opts: &BenchOpts) -> anyhow::Result<()> {
    use scenarios::bench::{self, BenchConfig, BenchReport, MemoryRun, RolloutRun};
    let BenchOpts {
        seed,
        flows,
        rounds,
        crypto,
        memory,
        memory_end,
        whole_rollout,
        out,
    } = opts;
    let (seed, flows, rounds, whole_rollout) = (*seed, *flows, *rounds, *whole_rollout);
    let memory_end = memory_end.as_str();
    let out = out.as_path();
    let providers: Vec<_> = if crypto.is_empty() {
        protocol::crypto::CryptoProvider::available().to_vec()
    } else {
        crypto
            .iter()
            .map(|n| provider_named(n))
            .collect::<anyhow::Result<_>>()?
    };
    let cfg = BenchConfig {
        seed,
        flows_per_round: flows,
        rounds,
    };
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let bar = indicatif::ProgressBar::new((rounds * providers.len()) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} rounds {msg} [{elapsed_precise}, ETA {eta}]",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut results = Vec::new();
    for (k, p) in providers.iter().enumerate() {
        bar.set_message(format!("{} flows, crypto {}", 2 * flows, p.name));
        let r = bench::run(&cfg, p, |done, _| {
            bar.set_position((k * rounds + done) as u64)
        })
        .with_context(|| format!("flow bench under {}", p.name))?;
        results.push(r);
    }
    bar.finish_and_clear();

    let mut mem = Vec::new();
    let exe = std::env::current_exe().context("finding the midsim executable")?;
    for &size in memory {
        let dir = out.join(format!("memory-{size}"));
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.enable_steady_tick(Duration::from_millis(200));
        spinner.set_message(format!(
            "memory: rollout of {size} residents to {memory_end} ({})",
            dir.display()
        ));
        let t0 = Instant::now();
        let status = std::process::Command::new(&exe)
            .args(["rollout", "--quiet", "--seed", &seed.to_string()])
            .args(["--population", &size.to_string(), "--end", memory_end])
            .arg("--out")
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .with_context(|| format!("running {}", exe.display()))?;
        spinner.finish_and_clear();
        if !status.success() {
            anyhow::bail!("the memory rollout of {size} residents failed ({status})");
        }
        let report = read_report(&dir)?;
        let peak = report
            .wall_clock
            .iter()
            .filter_map(|w| w.peak_rss_bytes)
            .max()
            .context("the rollout did not record its peak memory (no /proc/self/status?)")?;
        mem.push(MemoryRun {
            population: size,
            end: memory_end.to_owned(),
            peak_rss_bytes: peak,
            issued: report.totals().issued,
            wall_seconds: t0.elapsed().as_secs_f64(),
            issuer_records: report.issuer_records,
        });
    }
    let rollout = match results.first() {
        Some(p) if whole_rollout => {
            let dir = out.join("rollout-one-thread");
            let spinner = indicatif::ProgressBar::new_spinner();
            spinner.enable_steady_tick(Duration::from_millis(200));
            spinner.set_message(format!(
                "whole default rollout on one thread, crypto {} ({})",
                p.provider,
                dir.display()
            ));
            let t0 = Instant::now();
            let status = std::process::Command::new(&exe)
                .args([
                    "rollout",
                    "--quiet",
                    "--threads",
                    "1",
                    "--seed",
                    &seed.to_string(),
                ])
                .args(["--crypto", &p.provider])
                .arg("--out")
                .arg(&dir)
                .stdout(std::process::Stdio::null())
                .status()
                .with_context(|| format!("running {}", exe.display()))?;
            let wall = t0.elapsed().as_secs_f64();
            spinner.finish_and_clear();
            if !status.success() {
                anyhow::bail!("the one-thread rollout failed ({status})");
            }
            let report = read_report(&dir)?;
            Some(RolloutRun::new(
                p,
                report.run.population_size,
                report.run.end.to_string(),
                report.totals().issued,
                wall,
                &report.crypto_ops,
            ))
        }
        _ => None,
    };
    let mut report = BenchReport::new(&cfg, results, mem);
    report.rollout = rollout;
    let text = report.to_text();
    print!("{text}");
    std::fs::write(
        out.join("bench.json"),
        serde_json::to_string_pretty(&report)?,
    )
    .context("writing bench.json")?;
    std::fs::write(out.join("bench.txt"), &text).context("writing bench.txt")?;
    std::fs::write(out.join("bench.html"), report.to_html()).context("writing bench.html")?;
    println!(
        "bench written to {}/ (bench.json, bench.txt, bench.html)",
        out.display()
    );
    Ok(())
}
