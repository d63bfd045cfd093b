//! The `pagerduty` integration: Events API v2. A firing group is a `trigger`, a resolved one a
//! `resolve`, both with the group's [`incident::key`] as `dedup_key`, so the resolve closes the
//! incident the trigger opened.
//!
//! Limits (PagerDuty's documentation): summary 1024 characters, the whole event 512 KB. The text
//! body (which repeats the alerts) gets at most a quarter of that; past the limit, alerts are
//! left out of `custom_details` (and counted in `truncated_alerts`).

use std::sync::Arc;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use super::http::post_json;
use super::integrations::{json, Integration};
use super::payload::webhook_message;
use super::{incident, render, severity, truncate, BoxFuture, Notification, Notifier, NotifyError};
use crate::config::{DeliveryConfig, PagerDutyConfig};
use crate::model::AlertStatus;

const SUMMARY_CHARS: usize = 1024;
const EVENT_BYTES: usize = 512 * 1024;
/// The text body repeats what the alerts say: it gets at most a quarter of the event.
const BODY_BYTES: usize = EVENT_BYTES / 4;
/// Links sent with an event: each distinct runbook and source.
const MAX_LINKS: usize = 20;

pub struct PagerDuty {
    client: reqwest::Client,
    config: PagerDutyConfig,
}

impl PagerDuty {
    pub fn new(client: reqwest::Client, config: PagerDutyConfig) -> Self {
        PagerDuty { client, config }
    }

    async fn post(&self, n: &Notification) -> Result<(), NotifyError> {
        let event = event(n, &self.config);
        let key = self.config.routing_key.expose();
        post_json(
            self.client.post(self.config.url.clone()),
            &event,
            &[key.as_str()],
        )
        .await
    }
}

impl Notifier for PagerDuty {
    fn integration(&self) -> &'static str {
        "pagerduty"
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.post(n))
    }
}

/// The `source`: configured, else the alerts' common `instance`, else `campanile`.
fn source(n: &Notification, config: &PagerDutyConfig) -> String {
    config
        .source
        .clone()
        .or_else(|| n.flush.common_labels().get("instance").map(str::to_string))
        .unwrap_or_else(|| "campanile".to_string())
}

fn links(n: &Notification) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for v in render::views(n) {
        let name = v.labels.get("alertname").unwrap_or(v.headline);
        for (kind, url) in [("Runbook", v.runbook), ("Source", v.source)] {
            if let Some(url) = url.filter(|u| !seen.contains(u)) {
                seen.push(url);
                out.push(json!({"href": url, "text": format!("{kind}: {name}")}));
            }
        }
    }
    out.truncate(MAX_LINKS);
    out
}

/// The event to enqueue, with the routing key.
pub fn event(n: &Notification, config: &PagerDutyConfig) -> Value {
    let action = match n.flush.status() {
        AlertStatus::Firing => "trigger",
        AlertStatus::Resolved => "resolve",
    };
    let severity = severity::of(n).unwrap_or(config.severity);
    let alerts = serde_json::to_value(webhook_message(n, 0).alerts).expect("alerts serialise");
    let mut event = json!({
        "routing_key": config.routing_key.expose(),
        "event_action": action,
        "dedup_key": incident::key(n),
        "payload": {
            "summary": truncate::line(&render::title(n), SUMMARY_CHARS),
            "source": source(n, config),
            "severity": severity.as_str(),
            "timestamp": n.flush.at.format(&Rfc3339).unwrap_or_default(),
            "custom_details": {
                "firing": n.flush.firing_count(),
                "resolved": n.flush.alerts.len() - n.flush.firing_count(),
                "group_labels": n.flush.group_labels,
                "body": truncate::bytes(&render::text_body(n), BODY_BYTES),
                "alerts": alerts,
            },
        },
        "client": "campanile",
        "client_url": &*n.external_url,
        "links": links(n),
    });
    fit(&mut event);
    event
}

/// Keeps the event under PagerDuty's 512 KB: leaves alerts out of `custom_details` (counting
/// them in `truncated_alerts`), then cuts the body.
fn fit(event: &mut Value) {
    let size = |e: &Value| serde_json::to_vec(e).map_or(0, |v| v.len());
    let details = "/payload/custom_details";
    let mut left_out = 0;
    while size(event) > EVENT_BYTES {
        let alerts = event
            .pointer_mut(&format!("{details}/alerts"))
            .and_then(Value::as_array_mut);
        match alerts {
            Some(a) if !a.is_empty() => {
                let drop = a.len().div_ceil(2);
                a.truncate(a.len() - drop);
                left_out += drop;
                event.pointer_mut(details).expect("details")["truncated_alerts"] = json!(left_out);
            }
            _ => {
                let over = size(event) - EVENT_BYTES;
                let body = event.pointer_mut(&format!("{details}/body")).expect("body");
                let text = body.as_str().unwrap_or_default();
                *body = json!(truncate::bytes(text, text.len().saturating_sub(over + 64)));
                if size(event) > EVENT_BYTES {
                    // Nothing else is large: only group labels could be; give up on them.
                    event.pointer_mut(details).expect("details")["group_labels"] = json!({});
                }
                return;
            }
        }
    }
}

impl Integration for PagerDutyConfig {
    fn notifier(&self, client: &reqwest::Client, _: &DeliveryConfig) -> Arc<dyn Notifier> {
        Arc::new(PagerDuty::new(client.clone(), self.clone()))
    }

    fn render(&self, n: &Notification) -> Vec<u8> {
        json(&event(n, self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::model::Severity;
    use crate::notify::render::tests::{alert, disk_full, notification};

    fn config() -> PagerDutyConfig {
        PagerDutyConfig {
            url: "http://127.0.0.1:1/v2/enqueue".parse().unwrap(),
            routing_key: Secret::new("R0UTING".into()),
            source: None,
            severity: Severity::Error,
        }
    }

    #[test]
    fn trigger_with_severity_links_and_details() {
        let e = event(&disk_full(), &config());
        assert_eq!(e["event_action"], "trigger");
        assert_eq!(e["routing_key"], "R0UTING");
        assert_eq!(e["payload"]["severity"], "critical");
        assert_eq!(e["payload"]["summary"], "[FIRING:1] DiskFull");
        assert_eq!(e["payload"]["source"], "campanile");
        assert_eq!(e["payload"]["custom_details"]["firing"], 1);
        assert_eq!(e["payload"]["custom_details"]["resolved"], 1);
        assert_eq!(
            e["links"],
            json!([
                {"href": "https://runbooks.test/disk", "text": "Runbook: DiskFull"},
                {"href": "http://prometheus.test/graph?g0.expr=disk", "text": "Source: DiskFull"},
            ])
        );
    }

    #[test]
    fn plugin_severity_wins_and_unknown_falls_back() {
        let mut n = disk_full();
        n.severity = Some(Severity::Warning);
        assert_eq!(event(&n, &config())["payload"]["severity"], "warning");
        let n = notification(vec![alert(
            AlertStatus::Firing,
            &[("alertname", "X"), ("instance", "h1")],
            &[],
            "",
        )]);
        let e = event(&n, &config());
        assert_eq!(e["payload"]["severity"], "error");
        assert_eq!(e["payload"]["source"], "h1");
    }

    #[test]
    fn huge_groups_fit_in_512_kb() {
        let big = "x".repeat(10_000);
        let alerts = (0..200)
            .map(|i| {
                alert(
                    AlertStatus::Firing,
                    &[("alertname", "Big"), ("i", &i.to_string())],
                    &[("summary", &big)],
                    "",
                )
            })
            .collect();
        let mut n = notification(alerts);
        n.title = Some("t".repeat(5000));
        let e = event(&n, &config());
        let size = serde_json::to_vec(&e).unwrap().len();
        assert!(size <= EVENT_BYTES, "{size} bytes");
        let details = &e["payload"]["custom_details"];
        let kept = details["alerts"].as_array().unwrap().len();
        assert_eq!(details["truncated_alerts"], 200 - kept);
        assert_eq!(
            e["payload"]["summary"].as_str().unwrap().chars().count(),
            SUMMARY_CHARS
        );
    }
}
