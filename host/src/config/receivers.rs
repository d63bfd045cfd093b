//! Typed receiver configuration: what each `[[receivers]]` entry compiles into. Secrets are
//! already resolved (from the file, the environment or the TOML) and wrapped in [`Secret`].

use std::time::Duration;

use lettre::message::Mailbox;

use super::Secret;
use crate::model::Severity;

#[derive(Debug, Clone, PartialEq)]
pub struct ReceiverConfig {
    pub name: String,
    /// Whether groups that only resolved are notified, and resolved alerts shown.
    pub send_resolved: bool,
    pub delivery: DeliveryConfig,
    pub kind: ReceiverKind,
}

/// Deliveries in flight per receiver, unless its `concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How a receiver's worker delivers: per attempt, in parallel, and over time.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryConfig {
    /// Limit of one attempt.
    pub timeout: Duration,
    /// How long retryable failures are retried.
    pub retry_for: Duration,
    /// Deliveries in flight at once; the rest wait in the receiver's queue.
    pub concurrency: usize,
    /// Attempts per second, with bursts; `None` is unlimited.
    pub rate_limit: Option<RateLimit>,
}

/// A token bucket: `burst` attempts at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReceiverKind {
    /// POST Alertmanager's webhook v4 JSON to `url`.
    Webhook {
        url: Secret<reqwest::Url>,
        max_alerts: usize,
    },
    /// Write each notification to campanile's log.
    Log,
    Slack(SlackConfig),
    Mattermost(MattermostConfig),
    Discord(DiscordConfig),
    MsTeams(MsTeamsConfig),
    PagerDuty(PagerDutyConfig),
    Opsgenie(OpsgenieConfig),
    Email(EmailConfig),
}

/// A Slack incoming webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackConfig {
    pub url: Secret<reqwest::Url>,
    /// Honoured by legacy webhooks only; app webhooks post where they were created for.
    pub channel: Option<String>,
    pub username: Option<String>,
    pub icon_emoji: Option<String>,
    pub icon_url: Option<String>,
}

/// A Mattermost incoming webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct MattermostConfig {
    pub url: Secret<reqwest::Url>,
    pub channel: Option<String>,
    pub username: Option<String>,
    pub icon_url: Option<String>,
}

/// A Discord channel webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscordConfig {
    pub url: Secret<reqwest::Url>,
    pub username: Option<String>,
    pub avatar_url: Option<String>,
}

/// A Microsoft Teams workflow ("Post to a channel when a webhook request is received").
#[derive(Debug, Clone, PartialEq)]
pub struct MsTeamsConfig {
    pub url: Secret<reqwest::Url>,
}

/// PagerDuty Events API v2.
#[derive(Debug, Clone, PartialEq)]
pub struct PagerDutyConfig {
    pub url: reqwest::Url,
    pub routing_key: Secret<String>,
    /// The payload's `source`; default: the alerts' common `instance` label, else `campanile`.
    pub source: Option<String>,
    /// Used when neither the plugin nor a `severity` label says.
    pub severity: Severity,
}

/// Opsgenie Alert API v2.
#[derive(Debug, Clone, PartialEq)]
pub struct OpsgenieConfig {
    /// The alerts endpoint; closing posts to `{url}/{alias}/close`.
    pub url: reqwest::Url,
    pub api_key: Secret<String>,
    /// `P1`..`P5`, used when neither the plugin nor a `severity` label says.
    pub priority: String,
    pub source: String,
    pub tags: Vec<String>,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (default port 587).
    StartTls,
    /// TLS from the first byte, "SMTPS" (default port 465).
    Implicit,
    /// No TLS, for a local relay (default port 25).
    None,
}

/// E-mail over SMTP.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// PEM certificates trusted besides the public roots (a private CA).
    pub ca_pem: Option<Vec<u8>>,
    pub username: Option<String>,
    pub password: Option<Secret<String>>,
    /// The EHLO name; default: this host's name.
    pub hello: Option<String>,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
}
