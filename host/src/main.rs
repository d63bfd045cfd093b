//! The `campanile` binary: flags, logging, and hand-off to `app`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use campanile::config::Config;
use campanile::plugin::{PluginRuntime, PluginState};
use campanile::telemetry::{init_logging, probe_ready, LogFormat, DEFAULT_READY_URL};

/// Shown after `--help`: what the exit status means, and where to start.
const AFTER_HELP: &str = "\
Exit status:
  0  serve: stopped by SIGTERM/SIGINT; check-config: valid; healthcheck: ready
  1  serve: could not start (store unreadable, address in use, ...); healthcheck: not ready
  2  invalid configuration, or invalid command line

Examples:
  campanile serve --config /etc/campanile/campanile.toml
  campanile check-config campanile.toml
  RUST_LOG=info,campanile::notify=debug campanile --log-format json serve

Logs go to stderr; RUST_LOG sets levels (default info). Metrics: GET /metrics.";

#[derive(Parser)]
#[command(
    name = "campanile",
    version,
    about = "Alert routing and deduplication with WebAssembly routing plugins",
    long_about = "Alert routing and deduplication with WebAssembly routing plugins.\n\n\
        campanile receives alerts from Prometheus (Alertmanager API v2) or Alertmanager \
        (webhook), deduplicates and groups them like Alertmanager, and lets a sandboxed \
        routing plugin decide who is notified.",
    after_help = AFTER_HELP
)]
struct Cli {
    /// Log format: human-readable text, or one JSON object per line.
    #[arg(long, global = true, env = "CAMPANILE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Receive, deduplicate, group and route alerts.
    Serve {
        /// Configuration file (TOML). Without it, the built-in default is used.
        #[arg(long, short, env = "CAMPANILE_CONFIG")]
        config: Option<PathBuf>,
        /// Listen address, overriding `server.listen`.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Validate a configuration file and compile its plugins, without starting.
    ///
    /// Prints every problem as `FILE: KEY: message` and exits 2 if there is any.
    CheckConfig {
        /// Configuration file (TOML).
        file: PathBuf,
    },
    /// Exit 0 if a running campanile is ready, 1 if not (for container HEALTHCHECKs).
    Healthcheck {
        /// The readiness endpoint to ask (plain http only).
        #[arg(long, env = "CAMPANILE_HEALTHCHECK_URL", default_value = DEFAULT_READY_URL)]
        url: String,
        /// How long to wait for an answer, e.g. `5s`.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Healthcheck { url, timeout } => match probe_ready(&url, timeout) {
            Ok(()) => {
                println!("{url}: ready");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("campanile healthcheck: {e}");
                ExitCode::FAILURE
            }
        },
        Command::CheckConfig { file } => match Config::load(&file) {
            Ok(c) => {
                if let Err(e) =
                    PluginRuntime::load(&c.plugins, Arc::new(PluginState::in_memory()), None)
                {
                    eprintln!("{}: {e}", file.display());
                    return ExitCode::from(2);
                }
                println!(
                    "{}: OK ({} receivers, {} plugins compiled, {} routes)",
                    file.display(),
                    c.receivers.len(),
                    c.plugins.len(),
                    count_routes(&c.route)
                );
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::from(2)
            }
        },
        Command::Serve { config, listen } => {
            init_logging(cli.log_format);
            let loaded = match &config {
                Some(path) => Config::load(path),
                None => Config::builtin(),
            };
            let mut config = match loaded {
                Ok(c) => c,
                Err(errors) => {
                    eprintln!("{errors}");
                    return ExitCode::from(2);
                }
            };
            if let Some(addr) = listen {
                config.server.listen = addr;
            }
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            runtime.block_on(async {
                match campanile::app::start(config).await {
                    Ok(running) => {
                        campanile::app::run_until_signal(running, Duration::from_secs(10)).await;
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        tracing::error!("{e}");
                        eprintln!("campanile: {e}");
                        ExitCode::FAILURE
                    }
                }
            })
        }
    }
}

fn count_routes(r: &campanile::config::RouteConfig) -> usize {
    1 + r.routes.iter().map(count_routes).sum::<usize>()
}
