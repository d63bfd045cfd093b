//! The `campanile` binary: flags, logging, and hand-off to `app`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use campanile::app::Stopped;
use campanile::config::Config;
use campanile::dry_run;
use campanile::plugin::{inspect, PluginRuntime, PluginState};
use campanile::reload::ConfigSource;
use campanile::telemetry::{init_logging, probe_ready, LogFormat, DEFAULT_READY_URL};

/// Prints one line of a command's answer on stdout. `println!` panics when the reader has gone
/// (`campanile plugin check x.wasm | head -1`); this ends the command quietly instead, with the
/// status a shell gives a tool that SIGPIPE stopped (128 + 13).
macro_rules! out {
    ($($arg:tt)*) => {
        print_line(format_args!($($arg)*))
    };
}

fn print_line(line: std::fmt::Arguments) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_fmt(line)
        .and_then(|()| stdout.write_all(b"\n"))
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("campanile: cannot write the answer to stdout: {e}");
        }
        std::process::exit(141);
    }
}

/// mimalloc rather than the C library's allocator: every alert is a handful of small
/// allocations made on one worker thread and often freed on another, which glibc's arenas serve
/// slowly and musl's (the container's) far more slowly still. The load benchmark measures it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Shown after `--help`: what the exit status means, and where to start.
const AFTER_HELP: &str = "\
Exit status:
  0  serve: stopped by SIGTERM/SIGINT; check-config: valid; healthcheck: ready
  1  serve: could not start (store unreadable, address in use, ...); healthcheck: not ready
  2  invalid configuration, or invalid command line
  3  serve: a long-lived task died (a bug, logged); restart it, it resumes from its store

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
        /// Listen address, overriding `server.listen`. Port 0 lets the system pick a free one
        /// (see `--address-file`).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Once ready, write the address the listener is bound to (`HOST:PORT` and a newline)
        /// to this file, replacing it whole: how a supervisor or a test learns the port picked
        /// for `--listen 127.0.0.1:0`.
        #[arg(long, value_name = "FILE")]
        address_file: Option<PathBuf>,
    },
    /// Validate a configuration file and compile its plugins, without starting.
    ///
    /// Prints every problem as `FILE: KEY: message` and exits 2 if there is any.
    CheckConfig {
        /// Configuration file (TOML).
        file: PathBuf,
    },
    /// Tools for plugin authors: build a Python plugin, check a component, dry-run it on
    /// recorded alerts.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
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

#[derive(Subcommand)]
enum PluginCommand {
    /// Build a Python plugin (a module using the campanile-sdk package) into a component, with
    /// the pinned componentize-py (`$CAMPANILE_COMPONENTIZE_PY`, else the one on PATH). Exits 2
    /// if it cannot.
    Build {
        /// The plugin's module, e.g. `my_router.py`.
        source: PathBuf,
        /// Where to write the component; by default SOURCE with the extension `.wasm`.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Compile a plugin and link it against the contract this campanile speaks; list what it
    /// imports and exports. Exits 2 if it does not load.
    Check {
        /// The plugin component (.wasm).
        file: PathBuf,
    },
    /// Route recorded alerts through a plugin without running the service: print each group
    /// and the plugin's decision. Exits 1 if any decision faults, 2 on bad input.
    Test {
        /// The plugin component (.wasm).
        file: PathBuf,
        /// Alerts: an Alertmanager API v2 JSON array, or an Alertmanager webhook (v4) message.
        #[arg(long)]
        alerts: PathBuf,
        /// A campanile configuration whose routes, receivers and plugin config table to use
        /// (the plugin's path is replaced by FILE). Without it: one route grouping by
        /// alertname, any receiver name accepted.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Which `[[plugins]]` entry of the configuration FILE stands for, when there are
        /// several.
        #[arg(long)]
        plugin: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Plugin { command } => plugin_tool(command),
        Command::Healthcheck { url, timeout } => match probe_ready(&url, timeout) {
            Ok(()) => {
                out!("{url}: ready");
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
                out!(
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
        Command::Serve {
            config,
            listen,
            address_file,
        } => {
            init_logging(cli.log_format);
            let source = ConfigSource {
                path: config,
                listen,
            };
            let (config, text) = match source.load() {
                Ok(loaded) => loaded,
                Err(errors) => {
                    eprintln!("{errors}");
                    return ExitCode::from(2);
                }
            };
            raise_open_file_limit();
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            runtime.block_on(async {
                match campanile::app::start(source, config, &text).await {
                    Ok(running) => {
                        if let Some(file) = &address_file {
                            if let Err(e) = write_address(file, running.addr) {
                                eprintln!("campanile: --address-file {}: {e}", file.display());
                                running.shutdown.cancel();
                            }
                        }
                        match campanile::app::run_until_signal(running, Duration::from_secs(10))
                            .await
                        {
                            Stopped::Signal => ExitCode::SUCCESS,
                            Stopped::Failed(task) => {
                                eprintln!("campanile: {task} died; exiting for a restart");
                                ExitCode::from(3)
                            }
                        }
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

/// Writes `addr` to `file` through a temporary file beside it and a rename, so a reader never
/// sees half an address.
fn write_address(file: &std::path::Path, addr: std::net::SocketAddr) -> std::io::Result<()> {
    let mut partial = file.as_os_str().to_owned();
    partial.push(".partial");
    std::fs::write(&partial, format!("{addr}\n"))?;
    std::fs::rename(&partial, file)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit: every connection, delivery and store file
/// takes a descriptor, and distributions still start services with a soft limit of 1024. The
/// server fits its connection cap under the result (`server.max_connections`).
fn raise_open_file_limit() {
    let before = rlimit::getrlimit(rlimit::Resource::NOFILE).ok();
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(
            limit,
            was = before.map(|(soft, _)| soft),
            hard = before.map(|(_, hard)| hard),
            "open file limit (RLIMIT_NOFILE)"
        ),
        Err(e) => tracing::warn!(
            error = %e,
            limit = before.map(|(soft, _)| soft),
            "cannot raise the open file limit (RLIMIT_NOFILE); keeping it"
        ),
    }
}

fn count_routes(r: &campanile::config::RouteConfig) -> usize {
    1 + r.routes.iter().map(count_routes).sum::<usize>()
}

fn plugin_tool(command: PluginCommand) -> ExitCode {
    match command {
        PluginCommand::Build { source, output } => {
            match campanile::plugin_build::build(&source, output.as_deref()) {
                Ok(built) => {
                    out!(
                        "{}: built {} ({} bytes); check it with: campanile plugin check {}",
                        source.display(),
                        built.output.display(),
                        built.bytes,
                        built.output.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("campanile plugin build: {e}");
                    ExitCode::from(2)
                }
            }
        }
        PluginCommand::Check { file } => {
            let config = standalone_config(&file).map(|c| c.plugins[0].clone());
            match config
                .map_err(|e| e.to_string())
                .and_then(|c| inspect(&c).map_err(|e| e.to_string()))
            {
                Ok(i) => {
                    out!(
                        "{}: OK, links against {} (version {}, {} bytes)",
                        file.display(),
                        campanile::plugin::CONTRACT,
                        i.version,
                        i.bytes
                    );
                    out!("imports:");
                    for name in &i.imports {
                        out!("  {name}");
                    }
                    out!("exports:");
                    for name in &i.exports {
                        out!("  {name}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            }
        }
        PluginCommand::Test {
            file,
            alerts,
            config,
            plugin,
        } => {
            let prepared = match &config {
                Some(path) => config_for(path, &file, plugin.as_deref()),
                None => standalone_config(&file)
                    .map_err(|e| e.to_string())
                    .map(|c| {
                        let name = c.plugins[0].name.clone();
                        (c, name)
                    }),
            };
            let (config_used, name) = match prepared {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            let body = match std::fs::read(&alerts) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("{}: {e}", alerts.display());
                    return ExitCode::from(2);
                }
            };
            match dry_run::run(&config_used, &name, &body, config.is_some()) {
                Ok(report) => print_dry_run(&report),
                Err(e) => {
                    eprintln!("{}: {e}", alerts.display());
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn print_dry_run(report: &dry_run::DryRun) -> ExitCode {
    for invalid in &report.invalid {
        out!("skipped {invalid}");
    }
    for g in &report.groups {
        out!(
            "group {} (route {}, {} firing, {} resolved)",
            g.key,
            g.route,
            g.firing,
            g.resolved
        );
        let o = &g.outcome;
        for action in &o.actions {
            out!("  plugin: {action}");
        }
        for fault in &o.faults {
            out!("  FAULT: plugin {fault}");
        }
        if let Some(fallback) = &o.fallback {
            out!("  fallback: the route's receiver {fallback} is told in the plugin's place");
        }
        let told: Vec<&str> = o.deliveries.iter().map(|d| d.receiver.as_str()).collect();
        if told.is_empty() {
            out!("  told: nobody");
        } else {
            out!("  told: {}", told.join(", "));
        }
        if let Some(secs) = o.wake_after {
            out!("  wake-up: in {secs}s");
        }
    }
    let faults = report
        .groups
        .iter()
        .filter(|g| !g.outcome.faults.is_empty())
        .count();
    out!(
        "{} groups, {} faults, {} alerts skipped",
        report.groups.len(),
        faults,
        report.invalid.len()
    );
    if report.faulted() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A configuration with this plugin alone on a root route grouping by alertname.
fn standalone_config(file: &std::path::Path) -> Result<Config, campanile::config::ConfigErrors> {
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().replace('_', "-"))
        .unwrap_or_else(|| "plugin".into());
    let path = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let toml = format!(
        "[[receivers]]\nname = \"default\"\ntype = \"log\"\n\n\
         [[plugins]]\nname = {name:?}\npath = {path:?}\n\n\
         [route]\nreceiver = \"default\"\nplugin = {name:?}\ngroup_by = [\"alertname\"]\n",
        path = path.display().to_string(),
    );
    Config::parse(&toml, "(plugin test)", std::path::Path::new("."))
}

/// `config` with the plugin `file` stands for (by `--plugin`, by path, or the only one) loaded
/// from `file`.
fn config_for(
    config: &std::path::Path,
    file: &std::path::Path,
    plugin: Option<&str>,
) -> Result<(Config, String), String> {
    let mut c = Config::load(config).map_err(|e| e.to_string())?;
    let wanted = std::fs::canonicalize(file).ok();
    let index = match plugin {
        Some(name) => c
            .plugins
            .iter()
            .position(|p| p.name == name)
            .ok_or(format!(
                "{}: no [[plugins]] entry named {name:?}",
                config.display()
            ))?,
        None => match c
            .plugins
            .iter()
            .position(|p| std::fs::canonicalize(&p.path).ok() == wanted)
        {
            Some(i) => i,
            None if c.plugins.len() == 1 => 0,
            None => {
                return Err(format!(
                    "{}: several plugins; say which one {} is with --plugin NAME",
                    config.display(),
                    file.display()
                ))
            }
        },
    };
    c.plugins[index].path = file.to_path_buf();
    let name = c.plugins[index].name.clone();
    Ok((c, name))
}
