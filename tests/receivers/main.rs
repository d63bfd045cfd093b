//! Receivers against local peers that answer as the real services document — Slack,
//! Mattermost, Discord, Teams, PagerDuty, Opsgenie — and against a real SMTP server:
//!
//! - `chat.rs`: the exact JSON Slack, Mattermost, Discord and Teams receive, and how their
//!   refusals are retried (`Retry-After` in seconds, backoff after 5xx, no retry on 400);
//! - `incidents.rs`: PagerDuty's and Opsgenie's incident keys across trigger and resolve, a hang
//!   past the timeout, a 400 body logged without the key;
//! - `delivery.rs`: `Retry-After` as a date, the rate limit and queueing, a hanging receiver, a
//!   huge error body, `retry_for` as a deadline;
//! - `secrets.rs`: secrets never reach the log nor a config error;
//! - `email.rs`: the email receiver over SMTP, and routing to pager, chat and email at once.

#[path = "../harness/mod.rs"]
mod harness;

mod chat;
mod delivery;
mod email;
mod incidents;
mod secrets;

use std::time::Duration;

use serde_json::{json, Value};

use harness::*;

const STARTS_AT: &str = "2026-01-01T00:00:00Z";
const RUNBOOK: &str = "https://runbooks.example/disk";
const SOURCE: &str = "http://prometheus.example/graph?g0.expr=disk";

/// `receivers` (TOML) and a root route to `route_receiver`, with short timers.
fn config(receivers: &str, route_receiver: &str) -> String {
    format!(
        r#"
[server]
external_url = "https://campanile.example"

{receivers}

[route]
receiver = "{route_receiver}"
group_by = ["alertname"]
group_wait = "200ms"
group_interval = "1s"
repeat_interval = "1h"
"#
    )
}

/// A firing alert `name` with every annotation the default texts use.
fn alert(name: &str, severity: &str) -> Value {
    json!({
        "labels": {"alertname": name, "severity": severity, "instance": "db-1"},
        "annotations": {
            "summary": format!("{name} on db-1"),
            "description": "Disk almost full",
            "runbook_url": RUNBOOK,
        },
        "generatorURL": SOURCE,
        "startsAt": STARTS_AT,
    })
}

/// The same alert, resolved a second ago.
fn resolved(name: &str, severity: &str) -> Value {
    let mut a = alert(name, severity);
    a["endsAt"] = json!(rfc3339_from_now(time::Duration::seconds(-1)));
    a
}

async fn post(campanile: &Campanile, alerts: Value) {
    let reply = campanile.post_alerts(&alerts).await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

/// The webhook v4 alert campanile sends for [`alert`] (fingerprint left to [`normalise`]).
fn alert_v4(name: &str, severity: &str) -> Value {
    json!({
        "status": "firing",
        "labels": {"alertname": name, "severity": severity, "instance": "db-1"},
        "annotations": {
            "summary": format!("{name} on db-1"),
            "description": "Disk almost full",
            "runbook_url": RUNBOOK,
        },
        "startsAt": STARTS_AT,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": SOURCE,
        "fingerprint": "<fingerprint>",
    })
}

/// Replaces the value at each JSON pointer with `"<what>"` after checking it looks right:
/// times are RFC 3339, fingerprints 16 hex digits.
fn normalise(mut v: Value, pointers: &[&str]) -> Value {
    for p in pointers {
        let slot = v
            .pointer_mut(p)
            .unwrap_or_else(|| panic!("no {p} in the request"));
        let text = slot.as_str().unwrap_or_default().to_string();
        let placeholder = if p.ends_with("fingerprint") {
            assert!(is_fingerprint(&text), "{p}: {text:?}");
            "<fingerprint>"
        } else {
            time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|e| panic!("{p}: {text:?} is not RFC 3339: {e}"));
            "<time>"
        };
        *slot = json!(placeholder);
    }
    v
}

fn default_text(name: &str, severity: &str) -> String {
    format!(
        "[firing] {name} on db-1\n  Disk almost full\n  labels: {{alertname=\"{name}\", instance=\"db-1\", severity=\"{severity}\"}}\n  runbook: {RUNBOOK}\n  source: {SOURCE}\n"
    )
}

fn markdown(name: &str, severity: &str, line_break: &str) -> String {
    format!(
        "Group: alertname={name}\n\n**FIRING** {name} on db-1{line_break}Disk almost full{line_break}[Runbook]({RUNBOOK}) · [Source]({SOURCE}){line_break}Labels: alertname={name}, instance=db-1, severity={severity}"
    )
}

fn gap(a: &Received, b: &Received) -> Duration {
    b.at.duration_since(a.at)
}

/// Asserts nothing more arrives at `peer` for a while (no retry, no duplicate).
async fn no_more_than(peer: &HttpPeer, count: usize, window: Duration) {
    stays_true(&format!("at most {count} request(s)"), window, async || {
        if peer.requests().len() <= count {
            Ok(())
        } else {
            Err(peer.summary())
        }
    })
    .await;
}
