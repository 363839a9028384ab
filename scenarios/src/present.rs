//! Presentations in the rollout: the relying parties of a shard, when holders visit them
//! (`data/presentations.toml`), and one presentation run through the pair harness.
//!
//! Each shard has one relying party per [`RpKind`] (a sample of the country's counters
//! shares its verifier core, as counters of one bank share the bank's verifier). A
//! relying party serves [`VerifierCapacity::concurrent`] requests at once with a modelled
//! service time in virtual time; the report's verifier latencies are those (queueing
//! included), so they are deterministic. The verification itself is real: every presentation
//! is scanned from a QR image, decrypted, and checked signature by signature.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use rand::RngExt;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use sim_phone::{PresentConfig, PresentFlow, VerifierRegistry};
use sim_verifier::{RpKind, TrustedIssuer, Verifier, VerifierConfig};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::flows::{Gate, APP_PIN};
use crate::harness::{
    Deliver, Filter, InProcessVerifier, Phone, PresentEnd, PresentPair, VerifierAnswer,
    VerifierTransport,
};
use crate::rng::{rng_for, Stream};
use crate::vtime::UnixTime;
use crate::Error;

/// The shipped visit rates.
pub const DEFAULT_PRESENTATIONS_TOML: &str = include_str!("../data/presentations.toml");

/// A relying party's capacity as the simulation models it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifierCapacity {
    /// Requests served at once.
    pub concurrent: u32,
    /// Fixed service time of one request, virtual milliseconds.
    pub service_ms: u64,
    /// Mean of the exponential part of the service time, virtual milliseconds.
    pub service_jitter_ms: u64,
}

/// When holders of one kind visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KindRates {
    /// Opening hour (local).
    pub opens: u8,
    /// Closing hour (local).
    pub closes: u8,
    /// Visits per holder per day, Monday first.
    pub rates: [f64; 7],
}

/// The presentation model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PresentationConfig {
    /// Days after issuance during which holders present.
    pub window_days: u32,
    /// Share of revoked copies presented again afterwards.
    pub revoked_presentation_share: f64,
    /// Share of presentations the holder declines on the phone.
    pub decline_share: f64,
    /// Each relying party's capacity.
    pub verifier: VerifierCapacity,
    /// Visit rates by kind key (`government`, `bank`, `hospital`, `age-check`).
    pub kinds: BTreeMap<String, KindRates>,
}

impl Default for PresentationConfig {
    fn default() -> Self {
        // The shipped file is checked by a test; a broken one fails there first.
        Self::from_toml(DEFAULT_PRESENTATIONS_TOML).unwrap_or_else(|_| PresentationConfig {
            window_days: 0,
            revoked_presentation_share: 0.0,
            decline_share: 0.0,
            verifier: VerifierCapacity {
                concurrent: 1,
                service_ms: 0,
                service_jitter_ms: 0,
            },
            kinds: BTreeMap::new(),
        })
    }
}

impl PresentationConfig {
    /// Parse and check a presentations file.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let cfg: PresentationConfig =
            toml::from_str(text).map_err(|e| Error::config("presentations", e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), Error> {
        for (key, k) in &self.kinds {
            key.parse::<RpKind>()
                .map_err(|e| Error::config("presentations.kinds", e.to_string()))?;
            if k.opens >= k.closes || k.closes > 24 {
                return Err(Error::config(
                    "presentations.kinds",
                    format!("{key}: opening hours must be opens < closes <= 24"),
                ));
            }
            if k.rates.iter().any(|r| !(0.0..=10.0).contains(r)) {
                return Err(Error::config(
                    "presentations.kinds",
                    format!("{key}: rates must be within 0..=10 visits per day"),
                ));
            }
        }
        for (name, share) in [
            (
                "revoked_presentation_share",
                self.revoked_presentation_share,
            ),
            ("decline_share", self.decline_share),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(Error::config(name, "must be within 0..=1"));
            }
        }
        if self.verifier.concurrent == 0 {
            return Err(Error::config(
                "presentations.verifier.concurrent",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// The visits of a holder issued at `issued_at`, in time order, before `until`:
    /// (time, kind). Drawn from (seed, resident, attempt) alone.
    pub fn visits(
        &self,
        seed: u64,
        resident: u64,
        attempt: u32,
        issued_at: UnixTime,
        until: UnixTime,
        off: i32,
    ) -> Vec<(UnixTime, RpKind)> {
        let mut rng = rng_for(
            seed,
            resident ^ (u64::from(attempt) << 48),
            Stream::Other(7),
        );
        let mut out = Vec::new();
        let first = crate::vtime::local_day(issued_at, off);
        for day in first + 1..=first + i64::from(self.window_days) {
            let weekday = crate::vtime::weekday_index(day);
            let midnight = crate::vtime::local_midnight(day, off);
            for (key, k) in &self.kinds {
                let Ok(kind) = key.parse::<RpKind>() else {
                    continue;
                };
                // Poisson count by inversion: rates are small, so this is a loop of one or two.
                let rate = k.rates[weekday % 7];
                let mut p = (-rate).exp();
                let mut cdf = p;
                let u: f64 = rng.random();
                let mut n = 0u32;
                while u > cdf && n < 20 {
                    n += 1;
                    p *= rate / f64::from(n);
                    cdf += p;
                }
                for _ in 0..n {
                    let secs =
                        rng.random_range(u64::from(k.opens) * 3600..u64::from(k.closes) * 3600);
                    let at = midnight + secs as i64;
                    if at < until {
                        out.push((at, kind));
                    }
                }
            }
        }
        out.sort();
        out
    }
}

/// One relying party of a shard: its verifier core, its capacity, and its latencies.
struct Counter {
    verifier: RefCell<Verifier>,
    rng: RefCell<ChaCha20Rng>,
    permits: Semaphore,
}

/// A shard's relying parties, one per kind.
pub struct RelyingParties {
    counters: BTreeMap<RpKind, Counter>,
    capacity: VerifierCapacity,
    registry: VerifierRegistry,
    latencies: RefCell<Vec<(UnixTime, RpKind, u64)>>,
    jitter: RefCell<ChaCha20Rng>,
}

impl std::fmt::Debug for RelyingParties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParties")
            .field("kinds", &self.counters.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The host a relying party of `kind` has in the simulation.
pub fn host_of(kind: RpKind) -> String {
    format!("https://{}.rp.midsim.invalid", kind.key())
}

/// The identifier the issuer goes by on `allowIssuerList`.
pub const ISSUER_ID: &str = "did:kr:mobileid:mois";

impl RelyingParties {
    /// One relying party per kind, trusting the gate's issuer, with keys drawn from `seed`.
    pub fn new(gate: &Gate, capacity: VerifierCapacity, seed: u64) -> Self {
        let roots = gate.issuer().pki().mdoc_roots();
        let mut registry = VerifierRegistry::new();
        let mut counters = BTreeMap::new();
        for kind in RpKind::ALL {
            let mut rng = ChaCha20Rng::seed_from_u64(crate::rng::splitmix64(
                seed ^ crate::rng::splitmix64(0x5250_0000 | kind as u64),
            ));
            let key = protocol::crypto::generate_signing_key(&mut rng);
            let issuers = roots
                .iter()
                .map(|r| TrustedIssuer {
                    id: ISSUER_ID.into(),
                    iaca: r.clone(),
                })
                .collect();
            let cfg = VerifierConfig::new(kind, host_of(kind), issuers);
            registry.register(cfg.id.clone(), *key.verifying_key());
            counters.insert(
                kind,
                Counter {
                    verifier: RefCell::new(Verifier::new(cfg, key)),
                    rng: RefCell::new(rng),
                    permits: Semaphore::new(capacity.concurrent as usize),
                },
            );
        }
        RelyingParties {
            counters,
            jitter: RefCell::new(ChaCha20Rng::seed_from_u64(seed ^ 0x4a17)),
            capacity,
            registry,
            latencies: RefCell::new(Vec::new()),
        }
    }

    /// The app's presentation configuration: every relying party registered.
    pub fn phone_config(&self) -> PresentConfig {
        PresentConfig {
            verifiers: self.registry.clone(),
            app_pin: APP_PIN.into(),
        }
    }

    /// Latencies (virtual µs, by request time and kind) since the last drain.
    pub fn drain_latencies(&self) -> Vec<(UnixTime, RpKind, u64)> {
        std::mem::take(&mut *self.latencies.borrow_mut())
    }

    /// What each relying party counted.
    pub fn counters(&self) -> BTreeMap<RpKind, sim_verifier::Counters> {
        self.counters
            .iter()
            .map(|(k, c)| (*k, c.verifier.borrow().counters().clone()))
            .collect()
    }
}

/// A relying party as the phone reaches it: a request waits for a slot, takes its service
/// time, and is then handled by the verifier core (status lists come from the gate's issuer).
struct CounterLink<'a> {
    rps: &'a RelyingParties,
    kind: RpKind,
    gate: &'a Gate,
}

impl VerifierTransport for CounterLink<'_> {
    async fn post(&self, url: &str, body: &[u8]) -> VerifierAnswer {
        let Some(c) = self.rps.counters.get(&self.kind) else {
            return VerifierAnswer {
                body: Err("no such relying party".into()),
                event: None,
            };
        };
        let asked = Instant::now();
        let asked_unix = self.gate.now();
        let Ok(permit) = c.permits.acquire().await else {
            return VerifierAnswer {
                body: Err("relying party closed".into()),
                event: None,
            };
        };
        let cap = &self.rps.capacity;
        let jitter = if cap.service_jitter_ms == 0 {
            0.0
        } else {
            let u: f64 = rand_core::RngCore::next_u32(&mut *self.rps.jitter.borrow_mut()) as f64
                / 4_294_967_296.0;
            -(1.0 - u).ln() * cap.service_jitter_ms as f64
        };
        tokio::time::sleep(Duration::from_millis(cap.service_ms + jitter as u64)).await;
        let status = |uri: &str| -> Result<Vec<u8>, String> {
            let now = self.gate.now();
            self.gate
                .issuer()
                .status_list_token_by_uri(uri, now)
                .map_err(|e| e.to_string())
        };
        let clock = || self.gate.now();
        let link = InProcessVerifier {
            verifier: &c.verifier,
            rng: &c.rng,
            status: &status,
            clock: &clock,
        };
        let answer = link.post(url, body).await;
        drop(permit);
        let micros = asked.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
        self.rps
            .latencies
            .borrow_mut()
            .push((asked_unix, self.kind, micros));
        answer
    }

    fn now(&self) -> i64 {
        self.gate.now()
    }
}

/// Open a transaction at the relying party of `kind` and run one presentation of `phone`'s
/// mobile ID there, through the harness with `filter`.
pub async fn present(
    rps: &RelyingParties,
    gate: &Gate,
    phone: &mut Phone,
    kind: RpKind,
    consent: bool,
    filter: impl Filter,
) -> PresentEnd {
    let Some(c) = rps.counters.get(&kind) else {
        return PresentEnd::default();
    };
    let m200 = c
        .verifier
        .borrow_mut()
        .open(&mut *c.rng.borrow_mut(), gate.now());
    let qr = match protocol::qr::screen(&m200.to_qr_text()) {
        Ok(img) => img,
        Err(_) => return PresentEnd::default(),
    };
    let link = CounterLink { rps, kind, gate };
    let app = PresentFlow::new(rps.phone_config());
    PresentPair::new(phone, app, &qr, consent, &link, filter)
        .run_flow()
        .await
}

/// [`present`] with every message delivered.
pub async fn present_plain(
    rps: &RelyingParties,
    gate: &Gate,
    phone: &mut Phone,
    kind: RpKind,
    consent: bool,
) -> PresentEnd {
    present(rps, gate, phone, kind, consent, Deliver).await
}
