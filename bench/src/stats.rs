//! Latency histograms and response-status tallies shared by the measurements.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use hyper::StatusCode;
use serde::{Deserialize, Serialize};

/// A histogram of durations in microseconds, from 1 µs to 10 min, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Records a duration, saturating at the histogram's upper bound.
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record(d.as_micros().clamp(1, u128::from(u64::MAX)) as u64);
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// How requests ended: 2xx, other statuses by code, and transport errors.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Outcomes {
    pub ok: u64,
    /// Non-2xx answers by status code (429 is back-pressure).
    pub non_2xx: BTreeMap<u16, u64>,
    /// Connection or protocol errors (no status).
    pub errors: u64,
}

impl Outcomes {
    pub fn status(&mut self, s: StatusCode) {
        if s.is_success() {
            self.ok += 1;
        } else {
            *self.non_2xx.entry(s.as_u16()).or_default() += 1;
        }
    }

    pub fn merge(&mut self, other: &Outcomes) {
        self.ok += other.ok;
        self.errors += other.errors;
        for (code, n) in &other.non_2xx {
            *self.non_2xx.entry(*code).or_default() += n;
        }
    }

    pub fn non_2xx_total(&self) -> u64 {
        self.non_2xx.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_tally_and_merge() {
        let mut a = Outcomes::default();
        a.status(StatusCode::OK);
        a.status(StatusCode::TOO_MANY_REQUESTS);
        let mut b = Outcomes::default();
        b.status(StatusCode::TOO_MANY_REQUESTS);
        b.errors = 1;
        a.merge(&b);
        assert_eq!((a.ok, a.non_2xx[&429], a.errors), (1, 2, 1));
    }

    #[test]
    fn percentiles_in_milliseconds() {
        let mut h = histogram();
        for ms in 1..=100 {
            record(&mut h, Duration::from_millis(ms));
        }
        let p = Percentiles::of(&h);
        assert_eq!(p.count, 100);
        assert!((p.p50_ms - 50.0).abs() < 0.1, "{p:?}");
        assert!((p.p99_ms - 99.0).abs() < 0.1, "{p:?}");
    }
}
