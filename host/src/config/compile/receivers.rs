//! `[[receivers]]`: each type's keys checked, secrets resolved (from the TOML, a file or the
//! environment), defaults filled in. Errors name the key, never a secret's value.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use lettre::message::Mailbox;

use super::super::raw::{RawDelivery, RawEmail, RawReceiver};
use super::super::{
    DeliveryConfig, DiscordConfig, EmailConfig, MattermostConfig, MsTeamsConfig, OpsgenieConfig,
    PagerDutyConfig, RateLimit, ReceiverConfig, ReceiverKind, SlackConfig, SmtpTls,
};
use super::Ctx;
use crate::config::Secret;
use crate::model::Severity;

pub const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";
pub const OPSGENIE_URL: &str = "https://api.opsgenie.com/v2/alerts";

/// Per-type defaults: Alertmanager's for `send_resolved`, and a rate limit for chat webhooks
/// that stays under what the services document.
struct Defaults {
    send_resolved: bool,
    rate_limit: Option<RateLimit>,
}

const CHAT: Defaults = Defaults {
    send_resolved: false,
    rate_limit: Some(RateLimit {
        per_second: 1.0,
        burst: 5,
    }),
};
const UNLIMITED: Defaults = Defaults {
    send_resolved: true,
    rate_limit: None,
};

pub(in crate::config) fn compile_receivers(
    cx: &mut Ctx,
    raw: Vec<RawReceiver>,
    base: &Path,
) -> Vec<ReceiverConfig> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let key = format!("receivers[{i}]");
        let name = r.name().to_string();
        if name.is_empty() {
            cx.err(format!("{key}.name"), "must not be empty");
        } else if !seen.insert(name.clone()) {
            cx.err(
                format!("{key}.name"),
                format!("receiver {name:?} is defined twice"),
            );
        }
        let mut rx = Rx { cx, key, base };
        let (send_resolved, delivery, kind) = rx.receiver(r);
        out.push(ReceiverConfig {
            name,
            send_resolved,
            delivery,
            kind,
        });
    }
    out
}

/// One receiver (or another section holding secrets, such as `[acks]`) being compiled:
/// errors are filed under `KEY.FIELD`, e.g. `receivers[i].url`.
pub(super) struct Rx<'c, 'f> {
    pub(super) cx: &'c mut Ctx<'f>,
    pub(super) key: String,
    pub(super) base: &'c Path,
}

impl Rx<'_, '_> {
    fn err(&mut self, field: &str, message: impl Into<String>) {
        self.cx.err(format!("{}.{field}", self.key), message);
    }

    fn receiver(&mut self, r: RawReceiver) -> (bool, DeliveryConfig, ReceiverKind) {
        // A receiver whose keys are wrong still compiles (as a `log`), so that routes naming
        // it do not report errors of their own; the configuration is refused anyway.
        let placeholder = ReceiverKind::Log;
        let (d, kind) = match r {
            RawReceiver::Log(l) => {
                let d = self.delivery(
                    RawDelivery {
                        send_resolved: l.send_resolved,
                        timeout: None,
                        retry_for: None,
                        concurrency: None,
                        rate_limit: None,
                    },
                    &UNLIMITED,
                );
                (d, Some(ReceiverKind::Log))
            }
            RawReceiver::Webhook(w) => {
                let d = self.delivery(w.delivery(), &UNLIMITED);
                let url = self.secret_url(w.url, w.url_file, w.url_env);
                let kind = url.map(|url| ReceiverKind::Webhook {
                    url,
                    max_alerts: w.max_alerts.unwrap_or(0),
                });
                (d, kind)
            }
            RawReceiver::Slack(s) => {
                let d = self.delivery(s.delivery(), &CHAT);
                let url = self.secret_url(s.url, s.url_file, s.url_env);
                let kind = url.map(|url| {
                    ReceiverKind::Slack(SlackConfig {
                        url,
                        channel: s.channel,
                        username: s.username,
                        icon_emoji: s.icon_emoji,
                        icon_url: s.icon_url,
                    })
                });
                (d, kind)
            }
            RawReceiver::Mattermost(m) => {
                let d = self.delivery(m.delivery(), &CHAT);
                let url = self.secret_url(m.url, m.url_file, m.url_env);
                let kind = url.map(|url| {
                    ReceiverKind::Mattermost(MattermostConfig {
                        url,
                        channel: m.channel,
                        username: m.username,
                        icon_url: m.icon_url,
                    })
                });
                (d, kind)
            }
            RawReceiver::Discord(dc) => {
                // Discord allows about 30 messages a minute per channel.
                let defaults = Defaults {
                    send_resolved: true,
                    rate_limit: Some(RateLimit {
                        per_second: 0.5,
                        burst: 5,
                    }),
                };
                let d = self.delivery(dc.delivery(), &defaults);
                let url = self.secret_url(dc.url, dc.url_file, dc.url_env);
                let kind = url.map(|url| {
                    ReceiverKind::Discord(DiscordConfig {
                        url,
                        username: dc.username,
                        avatar_url: dc.avatar_url,
                    })
                });
                (d, kind)
            }
            RawReceiver::MsTeams(t) => {
                let defaults = Defaults {
                    send_resolved: true,
                    ..CHAT
                };
                let d = self.delivery(t.delivery(), &defaults);
                let url = self.secret_url(t.url, t.url_file, t.url_env);
                (
                    d,
                    url.map(|url| ReceiverKind::MsTeams(MsTeamsConfig { url })),
                )
            }
            RawReceiver::PagerDuty(p) => {
                let d = self.delivery(p.delivery(), &UNLIMITED);
                let url = self.url("url", p.url.as_deref().unwrap_or(PAGERDUTY_URL));
                let routing_key = self.secret(
                    "routing_key",
                    p.routing_key,
                    p.routing_key_file,
                    p.routing_key_env,
                );
                let severity = match p.severity.as_deref() {
                    None => Severity::Error,
                    Some(s) => Severity::parse(s).unwrap_or_else(|| {
                        self.err(
                            "severity",
                            format!(
                                "unknown severity {s:?}: expected critical, error, warning or info"
                            ),
                        );
                        Severity::Error
                    }),
                };
                let kind = url.zip(routing_key).map(|(url, routing_key)| {
                    ReceiverKind::PagerDuty(PagerDutyConfig {
                        url,
                        routing_key,
                        source: p.source,
                        severity,
                    })
                });
                (d, kind)
            }
            RawReceiver::Opsgenie(o) => {
                let d = self.delivery(o.delivery(), &UNLIMITED);
                let url = self.url("url", o.url.as_deref().unwrap_or(OPSGENIE_URL));
                let api_key = self.secret("api_key", o.api_key, o.api_key_file, o.api_key_env);
                let priority = o.priority.unwrap_or_else(|| "P3".to_string());
                if !matches!(priority.as_str(), "P1" | "P2" | "P3" | "P4" | "P5") {
                    self.err(
                        "priority",
                        format!("unknown priority {priority:?}: expected P1, P2, P3, P4 or P5"),
                    );
                }
                let kind = url.zip(api_key).map(|(url, api_key)| {
                    ReceiverKind::Opsgenie(OpsgenieConfig {
                        url,
                        api_key,
                        priority,
                        source: o.source.unwrap_or_else(|| "campanile".to_string()),
                        tags: o.tags,
                    })
                });
                (d, kind)
            }
            RawReceiver::Email(e) => {
                let defaults = Defaults {
                    send_resolved: false,
                    rate_limit: None,
                };
                let d = self.delivery(e.delivery(), &defaults);
                (d, self.email(e).map(ReceiverKind::Email))
            }
        };
        (d.0, d.1, kind.unwrap_or(placeholder))
    }

    fn delivery(&mut self, d: RawDelivery, defaults: &Defaults) -> (bool, DeliveryConfig) {
        let timeout = self.duration("timeout", d.timeout, Duration::from_secs(10));
        if timeout.is_zero() {
            self.err("timeout", "must be more than zero");
        }
        let retry_for = self.duration("retry_for", d.retry_for, Duration::from_secs(3600));
        let concurrency = d.concurrency.unwrap_or(crate::config::DEFAULT_CONCURRENCY);
        if concurrency == 0 {
            self.err("concurrency", "must be at least 1");
        }
        let rate_limit = match d.rate_limit {
            None => defaults.rate_limit,
            Some(r) => {
                if !(r.per_second.is_finite() && r.per_second > 0.0) {
                    self.err(
                        "rate_limit.per_second",
                        "must be a number of attempts per second above zero",
                    );
                }
                if r.burst == Some(0) {
                    self.err("rate_limit.burst", "must be at least 1");
                }
                Some(RateLimit {
                    per_second: r.per_second,
                    burst: r
                        .burst
                        .unwrap_or_else(|| r.per_second.ceil().clamp(1.0, 1e6) as u32),
                })
            }
        };
        let delivery = DeliveryConfig {
            timeout,
            retry_for,
            concurrency: concurrency.max(1),
            rate_limit,
        };
        (d.send_resolved.unwrap_or(defaults.send_resolved), delivery)
    }

    fn duration(&mut self, field: &str, v: Option<&str>, default: Duration) -> Duration {
        let key = format!("{}.{field}", self.key);
        self.cx.duration(&key, v, default)
    }

    /// A secret given as `FIELD = "value"`, `FIELD_file = "/path"` (relative to the config
    /// file; one trailing newline dropped) or `FIELD_env = "NAME"`: exactly one of them.
    pub(super) fn secret(
        &mut self,
        field: &str,
        value: Option<String>,
        file: Option<String>,
        env: Option<String>,
    ) -> Option<Secret<String>> {
        let given = [value.is_some(), file.is_some(), env.is_some()];
        let choices = format!("`{field}`, `{field}_file` or `{field}_env`");
        match given.iter().filter(|g| **g).count() {
            0 => {
                self.err(field, format!("missing: set one of {choices}"));
                return None;
            }
            1 => {}
            _ => {
                self.err(field, format!("set only one of {choices}"));
                return None;
            }
        }
        let (key, text) = if let Some(v) = value {
            (field.to_string(), v)
        } else if let Some(path) = file {
            let key = format!("{field}_file");
            let path = self.base.join(path);
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let text = text.strip_suffix('\n').unwrap_or(&text);
                    (key, text.strip_suffix('\r').unwrap_or(text).to_string())
                }
                Err(e) => {
                    self.err(&key, format!("cannot read {}: {e}", path.display()));
                    return None;
                }
            }
        } else {
            let key = format!("{field}_env");
            let name = env.unwrap_or_default();
            match std::env::var(&name) {
                Ok(v) => (key, v),
                Err(std::env::VarError::NotPresent) => {
                    self.err(&key, format!("environment variable {name:?} is not set"));
                    return None;
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    self.err(
                        &key,
                        format!("environment variable {name:?} is not valid UTF-8"),
                    );
                    return None;
                }
            }
        };
        if text.trim().is_empty() {
            self.err(&key, "is empty");
            return None;
        }
        Some(Secret::new(text))
    }

    /// A webhook URL, which holds a token: errors say what is wrong, never what it is.
    fn secret_url(
        &mut self,
        value: Option<String>,
        file: Option<String>,
        env: Option<String>,
    ) -> Option<Secret<reqwest::Url>> {
        let text = self.secret("url", value, file, env)?;
        match reqwest::Url::parse(text.expose().trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(Secret::new(u)),
            Ok(_) => {
                self.err("url", "must be an http:// or https:// URL");
                None
            }
            Err(e) => {
                self.err("url", format!("invalid URL: {e}"));
                None
            }
        }
    }

    /// An endpoint URL that is not secret (PagerDuty's, Opsgenie's).
    fn url(&mut self, field: &str, text: &str) -> Option<reqwest::Url> {
        match reqwest::Url::parse(text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
            Ok(_) => {
                self.err(field, format!("{text:?} is not an http:// or https:// URL"));
                None
            }
            Err(e) => {
                self.err(field, format!("invalid URL {text:?}: {e}"));
                None
            }
        }
    }

    fn mailbox(&mut self, field: &str, text: &str) -> Option<Mailbox> {
        match text.parse::<Mailbox>() {
            Ok(m) => Some(m),
            Err(e) => {
                self.err(field, format!("invalid address {text:?}: {e}"));
                None
            }
        }
    }

    fn email(&mut self, e: RawEmail) -> Option<EmailConfig> {
        let tls = match e.tls.as_deref().unwrap_or("starttls") {
            "starttls" => SmtpTls::StartTls,
            "implicit" => SmtpTls::Implicit,
            "none" => SmtpTls::None,
            other => {
                self.err(
                    "tls",
                    format!(
                        "unknown tls {other:?}: expected \"starttls\", \"implicit\" or \"none\""
                    ),
                );
                SmtpTls::StartTls
            }
        };
        let port = e.port.unwrap_or(match tls {
            SmtpTls::StartTls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        });
        if e.host.trim().is_empty() {
            self.err("host", "must not be empty");
        }
        let ca_pem = e.ca_file.and_then(|path| {
            let path = self.base.join(path);
            match std::fs::read(&path) {
                Ok(pem) if lettre::transport::smtp::client::Certificate::from_pem(&pem).is_ok() => {
                    Some(pem)
                }
                Ok(_) => {
                    self.err(
                        "ca_file",
                        format!("{} is not a PEM certificate", path.display()),
                    );
                    None
                }
                Err(err) => {
                    self.err("ca_file", format!("cannot read {}: {err}", path.display()));
                    None
                }
            }
        });
        let has_password =
            e.password.is_some() || e.password_file.is_some() || e.password_env.is_some();
        let password = match (&e.username, has_password) {
            (Some(_), true) => self.secret("password", e.password, e.password_file, e.password_env),
            (None, false) => None,
            (Some(_), false) => {
                self.err(
                    "password",
                    "a username needs a password (`password`, `password_file` or `password_env`)",
                );
                None
            }
            (None, true) => {
                self.err("username", "a password needs a username");
                None
            }
        };
        let from = self.mailbox("from", &e.from);
        if e.to.is_empty() {
            self.err("to", "needs at least one address");
        }
        let to: Vec<Mailbox> =
            e.to.iter()
                .enumerate()
                .filter_map(|(i, a)| self.mailbox(&format!("to[{i}]"), a))
                .collect();
        let cc: Vec<Mailbox> =
            e.cc.iter()
                .enumerate()
                .filter_map(|(i, a)| self.mailbox(&format!("cc[{i}]"), a))
                .collect();
        Some(EmailConfig {
            host: e.host,
            port,
            tls,
            ca_pem,
            username: e.username,
            password,
            hello: e.hello,
            from: from?,
            to,
            cc,
        })
    }
}
