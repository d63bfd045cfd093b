//! Receivers against local peers that answer as the real services document: Slack, Mattermost,
//! Discord, Teams, PagerDuty and Opsgenie. Asserts the exact JSON each receives, the retry
//! schedule (backoff, `Retry-After` in seconds and as a date, timeouts, no retry on 400), the
//! rate limit and queueing, PagerDuty's and Opsgenie's incident keys across trigger and
//! resolve, and that secrets never reach the log.

#[path = "harness/mod.rs"]
mod harness;

use std::time::{Duration, SystemTime};

use harness::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

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

/// The incident key for a group of the root route grouped by alertname.
fn incident_key(receiver: &str, alertname: &str) -> String {
    let mut h = Sha256::new();
    h.update(receiver.as_bytes());
    h.update([0]);
    h.update(format!("{{}}:{{alertname=\"{alertname}\"}}").as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
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

#[tokio::test]
async fn slack_gets_text_and_blocks_from_a_url_file() {
    let peer = HttpPeer::answering(Answer::slack_ok()).await;
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("slack-url");
    std::fs::write(
        &url_file,
        format!("{}\n", peer.url("/services/T0/B0/s3cr3t")),
    )
    .unwrap();
    let campanile = Campanile::start(&config(
        &format!(
            r##"
[[receivers]]
name = "chat"
type = "slack"
url_file = '{}'
channel = "#alerts"
username = "campanile"
"##,
            url_file.display()
        ),
        "chat",
    ))
    .await;
    post(&campanile, json!([alert("SlackDisk", "warning")])).await;
    let requests = peer.wait_for(1).await;
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/services/T0/B0/s3cr3t")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        &json!({
            "text": "[FIRING:1] SlackDisk",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "[FIRING:1] SlackDisk", "emoji": true}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "Group: alertname=SlackDisk"}]},
                {"type": "section", "text": {"type": "mrkdwn", "text": format!(
                    "*FIRING* SlackDisk on db-1\nDisk almost full\n<{RUNBOOK}|Runbook> · <{SOURCE}|Source>\nLabels: alertname=SlackDisk, instance=db-1, severity=warning"
                )}},
            ],
            "channel": "#alerts",
            "username": "campanile",
        })
    );
    // Slack's receivers default to send_resolved = false, as in Alertmanager.
    post(&campanile, json!([resolved("SlackDisk", "warning")])).await;
    no_more_than(&peer, 1, Duration::from_secs(3)).await;
    assert!(
        !campanile.log().contains("s3cr3t"),
        "the URL's token was logged"
    );
}

#[tokio::test]
async fn slack_429_is_retried_after_retry_after_seconds() {
    let peer = HttpPeer::answering(Answer::slack_ok()).await;
    peer.script([Answer::new(429, "rate_limited").header("retry-after", "2")]);
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"chat\"\ntype = \"slack\"\nurl = \"{}\"\n",
            peer.url("/hook")
        ),
        "chat",
    ))
    .await;
    post(&campanile, json!([alert("Limited", "warning")])).await;
    let requests = peer.wait_for(2).await;
    assert_eq!(requests[0].answered, 429);
    assert_eq!(
        requests[0].json(),
        requests[1].json(),
        "the same message again"
    );
    let waited = gap(&requests[0], &requests[1]);
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
    no_more_than(&peer, 2, Duration::from_secs(2)).await;
    wait_until("the retry counted", PATIENCE, async || {
        let retries = campanile
            .metric(
                "campanile_notification_retries_total",
                &[("receiver", "chat")],
            )
            .await;
        let sent = campanile
            .metric(
                "campanile_notifications_total",
                &[
                    ("receiver", "chat"),
                    ("outcome", "sent"),
                    ("integration", "slack"),
                ],
            )
            .await;
        if retries == 1.0 && sent == 1.0 {
            Ok(())
        } else {
            Err(format!("retries {retries}, sent {sent}"))
        }
    })
    .await;
}

#[tokio::test]
async fn mattermost_gets_markdown_text() {
    let peer = HttpPeer::answering(Answer::slack_ok()).await;
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"mm\"\ntype = \"mattermost\"\nurl = \"{}\"\nchannel = \"town-square\"\n",
            peer.url("/hooks/abc")
        ),
        "mm",
    ))
    .await;
    post(&campanile, json!([alert("MmDisk", "warning")])).await;
    let requests = peer.wait_for(1).await;
    assert_eq!(
        requests[0].json(),
        &json!({
            "text": format!("#### [FIRING:1] MmDisk\n\n{}", markdown("MmDisk", "warning", "\n")),
            "channel": "town-square",
        })
    );
}

#[tokio::test]
async fn discord_gets_content_and_an_embed() {
    let peer = HttpPeer::answering(Answer::no_content()).await;
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"dc\"\ntype = \"discord\"\nurl = \"{}\"\nusername = \"campanile\"\n",
            peer.url("/api/webhooks/1/tok")
        ),
        "dc",
    ))
    .await;
    post(&campanile, json!([alert("DcDisk", "warning")])).await;
    let requests = peer.wait_for(1).await;
    assert_eq!(
        normalise(requests[0].json().clone(), &["/embeds/0/timestamp"]),
        json!({
            "content": "[FIRING:1] DcDisk",
            "embeds": [{
                "title": "[FIRING:1] DcDisk",
                "description": markdown("DcDisk", "warning", "\n"),
                "color": 0xF2C744,
                "timestamp": "<time>",
            }],
            "allowed_mentions": {"parse": []},
            "username": "campanile",
        })
    );
}

#[tokio::test]
async fn discord_400_is_not_retried_and_its_body_is_logged() {
    let peer = HttpPeer::answering(Answer::no_content()).await;
    peer.script([Answer::new(
        400,
        r#"{"message": "Cannot send an empty message", "code": 50006}"#,
    )
    .header("content-type", "application/json")]);
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"dc\"\ntype = \"discord\"\nurl = \"{}\"\n",
            peer.url("/api/webhooks/1/tok")
        ),
        "dc",
    ))
    .await;
    post(&campanile, json!([alert("Refused", "warning")])).await;
    peer.wait_for(1).await;
    no_more_than(&peer, 1, Duration::from_secs(3)).await;
    wait_until(
        "the permanent failure in the log and metrics",
        PATIENCE,
        async || {
            let failed = campanile
                .metric(
                    "campanile_notifications_total",
                    &[("receiver", "dc"), ("outcome", "failed")],
                )
                .await;
            let log = campanile.log();
            if failed == 1.0 && log.contains("Cannot send an empty message") {
                Ok(())
            } else {
                Err(format!("failed = {failed}"))
            }
        },
    )
    .await;
}

#[tokio::test]
async fn msteams_card_after_5xx_with_growing_backoff() {
    let peer = HttpPeer::answering(Answer::accepted()).await;
    peer.script([Answer::new(500, "oops"), Answer::new(503, "busy")]);
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"teams\"\ntype = \"msteams\"\nurl = \"{}\"\n",
            peer.url("/workflows/abc/triggers/manual/paths/invoke")
        ),
        "teams",
    ))
    .await;
    post(&campanile, json!([alert("TeamsDisk", "warning")])).await;
    let requests = peer.wait_for(3).await;
    let answered: Vec<u16> = requests.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [500, 503, 202]);
    // Exponential backoff with jitter: at least half of 250 ms, then of 500 ms.
    let (first, second) = (
        gap(&requests[0], &requests[1]),
        gap(&requests[1], &requests[2]),
    );
    assert!(
        first >= Duration::from_millis(125),
        "first retry after {first:?}"
    );
    assert!(
        second >= Duration::from_millis(250),
        "second retry after {second:?}"
    );
    no_more_than(&peer, 3, Duration::from_secs(1)).await;
    assert_eq!(
        requests[2].json(),
        &json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "msteams": {"width": "Full"},
                    "body": [
                        {"type": "TextBlock", "text": "[FIRING:1] TeamsDisk", "weight": "Bolder", "size": "Large", "color": "Warning", "wrap": true},
                        {"type": "TextBlock", "text": markdown("TeamsDisk", "warning", "\n\n"), "wrap": true},
                    ],
                    "actions": [
                        {"type": "Action.OpenUrl", "title": "Source", "url": SOURCE},
                        {"type": "Action.OpenUrl", "title": "Runbook", "url": RUNBOOK},
                    ],
                },
            }],
        })
    );
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let peer = HttpPeer::answering(Answer::accepted()).await;
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3));
    peer.script([Answer::new(429, "slow down").header("retry-after", &at)]);
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"teams\"\ntype = \"msteams\"\nurl = \"{}\"\n",
            peer.url("/invoke")
        ),
        "teams",
    ))
    .await;
    post(&campanile, json!([alert("Dated", "warning")])).await;
    let requests = peer.wait_for(2).await;
    // The date has whole seconds: it is at least 2 s after the script was set.
    let waited = gap(&requests[0], &requests[1]);
    assert!(
        waited >= Duration::from_millis(1500),
        "retried after {waited:?}"
    );
}

fn pagerduty_receiver(peer: &HttpPeer, extra: &str) -> String {
    format!(
        "[[receivers]]\nname = \"pager\"\ntype = \"pagerduty\"\nurl = \"{}\"\n{extra}\n",
        peer.url("/v2/enqueue")
    )
}

#[tokio::test]
async fn pagerduty_trigger_and_resolve_share_one_dedup_key() {
    let peer = HttpPeer::answering(Answer::pagerduty_accepted()).await;
    let env = format!("CAMPANILE_TEST_PD_KEY_{}", std::process::id());
    std::env::set_var(&env, "R0UTINGKEY0000000000000000000000");
    let campanile = Campanile::start(&config(
        &pagerduty_receiver(&peer, &format!("routing_key_env = \"{env}\"")),
        "pager",
    ))
    .await;
    post(&campanile, json!([alert("PdDisk", "critical")])).await;
    let requests = peer.wait_for(1).await;
    let key = incident_key("pager", "PdDisk");
    assert_eq!(requests[0].path, "/v2/enqueue");
    assert_eq!(
        normalise(
            requests[0].json().clone(),
            &[
                "/payload/timestamp",
                "/payload/custom_details/alerts/0/fingerprint"
            ]
        ),
        json!({
            "routing_key": "R0UTINGKEY0000000000000000000000",
            "event_action": "trigger",
            "dedup_key": key,
            "payload": {
                "summary": "[FIRING:1] PdDisk",
                "source": "db-1",
                "severity": "critical",
                "timestamp": "<time>",
                "custom_details": {
                    "firing": 1,
                    "resolved": 0,
                    "group_labels": {"alertname": "PdDisk"},
                    "body": default_text("PdDisk", "critical"),
                    "alerts": [alert_v4("PdDisk", "critical")],
                },
            },
            "client": "campanile",
            "client_url": "https://campanile.example",
            "links": [
                {"href": RUNBOOK, "text": "Runbook: PdDisk"},
                {"href": SOURCE, "text": "Source: PdDisk"},
            ],
        })
    );

    post(&campanile, json!([resolved("PdDisk", "critical")])).await;
    let requests = peer.wait_for(2).await;
    let resolve = requests[1].json();
    assert_eq!(resolve["event_action"], "resolve", "{resolve}");
    assert_eq!(resolve["dedup_key"], requests[0].json()["dedup_key"]);
    assert_eq!(resolve["dedup_key"], key.as_str());
    assert_eq!(resolve["payload"]["summary"], "[RESOLVED] PdDisk");
    assert_eq!(
        resolve["payload"]["custom_details"]["alerts"][0]["status"],
        "resolved"
    );
    assert!(
        !campanile.log().contains("R0UTINGKEY"),
        "the routing key was logged"
    );
}

#[tokio::test]
async fn pagerduty_hang_past_the_timeout_is_retried() {
    let peer = HttpPeer::answering(Answer::pagerduty_accepted()).await;
    peer.script([Answer::pagerduty_accepted().delay(Duration::from_secs(30))]);
    let campanile = Campanile::start(&config(
        &pagerduty_receiver(&peer, "routing_key = \"k\"\ntimeout = \"500ms\""),
        "pager",
    ))
    .await;
    post(&campanile, json!([alert("Hung", "error")])).await;
    let requests = peer.wait_for(2).await;
    assert_eq!(requests[0].json(), requests[1].json());
    let waited = gap(&requests[0], &requests[1]);
    assert!(
        waited >= Duration::from_millis(500),
        "retried after {waited:?}"
    );
    assert_eq!(requests[1].json()["payload"]["severity"], "error");
    assert!(
        campanile
            .log()
            .contains("no answer within the timeout of 500ms"),
        "the timeout is not in the log"
    );
    no_more_than(&peer, 2, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn pagerduty_400_body_is_logged_without_the_routing_key() {
    let peer = HttpPeer::answering(Answer::pagerduty_accepted()).await;
    let secret = "S3CRETROUTINGKEY";
    peer.script([Answer::new(
        400,
        &format!(
            r#"{{"status":"invalid event","message":"Event object is invalid","errors":["Invalid routing key {secret}"]}}"#
        ),
    )]);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("pd-key");
    std::fs::write(&key_file, secret).unwrap();
    let campanile = Campanile::start(&config(
        &pagerduty_receiver(
            &peer,
            &format!("routing_key_file = '{}'", key_file.display()),
        ),
        "pager",
    ))
    .await;
    post(&campanile, json!([alert("BadKey", "critical")])).await;
    let requests = peer.wait_for(1).await;
    assert_eq!(requests[0].json()["routing_key"], secret, "sent as given");
    no_more_than(&peer, 1, Duration::from_secs(2)).await;
    wait_until("the failure logged", PATIENCE, async || {
        let log = campanile.log();
        if log.contains("Event object is invalid") {
            Ok(log)
        } else {
            Err("not yet".to_string())
        }
    })
    .await;
    let log = campanile.log();
    assert!(log.contains("Invalid routing key <redacted>"), "{log}");
    assert!(!log.contains(secret), "the routing key reached the log");
}

#[tokio::test]
async fn opsgenie_creates_then_closes_by_alias() {
    let peer = HttpPeer::answering(Answer::opsgenie_accepted()).await;
    let env = format!("CAMPANILE_TEST_OG_KEY_{}", std::process::id());
    std::env::set_var(&env, "eb243592-faa2-4ba2-a551q-1afdf565c889");
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"genie\"\ntype = \"opsgenie\"\nurl = \"{}\"\napi_key_env = \"{env}\"\ntags = [\"db\", \"prod\"]\n",
            peer.url("/v2/alerts")
        ),
        "genie",
    ))
    .await;
    post(&campanile, json!([alert("OgDisk", "critical")])).await;
    let requests = peer.wait_for(1).await;
    let alias = incident_key("genie", "OgDisk");
    let create = &requests[0];
    assert_eq!(
        (create.path.as_str(), create.query.as_deref()),
        ("/v2/alerts", None)
    );
    assert_eq!(
        create.header("authorization"),
        Some("GenieKey eb243592-faa2-4ba2-a551q-1afdf565c889")
    );
    assert_eq!(
        create.json(),
        &json!({
            "message": "[FIRING:1] OgDisk",
            "alias": alias,
            "description": default_text("OgDisk", "critical"),
            "priority": "P1",
            "source": "campanile",
            "tags": ["db", "prod"],
            "details": {
                "firing": "1",
                "resolved": "0",
                "alertname": "OgDisk",
                "instance": "db-1",
                "severity": "critical",
            },
        })
    );

    post(&campanile, json!([resolved("OgDisk", "critical")])).await;
    let requests = peer.wait_for(2).await;
    let close = &requests[1];
    assert_eq!(close.method, "POST");
    assert_eq!(close.path, format!("/v2/alerts/{alias}/close"));
    assert_eq!(close.query.as_deref(), Some("identifierType=alias"));
    assert_eq!(
        close.json(),
        &json!({"source": "campanile", "note": "Resolved: [RESOLVED] OgDisk"})
    );
    assert!(
        !campanile.log().contains("eb243592"),
        "the API key was logged"
    );
}

#[tokio::test]
async fn rate_limit_spaces_attempts_and_waiting_ones_are_queued() {
    let peer = HttpPeer::answering(Answer::slack_ok()).await;
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"chat\"\ntype = \"slack\"\nurl = \"{}\"\nconcurrency = 1\nrate_limit = {{ per_second = 2.0, burst = 1 }}\n",
            peer.url("/hook")
        ),
        "chat",
    ))
    .await;
    let names = ["Storm1", "Storm2", "Storm3", "Storm4", "Storm5"];
    let alerts: Vec<Value> = names.iter().map(|n| alert(n, "warning")).collect();
    post(&campanile, json!(alerts)).await;
    let requests = peer.wait_for(names.len()).await;
    for pair in requests.windows(2) {
        // 2 per second: 500 ms apart, less what loopback jitter may take off.
        let g = gap(&pair[0], &pair[1]);
        assert!(g >= Duration::from_millis(400), "attempts {g:?} apart");
    }
    let mut got: Vec<String> = requests
        .iter()
        .map(|r| {
            r.json()["blocks"][1]["elements"][0]["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    got.sort();
    let want: Vec<String> = names
        .iter()
        .map(|n| format!("Group: alertname={n}"))
        .collect();
    assert_eq!(got, want, "every group delivered once");
}

#[tokio::test]
async fn a_hanging_receiver_queues_its_work_and_delays_no_other() {
    let slow = HttpPeer::answering(Answer::slack_ok()).await;
    slow.script([Answer::slack_ok().held()]);
    let fast = HttpPeer::answering(Answer::no_content()).await;
    let campanile = Campanile::start(&format!(
        r#"
[[receivers]]
name = "slow"
type = "slack"
url = "{slow}"
concurrency = 1
timeout = "30s"
rate_limit = {{ per_second = 100.0 }}

[[receivers]]
name = "fast"
type = "discord"
url = "{fast}"

[route]
receiver = "fast"
group_by = ["alertname"]
group_wait = "200ms"
group_interval = "1s"
repeat_interval = "1h"

[[route.routes]]
matchers = ['alertname=~".+"']
receiver = "slow"
continue = true

[[route.routes]]
matchers = ['alertname=~".+"']
receiver = "fast"
"#,
        slow = slow.url("/hook"),
        fast = fast.url("/hook"),
    ))
    .await;
    post(&campanile, json!([alert("Q1", "warning")])).await;
    slow.wait_for(1).await;
    post(
        &campanile,
        json!([alert("Q2", "warning"), alert("Q3", "warning")]),
    )
    .await;
    // The other receiver gets all three while the first delivery still hangs, and the two
    // behind it wait in the slow receiver's queue, visibly.
    fast.wait_for(3).await;
    wait_until(
        "2 notifications queued for the slow receiver",
        PATIENCE,
        async || {
            let depth = campanile
                .metric("campanile_notification_queue", &[("receiver", "slow")])
                .await;
            if depth == 2.0 {
                Ok(())
            } else {
                Err(format!("queue depth {depth}"))
            }
        },
    )
    .await;
    assert_eq!(slow.requests().len(), 1, "{}", slow.summary());
    // Once the hang ends, the queue drains: nothing was dropped.
    slow.release();
    let requests = slow.wait_for(3).await;
    assert!(requests.iter().all(|r| r.answered == 200));
    wait_until("the queue drained", PATIENCE, async || {
        let depth = campanile
            .metric("campanile_notification_queue", &[("receiver", "slow")])
            .await;
        if depth == 0.0 {
            Ok(())
        } else {
            Err(format!("queue depth {depth}"))
        }
    })
    .await;
}

#[tokio::test]
async fn webhook_url_tokens_stay_out_of_transport_errors() {
    // A receiver that is down: every attempt fails to connect.
    let down = HttpPeer::down().await;
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"chat\"\ntype = \"slack\"\nurl = \"{}\"\nretry_for = \"1s\"\n",
            down.url("/services/T0/B0/T0KENT0KEN")
        ),
        "chat",
    ))
    .await;
    post(&campanile, json!([alert("Refused", "warning")])).await;
    wait_until("the delivery given up", PATIENCE, async || {
        let log = campanile.log();
        if log.contains("notification failed permanently") {
            Ok(())
        } else {
            Err("not yet".to_string())
        }
    })
    .await;
    let log = campanile.log();
    assert!(log.contains("will retry"), "{log}");
    assert!(
        !log.contains("T0KENT0KEN"),
        "the URL's token reached the log:\n{log}"
    );
}

#[tokio::test]
async fn config_errors_name_secret_keys_but_never_values() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("campanile.toml");
    let env = format!("CAMPANILE_TEST_BAD_URL_{}", std::process::id());
    std::env::set_var(&env, "not a url VERYSECRET");
    std::fs::write(
        &file,
        config(
            &format!(
                r#"
[[receivers]]
name = "pager"
type = "pagerduty"
routing_key = "VERYSECRET1"
routing_key_env = "ALSO_SET"

[[receivers]]
name = "chat"
type = "slack"
url_env = "{env}"

[[receivers]]
name = "genie"
type = "opsgenie"
api_key_env = "CAMPANILE_TEST_NOT_SET_ANYWHERE"

[[receivers]]
name = "mail"
type = "email"
host = "smtp.example.com"
from = "not an address"
to = []
username = "u"
"#
            ),
            "pager",
        ),
    )
    .unwrap();
    let out = check_config(&file);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    for expected in [
        "receivers[0].routing_key: set only one of `routing_key`, `routing_key_file` or `routing_key_env`",
        "receivers[1].url: invalid URL",
        "receivers[2].api_key_env: environment variable \"CAMPANILE_TEST_NOT_SET_ANYWHERE\" is not set",
        "receivers[3].from: invalid address \"not an address\"",
        "receivers[3].to: needs at least one address",
        "receivers[3].password: a username needs a password",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        !text.contains("VERYSECRET"),
        "a secret reached the error:\n{text}"
    );
    // None of the receivers is reported as missing by the route that names one.
    assert!(!text.contains("no receiver named"), "{text}");
}

/// A webhook receiver `hook` at `url`, with `extra` delivery keys.
fn webhook_receiver(url: &str, extra: &str) -> String {
    format!("[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{url}\"\n{extra}\n")
}

/// Waits until campanile has given up on a notification, and returns its log.
async fn given_up(campanile: &Campanile) -> String {
    wait_until("the notification to be given up", PATIENCE, async || {
        let log = campanile.log();
        if log.contains("notification failed permanently") {
            Ok(log)
        } else {
            Err("not yet".to_string())
        }
    })
    .await
}

#[tokio::test]
async fn a_huge_error_body_is_read_only_as_far_as_the_log_needs() {
    const PADDING: usize = 32 << 20;
    const START: &str = "upstream exploded; this is how its error body begins";
    let peer = HttpPeer::answering(Answer::new(500, START).padded(PADDING)).await;
    let campanile = Campanile::start(&config(
        &webhook_receiver(&peer.url("/hook"), "retry_for = \"3s\""),
        "hook",
    ))
    .await;
    let before = campanile.proc_status_bytes("VmRSS");
    post(&campanile, json!([alert("HugeBody", "critical")])).await;
    let log = given_up(&campanile).await;
    let attempts = peer.requests().len();
    assert!(attempts >= 3, "{}", peer.summary());
    let peak = campanile.proc_status_bytes("VmHWM");
    let rss = campanile.proc_status_bytes("VmRSS");
    eprintln!(
        "{attempts} answers of 32 MiB: VmRSS {} MB before, {} MB after, VmHWM {} MB",
        before >> 20,
        rss >> 20,
        peak >> 20
    );
    assert!(
        peak < 100 << 20,
        "campanile's memory peaked at {} MB after {attempts} error bodies of 32 MiB",
        peak >> 20
    );
    assert!(
        log.contains(&format!("endpoint answered 500: {START}")),
        "{log}"
    );
}

#[tokio::test]
async fn retry_for_is_a_deadline_the_last_attempt_lands_on() {
    let peer = HttpPeer::answering(Answer::new(503, "busy")).await;
    let campanile = Campanile::start(&config(
        &webhook_receiver(&peer.url("/hook"), "retry_for = \"8s\""),
        "hook",
    ))
    .await;
    post(&campanile, json!([alert("Deadline", "critical")])).await;
    given_up(&campanile).await;
    let requests = peer.requests();
    let last = gap(&requests[0], &requests[requests.len() - 1]);
    let times: Vec<String> = requests
        .iter()
        .map(|r| format!("{:.2}", gap(&requests[0], r).as_secs_f64()))
        .collect();
    eprintln!("attempts at {} s", times.join(", "));
    assert!(
        last >= Duration::from_millis(7500) && last <= Duration::from_millis(8500),
        "the last of {} attempts came {last:?} after the first (retry_for = 8s)",
        requests.len()
    );
    no_more_than(&peer, requests.len(), Duration::from_secs(2)).await;
}
