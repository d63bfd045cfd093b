//! Ingest throughput: N keep-alive connections each POST one batch after another.
//!
//! The batches cycle through a [`Pool`] in the order of a [`Schedule`], so after the first round
//! every post re-sends label sets the server holds, each with the `endsAt` its [`Resend`] pattern
//! gives (by default a fresh one at every send, as Prometheus's). Flat out by default (closed
//! loop: each alert comes back as soon as the server has taken the other label sets); with
//! `--resend-period` each batch is sent at its own phase of that period (open loop, as many
//! connections as posts in flight).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::client::{Conn, Target};
use crate::pool::Pool;
use crate::procfs;
use crate::resend::{Resend, Schedule};
use crate::stats::{self, Outcomes, Percentiles};

pub const ALERTS_PATH: &str = "/api/v2/alerts";

/// What to run (the `throughput` subcommand's options).
#[derive(clap::Args)]
pub struct Plan {
    /// Base URL of the server, e.g. http://127.0.0.1:9797.
    #[arg(long = "url", value_name = "URL", value_parser = Target::parse)]
    pub target: Target,
    /// Concurrent keep-alive connections, each posting one batch after another (at most this
    /// many posts in flight).
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
    /// What endsAt each re-send carries (prometheus: a fresh one at every send; see below).
    #[arg(long, value_enum, default_value_t = Resend::Prometheus)]
    pub resend: Resend,
    /// Send each batch once per PERIOD at its own phase (rate = label sets / PERIOD) instead of
    /// flat out. Unset: flat out, and the period is as short as the server allows.
    #[arg(long, value_name = "PERIOD", value_parser = crate::duration)]
    pub resend_period: Option<Duration>,
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
    /// The re-send pattern (absent in results from before `--resend`).
    #[serde(default)]
    pub resend: Option<Resend>,
    #[serde(default)]
    pub label_sets: Option<usize>,
    #[serde(default)]
    pub batch: Option<usize>,
    /// How often each alert came back: the asked `--resend-period`, or when flat out label sets
    /// / alerts per second.
    #[serde(default)]
    pub resend_period_s: Option<f64>,
    /// With `--resend-period`: how late sends left against their due time.
    #[serde(default)]
    pub behind_schedule: Option<Percentiles>,
}

/// Requests from one worker that ended inside the measurement window.
struct Tally {
    latency: Histogram<u64>,
    /// How late paced sends left.
    behind: Histogram<u64>,
    outcomes: Outcomes,
    alerts: u64,
}

/// What every worker shares: the bodies, their order and the window.
struct Load {
    target: Target,
    pool: Arc<Pool>,
    schedule: Schedule,
    /// The number of the next send; the workers take turns.
    next: AtomicU64,
    start: Instant,
    measure_from: Instant,
    end: Instant,
}

impl Load {
    fn in_window(&self, t: Instant) -> bool {
        t >= self.measure_from && t < self.end
    }
}

pub async fn run(plan: Plan) -> Result<Report> {
    let pool = Arc::new(Pool::starting_now(plan.label_sets, plan.batch, plan.resend));
    let _refresher = pool.keep_current();
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let end = measure_from + plan.duration;
    let load = Arc::new(Load {
        target: plan.target.clone(),
        schedule: Schedule::new(pool.len(), plan.resend_period),
        pool,
        next: AtomicU64::new(0),
        start,
        measure_from,
        end,
    });
    eprintln!(
        "throughput: {} connections, warm-up {:?}, measuring {:?}, {} bodies of {} alerts, resend {}, {}",
        plan.connections,
        plan.warmup,
        plan.duration,
        load.pool.len(),
        plan.batch,
        plan.resend.name(),
        plan.resend_period
            .map_or("flat out".to_owned(), |p| format!("each batch every {p:?}"))
    );
    let workers: Vec<_> = (0..plan.connections)
        .map(|_| tokio::spawn(worker(load.clone())))
        .collect();
    // CPU time used in the window, by the server and by this generator.
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu = |pid: Option<u32>| pid.map(procfs::cpu_seconds).transpose();
    let (server_from, own_from) = (cpu(plan.server_pid)?, procfs::own_cpu_seconds()?);
    tokio::time::sleep_until(end.into()).await;
    let (server_to, own_to) = (cpu(plan.server_pid)?, procfs::own_cpu_seconds()?);

    let mut latency = stats::histogram();
    let mut behind = stats::histogram();
    let mut outcomes = Outcomes::default();
    let mut accepted_alerts = 0;
    for w in workers {
        let t = w.await?;
        latency.add(&t.latency)?;
        behind.add(&t.behind)?;
        outcomes.merge(&t.outcomes);
        accepted_alerts += t.alerts;
    }
    let secs = plan.duration.as_secs_f64();
    let alerts_per_s = accepted_alerts as f64 / secs;
    Ok(Report {
        connections: plan.connections,
        measured_s: secs,
        alerts_per_s,
        posts_per_s: latency.len() as f64 / secs,
        latency: Percentiles::of(&latency),
        outcomes,
        server_cpu_s: server_to.zip(server_from).map(|(to, from)| to - from),
        loadgen_cpu_s: own_to - own_from,
        resend: Some(plan.resend),
        label_sets: Some(plan.label_sets),
        batch: Some(plan.batch),
        resend_period_s: match plan.resend_period {
            Some(p) => Some(p.as_secs_f64()),
            None => (alerts_per_s > 0.0).then(|| plan.label_sets as f64 / alerts_per_s),
        },
        behind_schedule: plan.resend_period.map(|_| Percentiles::of(&behind)),
    })
}

async fn worker(load: Arc<Load>) -> Tally {
    let mut tally = Tally {
        latency: stats::histogram(),
        behind: stats::histogram(),
        outcomes: Outcomes::default(),
        alerts: 0,
    };
    let mut conn: Option<Conn> = None;
    while Instant::now() < load.end {
        let c = match &mut conn {
            Some(c) => c,
            None => match Conn::connect(&load.target).await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    if load.in_window(Instant::now()) {
                        tally.outcomes.errors += 1;
                    }
                    eprintln!("throughput: {e:#}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let n = load.next.fetch_add(1, Ordering::Relaxed);
        if let Some(due) = load.schedule.due(n) {
            let due = load.start + due;
            if due >= load.end {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
            if load.in_window(due) {
                stats::record(&mut tally.behind, due.elapsed());
            }
        }
        let (body, alerts) = load.pool.get(load.schedule.batch(n));
        let sent = Instant::now();
        let result = c.post_json(ALERTS_PATH, body).await;
        let done = Instant::now();
        let counted = load.in_window(done);
        match result {
            Ok(status) => {
                if counted {
                    stats::record(&mut tally.latency, done - sent);
                    tally.outcomes.status(status);
                    if status.is_success() {
                        tally.alerts += alerts;
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
