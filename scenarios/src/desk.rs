//! Community-center desks: clerks, service times, and a multi-server FIFO queue.
//!
//! A center has `c` clerks. Visitors are served first come, first served by whichever clerk
//! frees up first; a visitor who cannot be called before closing time is turned away (and
//! may come back another day: that is the simulation's decision). The queue is event-driven:
//! each arrival is processed in time order against a min-heap of the clerks' free times,
//! which gives exactly the waits of an FCFS c-server queue (the Kiefer-Wolfowitz recursion).
//!
//! Times are integer milliseconds on any epoch the caller picks (virtual time), so the
//! results are exact and identical on every machine.

use crate::region::Districts as _;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::population::Resident;
use crate::region::District;
use crate::rng::splitmix64;
use crate::Error;

/// Milliseconds of virtual time.
pub type Millis = i64;

/// How long a clerk takes to serve one visitor (identity check, QR issuance).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServiceTime {
    /// Always the same.
    Fixed {
        /// Seconds per visitor.
        seconds: f64,
    },
    /// Uniform between two bounds.
    Uniform {
        /// Shortest, in seconds.
        min_seconds: f64,
        /// Longest, in seconds.
        max_seconds: f64,
    },
    /// Exponential (memoryless; M/M/c queues).
    Exponential {
        /// Mean in seconds.
        mean_seconds: f64,
    },
    /// Log-normal: most visits near the median, a long tail of difficult ones.
    LogNormal {
        /// Median in seconds.
        median_seconds: f64,
        /// Standard deviation of the logarithm.
        sigma: f64,
    },
}

impl Default for ServiceTime {
    fn default() -> Self {
        // About 4 minutes for most, some much longer (first-time app setup, forgotten PINs).
        ServiceTime::LogNormal {
            median_seconds: 240.0,
            sigma: 0.5,
        }
    }
}

impl ServiceTime {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), Error> {
        let field = "desk.service";
        let pos = |v: f64| v.is_finite() && v > 0.0;
        let ok = match *self {
            ServiceTime::Fixed { seconds } => seconds.is_finite() && seconds >= 0.0,
            ServiceTime::Uniform {
                min_seconds,
                max_seconds,
            } => {
                min_seconds.is_finite()
                    && min_seconds >= 0.0
                    && pos(max_seconds)
                    && min_seconds <= max_seconds
            }
            ServiceTime::Exponential { mean_seconds } => pos(mean_seconds),
            ServiceTime::LogNormal {
                median_seconds,
                sigma,
            } => pos(median_seconds) && sigma.is_finite() && sigma >= 0.0,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::config(
                field,
                format!("{self:?} has a negative, zero or non-finite parameter"),
            ))
        }
    }

    /// The mean in seconds.
    pub fn mean_seconds(&self) -> f64 {
        match *self {
            ServiceTime::Fixed { seconds } => seconds,
            ServiceTime::Uniform {
                min_seconds,
                max_seconds,
            } => (min_seconds + max_seconds) / 2.0,
            ServiceTime::Exponential { mean_seconds } => mean_seconds,
            ServiceTime::LogNormal {
                median_seconds,
                sigma,
            } => median_seconds * (sigma * sigma / 2.0).exp(),
        }
    }

    /// One draw, in whole milliseconds (capped at 24 hours).
    pub fn sample_millis<R: RngExt + ?Sized>(&self, rng: &mut R) -> Millis {
        let seconds = match *self {
            ServiceTime::Fixed { seconds } => seconds,
            ServiceTime::Uniform {
                min_seconds,
                max_seconds,
            } => min_seconds + (max_seconds - min_seconds) * rng.random::<f64>(),
            ServiceTime::Exponential { mean_seconds } => {
                -(1.0 - rng.random::<f64>()).ln() * mean_seconds
            }
            ServiceTime::LogNormal {
                median_seconds,
                sigma,
            } => median_seconds * (sigma * standard_normal(rng)).exp(),
        };
        (seconds * 1000.0).round().clamp(0.0, 86_400_000.0) as Millis
    }
}

/// A standard normal draw (Box-Muller).
fn standard_normal<R: RngExt + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// What happened to one visitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Visit {
    /// Called to a clerk and served.
    Served {
        /// When the clerk called them.
        start: Millis,
        /// When they left the desk.
        end: Millis,
        /// `start - arrival`.
        wait: Millis,
        /// Which clerk (0-based).
        clerk: u32,
    },
    /// Could not be called before closing.
    TurnedAway {
        /// How long they waited before being told (closing - arrival).
        waited: Millis,
    },
}

/// One center's queue: `c` clerks, FIFO, fed arrivals in time order.
#[derive(Clone, Debug)]
pub struct DeskQueue {
    /// (free at, clerk) for every clerk: the earliest-free clerk (lowest number on ties) on top.
    clerks: BinaryHeap<Reverse<(Millis, u32)>>,
    last_arrival: Millis,
}

impl DeskQueue {
    /// A queue with `clerks` clerks, all free from the start of time.
    pub fn new(clerks: u32) -> Result<DeskQueue, Error> {
        if clerks == 0 {
            return Err(Error::config(
                "desk.clerks_per_center",
                "a center needs at least one clerk",
            ));
        }
        Ok(DeskQueue {
            clerks: (0..clerks).map(|c| Reverse((Millis::MIN, c))).collect(),
            last_arrival: Millis::MIN,
        })
    }

    /// A visitor arrives at `arrival` needing `service` ms; the desk stops calling visitors
    /// at `closes` (`None`: never). Arrivals must come in non-decreasing time order: an
    /// earlier one is an error and changes nothing.
    pub fn arrive(
        &mut self,
        arrival: Millis,
        service: Millis,
        closes: Option<Millis>,
    ) -> Result<Visit, Error> {
        if arrival < self.last_arrival {
            return Err(Error::OutOfOrder {
                at: arrival,
                after: self.last_arrival,
            });
        }
        if service < 0 {
            return Err(Error::config(
                "desk.service",
                format!("negative service time {service} ms"),
            ));
        }
        self.last_arrival = arrival;
        let Some(mut top) = self.clerks.peek_mut() else {
            return Err(Error::config("desk.clerks_per_center", "no clerk"));
        };
        let Reverse((free_at, clerk)) = *top;
        let start = free_at.max(arrival);
        if closes.is_some_and(|c| start >= c) {
            return Ok(Visit::TurnedAway {
                waited: closes.unwrap_or(arrival).saturating_sub(arrival).max(0),
            });
        }
        let end = start.saturating_add(service);
        *top = Reverse((end, clerk));
        Ok(Visit::Served {
            start,
            end,
            wait: start - arrival,
            clerk,
        })
    }

    /// Number of clerks.
    pub fn clerks(&self) -> usize {
        self.clerks.len()
    }
}

/// Serves `visits` (arrival, service) at a desk with `clerks` clerks and no closing time, in
/// FIFO order of arrival (ties in input order). Returns the outcomes in input order.
pub fn serve_all(clerks: u32, visits: &[(Millis, Millis)]) -> Result<Vec<Visit>, Error> {
    let mut order: Vec<usize> = (0..visits.len()).collect();
    order.sort_by_key(|&i| (visits[i].0, i));
    let mut q = DeskQueue::new(clerks)?;
    let mut out = vec![Visit::TurnedAway { waited: 0 }; visits.len()];
    for i in order {
        out[i] = q.arrive(visits[i].0, visits[i].1, None)?;
    }
    Ok(out)
}

/// Mean wait in queue of an M/M/c queue (Erlang C), in the time unit of the rates, or `None`
/// if the queue is unstable (`λ >= cμ`) or a parameter is not positive.
pub fn erlang_c_mean_wait(arrival_rate: f64, service_rate: f64, clerks: u32) -> Option<f64> {
    if !(arrival_rate > 0.0 && service_rate > 0.0 && clerks > 0) {
        return None;
    }
    let c = f64::from(clerks);
    let a = arrival_rate / service_rate;
    if a >= c {
        return None;
    }
    // Σ_{k<c} a^k/k! and a^c/c!, accumulated term by term.
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..clerks {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let tail = term * c / (c - a);
    let p_wait = tail / (sum + tail);
    Some(p_wait / (c * service_rate - arrival_rate))
}

/// Every center's queue, created on a center's first visitor, so memory grows with the
/// centers that have been visited, not with the population.
#[derive(Clone, Debug)]
pub struct Desks {
    clerks_per_center: u32,
    queues: BTreeMap<CenterId, DeskQueue>,
}

impl Desks {
    /// No queues yet; each center will have `clerks_per_center` clerks.
    pub fn new(clerks_per_center: u32) -> Result<Desks, Error> {
        DeskQueue::new(clerks_per_center)?;
        Ok(Desks {
            clerks_per_center,
            queues: BTreeMap::new(),
        })
    }

    /// A visitor arrives at `center`; see [`DeskQueue::arrive`]. Arrivals must be in time
    /// order per center (different centers are independent).
    pub fn arrive(
        &mut self,
        center: CenterId,
        arrival: Millis,
        service: Millis,
        closes: Option<Millis>,
    ) -> Result<Visit, Error> {
        let queue = match self.queues.entry(center) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(DeskQueue::new(self.clerks_per_center)?)
            }
        };
        queue.arrive(arrival, service, closes)
    }

    /// Number of centers that have had a visitor.
    pub fn centers_visited(&self) -> usize {
        self.queues.len()
    }
}

/// How many centers and clerks serve each district.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeskConfig {
    /// Clerks handling mobile ID at each center.
    pub clerks_per_center: u32,
    /// Residents served by one center (Korea: about 3,500 centers for 51 million people).
    pub residents_per_center: u32,
    /// Service-time distribution.
    pub service: ServiceTime,
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            clerks_per_center: 2,
            residents_per_center: 15_000,
            service: ServiceTime::default(),
        }
    }
}

impl DeskConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), Error> {
        if self.clerks_per_center == 0 {
            return Err(Error::config(
                "desk.clerks_per_center",
                "must be at least 1",
            ));
        }
        if self.residents_per_center == 0 {
            return Err(Error::config(
                "desk.residents_per_center",
                "must be at least 1",
            ));
        }
        self.service.validate()
    }

    /// Number of centers in `district` when it has `residents` simulated residents (at least 1).
    pub fn centers_for(&self, residents: f64) -> u32 {
        let n = (residents / f64::from(self.residents_per_center.max(1))).round();
        n.clamp(1.0, f64::from(u32::MAX)) as u32
    }
}

/// A community center: a district (or a region's pool) and a number within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CenterId {
    /// The district's 5-digit code, or the region's 2-digit code for a pooled center
    /// ([`center_in_sample`]).
    pub district: u32,
    /// The center's number within the district, `0..centers`.
    pub number: u32,
}

/// The center under whose jurisdiction a resident's legal address falls, when `district` has
/// `centers` centers: a fixed hash of the resident's index, so it never changes between runs.
pub fn center_of(resident: &Resident, centers: u32) -> CenterId {
    center_for_index(resident.district(), resident.index, centers)
}

/// [`center_of`] from the district and index alone.
pub fn center_for_index(district: &District, index: u64, centers: u32) -> CenterId {
    let number = (splitmix64(index ^ 0xC0FF_EE00) % u64::from(centers.max(1))) as u32;
    CenterId {
        district: district.code,
        number,
    }
}

/// The center that serves resident `index` of `district` in a population sample.
///
/// A scaled-down sample gives each district a handful of residents; one center per district
/// would then serve a few hundred people instead of a real center's
/// [`DeskConfig::residents_per_center`] (15,000), and queues would never form. So when a
/// region's districts average less than one center's worth of simulated residents, the
/// region's centers are pooled: `residents / residents_per_center` of them (at least one)
/// serve the whole region, each with a real center's load. With a large enough sample every
/// district has its own centers, as in reality. `region_residents` and `district_residents`
/// are the expected simulated residents (of the shard, when shards keep their own desks).
pub fn center_in_sample(
    cfg: &DeskConfig,
    district: &District,
    index: u64,
    district_residents: f64,
    region_residents: f64,
) -> CenterId {
    let districts = district.region.districts().len().max(1) as f64;
    if region_residents / districts >= f64::from(cfg.residents_per_center) {
        return center_for_index(district, index, cfg.centers_for(district_residents));
    }
    let centers = cfg.centers_for(region_residents);
    let number = (splitmix64(index ^ 0xC0FF_EE00) % u64::from(centers.max(1))) as u32;
    CenterId {
        district: u32::from(district.region.code()),
        number,
    }
}

#[cfg(test)]
mod tests;
