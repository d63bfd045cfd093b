//! Memory per active alert: a server's resident set before and after it holds N new alerts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::alerts;
use crate::client::{Conn, Target};
use crate::procfs::rss;
use crate::stats::Outcomes;
use crate::throughput::ALERTS_PATH;

/// What to run (the `memory` subcommand's options).
#[derive(clap::Args)]
pub struct Plan {
    /// Base URL of the server.
    #[arg(long = "url", value_name = "URL", value_parser = Target::parse)]
    pub target: Target,
    /// The server's process id, whose RSS is read.
    #[arg(long)]
    pub pid: u32,
    #[arg(long, default_value_t = 100_000)]
    pub alerts: usize,
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Wait before the first reading (the server idles).
    #[arg(long, default_value = "3s", value_parser = crate::duration)]
    pub idle: Duration,
    /// Wait after the last post before the second reading.
    #[arg(long, default_value = "5s", value_parser = crate::duration)]
    pub settle: Duration,
}

/// The result line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub alerts: usize,
    pub accepted_alerts: u64,
    pub rss_idle_bytes: u64,
    pub rss_loaded_bytes: u64,
    /// (loaded - idle) / accepted alerts.
    pub bytes_per_alert: f64,
    /// How fast the new alerts were taken in (all distinct, so no dedup).
    pub load_alerts_per_s: f64,
    pub posts: Outcomes,
}

pub async fn run(plan: Plan) -> Result<Report> {
    // Serialised before the idle reading, so the generator's own work is out of the way.
    let bodies = Arc::new(alerts::bodies(
        plan.alerts,
        plan.batch,
        Duration::from_secs(3600),
    ));
    tokio::time::sleep(plan.idle).await;
    let idle = rss(plan.pid)?;
    eprintln!(
        "memory: idle RSS {} KiB; posting {} alerts in batches of {}",
        idle / 1024,
        plan.alerts,
        plan.batch
    );
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..plan.connections)
        .map(|_| {
            let (target, bodies, next) = (plan.target.clone(), bodies.clone(), next.clone());
            tokio::spawn(async move {
                let mut outcomes = Outcomes::default();
                let mut accepted = 0u64;
                let mut conn = Conn::connect(&target).await?;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let status = conn.post_json(ALERTS_PATH, body.clone()).await?;
                    outcomes.status(status);
                    if status.is_success() {
                        accepted += alerts_in(plan.alerts, plan.batch, i);
                    }
                }
                anyhow::Ok((outcomes, accepted))
            })
        })
        .collect();
    let mut posts = Outcomes::default();
    let mut accepted = 0;
    for w in workers {
        let (o, a) = w.await??;
        posts.merge(&o);
        accepted += a;
    }
    let load_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(plan.settle).await;
    let loaded = rss(plan.pid)?;
    Ok(Report {
        alerts: plan.alerts,
        accepted_alerts: accepted,
        rss_idle_bytes: idle,
        rss_loaded_bytes: loaded,
        bytes_per_alert: (loaded as f64 - idle as f64) / accepted.max(1) as f64,
        load_alerts_per_s: accepted as f64 / load_secs,
        posts,
    })
}

/// Alerts in body `i` of `total` alerts cut into batches of `batch`.
fn alerts_in(total: usize, batch: usize, i: usize) -> u64 {
    (total - i * batch).min(batch) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_batch_may_be_short() {
        assert_eq!(alerts_in(105, 10, 0), 10);
        assert_eq!(alerts_in(105, 10, 10), 5);
    }
}
