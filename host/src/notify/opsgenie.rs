//! The `opsgenie` integration: Alert API v2. A firing group creates (or updates) an alert whose
//! `alias` is the group's [`incident::key`]; a resolved group closes it by that alias.
//!
//! Limits (Opsgenie's documentation): message 130 characters, description 15000, 20 tags of 50,
//! details 8000 characters in all, source 100.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::http::post_json;
use super::integrations::{json, Integration};
use super::{incident, render, severity, truncate, BoxFuture, Notification, Notifier, NotifyError};
use crate::config::{DeliveryConfig, OpsgenieConfig};
use crate::model::AlertStatus;
use crate::model::Severity;

const MESSAGE_CHARS: usize = 130;
const DESCRIPTION_CHARS: usize = 15_000;
const DETAILS_CHARS: usize = 8000;
const SOURCE_CHARS: usize = 100;
const MAX_TAGS: usize = 20;
const TAG_CHARS: usize = 50;

pub struct Opsgenie {
    client: reqwest::Client,
    config: OpsgenieConfig,
}

impl Opsgenie {
    pub fn new(client: reqwest::Client, config: OpsgenieConfig) -> Self {
        Opsgenie { client, config }
    }

    async fn post(&self, n: &Notification) -> Result<(), NotifyError> {
        let key = self.config.api_key.expose();
        let (url, body) = match n.flush.status() {
            AlertStatus::Firing => (self.config.url.clone(), create(n, &self.config)),
            AlertStatus::Resolved => (
                close_url(&self.config.url, &incident::key(n)),
                close(n, &self.config),
            ),
        };
        let request = self
            .client
            .post(url)
            .header("authorization", format!("GenieKey {key}"));
        post_json(request, &body, &[key.as_str()]).await
    }
}

impl Notifier for Opsgenie {
    fn integration(&self) -> &'static str {
        "opsgenie"
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.post(n))
    }
}

/// `{url}/{alias}/close?identifierType=alias`.
pub fn close_url(url: &reqwest::Url, alias: &str) -> reqwest::Url {
    let mut u = url.clone();
    u.path_segments_mut()
        .expect("checked when the configuration was compiled")
        .pop_if_empty()
        .push(alias)
        .push("close");
    u.set_query(Some("identifierType=alias"));
    u
}

/// critical → P1, error → P2, warning → P3, info → P5; else the configured priority.
pub fn priority(n: &Notification, config: &OpsgenieConfig) -> String {
    match severity::of(n) {
        Some(Severity::Critical) => "P1".into(),
        Some(Severity::Error) => "P2".into(),
        Some(Severity::Warning) => "P3".into(),
        Some(Severity::Info) => "P5".into(),
        None => config.priority.clone(),
    }
}

/// The group's common labels and counts, within 8000 characters.
fn details(n: &Notification) -> Map<String, Value> {
    let mut out = Map::new();
    let mut used = 0;
    let firing = n.flush.firing_count();
    let counts = [
        ("firing".to_string(), firing.to_string()),
        (
            "resolved".to_string(),
            (n.flush.alerts.len() - firing).to_string(),
        ),
    ];
    let labels = n.flush.common_labels();
    let pairs = labels.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    for (k, v) in counts.into_iter().chain(pairs) {
        used += k.chars().count() + v.chars().count();
        if used > DETAILS_CHARS {
            break;
        }
        out.insert(k, Value::String(v));
    }
    out
}

pub fn create(n: &Notification, config: &OpsgenieConfig) -> Value {
    let tags: Vec<String> = config
        .tags
        .iter()
        .take(MAX_TAGS)
        .map(|t| truncate::line(t, TAG_CHARS))
        .collect();
    json!({
        "message": truncate::line(&render::title(n), MESSAGE_CHARS),
        "alias": incident::key(n),
        "description": truncate::chars(&render::text_body(n), DESCRIPTION_CHARS),
        "priority": priority(n, config),
        "source": truncate::line(&config.source, SOURCE_CHARS),
        "tags": tags,
        "details": details(n),
    })
}

pub fn close(n: &Notification, config: &OpsgenieConfig) -> Value {
    json!({
        "source": truncate::line(&config.source, SOURCE_CHARS),
        "note": truncate::chars(&format!("Resolved: {}", render::title(n)), 25_000),
    })
}

impl Integration for OpsgenieConfig {
    fn notifier(&self, client: &reqwest::Client, _: &DeliveryConfig) -> Arc<dyn Notifier> {
        Arc::new(Opsgenie::new(client.clone(), self.clone()))
    }

    /// A firing group's create body; a resolved group's close body followed by its URL.
    fn render(&self, n: &Notification) -> Vec<u8> {
        match n.flush.status() {
            AlertStatus::Firing => json(&create(n, self)),
            AlertStatus::Resolved => {
                let url = close_url(&self.url, &incident::key(n));
                let mut out = json(&close(n, self));
                out.extend_from_slice(url.as_str().as_bytes());
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::notify::render::tests::disk_full;

    fn config() -> OpsgenieConfig {
        OpsgenieConfig {
            url: "https://api.eu.opsgenie.com/v2/alerts".parse().unwrap(),
            api_key: Secret::new("KEY".into()),
            priority: "P4".into(),
            source: "campanile".into(),
            tags: vec!["a".into(); 30],
        }
    }

    #[test]
    fn close_by_alias() {
        let u = close_url(&config().url, "abc");
        assert_eq!(
            u.as_str(),
            "https://api.eu.opsgenie.com/v2/alerts/abc/close?identifierType=alias"
        );
        let slash = "http://127.0.0.1:1/v2/alerts/".parse().unwrap();
        assert_eq!(
            close_url(&slash, "abc").as_str(),
            "http://127.0.0.1:1/v2/alerts/abc/close?identifierType=alias"
        );
    }

    #[test]
    fn priorities_and_limits() {
        let mut n = disk_full();
        assert_eq!(priority(&n, &config()), "P1");
        n.severity = Some(Severity::Info);
        assert_eq!(priority(&n, &config()), "P5");
        n.title = Some("m".repeat(500));
        let c = create(&n, &config());
        assert_eq!(
            c["message"].as_str().unwrap().chars().count(),
            MESSAGE_CHARS
        );
        assert_eq!(c["tags"].as_array().unwrap().len(), MAX_TAGS);
        assert_eq!(c["details"]["alertname"], "DiskFull");
        assert_eq!(c["alias"], incident::key(&n));
    }
}
