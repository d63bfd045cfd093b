//! Notification latency: time from POSTing a fresh alert until the webhook sink receives it,
//! under an open-loop background load.
//!
//! The background load re-sends the label sets of a [`Pool`] as Prometheus does: each batch at
//! its own phase of the period in which `rate` alerts per second take every label set once
//! (10 s for 10,000 label sets at 1,000 alerts/s), each re-send with the `endsAt` of its
//! [`Resend`] pattern (by default a fresh one).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::Full;
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tokio::time::MissedTickBehavior;

use crate::alerts;
use crate::client::{self, Target};
use crate::pool::Pool;
use crate::resend::{Resend, Schedule};
use crate::sink::{self, Sink};
use crate::stats::{self, Outcomes, Percentiles};
use crate::throughput::ALERTS_PATH;

/// What to run (the `latency` subcommand's options).
#[derive(clap::Args)]
pub struct Plan {
    /// Base URL of the server.
    #[arg(long = "url", value_name = "URL", value_parser = Target::parse)]
    pub target: Target,
    /// Where the embedded webhook sink listens (the server's receivers point here).
    #[arg(long, default_value = "127.0.0.1:19999")]
    pub sink_listen: SocketAddr,
    /// Background alerts per second (open loop).
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    #[arg(long, default_value_t = 10_000)]
    pub label_sets: usize,
    #[arg(long, default_value_t = 200)]
    pub probes: u64,
    #[arg(long, default_value = "50ms", value_parser = crate::duration)]
    pub probe_interval: Duration,
    /// Background load before the first probe.
    #[arg(long, default_value = "3s", value_parser = crate::duration)]
    pub warmup: Duration,
    /// How long to wait for the last probes after the last was sent.
    #[arg(long, default_value = "30s", value_parser = crate::duration)]
    pub timeout: Duration,
    /// What endsAt each background re-send carries, as in `throughput` (see below).
    #[arg(long, value_enum, default_value_t = Resend::Prometheus)]
    pub resend: Resend,
}

/// The result line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub probes_sent: u64,
    pub probes_received: u64,
    /// Probe POST to first webhook arrival, over the probes received.
    pub latency: Percentiles,
    pub probe_posts: Outcomes,
    /// Background alerts per second achieved (2xx-answered), against the asked `rate`.
    pub background_alerts_per_s: f64,
    pub background_posts: Outcomes,
    pub background_post_latency: Percentiles,
    /// Webhook requests the sink received in all.
    pub notifications: u64,
    /// The background's re-send pattern (absent in results from before `--resend`).
    #[serde(default)]
    pub resend: Option<Resend>,
}

type PooledClient = Client<HttpConnector, Full<Bytes>>;

/// Background posts' outcomes and latencies, shared by their tasks.
#[derive(Default)]
struct Shared {
    outcomes: Mutex<Outcomes>,
    latency: Mutex<Option<Histogram<u64>>>,
}

impl Shared {
    fn note(&self, result: Result<hyper::StatusCode>, took: Duration) {
        let mut o = self.outcomes.lock().expect("lock");
        match result {
            Ok(s) => o.status(s),
            Err(_) => o.errors += 1,
        }
        let mut h = self.latency.lock().expect("lock");
        stats::record(h.get_or_insert_with(stats::histogram), took);
    }
}

pub async fn run(plan: Plan) -> Result<Report> {
    let sink = Arc::new(Sink::default());
    let listener = sink::bind(plan.sink_listen).await?;
    let sink_task = tokio::spawn(sink::serve(listener, sink.clone()));

    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: PooledClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1024)
        .build(connector);
    let uri = plan.target.uri(ALERTS_PATH)?;

    // Background: each batch at its due time, whatever the answers take (open loop).
    let pool = Arc::new(Pool::starting_now(plan.label_sets, plan.batch, plan.resend));
    let refresher = pool.keep_current();
    let stop = Arc::new(AtomicBool::new(false));
    let background = Arc::new(Shared::default());
    let schedule = Schedule::new(
        pool.len(),
        Some(Schedule::period_at_rate(plan.label_sets, plan.rate)),
    );
    let bg_started = Instant::now();
    let bg_task = {
        let (client, uri, stop, shared) = (
            client.clone(),
            uri.clone(),
            stop.clone(),
            background.clone(),
        );
        tokio::spawn(async move {
            let mut inflight = Vec::new();
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                // Late sends go at once (a burst), as a ticker's missed ticks would.
                let due = schedule.due(n).unwrap_or_default();
                tokio::time::sleep_until((bg_started + due).into()).await;
                let (body, _) = pool.get(schedule.batch(n));
                let (client, uri, shared) = (client.clone(), uri.clone(), shared.clone());
                inflight.push(tokio::spawn(async move {
                    let sent = Instant::now();
                    let result = post(&client, &uri, body).await;
                    shared.note(result, sent.elapsed());
                }));
                if inflight.len() >= 1024 {
                    inflight.retain(|t: &tokio::task::JoinHandle<()>| !t.is_finished());
                }
            }
            for t in inflight {
                let _ = t.await;
            }
        })
    };
    eprintln!(
        "latency: background {} alerts/s in batches of {} (resend {}, each alert every {:?}); {} probes every {:?} after {:?}",
        plan.rate,
        plan.batch,
        plan.resend.name(),
        schedule.period().unwrap_or_default(),
        plan.probes,
        plan.probe_interval,
        plan.warmup
    );
    tokio::time::sleep(plan.warmup).await;

    // Probes: each a new alert in a group of its own.
    let sent_at: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let probe_posts: Arc<Mutex<Outcomes>> = Arc::default();
    let mut tick = tokio::time::interval(plan.probe_interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut probe_tasks = Vec::new();
    for n in 0..plan.probes {
        tick.tick().await;
        let (client, uri, sent_at, outcomes) = (
            client.clone(),
            uri.clone(),
            sent_at.clone(),
            probe_posts.clone(),
        );
        probe_tasks.push(tokio::spawn(async move {
            let body = alerts::probe_body(n);
            sent_at.lock().expect("lock").insert(n, Instant::now());
            let result = post(&client, &uri, body).await;
            let mut o = outcomes.lock().expect("lock");
            match result {
                Ok(s) => o.status(s),
                Err(e) => {
                    eprintln!("latency: probe {n}: {e:#}");
                    o.errors += 1
                }
            }
        }));
    }
    for t in probe_tasks {
        t.await?;
    }
    let deadline = Instant::now() + plan.timeout;
    while sink.probes_seen() < plan.probes as usize && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    bg_task.await?;
    drop(refresher);
    let bg_secs = bg_started.elapsed().as_secs_f64();
    sink_task.abort();

    let mut latency = stats::histogram();
    let sent_at = sent_at.lock().expect("lock");
    for (n, sent) in sent_at.iter() {
        if let Some(arrived) = sink.arrival(*n) {
            stats::record(&mut latency, arrived.saturating_duration_since(*sent));
        }
    }
    let background_posts = background.outcomes.lock().expect("lock").clone();
    let bg_latency = background
        .latency
        .lock()
        .expect("lock")
        .take()
        .unwrap_or_else(stats::histogram);
    let probe_posts = probe_posts.lock().expect("lock").clone();
    Ok(Report {
        probes_sent: plan.probes,
        probes_received: latency.len(),
        latency: Percentiles::of(&latency),
        probe_posts,
        background_alerts_per_s: (background_posts.ok * plan.batch as u64) as f64 / bg_secs,
        background_posts,
        background_post_latency: Percentiles::of(&bg_latency),
        notifications: sink.notifications.load(Ordering::Relaxed),
        resend: Some(plan.resend),
    })
}

async fn post(client: &PooledClient, uri: &Uri, body: Bytes) -> Result<hyper::StatusCode> {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri.clone())
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(body))?;
    let resp = client.request(req).await.context("request failed")?;
    client::read_status(resp).await
}
