//! The configuration file as written: serde structs that mirror the TOML, unknown keys
//! refused. Nothing here is validated; `compile` turns these into the typed [`super::Config`].
//! Each receiver type's keys are in its module under `receivers/`, beside what they compile
//! into.

use serde::Deserialize;

pub use super::receivers::RawReceiver;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub ingest: RawIngest,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub receivers: Vec<RawReceiver>,
    #[serde(default)]
    pub plugins: Vec<RawPlugin>,
    #[serde(default)]
    pub inhibit_rules: Vec<RawInhibitRule>,
    #[serde(default)]
    pub time_intervals: Vec<RawTimeInterval>,
    #[serde(default)]
    pub acks: RawAcks,
    pub cluster: Option<RawCluster>,
    pub route: RawRoute,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub max_body_size: Option<RawSize>,
    pub external_url: Option<String>,
    /// Bearer token required on every write (ingest, silences, acknowledgements).
    pub auth_token: Option<String>,
    /// A file holding the token (trailing whitespace ignored), instead of `auth_token`.
    pub auth_token_file: Option<String>,
    /// Require the token on reads too (operator API and /metrics).
    pub read_auth: Option<bool>,
    /// Connections served at once; more are answered 503 (probes excepted) or closed.
    pub max_connections: Option<usize>,
    /// A request head (request line and headers) must arrive within this.
    pub header_read_timeout: Option<String>,
    /// A keep-alive connection with no request for this long is closed.
    pub idle_timeout: Option<String>,
    /// A request body must arrive whole within this, or 408.
    pub body_read_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_alerts: Option<u64>,
    pub ingest_queue: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIngest {
    pub resolve_timeout: Option<String>,
    pub webhook_resolve_timeout: Option<String>,
    pub retention: Option<String>,
    pub identity_plugin: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// `"redb"` (the default) or `"postgres"`.
    pub backend: Option<String>,
    pub path: Option<String>,
    pub durability: Option<String>,
    pub flush_interval: Option<String>,
    pub url: Option<String>,
    pub url_file: Option<String>,
    pub url_env: Option<String>,
    pub pool_size: Option<usize>,
    pub statement_timeout: Option<String>,
    pub connect_timeout: Option<String>,
    pub ca_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub replica: Option<String>,
    pub lease_ttl: Option<String>,
    pub shards: Option<u32>,
    pub advertise: Option<String>,
}

/// A byte size: a plain number of bytes, or a string such as `"4MiB"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawSize {
    Bytes(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlugin {
    pub name: String,
    pub path: String,
    pub timeout: Option<String>,
    pub memory_limit: Option<RawSize>,
    pub max_output: Option<RawSize>,
    #[serde(default)]
    pub config: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub name: Option<String>,
    pub receiver: Option<String>,
    pub plugin: Option<String>,
    #[serde(default)]
    pub matchers: Vec<String>,
    pub group_by: Option<Vec<String>>,
    pub group_wait: Option<String>,
    pub group_interval: Option<String>,
    pub repeat_interval: Option<String>,
    /// Names of `[[time_intervals]]` during which this route sends nothing (not inherited).
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    /// Names of `[[time_intervals]]` outside which this route sends nothing (not inherited).
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    #[serde(default)]
    pub routes: Vec<RawRoute>,
}

/// One `[[inhibit_rules]]` entry, as in Alertmanager.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInhibitRule {
    #[serde(default)]
    pub source_matchers: Vec<String>,
    #[serde(default)]
    pub target_matchers: Vec<String>,
    #[serde(default)]
    pub equal: Vec<String>,
}

/// One `[[time_intervals]]` entry: a name and the periods it covers (Alertmanager's
/// `time_intervals`, with the inner list called `intervals`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeInterval {
    pub name: String,
    #[serde(default)]
    pub intervals: Vec<RawInterval>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInterval {
    #[serde(default)]
    pub times: Vec<RawTimes>,
    #[serde(default)]
    pub weekdays: Vec<RawRangeText>,
    #[serde(default)]
    pub days_of_month: Vec<RawRangeText>,
    #[serde(default)]
    pub months: Vec<RawRangeText>,
    #[serde(default)]
    pub years: Vec<RawRangeText>,
    pub location: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimes {
    pub start_time: String,
    pub end_time: String,
}

/// A range such as `"1:5"`, or a single value, as text or a plain number (`years = [2026]`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawRangeText {
    Number(i64),
    Text(String),
}

impl RawRangeText {
    pub fn text(&self) -> String {
        match self {
            RawRangeText::Number(n) => n.to_string(),
            RawRangeText::Text(t) => t.clone(),
        }
    }
}

/// `[acks]`: signed acknowledgement links in notifications.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAcks {
    /// The HMAC key that signs links; exactly one of the three forms.
    pub signing_key: Option<String>,
    pub signing_key_file: Option<String>,
    pub signing_key_env: Option<String>,
    /// How long a link stays valid (default 7d).
    pub link_ttl: Option<String>,
}
