//! The ingest data plane against the real binary: Alertmanager 0.25's answers to bad input
//! (`shared/fixtures/alertmanager-0.25/bad-inputs.md`), body size and alert count limits, dedup,
//! the shape of `GET /api/v2/alerts`, health and metrics, and `check-config`.

use std::time::Duration;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::harness::*;

/// One webhook receiver on the sink's `/notify`; `extra` is prepended (for `[server]` and
/// `[limits]`).
fn config(sink: &HttpPeer, extra: &str) -> String {
    format!(
        r#"{extra}
[[receivers]]
name = "sink"
type = "webhook"
url = "{}"
send_resolved = true

[route]
receiver = "sink"
group_by = ["alertname"]
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1h"
"#,
        sink.url("/notify")
    )
}

async fn start(extra: &str) -> (HttpPeer, Campanile) {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink, extra)).await;
    (sink, campanile)
}

fn named(alertname: &str) -> Value {
    json!({"labels": {"alertname": alertname}})
}

fn alertnames(alerts: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = alerts
        .iter()
        .filter_map(|a| a["labels"]["alertname"].as_str().map(String::from))
        .collect();
    names.sort();
    names
}

/// Checks a 400 answer: `error` contains `message`, the counts are right, and each rejected
/// alert is listed by index with `message`.
fn assert_rejected(reply: &Reply, message: &str, accepted: u64, rejected: &[u64]) {
    assert_eq!(
        reply.status, 400,
        "expected 400 with {message:?}: {reply:?}"
    );
    let body = reply.json();
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(message),
        "error {error:?} does not say {message:?}: {body}"
    );
    assert_eq!(body["accepted"], accepted, "{body}");
    assert_eq!(body["rejected"], rejected.len(), "{body}");
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    let indexes: Vec<u64> = errors.iter().filter_map(|e| e["index"].as_u64()).collect();
    assert_eq!(indexes, rejected, "{body}");
    for e in &errors {
        let text = e["error"].as_str().unwrap_or_default();
        assert!(
            text.contains(message),
            "per-alert error {text:?} does not say {message:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_alerts_are_rejected_like_alertmanager() {
    let (_sink, campanile) = start("").await;

    let reply = campanile
        .post_raw(
            "/api/v2/alerts",
            r#"[{"labels":{"région":"x","alertname":"Z"}}]"#,
        )
        .await;
    assert_rejected(
        &reply,
        r#"invalid label set: invalid name "région""#,
        0,
        &[0],
    );

    let reply = campanile
        .post_raw("/api/v2/alerts", r#"[{"labels":{}}]"#)
        .await;
    assert_rejected(&reply, "at least one label pair required", 0, &[0]);

    let reply = campanile
        .post_raw(
            "/api/v2/alerts",
            r#"[{"labels":{"a":"b"},"startsAt":"2026-11-28T00:00:00Z","endsAt":"2026-11-27T00:00:00Z"}]"#,
        )
        .await;
    assert_rejected(&reply, "start time must be before end time", 0, &[0]);

    let reply = campanile
        .post_raw(
            "/api/v2/alerts",
            r#"[{"labels":{"alertname":"Good1"}},{"labels":{}},{"labels":{"alertname":"Good2"}}]"#,
        )
        .await;
    assert_rejected(&reply, "at least one label pair required", 2, &[1]);

    let reply = campanile
        .post_alerts(&json!([named("Valid1"), named("Valid2")]))
        .await;
    assert_eq!(reply.status, 200, "a valid batch: {reply:?}");

    // The good alerts of the mixed batch are stored; nothing of the rejected ones is.
    let names = alertnames(&campanile.alerts().await);
    assert_eq!(names, ["Good1", "Good2", "Valid1", "Valid2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_rejected() {
    let (_sink, campanile) = start("").await;
    for path in ["/api/v2/alerts", "/api/v1/alertmanager"] {
        let reply = campanile.post_raw(path, "{bad").await;
        assert_eq!(reply.status, 400, "{path}: {reply:?}");
        let body = reply.json();
        let error = body["error"].as_str().unwrap_or_default().to_lowercase();
        assert!(
            error.contains("pars") || error.contains("json"),
            "{path}: the error does not mention the parse problem: {body}"
        );
    }
    assert!(campanile.alerts().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_endpoint_rejects_bad_alerts_and_keeps_good_ones() {
    let (_sink, campanile) = start("").await;
    let payload = json!({
        "version": "4",
        "receiver": "upstream",
        "status": "firing",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.invalid",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "WebhookGood"}, "annotations": {},
             "startsAt": "2026-11-28T03:55:13Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "", "fingerprint": "0000000000000000"},
            {"status": "firing", "labels": {}, "annotations": {},
             "startsAt": "2026-11-28T03:55:13Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "", "fingerprint": "0000000000000000"},
        ],
    });
    let reply = campanile.post_webhook(&payload).await;
    assert_rejected(&reply, "at least one label pair required", 1, &[1]);
    assert_eq!(alertnames(&campanile.alerts().await), ["WebhookGood"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_body_gets_413() {
    let (_sink, campanile) = start("[server]\nmax_body_size = \"1KiB\"\n").await;
    let big = json!([{
        "labels": {"alertname": "TooBig"},
        "annotations": {"description": "x".repeat(4096)},
    }]);
    let reply = campanile.post_alerts(&big).await;
    assert_eq!(
        reply.status, 413,
        "a 4 KiB body with max_body_size 1KiB: {reply:?}"
    );

    let reply = campanile.post_alerts(&json!([named("Small")])).await;
    assert_eq!(reply.status, 200, "a small body: {reply:?}");
    assert_eq!(alertnames(&campanile.alerts().await), ["Small"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn alert_limit_gets_429() {
    let (_sink, campanile) = start("[limits]\nmax_alerts = 3\n").await;
    for name in ["Limit1", "Limit2", "Limit3"] {
        let reply = campanile.post_alerts(&json!([named(name)])).await;
        assert_eq!(reply.status, 200, "{name} is within the limit: {reply:?}");
    }
    for name in ["Limit4", "Limit5"] {
        let reply = campanile.post_alerts(&json!([named(name)])).await;
        assert_eq!(
            reply.status, 429,
            "{name} is past max_alerts = 3: {reply:?}"
        );
    }
    assert_eq!(
        alertnames(&campanile.alerts().await),
        ["Limit1", "Limit2", "Limit3"]
    );

    // An alert already stored is an update, not a new alert.
    let reply = campanile.post_alerts(&json!([named("Limit1")])).await;
    assert_eq!(reply.status, 200, "re-sending a stored alert: {reply:?}");
    assert_eq!(campanile.alerts().await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_are_stored_and_notified_once() {
    let (sink, campanile) = start("").await;
    let alert = json!({
        "labels": {"alertname": "E2EDup", "instance": "node-1"},
        "annotations": {"summary": "sent five times"},
    });
    for _ in 0..5 {
        let reply = campanile.post_alerts(&json!([alert.clone()])).await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    let listed = campanile.alerts().await;
    assert_eq!(listed.len(), 1, "stored: {listed:?}");

    let (payload, _) = sink
        .wait_for_labelled("/notify", "alertname", "E2EDup")
        .await;
    assert_eq!(webhook_alerts(&payload).len(), 1, "{payload}");
    // Three more group intervals must not bring a second notification.
    stays_true(
        "a single notification",
        Duration::from_secs(3),
        async || match sink.requests_to("/notify").len() {
            1 => Ok(()),
            _ => Err(sink.summary()),
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn listed_alerts_have_alertmanager_v2_shape() {
    let (_sink, campanile) = start("").await;
    let starts_at =
        OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - time::Duration::minutes(1);
    let posted = json!([{
        "labels": {"alertname": "E2EShape", "severity": "warning"},
        "annotations": {"summary": "shape check"},
        "startsAt": starts_at.format(&Rfc3339).unwrap(),
        "generatorURL": "http://prometheus.invalid/graph",
    }]);
    let reply = campanile.post_alerts(&posted).await;
    assert_eq!(reply.status, 200, "{reply:?}");

    let listed = campanile.alerts().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let alert = &listed[0];
    assert_eq!(alert["labels"], posted[0]["labels"], "{alert}");
    assert_eq!(alert["annotations"], posted[0]["annotations"], "{alert}");
    assert_eq!(alert["generatorURL"], posted[0]["generatorURL"], "{alert}");
    assert!(
        is_fingerprint(alert["fingerprint"].as_str().unwrap_or_default()),
        "{alert}"
    );
    assert_eq!(
        alert["status"],
        json!({"state": "active", "silencedBy": [], "inhibitedBy": []}),
        "{alert}"
    );
    assert_eq!(alert["receivers"], json!([{"name": "sink"}]), "{alert}");

    let time_of = |key: &str| {
        let text = alert[key].as_str().unwrap_or_default();
        OffsetDateTime::parse(text, &Rfc3339)
            .unwrap_or_else(|e| panic!("{key} is not RFC 3339 ({e}): {alert}"))
    };
    assert_eq!(time_of("startsAt"), starts_at, "{alert}");
    // Without endsAt, the alert ends after resolve_timeout (5m by default) unless refreshed.
    let now = OffsetDateTime::now_utc();
    assert!(
        time_of("endsAt") > now,
        "endsAt is not in the future: {alert}"
    );
    assert!(
        time_of("updatedAt") <= now,
        "updatedAt is in the future: {alert}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_ready_and_metrics() {
    let (_sink, campanile) = start("").await;
    for path in ["/-/healthy", "/-/ready"] {
        let reply = campanile.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
    }
    let reply = campanile.get("/metrics").await;
    assert_eq!(reply.status, 200, "/metrics: {reply:?}");
    assert!(
        reply.body.contains("# TYPE campanile_"),
        "/metrics has no campanile_ metric: {}",
        reply.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_config_accepts_valid_and_names_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let valid = "[server]\nlisten = \"127.0.0.1:9797\"\n\n\
                 [[receivers]]\nname = \"log\"\ntype = \"log\"\n\n\
                 [route]\nreceiver = \"log\"\n";
    let good = dir.path().join("good.toml");
    std::fs::write(&good, valid).unwrap();
    let output = check_config(&good);
    assert!(
        output.status.success(),
        "check-config rejected a valid config: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, valid.replace("listen =", "lissten =")).unwrap();
    let output = check_config(&bad);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "check-config accepted an unknown key: {stderr}"
    );
    assert!(
        stderr.contains(&bad.display().to_string()),
        "stderr does not name the file {}: {stderr}",
        bad.display()
    );
    assert!(
        stderr.contains("lissten"),
        "stderr does not name the key: {stderr}"
    );
}
