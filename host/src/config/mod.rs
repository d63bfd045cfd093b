//! Configuration: the TOML file (`raw`), one compile step that validates everything and
//! reports every error with the file and key (`compile`), and the typed result that runtime
//! code trusts (this module).

mod check;
mod cluster;
mod compile;
pub mod raw;
mod receivers;
mod secret;
mod store;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use crate::model::time_interval::NamedTimeInterval;
use crate::model::Matcher;
pub use cluster::ClusterConfig;
pub use receivers::*;
pub use secret::{scrub, Secret};
pub use store::{Durability, PostgresConfig, StoreBackend, StoreConfig};

/// The configuration used when `campanile serve` is given no file.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// Shown instead of a file name for the built-in configuration.
pub const BUILTIN_SOURCE: &str = "<built-in default>";

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub limits: LimitsConfig,
    pub ingest: IngestConfig,
    pub store: StoreConfig,
    pub receivers: Vec<ReceiverConfig>,
    pub plugins: Vec<PluginConfig>,
    pub route: RouteConfig,
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// `[[time_intervals]]`, by name in the order given; routes hold the ones they use.
    pub time_intervals: Vec<Arc<NamedTimeInterval>>,
    pub acks: AcksConfig,
    /// `[cluster]`: several replicas on one PostgreSQL store; `None` runs alone.
    pub cluster: Option<ClusterConfig>,
}

/// `[acks]`: signed acknowledgement links.
#[derive(Debug, Clone)]
pub struct AcksConfig {
    /// The HMAC-SHA256 key signing links; without it notifications carry no link.
    pub signing_key: Option<Secret<String>>,
    /// How long a link stays valid after the notification that carries it.
    pub link_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Bodies larger than this are refused with 413.
    pub max_body_size: usize,
    /// The URL campanile is reachable at, sent as `externalURL` in webhook payloads.
    pub external_url: String,
    /// When set, every write (ingest, silences, acknowledgements) needs
    /// `Authorization: Bearer <token>`.
    pub auth_token: Option<AuthToken>,
    /// Reads (operator API, /metrics) need the token too. Health probes never do.
    pub read_auth: bool,
    /// Connections served at once (the server lowers it to fit the open-file limit); a few
    /// more are kept for health probes, and the rest are closed as they are accepted.
    pub max_connections: usize,
    /// How long a client has to send a request head: from the connection's accept for its
    /// first request, from the first byte for later ones.
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a client has to send a whole request body; past it the request gets 408.
    pub body_read_timeout: Duration,
}

/// A bearer token; never printed.
#[derive(Clone, PartialEq)]
pub struct AuthToken(String);

impl AuthToken {
    pub fn new(token: String) -> AuthToken {
        AuthToken(token)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

/// One inhibition rule (Alertmanager's `inhibit_rules` entry).
#[derive(Debug, Clone)]
pub struct InhibitRuleConfig {
    /// Alerts matching all of these inhibit…
    pub source_matchers: Vec<Matcher>,
    /// …the alerts matching all of these…
    pub target_matchers: Vec<Matcher>,
    /// …that have the same values for these labels (a missing label has the empty value).
    pub equal: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Distinct live alerts held; beyond it new alerts are refused with 429.
    pub max_alerts: u64,
    /// Ingest batches waiting for the grouper; beyond it requests are refused with 429.
    pub ingest_queue: usize,
}

#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// End given to API v2 alerts that have no `endsAt` (Alertmanager's `resolve_timeout`).
    pub resolve_timeout: Duration,
    /// End given to firing alerts from an Alertmanager webhook, which carry none: Alertmanager
    /// tells when they resolve, and re-sends them at its repeat interval.
    pub webhook_resolve_timeout: Duration,
    /// How long a resolved alert stays queryable.
    pub retention: Duration,
    /// The plugin whose `identity` export decides which labels identify an alert; `None`:
    /// all labels (Alertmanager's fingerprint).
    pub identity_plugin: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PluginConfig {
    pub name: String,
    pub path: PathBuf,
    /// Wall-clock limit for one call to `route`.
    pub timeout: Duration,
    /// Linear memory limit of one instance.
    pub memory_limit: usize,
    /// Most bytes of text (titles, bodies, reasons) one answer may hold.
    pub max_output: usize,
    /// The plugin's own `config` table, values as text.
    pub config: BTreeMap<String, String>,
}

/// Which labels form a group.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupBy {
    /// These label names (sorted).
    Labels(Vec<String>),
    /// `["..."]`: every label, so each alert is its own group.
    All,
}

/// One node of the routing tree, with inherited values already filled in.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    pub name: String,
    /// Alertmanager's route key (`{}/{team="db"}`), the prefix of group keys.
    pub key: String,
    pub matchers: Vec<Matcher>,
    pub receiver: String,
    pub plugin: Option<String>,
    pub group_by: GroupBy,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    pub continue_matching: bool,
    /// While one of these contains now, the route sends nothing (not inherited by children).
    pub mute_time_intervals: Vec<Arc<NamedTimeInterval>>,
    /// When set, the route sends nothing unless one of these contains now (not inherited).
    pub active_time_intervals: Vec<Arc<NamedTimeInterval>>,
    pub routes: Vec<RouteConfig>,
}

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: String,
    /// Dotted path of the offending key, e.g. `route.routes[0].group_wait`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.message)
        }
    }
}

/// Every problem found in a configuration file.
#[derive(Debug, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Config::load_with_text(path).map(|(config, _)| config)
    }

    /// [`Config::load`], also giving back the text read (what a reload hashes).
    pub fn load_with_text(path: &Path) -> Result<(Config, String), ConfigErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: file.clone(),
                key: String::new(),
                message: format!("cannot read: {e}"),
            }])
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, &file, base).map(|config| (config, text))
    }

    /// The built-in configuration; relative paths resolve against the working directory.
    pub fn builtin() -> Result<Config, ConfigErrors> {
        Config::parse(DEFAULT_TOML, BUILTIN_SOURCE, Path::new("."))
    }

    /// Parses and validates TOML text. `file` names it in errors; relative plugin paths
    /// resolve against `base`.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Config, ConfigErrors> {
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: file.to_string(),
                key: e.span().map(|s| line_of(text, s.start)).unwrap_or_default(),
                message: e.message().to_string(),
            }])
        })?;
        compile::compile(raw, file, base)
    }

    pub fn receiver(&self, name: &str) -> Option<&ReceiverConfig> {
        self.receivers.iter().find(|r| r.name == name)
    }
}

/// "line N" for a byte offset, so TOML syntax errors point at the line.
fn line_of(text: &str, offset: usize) -> String {
    let line = text[..offset.min(text.len())].matches('\n').count() + 1;
    let snippet = text.lines().nth(line - 1).unwrap_or("").trim();
    format!("line {line} ({snippet})")
}
