//! Closed-loop ingest throughput: N keep-alive connections each POST one batch after another.
//!
//! The batches cycle through an [`alerts::Pool`], so after the first round every post re-sends
//! label sets the server holds, with the run's `startsAt` and an `endsAt` moving forward once a
//! second (fixed with `static_ends`); see [`crate::alerts`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::alerts;
use crate::client::{Conn, Target};
use crate::procfs;
use crate::stats::{self, Outcomes, Percentiles};

pub const ALERTS_PATH: &str = "/api/v2/alerts";

/// What to run (the `throughput` subcommand's options).
#[derive(clap::Args)]
pub struct Plan {
    /// Base URL of the server, e.g. http://127.0.0.1:9797.
    #[arg(long = "url", value_name = "URL", value_parser = Target::parse)]
    pub target: Target,
    /// Concurrent keep-alive connections, each posting one batch after another.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    #[arg(long, default_value = "3s", value_parser = crate::duration)]
    pub warmup: Duration,
    #[arg(long, default_value = "10s", value_parser = crate::duration)]
    pub duration: Duration,
    /// Distinct label sets the batches are drawn from (most posts are re-sends).
    #[arg(long, default_value_t = 10_000)]
    pub label_sets: usize,
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    /// The server's process id, to report the CPU time it used in the window.
    #[arg(long = "pid", value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Re-send identical bodies (endsAt fixed at run start + 5 min) instead of moving endsAt.
    #[arg(long)]
    pub static_ends: bool,
}

/// The result line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub connections: usize,
    pub measured_s: f64,
    /// Alerts in 2xx-answered posts per second: the throughput.
    pub alerts_per_s: f64,
    pub posts_per_s: f64,
    /// POST latency (all answers in the window, whatever their status).
    pub latency: Percentiles,
    pub outcomes: Outcomes,
    /// CPU seconds the server used in the window (with `server_pid`).
    pub server_cpu_s: Option<f64>,
    /// CPU seconds the load generator used in the window (it shares the machine).
    pub loadgen_cpu_s: f64,
    /// Whether re-sends kept a fixed `endsAt` (absent in results from before the flag: true).
    #[serde(default = "yes")]
    pub static_ends: bool,
}

fn yes() -> bool {
    true
}

/// Requests from one worker that ended inside the measurement window.
struct Tally {
    latency: Histogram<u64>,
    outcomes: Outcomes,
    alerts: u64,
}

pub async fn run(plan: Plan) -> Result<Report> {
    let pool = Arc::new(alerts::Pool::for_resends(
        plan.label_sets,
        plan.batch,
        plan.static_ends,
    ));
    let _refresher = (!plan.static_ends).then(|| alerts::Refresher::start(pool.clone()));
    // Spread the workers' first bodies over the whole set; after that they take turns.
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let end = measure_from + plan.duration;
    eprintln!(
        "throughput: {} connections, warm-up {:?}, measuring {:?}, {} bodies of {} alerts, {} endsAt",
        plan.connections,
        plan.warmup,
        plan.duration,
        pool.len(),
        plan.batch,
        if plan.static_ends { "static" } else { "moving" }
    );
    let workers: Vec<_> = (0..plan.connections)
        .map(|_| {
            let (target, pool, next) = (plan.target.clone(), pool.clone(), next.clone());
            tokio::spawn(worker(target, pool, next, measure_from, end))
        })
        .collect();
    // CPU time used in the window, by the server and by this generator.
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu = |pid: Option<u32>| pid.map(procfs::cpu_seconds).transpose();
    let (server_from, own_from) = (cpu(plan.server_pid)?, procfs::own_cpu_seconds()?);
    tokio::time::sleep_until(end.into()).await;
    let (server_to, own_to) = (cpu(plan.server_pid)?, procfs::own_cpu_seconds()?);

    let mut latency = stats::histogram();
    let mut outcomes = Outcomes::default();
    let mut accepted_alerts = 0;
    for w in workers {
        let t = w.await?;
        latency.add(&t.latency)?;
        outcomes.merge(&t.outcomes);
        accepted_alerts += t.alerts;
    }
    let secs = plan.duration.as_secs_f64();
    Ok(Report {
        connections: plan.connections,
        measured_s: secs,
        alerts_per_s: accepted_alerts as f64 / secs,
        posts_per_s: latency.len() as f64 / secs,
        latency: Percentiles::of(&latency),
        outcomes,
        server_cpu_s: server_to.zip(server_from).map(|(to, from)| to - from),
        loadgen_cpu_s: own_to - own_from,
        static_ends: plan.static_ends,
    })
}

async fn worker(
    target: Target,
    pool: Arc<alerts::Pool>,
    next: Arc<AtomicUsize>,
    measure_from: Instant,
    end: Instant,
) -> Tally {
    let mut tally = Tally {
        latency: stats::histogram(),
        outcomes: Outcomes::default(),
        alerts: 0,
    };
    let in_window = |t: Instant| t >= measure_from && t < end;
    let mut conn: Option<Conn> = None;
    while Instant::now() < end {
        let c = match &mut conn {
            Some(c) => c,
            None => match Conn::connect(&target).await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    if in_window(Instant::now()) {
                        tally.outcomes.errors += 1;
                    }
                    eprintln!("throughput: {e:#}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (body, n) = pool.get(next.fetch_add(1, Ordering::Relaxed));
        let sent = Instant::now();
        let result = c.post_json(ALERTS_PATH, body).await;
        let done = Instant::now();
        let counted = in_window(done);
        match result {
            Ok(status) => {
                if counted {
                    stats::record(&mut tally.latency, done - sent);
                    tally.outcomes.status(status);
                    if status.is_success() {
                        tally.alerts += n;
                    }
                }
            }
            Err(e) => {
                conn = None;
                if counted {
                    tally.outcomes.errors += 1;
                }
                eprintln!("throughput: {e:#}");
            }
        }
    }
    tally
}
