//! `loadgen`: the load generator, webhook sink and report of `scripts/bench.sh`, which compares
//! campanile with Alertmanager on the same machine.
//!
//! Each measurement prints one JSON line on stdout (progress goes to stderr); `report` turns the
//! collected lines of both servers into one markdown table.

mod alerts;
mod client;
mod latency;
mod memory;
mod procfs;
mod report;
mod sink;
mod startup;
mod stats;
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

fn duration(text: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(text)
}

#[derive(Subcommand)]
enum Cmd {
    /// Closed-loop ingest throughput and POST latency on /api/v2/alerts.
    ///
    /// Each connection posts batches of --batch alerts drawn in turn from --label-sets distinct
    /// label sets, so after the first round nearly every post re-sends alerts the server already
    /// holds. Re-sends look like Prometheus': startsAt stays the start of the run and endsAt
    /// moves forward, set to now + 4 min once a second (bodies are re-rendered in the background
    /// by patching pre-serialised bytes, a few ms of CPU per second, included in loadgen_cpu_s).
    /// With --static-ends every re-send carries the same bytes, endsAt = run start + 5 min.
    Throughput {
        /// Base URL of the server, e.g. http://127.0.0.1:9797.
        #[arg(long)]
        url: String,
        /// Concurrent keep-alive connections, each posting one batch after another.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value = "3s", value_parser = duration)]
        warmup: Duration,
        #[arg(long, default_value = "10s", value_parser = duration)]
        duration: Duration,
        /// Distinct label sets the batches are drawn from (most posts are re-sends).
        #[arg(long, default_value_t = 10_000)]
        label_sets: usize,
        #[arg(long, default_value_t = 10)]
        batch: usize,
        /// The server's process id, to report the CPU time it used in the window.
        #[arg(long)]
        pid: Option<u32>,
        /// Re-send identical bodies (endsAt fixed at run start + 5 min) instead of moving endsAt.
        #[arg(long)]
        static_ends: bool,
    },
    /// Notification latency of fresh probe alerts under an open-loop background load.
    ///
    /// The background re-sends --label-sets label sets as `throughput` does: startsAt fixed at
    /// the start of the run, endsAt = now + 4 min re-rendered once a second (--static-ends:
    /// identical bodies, endsAt = run start + 5 min).
    Latency {
        #[arg(long)]
        url: String,
        /// Where the embedded webhook sink listens (the server's receivers point here).
        #[arg(long, default_value = "127.0.0.1:19999")]
        sink_listen: SocketAddr,
        /// Background alerts per second.
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        #[arg(long, default_value_t = 10)]
        batch: usize,
        #[arg(long, default_value_t = 10_000)]
        label_sets: usize,
        #[arg(long, default_value_t = 200)]
        probes: u64,
        #[arg(long, default_value = "50ms", value_parser = duration)]
        probe_interval: Duration,
        /// Background load before the first probe.
        #[arg(long, default_value = "3s", value_parser = duration)]
        warmup: Duration,
        /// How long to wait for the last probes to arrive.
        #[arg(long, default_value = "30s", value_parser = duration)]
        timeout: Duration,
        /// Background re-sends identical bodies (endsAt fixed) instead of moving endsAt.
        #[arg(long)]
        static_ends: bool,
    },
    /// Resident memory per active alert: RSS of PID before and after N distinct alerts.
    Memory {
        #[arg(long)]
        url: String,
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value_t = 100_000)]
        alerts: usize,
        #[arg(long, default_value_t = 100)]
        batch: usize,
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[arg(long, default_value = "3s", value_parser = duration)]
        idle: Duration,
        #[arg(long, default_value = "5s", value_parser = duration)]
        settle: Duration,
    },
    /// Start-up time: runs COMMAND repeatedly, timing spawn → 200 from the readiness URL.
    Startup {
        /// Base URL the started server listens on.
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "/-/ready")]
        ready_path: String,
        /// Untimed starts first (fill caches).
        #[arg(long, default_value_t = 1)]
        warm_runs: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long, default_value = "5ms", value_parser = duration)]
        poll: Duration,
        #[arg(long, default_value = "60s", value_parser = duration)]
        timeout: Duration,
        /// Append the server's output to this file (default: discard it).
        #[arg(long)]
        log: Option<PathBuf>,
        /// The server's command line.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
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
        Cmd::Throughput {
            url,
            connections,
            warmup,
            duration,
            label_sets,
            batch,
            pid,
            static_ends,
        } => print_line(
            &throughput::run(throughput::Plan {
                target: Target::parse(&url)?,
                connections,
                warmup,
                duration,
                label_sets,
                batch,
                server_pid: pid,
                static_ends,
            })
            .await?,
        ),
        Cmd::Latency {
            url,
            sink_listen,
            rate,
            batch,
            label_sets,
            probes,
            probe_interval,
            warmup,
            timeout,
            static_ends,
        } => print_line(
            &latency::run(latency::Plan {
                target: Target::parse(&url)?,
                sink_listen,
                rate,
                batch,
                label_sets,
                probes,
                probe_interval,
                warmup,
                timeout,
                static_ends,
            })
            .await?,
        ),
        Cmd::Memory {
            url,
            pid,
            alerts,
            batch,
            connections,
            idle,
            settle,
        } => print_line(
            &memory::run(memory::Plan {
                target: Target::parse(&url)?,
                pid,
                alerts,
                batch,
                connections,
                idle,
                settle,
            })
            .await?,
        ),
        Cmd::Startup {
            url,
            ready_path,
            warm_runs,
            runs,
            poll,
            timeout,
            log,
            command,
        } => print_line(
            &startup::run(startup::Plan {
                target: Target::parse(&url)?,
                ready_path,
                warm_runs,
                runs,
                poll,
                timeout,
                log,
                command,
            })
            .await?,
        ),
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
