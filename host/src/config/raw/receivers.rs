//! `[[receivers]]` as written: one struct per `type`, unknown keys refused. Every type but
//! `log` shares the delivery keys (`send_resolved`, `timeout`, `retry_for`, `concurrency`,
//! `rate_limit`); a secret may be given as `KEY`, `KEY_file` or `KEY_env` (exactly one).

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RawReceiver {
    Webhook(RawWebhook),
    Log(RawLog),
    Slack(RawSlack),
    Mattermost(RawMattermost),
    Discord(RawDiscord),
    #[serde(rename = "msteams")]
    MsTeams(RawMsTeams),
    #[serde(rename = "pagerduty")]
    PagerDuty(RawPagerDuty),
    Opsgenie(RawOpsgenie),
    Email(RawEmail),
}

impl RawReceiver {
    pub fn name(&self) -> &str {
        match self {
            RawReceiver::Webhook(r) => &r.name,
            RawReceiver::Log(r) => &r.name,
            RawReceiver::Slack(r) => &r.name,
            RawReceiver::Mattermost(r) => &r.name,
            RawReceiver::Discord(r) => &r.name,
            RawReceiver::MsTeams(r) => &r.name,
            RawReceiver::PagerDuty(r) => &r.name,
            RawReceiver::Opsgenie(r) => &r.name,
            RawReceiver::Email(r) => &r.name,
        }
    }
}

/// `rate_limit = { per_second = 1.0, burst = 5 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub per_second: f64,
    pub burst: Option<u32>,
}

/// The delivery keys every sending receiver has.
#[derive(Debug)]
pub struct RawDelivery<'a> {
    pub send_resolved: Option<bool>,
    pub timeout: Option<&'a str>,
    pub retry_for: Option<&'a str>,
    pub concurrency: Option<usize>,
    pub rate_limit: Option<&'a RawRateLimit>,
}

/// A receiver struct with `name`, the delivery keys and its own keys. (serde's `flatten`
/// cannot be combined with `deny_unknown_fields`, hence a macro.)
macro_rules! receiver {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            pub name: String,
            pub send_resolved: Option<bool>,
            pub timeout: Option<String>,
            pub retry_for: Option<String>,
            pub concurrency: Option<usize>,
            pub rate_limit: Option<RawRateLimit>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $name {
            pub fn delivery(&self) -> RawDelivery<'_> {
                RawDelivery {
                    send_resolved: self.send_resolved,
                    timeout: self.timeout.as_deref(),
                    retry_for: self.retry_for.as_deref(),
                    concurrency: self.concurrency,
                    rate_limit: self.rate_limit.as_ref(),
                }
            }
        }
    };
}

receiver!(RawWebhook {
    url: Option<String>,
    url_file: Option<String>,
    url_env: Option<String>,
    /// Most alerts in one payload; 0 means all (Alertmanager's `max_alerts`).
    max_alerts: Option<usize>,
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub name: String,
    pub send_resolved: Option<bool>,
}

receiver!(RawSlack {
    url: Option<String>,
    url_file: Option<String>,
    url_env: Option<String>,
    channel: Option<String>,
    username: Option<String>,
    icon_emoji: Option<String>,
    icon_url: Option<String>,
});

receiver!(RawMattermost {
    url: Option<String>,
    url_file: Option<String>,
    url_env: Option<String>,
    channel: Option<String>,
    username: Option<String>,
    icon_url: Option<String>,
});

receiver!(RawDiscord {
    url: Option<String>,
    url_file: Option<String>,
    url_env: Option<String>,
    username: Option<String>,
    avatar_url: Option<String>,
});

receiver!(RawMsTeams {
    url: Option<String>,
    url_file: Option<String>,
    url_env: Option<String>,
});

receiver!(RawPagerDuty {
    url: Option<String>,
    routing_key: Option<String>,
    routing_key_file: Option<String>,
    routing_key_env: Option<String>,
    source: Option<String>,
    severity: Option<String>,
});

receiver!(RawOpsgenie {
    url: Option<String>,
    api_key: Option<String>,
    api_key_file: Option<String>,
    api_key_env: Option<String>,
    priority: Option<String>,
    source: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
});

receiver!(RawEmail {
    host: String,
    port: Option<u16>,
    tls: Option<String>,
    ca_file: Option<String>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<String>,
    password_env: Option<String>,
    hello: Option<String>,
    from: String,
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
});
