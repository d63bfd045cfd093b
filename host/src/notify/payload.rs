//! Alertmanager's webhook payload, version 4: what a `webhook_configs` receiver of a real
//! Alertmanager gets, so anything that consumes Alertmanager webhooks consumes campanile's.

use serde::Serialize;
use time::OffsetDateTime;

use super::Notification;
use crate::model::{go_time, AlertStatus, Fingerprint, Labels, ZERO_TIME};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage<'a> {
    pub receiver: &'a str,
    pub status: AlertStatus,
    pub alerts: Vec<WebhookAlert<'a>>,
    pub group_labels: &'a Labels,
    pub common_labels: Labels,
    pub common_annotations: Labels,
    #[serde(rename = "externalURL")]
    pub external_url: &'a str,
    pub version: &'static str,
    pub group_key: &'a str,
    pub truncated_alerts: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert<'a> {
    pub status: AlertStatus,
    pub labels: &'a Labels,
    pub annotations: &'a Labels,
    #[serde(serialize_with = "go_time")]
    pub starts_at: OffsetDateTime,
    #[serde(serialize_with = "go_time")]
    pub ends_at: OffsetDateTime,
    #[serde(rename = "generatorURL")]
    pub generator_url: &'a str,
    pub fingerprint: Fingerprint,
}

/// Builds the message for `n`, keeping at most `max_alerts` alerts (0 = all).
pub fn webhook_message(n: &Notification, max_alerts: usize) -> WebhookMessage<'_> {
    let flush = &n.flush;
    let mut alerts: Vec<WebhookAlert> = flush
        .alerts
        .iter()
        .filter(|a| n.send_resolved || a.status == AlertStatus::Firing)
        .map(|a| WebhookAlert {
            status: a.status,
            labels: &a.alert.labels,
            annotations: &a.alert.annotations,
            starts_at: a.alert.starts_at,
            // As Alertmanager does at flush time: a firing alert has no end yet.
            ends_at: match a.status {
                AlertStatus::Firing => ZERO_TIME,
                AlertStatus::Resolved => a.alert.end(),
            },
            generator_url: &a.alert.generator_url,
            fingerprint: a.alert.fingerprint,
        })
        .collect();
    let truncated_alerts = if max_alerts > 0 && alerts.len() > max_alerts {
        let extra = alerts.len() - max_alerts;
        alerts.truncate(max_alerts);
        extra
    } else {
        0
    };
    WebhookMessage {
        receiver: &n.receiver,
        status: flush.status(),
        alerts,
        group_labels: &flush.group_labels,
        common_labels: flush.common_labels(),
        common_annotations: flush.common_annotations(),
        external_url: &n.external_url,
        version: "4",
        group_key: &flush.key,
        truncated_alerts,
    }
}
