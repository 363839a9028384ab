//! Histograms that merge exactly across shards and travel in JSON.
//!
//! A [`Hist`] wraps an `hdrhistogram` with fixed bounds (1 ..= 2^36, 2 significant digits) so
//! that every shard's histograms have the same layout: merging is exact addition of counts,
//! and the merged histogram serializes to the same bytes as one recorded in a single run.
//! In JSON a histogram is the base64 (standard alphabet, padded) of its uncompressed V2
//! encoding, readable by any HdrHistogram implementation.

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize, Serializer};

use crate::Error;

/// Highest value tracked; larger values are recorded as this (about 19 hours in µs, 2 years
/// in ms).
pub const HIST_MAX: u64 = 1 << 36;
/// Significant decimal digits kept (values within 1%).
pub const HIST_SIGFIG: u8 = 2;

/// A latency or wait histogram (unit chosen by the field that holds it).
#[derive(Clone, Debug, PartialEq)]
pub struct Hist(Histogram<u64>);

impl Default for Hist {
    fn default() -> Self {
        Hist::new()
    }
}

impl Hist {
    /// An empty histogram with the standard bounds.
    pub fn new() -> Hist {
        // Constant bounds that satisfy hdrhistogram's rules (low >= 1, high >= 2 * low,
        // sigfig <= 5): no input reaches this, and the unit tests exercise it.
        Hist(
            Histogram::new_with_bounds(1, HIST_MAX, HIST_SIGFIG)
                .expect("constant histogram bounds are valid"),
        )
    }

    /// Records one value (0 counts as 0; above [`HIST_MAX`] as `HIST_MAX`).
    pub fn record(&mut self, value: u64) {
        self.0.saturating_record(value.min(HIST_MAX));
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Hist) -> Result<(), Error> {
        self.0
            .add(&other.0)
            .map_err(|e| Error::Histogram(format!("merge: {e:?}")))
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The value at quantile `q` (0..=1), 0 if empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.0.is_empty() {
            0
        } else {
            self.0.value_at_quantile(q.clamp(0.0, 1.0))
        }
    }

    /// Largest value recorded (0 if empty).
    pub fn max(&self) -> u64 {
        self.0.max()
    }

    /// Mean of the recorded values (0 if empty).
    pub fn mean(&self) -> f64 {
        self.0.mean()
    }

    /// The underlying histogram.
    pub fn inner(&self) -> &Histogram<u64> {
        &self.0
    }

    /// The uncompressed V2 encoding.
    pub fn to_v2_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        V2Serializer::new()
            .serialize(&self.0, &mut out)
            .map_err(|e| Error::Histogram(format!("encode: {e:?}")))?;
        Ok(out)
    }

    /// Decodes an uncompressed V2 encoding. The bounds must be the standard ones, so that
    /// histograms from different sources merge exactly. The header is checked before
    /// decoding, so a hostile length or layout cannot make the decoder allocate gigabytes.
    pub fn from_v2_bytes(bytes: &[u8]) -> Result<Hist, Error> {
        check_v2_header(bytes)?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|e| Error::Histogram(format!("decode: {e:?}")))?;
        let mut std = Hist::new();
        std.0
            .add(&h)
            .map_err(|e| Error::Histogram(format!("decode: {e:?}")))?;
        Ok(std)
    }

    /// Base64 of the V2 encoding, as it appears in the JSON report.
    pub fn to_base64(&self) -> Result<String, Error> {
        Ok(base64::engine::general_purpose::STANDARD.encode(self.to_v2_bytes()?))
    }

    /// Parses [`Hist::to_base64`]'s output.
    pub fn from_base64(s: &str) -> Result<Hist, Error> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| Error::Histogram(format!("base64: {e}")))?;
        Hist::from_v2_bytes(&bytes)
    }
}

/// HdrHistogram V2 encoding cookie (uncompressed).
const V2_COOKIE: u32 = 0x1c84_9303 | 0x10;
/// V2 header: cookie, payload length, normalizing offset, digits (4 bytes each), lowest and
/// highest trackable value, integer-to-double ratio (8 bytes each).
const V2_HEADER_LEN: usize = 40;

fn check_v2_header(bytes: &[u8]) -> Result<(), Error> {
    let bad = |what: &str| Err(Error::Histogram(format!("decode: {what}")));
    let Some(header) = bytes.get(..V2_HEADER_LEN) else {
        return bad("shorter than the V2 header");
    };
    let u32_at =
        |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let u64_at = |i: usize| (u64::from(u32_at(i)) << 32) | u64::from(u32_at(i + 4));
    if u32_at(0) != V2_COOKIE {
        return bad("not an uncompressed V2 histogram");
    }
    if u32_at(4) as usize > bytes.len() - V2_HEADER_LEN {
        return bad("payload length beyond the input");
    }
    if u32_at(12) != u32::from(HIST_SIGFIG) || u64_at(16) != 1 || u64_at(24) != HIST_MAX {
        return bad("not the standard bounds (1..=2^36, 2 digits)");
    }
    Ok(())
}

impl Serialize for Hist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b64 = self.to_base64().map_err(serde::ser::Error::custom)?;
        s.serialize_str(&b64)
    }
}

impl<'de> Deserialize<'de> for Hist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Hist::from_base64(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_shards_encode_to_the_same_bytes_as_one_run() {
        let (mut a, mut b, mut all) = (Hist::new(), Hist::new(), Hist::new());
        for v in 0..10_000u64 {
            let value = v * v % 1_000_003 + 1;
            if v % 3 == 0 {
                a.record(value)
            } else {
                b.record(value)
            }
            all.record(value);
        }
        a.merge(&b).unwrap();
        assert_eq!(a, all);
        assert_eq!(a.to_base64().unwrap(), all.to_base64().unwrap());
        assert_eq!(a.count(), 10_000);
    }

    #[test]
    fn base64_round_trips_and_garbage_is_an_error() {
        let mut h = Hist::new();
        for v in [1, 5, 100, 1_000_000, u64::MAX] {
            h.record(v);
        }
        let s = h.to_base64().unwrap();
        assert_eq!(Hist::from_base64(&s).unwrap(), h);
        assert_eq!(h.max(), Hist::from_base64(&s).unwrap().max());
        assert!(matches!(
            Hist::from_base64("not base64!"),
            Err(Error::Histogram(_))
        ));
        assert!(matches!(
            Hist::from_base64("AAAA"),
            Err(Error::Histogram(_))
        ));
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<Hist>(&json).unwrap(), h);
        assert_eq!(Hist::new().quantile(0.5), 0);
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = Hist::from_v2_bytes(&bytes);
        }
    }
}
