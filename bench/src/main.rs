//! `loadgen`: the load generator, webhook sink and report of `scripts/bench.sh`, which compares
//! campanile with Alertmanager on the same machine.
//!
//! Each measurement prints one JSON line on stdout (progress goes to stderr); `report` turns the
//! collected lines of both servers into one markdown table.

mod alerts;
mod client;
mod labels;
mod latency;
mod memory;
mod pool;
mod probe;
mod procfs;
mod read;
mod report;
mod resend;
mod silences;
mod sink;
mod startup;
mod stats;
mod storm;
mod throughput;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::client::Target;

#[derive(Parser)]
#[command(
    version,
    about = "Load generator for the campanile vs Alertmanager benchmark"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

pub(crate) fn duration(text: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(text)
}

#[derive(Subcommand)]
enum Cmd {
    /// Ingest throughput and POST latency on /api/v2/alerts, re-sends as Prometheus sends them.
    ///
    /// Each connection posts batches of --batch alerts drawn in turn from --label-sets distinct
    /// label sets, so after the first round nearly every post re-sends alerts the server already
    /// holds. startsAt stays the start of the run. By default (--resend=prometheus) every send
    /// is stamped endsAt = send time + 4 min, as Prometheus stamps each re-send (4 × its 1 min
    /// resend_delay), so every re-send moves the end of an alert the server holds; stamping
    /// patches pre-serialised bytes, a few µs per post, included in loadgen_cpu_s.
    /// Variants: --resend=no-ends (no endsAt: the server sets it), --resend=rerender (all bodies
    /// re-rendered once a second: re-sends within a second are identical, the old default),
    /// --resend=static (identical bodies, endsAt = run start + 5 min, the old --static-ends).
    /// Flat out by default; --resend-period P sends each batch once per P at its own phase.
    Throughput(throughput::Plan),
    /// Notification latency of fresh probe alerts under an open-loop background load.
    ///
    /// The background re-sends --label-sets label sets at --rate alerts/s: each batch at its own
    /// phase of the period that takes (10 s for 10,000 label sets at 1,000/s), with the endsAt
    /// of --resend as `throughput` (default prometheus: fresh at every send).
    Latency(latency::Plan),
    /// An alert storm: one connection, sequential batches of --batch (64) new alerts.
    ///
    /// As a Prometheus sends an outage's alerts to one Alertmanager: each post waits for its
    /// answer, and no label set was ever sent before. Reports alerts/s and per-POST latency.
    Storm(storm::Plan),
    /// Per-request latency of GET /api/v2/alerts over --alerts alerts: the whole list, one
    /// alertname and a regex filter, with no silence and then with --silences silences.
    Read(read::Plan),
    /// Resident memory per active alert: RSS of PID before and after N distinct alerts.
    Memory(memory::Plan),
    /// Alert listing over N alerts with no silence, then with S silences of realistic shapes.
    Silences(silences::Plan),
    /// Start-up time: runs COMMAND repeatedly, timing spawn → 200 from the readiness URL.
    Startup(startup::Plan),
    /// Probes of a cluster, each posted to every replica given (as Prometheus posts): with
    /// --kill, a failover trial (the time from the kill to the last probe's notification waits
    /// for the dead replica's shards to be taken over); with --interval, per-probe latency.
    Probe(probe::Plan),
    /// Waits until URL answers 200 (exit status 1 after the timeout).
    WaitReady {
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "/-/ready")]
        ready_path: String,
        #[arg(long, default_value = "60s", value_parser = duration)]
        timeout: Duration,
    },
    /// A webhook sink answering 200 to every request, until killed.
    Sink {
        #[arg(long, default_value = "127.0.0.1:19999")]
        listen: SocketAddr,
    },
    /// Prints the markdown table of the `<server>-<measurement>.json` files in DIR.
    Report { dir: PathBuf },
}

fn print_line<T: Serialize>(report: &T) -> Result<()> {
    println!("{}", serde_json::to_string(report)?);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Throughput(plan) => print_line(&throughput::run(plan).await?),
        Cmd::Latency(plan) => print_line(&latency::run(plan).await?),
        Cmd::Storm(plan) => print_line(&storm::run(plan).await?),
        Cmd::Read(plan) => print_line(&read::run(plan).await?),
        Cmd::Memory(plan) => print_line(&memory::run(plan).await?),
        Cmd::Silences(plan) => print_line(&silences::run(plan).await?),
        Cmd::Startup(plan) => print_line(&startup::run(plan).await?),
        Cmd::Probe(plan) => print_line(&probe::run(plan).await?),
        Cmd::WaitReady {
            url,
            ready_path,
            timeout,
        } => {
            startup::wait_ready(
                &Target::parse(&url)?,
                &ready_path,
                Duration::from_millis(20),
                timeout,
            )
            .await
        }
        Cmd::Sink { listen } => {
            let listener = sink::bind(listen).await?;
            eprintln!("sink: listening on {listen}");
            sink::serve(listener, Arc::new(sink::Sink::default())).await
        }
        Cmd::Report { dir } => {
            print!("{}", report::table(&dir)?);
            Ok(())
        }
    }
}
