//! The rollout simulation: residents arrive per the arrival model, queue at community-center
//! desks, and run the real issuance flows of [`crate::flows`] against an issuer with a
//! limited capacity, in virtual time.
//!
//! A run is a function of ([`SimConfig`], shard). Each shard is a single-threaded tokio
//! runtime with paused, auto-advancing time: months of rollout pass in the time the crypto
//! takes. Shards are contiguous slices of the population ([`crate::population::shard_range`]);
//! each has its own issuer instance (a horizontally partitioned issuer with the configured
//! capacity) and its own desks, with as many centers per district as its share of the
//! population needs. The number of shards is part of the configuration, so a run gives the
//! same report on any machine, however many cores run its shards.
//!
//! Memory: the shard keeps a heap of pending arrivals (time, index, attempt: 24 bytes per
//! applicant) and the issuer's own state; a resident is regenerated from (seed, index) when
//! its flow starts and dropped when it ends.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::rc::Rc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sim_issuer::issuer::{Issuer, IssuerConfig};
use sim_issuer::policy::Policy;
use time::{macros::date, Date};

use crate::arrival::{ArrivalConfig, ArrivalModel, Channel, Decision, OpeningTable};
use crate::desk::{center_in_sample, DeskConfig, Desks, Visit};
use crate::flows::{self, FlowConfig, Gate, IssuerCapacity, Outcome};
use crate::harness::{self, Phone};
use crate::population::{CardType, Population, PopulationConfig};
use crate::present::{PresentationConfig, RelyingParties};
use crate::report::{self, Day, Report, RunInfo};
use crate::rng::{rng_for, Stream};
use crate::vtime::{self, UnixTime};
use crate::Error;

/// Everything a run depends on besides the shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// The run's seed.
    pub seed: u64,
    /// Last simulated day (inclusive). The run starts on the pilot opening, 2024-12-27.
    pub end: Date,
    /// Logical shards of the run (results depend on it; threads do not).
    pub shards: u64,
    /// The population sample.
    pub population: PopulationConfig,
    /// When residents apply.
    pub arrival: ArrivalConfig,
    /// Community-center desks.
    pub desk: DeskConfig,
    /// The issuer's capacity, per shard.
    pub issuer: IssuerCapacity,
    /// The flows' knobs.
    pub flows: FlowConfig,
    /// Presentations at relying parties after issuance.
    #[serde(default)]
    pub presentations: PresentationConfig,
}

/// The pilot opening: the first simulated day.
pub const START: Date = date!(2024 - 12 - 27);

impl SimConfig {
    /// The default run: `size` residents, to 2025-06-30, 4 shards.
    pub fn with_size(seed: u64, size: u64) -> SimConfig {
        let end = date!(2025 - 06 - 30);
        let mut population = PopulationConfig {
            size,
            ..PopulationConfig::default()
        };
        population.horizon_end = end;
        SimConfig {
            seed,
            end,
            shards: 4,
            population,
            arrival: ArrivalConfig {
                horizon_end: end,
                ..ArrivalConfig::default()
            },
            desk: DeskConfig::default(),
            issuer: IssuerCapacity::default(),
            flows: FlowConfig::default(),
            presentations: PresentationConfig::default(),
        }
    }

    /// Sets the last day everywhere it is used.
    pub fn set_end(&mut self, end: Date) {
        self.end = end;
        self.population.horizon_end = end;
        self.arrival.horizon_end = end;
    }

    /// Checks every part.
    pub fn validate(&self) -> Result<(), Error> {
        if self.end < START {
            return Err(Error::config("end", "must not be before 2024-12-27"));
        }
        if self.shards == 0 {
            return Err(Error::config("shards", "must be at least 1"));
        }
        self.population.validate()?;
        self.desk.validate()?;
        self.issuer.validate()?;
        self.flows.validate()?;
        self.presentations.validate()
    }

    /// A digest of the configuration without the seed (shards of one run must agree).
    pub fn digest(&self) -> String {
        let text = serde_json::to_string(&(
            &self.end.to_string(),
            self.shards,
            &self.population,
            &self.arrival,
            &self.desk,
            &self.issuer,
            &self.flows,
            &self.presentations,
        ))
        .unwrap_or_default();
        hex::encode(&protocol::crypto::sha256(text.as_bytes())[..8])
    }
}

/// The issuer's rollout policy as an opening table for the arrival model.
pub fn openings(policy: &Policy) -> OpeningTable {
    let off = policy.utc_offset.whole_seconds();
    let mut areas = Vec::new();
    for p in &policy.phases {
        let at = vtime::midnight_of(p.opens, off);
        if p.everyone {
            areas.push((String::new(), at));
        }
        for a in &p.areas {
            areas.push((a.code.clone(), at));
        }
    }
    OpeningTable {
        areas,
        online: policy
            .free_choice_from()
            .map(|d| vtime::midnight_of(d, off)),
    }
}

/// Live counters a shard updates for a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    /// Flows finished.
    pub flows: AtomicU64,
    /// Local day number ([`vtime::local_day`]) the shard has reached.
    pub day: AtomicI64,
}

/// A flow that failed (not refused): what to print and how to replay it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedFlow {
    /// Population index of the resident.
    pub resident: u64,
    /// Failure kind.
    pub kind: String,
    /// What happened.
    pub detail: String,
}

/// What a shard produced.
#[derive(Debug)]
pub struct ShardResult {
    /// The shard's report (merge shards with [`Report::merge`]).
    pub report: Report,
    /// Flows that failed for another reason than issuer overload (the first 100).
    pub failed: Vec<FailedFlow>,
    /// Flows run (issuance attempts, including refused ones).
    pub flows: u64,
    /// One line per attempt, when tracing.
    pub trace: Vec<String>,
}

const MAX_FAILED: usize = 100;

fn day_of(t: UnixTime, off: i32) -> Day {
    Day(vtime::date_of_day(vtime::local_day(t, off)).unwrap_or(START))
}

/// The report header of a run covering `shards` index ranges.
pub fn run_info(cfg: &SimConfig, policy: &Policy, shards: Vec<(u64, u64)>) -> RunInfo {
    RunInfo {
        seed: cfg.seed,
        population_size: cfg.population.size,
        config_digest: cfg.digest(),
        shards,
        start: Day(START),
        end: Day(cfg.end),
        phases: policy
            .phases
            .iter()
            .map(|p| report::Phase {
                name: p.name.clone(),
                opens: Day(p.opens),
            })
            .collect(),
    }
}

/// Runs shard `index` of `cfg.shards`.
pub fn run_shard(cfg: &SimConfig, index: u64, progress: &Progress) -> Result<ShardResult, Error> {
    cfg.validate()?;
    let range = crate::population::shard_range(cfg.population.size, index, cfg.shards)?;
    run(
        cfg,
        index,
        range.clone(),
        vec![(range.start, range.end)],
        progress,
        false,
    )
}

/// Runs resident `resident`'s flows alone, in its shard's setting (fresh issuer of that
/// shard, empty desks), tracing each attempt: the replay of one failing flow.
pub fn replay(cfg: &SimConfig, resident: u64) -> Result<ShardResult, Error> {
    cfg.validate()?;
    let shard = (0..cfg.shards)
        .find(|&s| {
            crate::population::shard_range(cfg.population.size, s, cfg.shards)
                .is_ok_and(|r| r.contains(&resident))
        })
        .unwrap_or(0);
    run(
        cfg,
        shard,
        resident..resident + 1,
        vec![(resident, resident + 1)],
        &Progress::default(),
        true,
    )
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A premature attempt (the issuer should refuse it).
    Early,
    /// The application, `n`th try (after being turned away at closing).
    Main(u32),
}

/// A scheduled arrival packed into 12 bytes. The heap of these is the engine's only memory
/// per resident, and only for residents whose arrival is still to come (compare the 24+
/// bytes of `(UnixTime, u64, Kind)`). Ordered by time, then index, then kind, as before.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    /// Seconds since the run's first midnight.
    secs: u32,
    /// Population index (the population is at most `u32::MAX` residents).
    index: u32,
    /// 0: [`Kind::Early`]; `n + 1`: [`Kind::Main`]`(n)`.
    kind: u32,
}

impl Pending {
    fn new(start: UnixTime, at: UnixTime, index: u64, kind: Kind) -> Pending {
        Pending {
            secs: u32::try_from((at - start).max(0)).unwrap_or(u32::MAX),
            index: u32::try_from(index).unwrap_or(u32::MAX),
            kind: match kind {
                Kind::Early => 0,
                Kind::Main(n) => n.saturating_add(1),
            },
        }
    }

    fn unpack(self, start: UnixTime) -> (UnixTime, u64, Kind) {
        let kind = match self.kind {
            0 => Kind::Early,
            n => Kind::Main(n - 1),
        };
        (start + i64::from(self.secs), u64::from(self.index), kind)
    }
}

fn run(
    cfg: &SimConfig,
    shard: u64,
    indices: std::ops::Range<u64>,
    ranges: Vec<(u64, u64)>,
    progress: &Progress,
    trace: bool,
) -> Result<ShardResult, Error> {
    let ops_before = protocol::crypto::counts();
    let policy = Policy::default_rollout();
    let off = cfg.arrival.utc_offset_seconds;
    let start_unix = vtime::midnight_of(START, off);
    let end_unix = vtime::midnight_of(cfg.end, off) + 86_400;
    let pop = Population::new(cfg.population.clone(), cfg.seed)?;
    let model = ArrivalModel::new(cfg.arrival.clone())?;
    let table = openings(&policy);
    let mut report = Report::new(run_info(cfg, &policy, ranges));
    let mut heap = schedule(cfg, &pop, &model, &table, indices, start_unix, &mut report);
    let issuer = shard_issuer(cfg, shard, policy, start_unix)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| Error::Runtime(e.to_string()))?;
    let local = tokio::task::LocalSet::new();
    let shared = Rc::new(Shared {
        report: RefCell::new(report),
        failed: RefCell::new(Vec::new()),
        trace: RefCell::new(Vec::new()),
        tracing: trace,
        flows: Cell::new(0),
        in_flight: Cell::new(0),
        live: RefCell::new(BTreeMap::new()),
        off,
    });
    let mut desks = Desks::new(cfg.desk.clerks_per_center)?;
    let retained = Cell::new(sim_issuer::issuer::Retained::default());
    let world = World {
        cfg,
        pop: &pop,
        model: &model,
        table: &table,
        start_unix,
        end_unix,
        presentations: Rc::new(cfg.presentations.clone()),
    };
    let result: Result<(), Error> = local.block_on(&rt, async {
        let gate = Rc::new(Gate::new(issuer, cfg.issuer.clone(), start_unix));
        let rps = Rc::new(RelyingParties::new(
            &gate,
            cfg.presentations.verifier.clone(),
            crate::rng::splitmix64(cfg.seed ^ crate::rng::splitmix64(shard ^ 0x5250)),
        ));
        while let Some(Reverse(p)) = heap.pop() {
            let (at, i, kind) = p.unpack(start_unix);
            if at >= end_unix {
                break;
            }
            tokio::time::sleep_until(gate.instant_of(at)).await;
            progress
                .day
                .store(vtime::local_day(at, off), Ordering::Relaxed);
            world.arrive(&gate, &rps, &shared, &mut desks, &mut heap, at, i, kind)?;
            progress.flows.store(shared.flows.get(), Ordering::Relaxed);
        }
        while shared.in_flight.get() > 0 {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        retained.set(gate.issuer().retained());
        Ok(())
    });
    result?;
    progress.flows.store(shared.flows.get(), Ordering::Relaxed);
    let shared =
        Rc::try_unwrap(shared).map_err(|_| Error::Runtime("tasks still running".into()))?;
    let mut report = shared.report.into_inner();
    report.crypto_ops = protocol::crypto::counts() - ops_before;
    report.issuer_records = retained.get();
    Ok(ShardResult {
        report,
        failed: shared.failed.into_inner(),
        flows: shared.flows.get(),
        trace: shared.trace.into_inner(),
    })
}

/// Decides every resident of the slice and keeps only (time, index, kind) of each arrival;
/// counts the eligible residents in `report`.
fn schedule(
    cfg: &SimConfig,
    pop: &Population,
    model: &ArrivalModel,
    table: &OpeningTable,
    indices: std::ops::Range<u64>,
    start_unix: UnixTime,
    report: &mut Report,
) -> BinaryHeap<Reverse<Pending>> {
    let mut heap = BinaryHeap::new();
    for i in indices {
        let r = pop.resident(i);
        if r.card != CardType::None && r.age_on(cfg.end) >= i32::from(cfg.arrival.min_age) {
            report.record_eligible(r.region());
        }
        if let Decision::Applies(a) = model.decide(cfg.seed, &r, table) {
            heap.push(Reverse(Pending::new(start_unix, a.at, i, Kind::Main(0))));
            if let Some(t) = a.early_attempt {
                heap.push(Reverse(Pending::new(start_unix, t, i, Kind::Early)));
            }
        }
    }
    heap
}

/// The shard's issuer, seeded from the run's seed and the shard number.
fn shard_issuer(
    cfg: &SimConfig,
    shard: u64,
    policy: Policy,
    start_unix: UnixTime,
) -> Result<Issuer, Error> {
    Issuer::new(
        crate::rng::splitmix64(cfg.seed ^ crate::rng::splitmix64(shard)),
        IssuerConfig::default(),
        policy,
        start_unix,
    )
    .map_err(|e| Error::Issuer(e.to_string()))
}

/// What every arrival of a shard is decided against.
struct World<'a> {
    cfg: &'a SimConfig,
    pop: &'a Population,
    model: &'a ArrivalModel,
    table: &'a OpeningTable,
    start_unix: UnixTime,
    end_unix: UnixTime,
    /// Shared by every flow task of the shard (one copy, not one per task).
    presentations: Rc<PresentationConfig>,
}

impl World<'_> {
    /// Resident `i` arrives at `at`: through the desk's queue unless they apply in the app,
    /// then their flow runs as a task of its own.
    #[allow(clippy::too_many_arguments)]
    fn arrive(
        &self,
        gate: &Rc<Gate>,
        rps: &Rc<RelyingParties>,
        shared: &Rc<Shared>,
        desks: &mut Desks,
        heap: &mut BinaryHeap<Reverse<Pending>>,
        at: UnixTime,
        i: u64,
        kind: Kind,
    ) -> Result<(), Error> {
        let (cfg, off) = (self.cfg, shared.off);
        let r = self.pop.resident(i);
        let a = match self.model.decide(cfg.seed, &r, self.table) {
            Decision::Applies(a) => a,
            Decision::DoesNot(_) => return Ok(()),
        };
        let attempt = match kind {
            Kind::Early => 0,
            Kind::Main(n) => n + 1,
        };
        let online = self.table.online;
        let in_app = (r.card == CardType::Ic || (a.swaps_card && kind != Kind::Early))
            && online.is_some_and(|o| at >= o)
            && (a.channel == Channel::Remote || r.card == CardType::Ic);
        let start_after = if in_app {
            Duration::ZERO
        } else {
            match self.desk_visit(shared, desks, &r, at, attempt)? {
                Some(wait) => wait,
                None => {
                    if let Kind::Main(n) = kind {
                        heap.push(Reverse(Pending::new(
                            self.start_unix,
                            next_working_day(at, off),
                            i,
                            Kind::Main(n + 1),
                        )));
                    }
                    return Ok(());
                }
            }
        };
        // The issuer's registry copy of the resident, derived now (see `Shared::done`).
        if flows::ensure_registered(gate, cfg.seed, &r).is_err() {
            // The only refusal is a duplicate: random-digit RRNs drawn independently
            // for 10^5+ residents collide now and then (the population generator does not
            // deduplicate them), and the registry holds one resident per RRN at a time.
            // The resident is skipped and counted; a replay alone would not collide.
            shared
                .report
                .borrow_mut()
                .record_failure(day_of(at, off), "duplicate_rrn_in_population");
            return Ok(());
        }
        *shared.live.borrow_mut().entry(i).or_default() += 1;
        let task = FlowTask {
            gate: gate.clone(),
            rps: rps.clone(),
            presentations: self.presentations.clone(),
            // An early attempt that got through (its desk queue ran past the opening) is
            // superseded by the resident's main attempt: the holder moves to that phone.
            superseded_at: (kind == Kind::Early).then_some(a.at),
            shared: shared.clone(),
            flows_cfg: cfg.flows.clone(),
            seed: cfg.seed,
            end_unix: self.end_unix,
            online,
            at,
            attempt,
            in_app,
            swap: a.swaps_card && kind != Kind::Early,
            start_after,
        };
        shared.in_flight.set(shared.in_flight.get() + 1);
        tokio::task::spawn_local(task.run(r));
        Ok(())
    }

    /// The community center's queue: `Some(wait)` once a clerk calls the resident, `None`
    /// if the desk closes first (counted; they come back the next working day).
    fn desk_visit(
        &self,
        shared: &Shared,
        desks: &mut Desks,
        r: &crate::population::Resident,
        at: UnixTime,
        attempt: u32,
    ) -> Result<Option<Duration>, Error> {
        let (cfg, off) = (self.cfg, shared.off);
        let shards = cfg.shards as f64;
        let d = r.district();
        let center = center_in_sample(
            &cfg.desk,
            d,
            r.index,
            self.pop.expected_residents(d) / shards,
            self.pop.expected_region_residents(d.region) / shards,
        );
        let mut rng = rng_for(cfg.seed, r.index ^ (u64::from(attempt) << 48), Stream::Desk);
        let service = cfg.desk.service.sample_millis(&mut rng);
        let closes = self.model.desk_closes_at(at) * 1000;
        Ok(
            match desks.arrive(center, at * 1000, service, Some(closes))? {
                Visit::Served { wait, .. } => {
                    shared
                        .report
                        .borrow_mut()
                        .record_desk_wait(day_of(at, off), u64::try_from(wait).unwrap_or(0));
                    Some(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
                }
                Visit::TurnedAway { .. } => {
                    shared
                        .report
                        .borrow_mut()
                        .record_refusal(day_of(at, off), "desk_closed_come_back");
                    None
                }
            },
        )
    }
}

/// One resident's flow and what follows it (a lost card, a lost or changed phone), run as a
/// task of the shard's runtime.
struct FlowTask {
    gate: Rc<Gate>,
    rps: Rc<RelyingParties>,
    presentations: Rc<PresentationConfig>,
    /// When a later attempt of the same resident takes over (this copy is then revoked as
    /// superseded, and the holder stops presenting it).
    superseded_at: Option<UnixTime>,
    shared: Rc<Shared>,
    flows_cfg: FlowConfig,
    seed: u64,
    end_unix: UnixTime,
    online: Option<UnixTime>,
    at: UnixTime,
    attempt: u32,
    in_app: bool,
    swap: bool,
    start_after: Duration,
}

impl FlowTask {
    async fn run(self, r: crate::population::Resident) {
        let FlowTask {
            gate,
            rps,
            presentations,
            superseded_at,
            shared,
            flows_cfg,
            seed,
            end_unix,
            online,
            at,
            attempt,
            in_app,
            swap,
            start_after,
        } = self;
        tokio::time::sleep(start_after).await;
        // The flows' futures are boxed so that a task waiting in a desk queue, or
        // for a card loss months away, holds a few hundred bytes, not the ~3 KB of
        // the largest flow state: at 10M residents tens of thousands wait at once.
        let mut refusals = Vec::new();
        let mut phone = Box::new(flows::phone_for(seed, &r, attempt));
        let outcome = if in_app {
            Box::pin(flows::ic_tap_on(
                &mut phone,
                &gate,
                seed,
                &r,
                &flows_cfg,
                &mut refusals,
                harness::Deliver,
            ))
            .await
        } else {
            Box::pin(flows::desk_qr_on(&mut phone, &gate, &r, attempt, swap)).await
        };
        let issued = match &outcome {
            flows::Outcome::Issued {
                document_number, ..
            } => Some(document_number.clone()),
            _ => None,
        };
        shared.record(&gate, &r, at, attempt, &refusals, outcome);
        if let Some(doc) = issued {
            let issued_at = gate.now();
            let end_unix = superseded_at.map_or(end_unix, |t| t.min(end_unix));
            let card_loss =
                plan_card_loss(&flows_cfg, seed, &r, attempt, issued_at).filter(|&t| t < end_unix);
            let phone_at = plan_phone_event(&flows_cfg, seed, &r, attempt, issued_at)
                .filter(|&(t, _)| t < end_unix);
            let next_event = card_loss
                .or(phone_at.map(|(t, _)| t))
                .unwrap_or(end_unix)
                .min(end_unix);
            let ctx = PresentCtx {
                rps: &rps,
                gate: &gate,
                shared: &shared,
                cfg: &presentations,
                seed,
            };
            Box::pin(ctx.visits(&mut phone, &r, attempt, issued_at, next_event)).await;
            if let Some(lost_at) = card_loss {
                Box::pin(lose_card(
                    &gate, &shared, &ctx, &mut phone, seed, &r, attempt, &doc, lost_at, end_unix,
                ))
                .await;
            } else if let Some((at, lost)) = phone_at {
                Box::pin(phone_event(
                    &gate, &shared, &ctx, &mut phone, &flows_cfg, seed, &r, attempt, &doc, at,
                    lost, end_unix, online,
                ))
                .await;
            }
        }
        shared.done(&gate, r.index);
    }
}

/// When (if at all) the holder loses the card after issuance at `issued_at`: with the
/// configured probability, some days later.
fn plan_card_loss(
    flows_cfg: &FlowConfig,
    seed: u64,
    r: &crate::population::Resident,
    attempt: u32,
    issued_at: UnixTime,
) -> Option<UnixTime> {
    use rand::RngExt;
    let mut rng = rng_for(seed, r.index ^ (u64::from(attempt) << 48), Stream::Other(3));
    if !rng.random_bool(flows_cfg.card_loss_share) {
        return None;
    }
    let after = rng.random_range(1..=u64::from(flows_cfg.card_loss_window_days)) * 86_400
        + rng.random_range(0..86_400);
    Some(issued_at + after as i64)
}

/// The holder loses the card at `lost_at`: reports it (the mobile ID must be revoked; now
/// and then the old copy is presented afterwards and must be refused), then the next working
/// morning gets a replacement IC card at the desk and a new mobile ID there. Counted as
/// events.
#[allow(clippy::too_many_arguments)]
async fn lose_card(
    gate: &Gate,
    shared: &Shared,
    ctx: &PresentCtx<'_>,
    phone: &mut Phone,
    seed: u64,
    r: &crate::population::Resident,
    attempt: u32,
    doc: &str,
    lost_at: UnixTime,
    end_unix: UnixTime,
) {
    if lost_at >= end_unix {
        return;
    }
    tokio::time::sleep_until(gate.instant_of(lost_at)).await;
    let outcome = Box::pin(flows::report_card_lost(gate, r, attempt, doc)).await;
    let visit = next_working_day(lost_at, shared.off);
    let visit = vtime::local_midnight(vtime::local_day(visit, shared.off), shared.off) + 10 * 3600;
    match outcome {
        Outcome::Refused(_) => {
            shared
                .report
                .borrow_mut()
                .record_event(day_of(lost_at, shared.off), "card_reported_lost");
        }
        other => {
            shared.record(gate, r, lost_at, attempt, &[], other);
            return;
        }
    }
    Box::pin(ctx.revoked_copy(phone, r, attempt, "card", end_unix)).await;
    if visit >= end_unix {
        return;
    }
    tokio::time::sleep_until(gate.instant_of(visit.max(gate.now()))).await;
    match Box::pin(flows::desk_qr(gate, seed, r, attempt + 1000, true)).await {
        Outcome::Issued { .. } => {
            let mut rep = shared.report.borrow_mut();
            for (t, us) in gate.drain_latencies() {
                rep.record_issuer_latency(day_of(t, shared.off), us);
            }
            rep.record_event(day_of(gate.now(), shared.off), "reissued");
        }
        other => shared.record(gate, r, visit, attempt + 1000, &[], other),
    }
}

/// When (if at all) a holder who kept their card loses their phone (`true`) or changes
/// handsets (`false`) after issuance at `issued_at`.
fn plan_phone_event(
    flows_cfg: &FlowConfig,
    seed: u64,
    r: &crate::population::Resident,
    attempt: u32,
    issued_at: UnixTime,
) -> Option<(UnixTime, bool)> {
    use rand::RngExt;
    let mut rng = rng_for(seed, r.index ^ (u64::from(attempt) << 48), Stream::Other(4));
    let u: f64 = rng.random();
    let lost = u < flows_cfg.phone_loss_share;
    if !lost && u >= flows_cfg.phone_loss_share + flows_cfg.phone_change_share {
        return None;
    }
    let after = rng.random_range(1..=u64::from(flows_cfg.phone_window_days)) * 86_400
        + rng.random_range(0..86_400);
    Some((issued_at + after as i64, lost))
}

/// With the configured probabilities, a holder who kept their card loses their phone or
/// changes handsets (keeping the number) some days after issuance. A loss is reported first
/// (the issuer must revoke that copy at once). Then the mobile ID is issued again on the new
/// handset: by tapping the IC card in the app once online applications are open, otherwise
/// at the desk the next working morning; after a change the old copy must be superseded.
/// Counted as events (`phone_reported_lost`, `phone_changed`, `reissued`). Now and then the
/// old copy (a found phone, the old handset) is presented afterwards and must be refused.
#[allow(clippy::too_many_arguments)]
async fn phone_event(
    gate: &Gate,
    shared: &Shared,
    ctx: &PresentCtx<'_>,
    old_phone: &mut Phone,
    flows_cfg: &FlowConfig,
    seed: u64,
    r: &crate::population::Resident,
    attempt: u32,
    doc: &str,
    at: UnixTime,
    lost: bool,
    end_unix: UnixTime,
    online: Option<UnixTime>,
) {
    use sim_issuer::issuer::RevocationReason;
    if at >= end_unix {
        return;
    }
    tokio::time::sleep_until(gate.instant_of(at)).await;
    let again = attempt + 2000;
    if lost {
        match Box::pin(flows::report_phone_lost(gate, r, again, doc)).await {
            Outcome::Refused(_) => shared
                .report
                .borrow_mut()
                .record_event(day_of(at, shared.off), "phone_reported_lost"),
            other => return shared.record(gate, r, at, again, &[], other),
        }
    }
    let holds_ic = matches!(
        gate.issuer()
            .registry()
            .get(sim_issuer::registry::ResidentId(r.index))
            .map(|rec| &rec.card),
        Ok(sim_issuer::registry::CardState::Ic { .. })
    );
    let mut refusals = Vec::new();
    let outcome = if holds_ic && online.is_some_and(|o| at >= o) {
        Box::pin(flows::ic_tap(
            gate,
            seed,
            r,
            flows_cfg,
            again,
            &mut refusals,
        ))
        .await
    } else {
        let visit = next_working_day(at, shared.off);
        let visit =
            vtime::local_midnight(vtime::local_day(visit, shared.off), shared.off) + 10 * 3600;
        if visit >= end_unix {
            return;
        }
        tokio::time::sleep_until(gate.instant_of(visit)).await;
        Box::pin(flows::desk_qr(gate, seed, r, again, false)).await
    };
    if !matches!(outcome, Outcome::Issued { .. }) {
        return shared.record(gate, r, at, again, &refusals, outcome);
    }
    if !lost {
        let check = flows::expect_revoked(gate, doc, RevocationReason::Superseded, "superseded");
        if matches!(check, Outcome::Failed(..)) {
            return shared.record(gate, r, at, again, &refusals, check);
        }
    }
    {
        let mut rep = shared.report.borrow_mut();
        for (t, us) in gate.drain_latencies() {
            rep.record_issuer_latency(day_of(t, shared.off), us);
        }
        let day = day_of(gate.now(), shared.off);
        for k in &refusals {
            rep.record_refusal(day, k);
        }
        if !lost {
            rep.record_event(day, "phone_changed");
        }
        rep.record_event(day, "reissued");
    }
    let what = if lost { "phone" } else { "handset_change" };
    Box::pin(ctx.revoked_copy(old_phone, r, attempt, what, end_unix)).await;
}

/// The same time of day on the next weekday.
fn next_working_day(at: UnixTime, off: i32) -> UnixTime {
    let day = vtime::local_day(at, off);
    let mut next = day + 1;
    while vtime::weekday_index(next) >= 5 {
        next += 1;
    }
    at + (next - day) * 86_400
}

struct Shared {
    report: RefCell<Report>,
    failed: RefCell<Vec<FailedFlow>>,
    trace: RefCell<Vec<String>>,
    tracing: bool,
    flows: Cell<u64>,
    in_flight: Cell<u64>,
    /// Tasks in flight per resident.
    live: RefCell<BTreeMap<u64, u32>>,
    off: i32,
}

impl Shared {
    /// A task of `resident` ended. When it was the resident's last, the issuer may release
    /// its registry copy of them: the engine derives it again on the next visit, so the
    /// issuer keeps only what it changed and what it issued.
    fn done(&self, gate: &Gate, resident: u64) {
        self.in_flight.set(self.in_flight.get() - 1);
        let mut live = self.live.borrow_mut();
        if let Some(n) = live.get_mut(&resident) {
            *n -= 1;
            if *n == 0 {
                live.remove(&resident);
                let _ = gate
                    .issuer()
                    .release_resident(sim_issuer::registry::ResidentId(resident));
            }
        }
    }

    fn record(
        &self,
        gate: &Gate,
        r: &crate::population::Resident,
        at: UnixTime,
        attempt: u32,
        refusals: &[String],
        outcome: Outcome,
    ) {
        let now = gate.now();
        let day = day_of(now, self.off);
        let mut rep = self.report.borrow_mut();
        for (t, us) in gate.drain_latencies() {
            rep.record_issuer_latency(day_of(t, self.off), us);
        }
        for k in refusals {
            rep.record_refusal(day, k);
        }
        self.flows.set(self.flows.get() + 1);
        let line = match &outcome {
            Outcome::Issued {
                route,
                document_number,
            } => {
                rep.record_issuance(day, *route, r.region());
                format!("issued {document_number} by {route:?}")
            }
            Outcome::Refused(k) => {
                rep.record_refusal(day, k);
                format!("refused: {k}")
            }
            Outcome::Failed(kind, detail) => {
                rep.record_failure(day, kind);
                let mut f = self.failed.borrow_mut();
                // Overload is a measured outcome, not a defect: counted, not listed for replay.
                if f.len() < MAX_FAILED && kind != flows::OVERLOADED {
                    f.push(FailedFlow {
                        resident: r.index,
                        kind: kind.clone(),
                        detail: detail.clone(),
                    });
                }
                format!("FAILED {kind}: {detail}")
            }
        };
        if self.tracing {
            self.trace.borrow_mut().push(format!(
                "resident {} attempt {attempt}: arrived {} (local day {}), done {}: {line}",
                r.index,
                at,
                day_of(at, self.off),
                day
            ));
        }
    }
}

/// What a holder's presentations are run and counted with.
struct PresentCtx<'a> {
    rps: &'a RelyingParties,
    gate: &'a Gate,
    shared: &'a Shared,
    cfg: &'a PresentationConfig,
    seed: u64,
}

impl PresentCtx<'_> {
    /// The holder's visits to relying parties from `issued_at` until `until`, each a real
    /// presentation from the phone that holds the mobile ID.
    async fn visits(
        &self,
        phone: &mut Phone,
        r: &crate::population::Resident,
        attempt: u32,
        issued_at: UnixTime,
        until: UnixTime,
    ) {
        use rand::RngExt;
        let off = self.shared.off;
        let visits = self
            .cfg
            .visits(self.seed, r.index, attempt, issued_at, until, off);
        let mut rng = rng_for(
            self.seed,
            r.index ^ (u64::from(attempt) << 48),
            Stream::Other(8),
        );
        for (at, kind) in visits {
            tokio::time::sleep_until(self.gate.instant_of(at)).await;
            let consent = !rng.random_bool(self.cfg.decline_share);
            let end = Box::pin(crate::present::present_plain(
                self.rps, self.gate, phone, kind, consent,
            ))
            .await;
            let outcome = if consent {
                end.outcome()
            } else {
                "declined_by_holder".to_owned()
            };
            self.record(at, kind, &outcome);
            if consent && outcome != crate::report::PRESENTATION_ACCEPTED {
                self.failed(r, &format!("presentation_{outcome}"), &end);
            }
        }
    }

    /// Now and then the revoked copy on `phone` (after a lost card, a lost phone or a handset
    /// change) is presented a few days later: it must be refused as revoked.
    async fn revoked_copy(
        &self,
        phone: &mut Phone,
        r: &crate::population::Resident,
        attempt: u32,
        what: &str,
        end_unix: UnixTime,
    ) {
        use rand::RngExt;
        let mut rng = rng_for(
            self.seed,
            r.index ^ (u64::from(attempt) << 48),
            Stream::Other(9),
        );
        if !rng.random_bool(self.cfg.revoked_presentation_share) {
            return;
        }
        let at = self.gate.now()
            + (rng.random_range(1..=7u64) * 86_400 + rng.random_range(0..36_000)) as i64;
        if at >= end_unix {
            return;
        }
        let kind = sim_verifier::RpKind::ALL[rng.random_range(0..4usize)];
        tokio::time::sleep_until(self.gate.instant_of(at)).await;
        let end = Box::pin(crate::present::present_plain(
            self.rps, self.gate, phone, kind, true,
        ))
        .await;
        let outcome = end.outcome();
        self.record(at, kind, &outcome);
        let day = day_of(self.gate.now(), self.shared.off);
        if outcome == "revoked" {
            self.shared
                .report
                .borrow_mut()
                .record_event(day, &format!("revoked_copy_refused_{what}"));
        } else {
            self.failed(r, &format!("revoked_copy_{outcome}"), &end);
        }
    }

    fn record(&self, at: UnixTime, kind: sim_verifier::RpKind, outcome: &str) {
        let off = self.shared.off;
        let mut rep = self.shared.report.borrow_mut();
        for (t, k, us) in self.rps.drain_latencies() {
            rep.record_verifier_latency(day_of(t, off), k.key(), us);
        }
        rep.record_presentation(day_of(at, off), kind.key(), outcome);
    }

    fn failed(
        &self,
        r: &crate::population::Resident,
        kind: &str,
        end: &crate::harness::PresentEnd,
    ) {
        let day = day_of(self.gate.now(), self.shared.off);
        self.shared.report.borrow_mut().record_failure(day, kind);
        let mut f = self.shared.failed.borrow_mut();
        if f.len() < MAX_FAILED {
            f.push(FailedFlow {
                resident: r.index,
                kind: kind.to_owned(),
                detail: end
                    .shown
                    .last()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            });
        }
    }
}
