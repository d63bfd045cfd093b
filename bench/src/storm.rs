//! An alert storm from one sender: sequential batches of new alerts on one connection.
//!
//! A Prometheus sends its alerts to each Alertmanager in batches of at most 64, one batch at a
//! time, so an outage that fires thousands of new alerts at once reaches the server as a
//! sequential stream of batches it has never seen. Each post waits for the answer before the
//! next one goes: the figure is how long the server takes to accept (for campanile: make durable)
//! one batch of new alerts, and the alerts per second that allows.
//!
//! The label sets are `first..first + warm-up + alerts` of [`crate::alerts::labels`]; the default
//! `first` lies beyond every other load's label sets, so no alert of the storm was ever sent
//! before, even to a server that has taken the other loads.

use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::alerts::{self, MOVING_ENDS_IN};
use crate::client::{Conn, Target};
use crate::procfs;
use crate::stats::{self, Outcomes, Percentiles};
use crate::throughput::ALERTS_PATH;

/// What to run (the `storm` subcommand's options).
#[derive(clap::Args)]
pub struct Plan {
    /// Base URL of the server.
    #[arg(long = "url", value_name = "URL", value_parser = Target::parse)]
    pub target: Target,
    /// New alerts in the measured storm.
    #[arg(long, default_value_t = 50_000)]
    pub alerts: usize,
    /// Alerts per post (Prometheus's notifier sends at most 64).
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Untimed batches of new alerts first (connection, first writes).
    #[arg(long, default_value_t = 16)]
    pub warmup_batches: usize,
    /// The first label set of the storm (the other loads use label sets below 1,000,000).
    #[arg(long, default_value_t = 1_000_000)]
    pub first: usize,
    /// The server's process id, to report the CPU time it used.
    #[arg(long = "pid", value_name = "PID")]
    pub server_pid: Option<u32>,
}

/// The result line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub alerts: usize,
    pub batch: usize,
    /// Alerts in 2xx-answered posts, per second of the measured storm.
    pub alerts_per_s: f64,
    pub accepted_alerts: u64,
    pub measured_s: f64,
    /// Per-POST latency.
    pub latency: Percentiles,
    pub outcomes: Outcomes,
    /// CPU seconds the server used during the measured storm (with `server_pid`).
    pub server_cpu_s: Option<f64>,
}

/// A serialised post and the alerts in it.
type Post = (Bytes, u64);

/// The storm's posts: the warm-up's, then the measured ones. Serialised before the storm;
/// `endsAt` = now + 4 min, as Prometheus stamps a new alert.
fn bodies(plan: &Plan) -> (Vec<Post>, Vec<Post>) {
    let warmup = plan.warmup_batches * plan.batch.max(1);
    let range = plan.first..plan.first + warmup + plan.alerts;
    let counts = alerts::batches(range.clone(), plan.batch).map(|r| r.len() as u64);
    let mut all: Vec<Post> = alerts::bodies_of(range, plan.batch, MOVING_ENDS_IN)
        .into_iter()
        .zip(counts)
        .collect();
    let measured = all.split_off(plan.warmup_batches.min(all.len()));
    (all, measured)
}

pub async fn run(plan: Plan) -> Result<Report> {
    let (warmup, measured) = bodies(&plan);
    let mut conn = Conn::connect(&plan.target).await?;
    eprintln!(
        "storm: {} new alerts in {} sequential posts of {} (after {} untimed)",
        plan.alerts,
        measured.len(),
        plan.batch,
        warmup.len()
    );
    for (body, _) in warmup {
        conn.post_json(ALERTS_PATH, body).await?;
    }
    let cpu = || plan.server_pid.map(procfs::cpu_seconds).transpose();
    let mut latency = stats::histogram();
    let mut outcomes = Outcomes::default();
    let mut accepted = 0;
    let server_from = cpu()?;
    let started = Instant::now();
    for (body, alerts) in measured {
        let sent = Instant::now();
        let status = conn.post_json(ALERTS_PATH, body).await?;
        stats::record(&mut latency, sent.elapsed());
        outcomes.status(status);
        if status.is_success() {
            accepted += alerts;
        }
    }
    let took = started.elapsed().max(Duration::from_micros(1));
    let server_to = cpu()?;
    Ok(Report {
        alerts: plan.alerts,
        batch: plan.batch,
        alerts_per_s: accepted as f64 / took.as_secs_f64(),
        accepted_alerts: accepted,
        measured_s: took.as_secs_f64(),
        latency: Percentiles::of(&latency),
        outcomes,
        server_cpu_s: server_to.zip(server_from).map(|(to, from)| to - from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::HashSet;

    fn plan(alerts: usize, warmup_batches: usize) -> Plan {
        Plan {
            target: Target::parse("http://127.0.0.1:1").unwrap(),
            alerts,
            batch: 64,
            warmup_batches,
            first: 1_000_000,
            server_pid: None,
        }
    }

    fn label_sets(bodies: &[Post]) -> Vec<Value> {
        bodies
            .iter()
            .flat_map(|(b, n)| {
                let alerts: Vec<Value> = serde_json::from_slice(b).unwrap();
                assert_eq!(alerts.len() as u64, *n);
                assert!(alerts.len() <= 64, "Prometheus's largest batch");
                alerts.into_iter().map(|a| a["labels"].clone())
            })
            .collect()
    }

    #[test]
    fn storm_batches_never_repeat_a_label_set() {
        let (warmup, measured) = bodies(&plan(5_000, 4));
        assert_eq!(warmup.len(), 4);
        assert_eq!(measured.len(), 5_000usize.div_ceil(64));
        assert_eq!(measured.iter().map(|(_, n)| n).sum::<u64>(), 5_000);
        let all: Vec<Value> = label_sets(&warmup)
            .into_iter()
            .chain(label_sets(&measured))
            .collect();
        let distinct: HashSet<String> = all.iter().map(|l| l.to_string()).collect();
        assert_eq!(distinct.len(), all.len(), "every alert of the storm is new");
        assert_eq!(all.len(), 4 * 64 + 5_000);
    }

    #[test]
    fn storm_label_sets_lie_beyond_the_other_loads() {
        // The other loads use label sets 0..N (at most the 100,000 of the memory phase); a
        // label set is told apart by its pod, `svc-<i>-…`.
        let (warmup, measured) = bodies(&plan(200, 1));
        let other: HashSet<String> = (0..100_000)
            .map(|i| alerts::labels(i)["pod"].as_str().unwrap().to_owned())
            .collect();
        for l in label_sets(&warmup).iter().chain(&label_sets(&measured)) {
            assert!(!other.contains(l["pod"].as_str().unwrap()), "{l}");
        }
    }
}
