//! `POST /api/v1/alertmanager`: the body a real Alertmanager POSTs to a `webhook_configs`
//! receiver (payload version 4). Campanile re-derives each alert's fingerprint from its labels,
//! which gives the same value Alertmanager sent.
//!
//! Firing alerts in this payload carry Go's zero `endsAt`: Alertmanager says when they resolve
//! and re-sends them at its repeat interval, so they get `webhook_resolve_timeout` as their
//! end instead of the shorter API v2 resolve timeout.

use std::borrow::Cow;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use super::validate::{finish, parse_time, AlertError, Draft, LastUrl};
use crate::model::{Alert, Labels};

#[derive(Deserialize)]
struct Message<'a> {
    version: String,
    #[serde(borrow)]
    alerts: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebhookAlert {
    status: String,
    /// `None` when absent or `null`: the schema requires it (422).
    #[serde(default)]
    labels: Option<Labels>,
    #[serde(default)]
    annotations: Labels,
    starts_at: Option<String>,
    ends_at: Option<String>,
    #[serde(rename = "generatorURL", default)]
    generator_url: Option<String>,
}

pub fn decode(
    body: &[u8],
    now: OffsetDateTime,
    resolve_timeout: Duration,
) -> Result<Vec<Result<Alert, AlertError>>, String> {
    let msg: Message = serde_json::from_slice(body).map_err(|e| {
        format!("parsing webhook body failed: expected an Alertmanager webhook message: {e}")
    })?;
    if msg.version != "4" {
        return Err(format!(
            "unsupported webhook payload version {:?}: campanile reads version \"4\"",
            msg.version
        ));
    }
    let mut urls = LastUrl::default();
    Ok(msg
        .alerts
        .into_iter()
        .map(|raw| {
            let a: WebhookAlert = serde_json::from_str(raw.get())
                .map_err(|e| AlertError::Malformed(format!("invalid alert: {e}")))?;
            let mut ends_at = parse_time("endsAt", a.ends_at.as_deref())?;
            match a.status.as_str() {
                "firing" => {}
                // A resolved alert without an end ended when we heard of it.
                "resolved" => ends_at = Some(ends_at.unwrap_or(now).min(now)),
                other => {
                    return Err(AlertError::Invalid(format!(
                        "invalid status {other:?}: expected \"firing\" or \"resolved\""
                    )))
                }
            }
            let draft = Draft {
                labels: a.labels,
                annotations: a.annotations,
                starts_at: parse_time("startsAt", a.starts_at.as_deref())?,
                ends_at,
                generator_url: a.generator_url.map(Cow::Owned).unwrap_or_default(),
            };
            finish(draft, now, resolve_timeout, &mut urls)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/alertmanager-0.25/"
        );
        std::fs::read(format!("{path}{name}")).unwrap()
    }

    #[test]
    fn decodes_alertmanager_payloads_with_the_same_fingerprints() {
        let now = OffsetDateTime::now_utc();
        let body = fixture("webhook-v4-partly-resolved-postgres.json");
        let sent: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let alerts = decode(&body, now, Duration::from_secs(3600)).unwrap();
        assert_eq!(alerts.len(), 2);
        for (a, s) in alerts.iter().zip(sent["alerts"].as_array().unwrap()) {
            let a = a.as_ref().unwrap();
            assert_eq!(
                a.fingerprint.to_string(),
                s["fingerprint"].as_str().unwrap()
            );
            let resolved = s["status"] == "resolved";
            assert_eq!(a.resolved_at(now), resolved);
            assert_eq!(
                a.timeout, !resolved,
                "firing alerts have no end of their own"
            );
        }
    }

    #[test]
    fn rejects_other_versions() {
        let err = decode(
            br#"{"version":"3","alerts":[]}"#,
            OffsetDateTime::now_utc(),
            Duration::ZERO,
        )
        .unwrap_err();
        assert!(err.contains("version"));
    }
}
