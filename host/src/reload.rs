//! Reloading the whole configuration while running (`SIGHUP`, `POST /-/reload`), all or
//! nothing, as Alertmanager does.
//!
//! The file is read and compiled again exactly as at start (with the files it names: secrets,
//! CA files, plugins); settings that only a restart can change must be as they are
//! ([`restart_only`]); changed plugins are compiled. Any error refuses the whole reload: the
//! reply and the log list every error with file and key, `campanile_config_last_reload_successful`
//! goes to 0, and the running configuration goes on as it was.
//!
//! Once everything is built, nothing can fail: the new receivers are started beside the old
//! ones (which drain, see
//! [`crate::notify::Receivers::reconfigure`]), and the dispatcher is handed the new route
//! table and inhibition rules, files every alert it holds again (see `group/refile.rs`) and
//! tells the routing stage, in order with its flushes, that what follows uses the new
//! configuration. Only then do request handlers see it ([`Live`]).
//!
//! A changed plugin *file* alone is reloaded by the file watcher, through
//! [`Reloader::reload_plugins`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::ack::link::AckLinks;
use crate::config::{Config, ConfigError, ConfigErrors, BUILTIN_SOURCE, DEFAULT_TOML};
use crate::group::{Reconfigure, Refiled};
use crate::inhibit::Inhibitor;
use crate::live::{config_hash, Generation, Live};
use crate::notify::ReceiverChanges;
use crate::plugin::{self, LoadError, PluginRuntime, PluginState};
use crate::route::RouteTable;
use crate::telemetry::{Metrics, ReloadLabels};

/// Where the configuration comes from, and what the command line overrides in it.
#[derive(Clone, Debug, Default)]
pub struct ConfigSource {
    /// The file; `None` is the built-in configuration.
    pub path: Option<PathBuf>,
    /// `--listen`, which replaces `server.listen`.
    pub listen: Option<SocketAddr>,
}

impl ConfigSource {
    /// Reads and compiles the configuration, with the command line's overrides; also gives
    /// back its text, for the hash.
    pub fn load(&self) -> Result<(Config, String), ConfigErrors> {
        let (mut config, text) = match &self.path {
            Some(path) => Config::load_with_text(path)?,
            None => (Config::builtin()?, DEFAULT_TOML.to_string()),
        };
        if let Some(addr) = self.listen {
            config.server.listen = addr;
        }
        Ok((config, text))
    }

    /// The name errors give the file.
    fn file(&self) -> String {
        match &self.path {
            Some(path) => path.display().to_string(),
            None => BUILTIN_SOURCE.to_string(),
        }
    }
}

/// Why a reload was refused; the running configuration is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file does not read or compile, or changes a setting that needs a restart.
    #[error("{0}")]
    Config(ConfigErrors),
    /// A plugin does not load.
    #[error(transparent)]
    Plugin(#[from] LoadError),
    /// The dispatcher has stopped: campanile is shutting down.
    #[error("campanile is shutting down")]
    ShuttingDown,
}

impl ReloadError {
    /// Each error on its own.
    pub fn errors(&self) -> Vec<String> {
        match self {
            ReloadError::Config(errors) => errors.0.iter().map(|e| e.to_string()).collect(),
            other => vec![other.to_string()],
        }
    }
}

/// What an accepted reload did.
#[derive(Debug, Serialize)]
pub struct Reloaded {
    /// `campanile_config_hash` of the file now in force.
    pub config_hash: i64,
    /// Whether the file's text differs from the one in force before.
    pub changed: bool,
    /// Plugins now running another build than before (or new).
    pub reloaded: Vec<plugin::Reloaded>,
    /// Plugins running the same build.
    pub unchanged: Vec<String>,
    pub receivers: ReceiverChanges,
    pub groups: Refiled,
}

/// Reloads the configuration; one reload at a time.
pub struct Reloader {
    pub source: ConfigSource,
    pub live: Arc<Live>,
    pub dispatcher: mpsc::UnboundedSender<Reconfigure<Generation>>,
    pub plugin_state: Arc<PluginState>,
    pub plugin_cache_dir: Option<PathBuf>,
    pub metrics: Arc<Metrics>,
    pub one_at_a_time: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// Reloads everything from the file, all or nothing, logging and counting the outcome.
    /// `trigger` says who asked: `api` or `signal`.
    pub async fn reload(&self, trigger: &'static str) -> Result<Reloaded, ReloadError> {
        let _one = self.one_at_a_time.lock().await;
        let result = self.apply(trigger).await;
        let outcome = if result.is_ok() { "success" } else { "failure" };
        self.metrics
            .config_reloads
            .get_or_create(&ReloadLabels { trigger, outcome })
            .inc();
        match &result {
            Ok(r) => {
                self.metrics.config_loaded(r.config_hash);
                tracing::info!(
                    trigger,
                    file = %self.source.file(),
                    config_hash = r.config_hash,
                    changed = r.changed,
                    plugins_reloaded = r.reloaded.len(),
                    receivers_started = ?r.receivers.started,
                    receivers_draining = ?r.receivers.draining,
                    groups_kept = r.groups.kept,
                    groups_formed = r.groups.formed,
                    groups_gone = r.groups.gone,
                    "configuration reloaded"
                );
            }
            Err(e) => {
                self.metrics.config_last_reload_successful.set(0);
                tracing::error!(
                    trigger,
                    file = %self.source.file(),
                    "configuration reload refused, the running configuration keeps routing: {e}"
                );
            }
        }
        result
    }

    async fn apply(&self, trigger: &'static str) -> Result<Reloaded, ReloadError> {
        let running = self.live.current();
        let source = self.source.clone();
        let (config, text) = tokio::task::spawn_blocking(move || source.load())
            .await
            .map_err(|e| config_error(&self.source, format!("reading failed: {e}")))?
            .map_err(ReloadError::Config)?;
        let fixed = restart_only(&running.config, &config, &self.source.file());
        if !fixed.is_empty() {
            return Err(ReloadError::Config(ConfigErrors(fixed)));
        }
        let (plugins, report) = self.plugins(&running, &config, trigger).await?;

        // From here on nothing fails: build, then swap.
        let ack_links = AckLinks::new(&config.acks, &config.server.external_url).map(Arc::new);
        let (receivers, receiver_changes) = running.receivers.reconfigure(
            &config.receivers,
            &config.server.external_url,
            ack_links.clone(),
        );
        let routes = Arc::new(RouteTable::new(&config.route));
        let inhibitor = Arc::new(Inhibitor::new(&config.inhibit_rules));
        let hash = config_hash(&text);
        let generation = Arc::new(Generation {
            config: Arc::new(config),
            routes: routes.clone(),
            receivers: Arc::new(receivers),
            plugins,
            ack_links,
            hash,
        });
        let (done, refiled) = oneshot::channel();
        self.dispatcher
            .send(Reconfigure {
                routes,
                inhibitor,
                generation: generation.clone(),
                done,
            })
            .map_err(|_| ReloadError::ShuttingDown)?;
        let groups = refiled.await.map_err(|_| ReloadError::ShuttingDown)?;
        self.live.replace(generation);
        Ok(Reloaded {
            config_hash: hash,
            changed: hash != running.hash,
            reloaded: report.reloaded,
            unchanged: report.unchanged,
            receivers: receiver_changes,
            groups,
        })
    }

    /// The plugins of the new configuration. The same plugin entries: the running set, with
    /// changed files reloaded in place (all or nothing, as the file watcher does). Other
    /// entries: a new set, compiled in full (the compile cache makes unchanged files cheap),
    /// which the old set's calls in flight do not notice.
    async fn plugins(
        &self,
        running: &Generation,
        config: &Config,
        trigger: &'static str,
    ) -> Result<(Arc<PluginRuntime>, plugin::Reload), ReloadError> {
        if config.plugins == running.config.plugins {
            let report = self.reload_plugins_of(&running.plugins, trigger).await?;
            return Ok((running.plugins.clone(), report));
        }
        let (configs, state) = (config.plugins.clone(), self.plugin_state.clone());
        let cache_dir = self.plugin_cache_dir.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            PluginRuntime::load(&configs, state, cache_dir.as_deref())
        })
        .await
        .unwrap_or_else(|e| {
            Err(LoadError::Engine(format!(
                "plugin loading task failed: {e}"
            )))
        });
        let outcome = |o| ReloadLabels {
            trigger,
            outcome: o,
        };
        let runtime = match loaded {
            Ok(runtime) => runtime,
            Err(e) => {
                self.metrics
                    .plugin_reloads
                    .get_or_create(&outcome("failed"))
                    .inc();
                return Err(e.into());
            }
        };
        let mut report = plugin::Reload::default();
        for name in runtime.names() {
            let to = runtime.version(&name).unwrap_or_default();
            match running.plugins.version(&name) {
                Some(from) if from == to => report.unchanged.push(name),
                from => report.reloaded.push(plugin::Reloaded {
                    plugin: name,
                    from: from.unwrap_or_default(),
                    to,
                }),
            }
        }
        let o = if report.reloaded.is_empty() {
            "unchanged"
        } else {
            "reloaded"
        };
        self.metrics.plugin_reloads.get_or_create(&outcome(o)).inc();
        Ok((Arc::new(runtime), report))
    }

    /// Reloads the running plugins whose files changed (see [`PluginRuntime::reload`]), logging
    /// and counting the outcome: what the file watcher does (`trigger` `file`).
    pub async fn reload_plugins(&self, trigger: &'static str) -> Result<plugin::Reload, LoadError> {
        let _one = self.one_at_a_time.lock().await;
        let plugins = self.live.current().plugins.clone();
        self.reload_plugins_of(&plugins, trigger).await
    }

    async fn reload_plugins_of(
        &self,
        plugins: &Arc<PluginRuntime>,
        trigger: &'static str,
    ) -> Result<plugin::Reload, LoadError> {
        let plugins = plugins.clone();
        let result = tokio::task::spawn_blocking(move || plugins.reload())
            .await
            .unwrap_or_else(|e| Err(LoadError::Engine(format!("reload task failed: {e}"))));
        let outcome = match &result {
            Ok(r) if r.reloaded.is_empty() => "unchanged",
            Ok(_) => "reloaded",
            Err(_) => "failed",
        };
        self.metrics
            .plugin_reloads
            .get_or_create(&ReloadLabels { trigger, outcome })
            .inc();
        match &result {
            Ok(r) => {
                for p in &r.reloaded {
                    tracing::info!(trigger, plugin = %p.plugin, from = %p.from, to = %p.to, "plugin reloaded");
                }
            }
            Err(e) => tracing::error!(
                trigger,
                "plugin reload rejected, the loaded versions keep routing: {e}"
            ),
        }
        result
    }
}

fn config_error(source: &ConfigSource, message: String) -> ReloadError {
    ReloadError::Config(ConfigErrors(vec![ConfigError {
        file: source.file(),
        key: String::new(),
        message,
    }]))
}

/// The settings a running campanile cannot change: what the listener, the store, the alert
/// cache and the ingest queue were built with, and which labels identify an alert (a change
/// would split every alert from its stored self). A reload that changes one is refused, naming
/// each; everything else (routes, receivers, inhibition rules, time intervals, plugins,
/// acknowledgement links, the external URL, the server's timeouts, body limit and token,
/// resolve timeouts) reloads.
pub fn restart_only(running: &Config, next: &Config, file: &str) -> Vec<ConfigError> {
    RESTART_ONLY
        .iter()
        .filter_map(|(key, value)| {
            let now = value(running);
            (now != value(next)).then(|| ConfigError {
                file: file.to_string(),
                key: key.to_string(),
                message: format!(
                    "cannot change while campanile runs (it runs with {now}); \
                     restart it to apply this, or set it back to reload the rest"
                ),
            })
        })
        .collect()
}

/// A setting's value as an operator reads it.
type Rendered = fn(&Config) -> String;

/// Each restart-only key with its value as an operator reads it; two configurations differ in
/// a key when they render it differently.
const RESTART_ONLY: &[(&str, Rendered)] = &[
    ("server.listen", |c| c.server.listen.to_string()),
    ("server.max_connections", |c| {
        c.server.max_connections.to_string()
    }),
    ("store.path", |c| {
        format!("{:?}", c.store.path.display().to_string())
    }),
    ("store.durability", |c| format!("{:?}", c.store.durability)),
    // The connection's settings; the URL's own entry below, since it prints redacted here.
    ("store.backend", |c| format!("{:?}", c.store.backend)),
    ("store.url", |c| match &c.store.backend {
        crate::config::StoreBackend::Postgres(pg) => {
            // A digest, so a change is seen without the URL (it may hold a password) shown.
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            pg.url.expose().hash(&mut h);
            format!("the URL it started with, digest {:016x}", h.finish())
        }
        crate::config::StoreBackend::Redb => "none".to_string(),
    }),
    ("cluster", |c| format!("{:?}", c.cluster)),
    ("limits.max_alerts", |c| c.limits.max_alerts.to_string()),
    ("limits.ingest_queue", |c| c.limits.ingest_queue.to_string()),
    ("ingest.retention", |c| {
        humantime::format_duration(c.ingest.retention).to_string()
    }),
    ("ingest.identity_plugin", |c| {
        format!("{:?}", c.ingest.identity_plugin)
    }),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(extra: &str) -> Config {
        let toml = format!(
            "{extra}\n[[receivers]]\nname = \"r\"\ntype = \"log\"\n[route]\nreceiver = \"r\"\n"
        );
        Config::parse(&toml, "c.toml", Path::new(".")).unwrap()
    }

    #[test]
    fn settings_that_need_a_restart_are_named() {
        let running = config("[server]\nlisten = \"127.0.0.1:9093\"");
        assert!(restart_only(&running, &running, "c.toml").is_empty());
        let next = config("[server]\nlisten = \"127.0.0.1:9094\"\n[limits]\nmax_alerts = 7");
        let errors = restart_only(&running, &next, "c.toml");
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["server.listen", "limits.max_alerts"]);
        assert!(errors[0].to_string().starts_with(
            "c.toml: server.listen: cannot change while campanile runs (it runs with 127.0.0.1:9093)"
        ));
    }
}
