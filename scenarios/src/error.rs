//! The crate's error type.

/// Everything in this crate that can fail on bad input or configuration.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A region was named by a code or name that is not one of the 17 first-level divisions.
    #[error("unknown region {0:?}: expected a 2-digit code such as \"11\" or an English name")]
    UnknownRegion(String),
    /// A configuration value is out of range or inconsistent; the message says which and why.
    #[error("invalid configuration: {field}: {reason}")]
    InvalidConfig {
        /// The configuration field, as a dotted path (`population.region_weights`).
        field: &'static str,
        /// Why the value was rejected.
        reason: String,
    },
    /// `--shard i/N` with `N == 0` or `i >= N`.
    #[error("invalid shard {index}/{count}: need count > 0 and index < count")]
    InvalidShard {
        /// The shard index asked for.
        index: u64,
        /// The number of shards.
        count: u64,
    },
    /// A resident registration number is not 13 digits in `YYMMDD-GNNNNNN` form.
    #[error("malformed resident registration number at character {position}")]
    MalformedRrn {
        /// Byte offset of the first character that does not fit.
        position: usize,
    },
    /// A queue was fed an arrival earlier than the previous one.
    #[error("arrival at {at} ms comes before the previous arrival at {after} ms")]
    OutOfOrder {
        /// The arrival time given.
        at: i64,
        /// The previous arrival time.
        after: i64,
    },
    /// A histogram could not be encoded, decoded or merged.
    #[error("histogram: {0}")]
    Histogram(String),
    /// A report could not be serialized or parsed.
    #[error("report JSON: {0}")]
    ReportJson(String),
    /// Two shard reports that cannot be merged (different seed, configuration or population).
    #[error("reports do not match: {0}")]
    ReportMismatch(String),
    /// The issuer refused to set up (registering a resident, building its PKI).
    #[error("issuer: {0}")]
    Issuer(String),
    /// The simulation's runtime could not be built or finished badly.
    #[error("runtime: {0}")]
    Runtime(String),
}

impl Error {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field,
            reason: reason.into(),
        }
    }
}
