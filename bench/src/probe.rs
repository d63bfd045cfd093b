//! Probes of a cluster, posted as Prometheus posts: every probe alert (each its own group, due
//! at once) to every replica given. Two uses:
//!
//! - **failover** (`--kill PID`): a replica is killed with SIGKILL, then the probes go to the
//!   survivors at once. Those whose groups fall in the dead replica's shards are told only once
//!   another replica has taken the shards over, so the time from the kill to the last probe's
//!   notification is the failover time;
//! - **latency** (`--interval`): one probe every interval, each timed from its first post to its
//!   notification, with whatever background load runs beside it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::alerts;
use crate::client::{Conn, Target};
use crate::sink::{self, Sink};
use crate::stats::{self, Percentiles};
use crate::throughput::ALERTS_PATH;

/// What to run (the `probe` subcommand's options).
#[derive(clap::Args)]
pub struct Plan {
    /// Base URL of a replica to post every probe to (repeat the flag for each).
    #[arg(long = "url", value_name = "URL", value_parser = Target::parse, required = true)]
    pub replicas: Vec<Target>,
    /// A process to kill (SIGKILL) just before the first probe.
    #[arg(long)]
    pub kill: Option<u32>,
    /// Where the embedded webhook sink listens (the replicas' receivers point here).
    #[arg(long, default_value = "127.0.0.1:19999")]
    pub sink_listen: SocketAddr,
    #[arg(long, default_value_t = 48)]
    pub probes: u64,
    /// The first probe number (give each run its own range).
    #[arg(long, default_value_t = 0)]
    pub first: u64,
    /// Between two probes (0: all at once).
    #[arg(long, default_value = "0s", value_parser = crate::duration)]
    pub interval: Duration,
    /// How long to wait for the last probe after the last was sent.
    #[arg(long, default_value = "120s", value_parser = crate::duration)]
    pub timeout: Duration,
}

/// The result line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub probes: u64,
    pub received: u64,
    /// From the start (the kill, if any) to the first and the last probe's notification, ms.
    pub first_ms: f64,
    pub last_ms: f64,
    /// Each probe's first post to its notification.
    pub latency: Percentiles,
}

pub async fn run(plan: Plan) -> Result<Report> {
    let sink = Arc::new(Sink::default());
    let listener = sink::bind(plan.sink_listen).await?;
    let server = tokio::spawn(sink::serve(listener, sink.clone()));
    let mut conns = Vec::new();
    for target in &plan.replicas {
        conns.push(Conn::connect(target).await?);
    }
    if let Some(pid) = plan.kill {
        let status = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .context("running kill")?;
        if !status.success() {
            bail!("kill -KILL {pid} failed");
        }
    }
    let started = Instant::now();
    let probes = plan.first..plan.first.saturating_add(plan.probes);
    let mut posted = Vec::new();
    for n in probes.clone() {
        posted.push((n, Instant::now()));
        // As Prometheus: a probe one replica refuses still counts if another took it.
        let mut refused = Vec::new();
        for conn in &mut conns {
            let status = conn.post_json(ALERTS_PATH, alerts::probe_body(n)).await?;
            if !status.is_success() {
                refused.push(status);
            }
        }
        if refused.len() == conns.len() {
            bail!("probe {n} refused by every replica: {refused:?}");
        }
        if !plan.interval.is_zero() {
            tokio::time::sleep(plan.interval).await;
        }
    }
    let deadline = Instant::now() + plan.timeout;
    while (sink.probes_seen() as u64) < plan.probes && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.abort();
    let mut latency = stats::histogram();
    let mut arrivals = Vec::new();
    for (n, at) in posted {
        if let Some(arrived) = sink.arrival(n) {
            stats::record(&mut latency, arrived.saturating_duration_since(at));
            arrivals.push(arrived);
        }
    }
    let ms = |at: Option<&Instant>| {
        at.map_or(f64::NAN, |at| {
            at.saturating_duration_since(started).as_secs_f64() * 1e3
        })
    };
    let report = Report {
        probes: plan.probes,
        received: arrivals.len() as u64,
        first_ms: ms(arrivals.iter().min()),
        last_ms: ms(arrivals.iter().max()),
        latency: Percentiles::of(&latency),
    };
    if report.received < report.probes {
        eprintln!(
            "probe: {} of {} probes told within {:?} of the last post",
            report.received, report.probes, plan.timeout
        );
    }
    Ok(report)
}
