//! The `campanile` binary: flags, logging, and hand-off to `app`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use campanile::config::Config;
use campanile::telemetry::{init_logging, LogFormat};

#[derive(Parser)]
#[command(
    name = "campanile",
    version,
    about = "Alert routing and deduplication with WebAssembly routing plugins"
)]
struct Cli {
    /// Log format.
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
    /// Validate a configuration file (and that its plugins exist) without starting.
    CheckConfig {
        /// Configuration file (TOML).
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { file } => match Config::load(&file) {
            Ok(c) => {
                println!(
                    "{}: OK ({} receivers, {} plugins, {} routes)",
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
