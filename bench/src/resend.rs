//! How a re-sending load re-sends: what each re-send's `endsAt` is ([`Resend`], `--resend`) and
//! when each alert comes back ([`Schedule`]).
//!
//! # What Prometheus sends
//!
//! Prometheus keeps every firing alert and sends it again once per `resend_delay` (1 min by
//! default), each time with `endsAt` = evaluation time + 4 × the resend delay. Its rule groups
//! are evaluated at offsets spread over their interval, so an Alertmanager sees a steady stream in
//! which each alert has its own phase and comes back once per period, and **every re-send
//! carries an `endsAt` the server does not hold yet**. That is the default here
//! ([`Resend::Prometheus`]): each body is stamped with `endsAt` = send time + 4 min as it is sent.
//!
//! The generator's earlier patterns stay as named variants: [`Resend::Rerender`] (all bodies
//! re-rendered once a second, so re-sends within one second are identical) and [`Resend::Static`]
//! (identical bodies all run long). They flatter a server that settles identical re-sends
//! cheaply: at 100,000 alerts/s over 10,000 label sets, ten of every eleven `rerender` re-sends
//! are byte for byte what the server holds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What the `endsAt` of a re-send is (`--resend`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resend {
    /// As Prometheus: each send is stamped `endsAt` = send time + 4 min, so every re-send moves
    /// the end of an alert the server holds.
    #[default]
    Prometheus,
    /// No `endsAt` in the body: the server sets it (now + its resolve timeout), so every re-send
    /// moves the end there.
    NoEnds,
    /// Every body re-rendered once a second with `endsAt` = now + 4 min: re-sends within the same
    /// second are identical (this generator's default before the Prometheus pattern).
    Rerender,
    /// Identical bodies all run long, `endsAt` = start of the run + 5 min (the old
    /// `--static-ends`).
    Static,
}

impl Resend {
    /// The `--resend` value naming this pattern.
    pub fn name(self) -> &'static str {
        match self {
            Resend::Prometheus => "prometheus",
            Resend::NoEnds => "no-ends",
            Resend::Rerender => "rerender",
            Resend::Static => "static",
        }
    }
}

/// When each batch of a re-sending load is due.
///
/// The label sets are cut into `batches` batches of consecutive alerts, the alerts that fall
/// due together (as one rule group's do in Prometheus). Within every period, batch `b` is due at
/// `b × period / batches`: the batches' phases are spread evenly over the period, and each alert
/// comes back exactly once per period. The `n`-th send of the whole load is batch
/// `n mod batches`, due `n × period / batches` after the start.
///
/// Without a period the load runs flat out: the sends come in the same order, each as soon as a
/// connection is free, and the period is however long the server takes for one round.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    batches: u64,
    period: Option<Duration>,
}

impl Schedule {
    /// A schedule of `batches` batches (at least one), each due once per `period` (`None`: flat
    /// out).
    pub fn new(batches: usize, period: Option<Duration>) -> Self {
        Schedule {
            batches: batches.max(1) as u64,
            period,
        }
    }

    /// The period in which `label_sets` alerts come back at `rate` alerts per second.
    pub fn period_at_rate(label_sets: usize, rate: f64) -> Duration {
        Duration::from_secs_f64(label_sets as f64 / rate)
    }

    /// The batch the `n`-th send carries.
    pub fn batch(&self, n: u64) -> usize {
        (n % self.batches) as usize
    }

    /// When the `n`-th send is due, from the start of the load; `None` when flat out.
    pub fn due(&self, n: u64) -> Option<Duration> {
        let period = self.period?.as_nanos();
        let at = period * u128::from(n) / u128::from(self.batches);
        Some(Duration::from_nanos(u64::try_from(at).unwrap_or(u64::MAX)))
    }

    pub fn period(&self) -> Option<Duration> {
        self.period
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn each_batch_comes_back_once_per_period_at_its_own_phase() {
        let period = Duration::from_secs(60);
        let s = Schedule::new(1_000, Some(period));
        // Three periods of sends: per batch, when it was due.
        let mut due: BTreeMap<usize, Vec<Duration>> = BTreeMap::new();
        for n in 0..3_000 {
            due.entry(s.batch(n)).or_default().push(s.due(n).unwrap());
        }
        assert_eq!(due.len(), 1_000, "every batch is sent");
        for times in due.values() {
            assert_eq!(times.len(), 3, "once per period");
            assert!(times.windows(2).all(|w| w[1] - w[0] == period), "{times:?}");
        }
        // The phases spread evenly over the period: 60 ms apart, the last 60 ms before its end.
        let phases: Vec<Duration> = due.values().map(|t| t[0]).collect();
        assert_eq!(phases[0], Duration::ZERO);
        assert!(phases
            .windows(2)
            .all(|w| w[1] - w[0] == Duration::from_millis(60)));
        assert_eq!(phases[999], period - Duration::from_millis(60));
    }

    #[test]
    fn sends_are_due_in_order_at_the_load_s_rate() {
        // 10,000 label sets in batches of 10 at 1,000 alerts/s: each alert every 10 s, a send
        // every 10 ms.
        let period = Schedule::period_at_rate(10_000, 1_000.0);
        assert_eq!(period, Duration::from_secs(10));
        let s = Schedule::new(1_000, Some(period));
        assert_eq!(s.due(1), Some(Duration::from_millis(10)));
        assert_eq!(s.due(1_000), Some(period));
        assert_eq!(s.batch(1_001), 1);
        let due: Vec<Duration> = (0..5_000).map(|n| s.due(n).unwrap()).collect();
        assert!(due.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn flat_out_has_no_due_times_but_the_same_order() {
        let s = Schedule::new(7, None);
        assert_eq!(s.due(3), None);
        let order: Vec<usize> = (0..15).map(|n| s.batch(n)).collect();
        assert_eq!(order, [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0]);
        assert_eq!(Schedule::new(0, None).batch(5), 0, "at least one batch");
    }

    #[test]
    fn resend_names_are_the_flag_values() {
        use clap::ValueEnum;
        for r in Resend::value_variants() {
            let v = r.to_possible_value().unwrap();
            assert_eq!(v.get_name(), r.name());
            assert_eq!(
                serde_json::to_string(r).unwrap(),
                format!("\"{}\"", r.name())
            );
        }
        assert_eq!(Resend::default(), Resend::Prometheus);
    }
}
