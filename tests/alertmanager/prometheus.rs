//! A real Prometheus sends alerts from always-firing rules to campanile, as it would to an
//! Alertmanager (API v2). Campanile routes them through the severity-router plugin to webhook
//! receivers, and a recording sink checks what arrives.

use serde_json::{json, Value};

use crate::harness::*;

const RULES: &str = r#"
groups:
  - name: campanile-e2e
    rules:
      - alert: E2EDatabaseDown
        expr: vector(1)
        labels:
          severity: critical
          team: db
          cluster: eu1
        annotations:
          summary: The database is down
      - alert: E2EDiskAlmostFull
        expr: vector(1)
        labels:
          severity: warning
          team: infra
          cluster: us2
        annotations:
          summary: The disk is almost full
"#;

/// One webhook receiver per severity-router key and a fallback, all on the sink; the root route
/// asks severity-router.
fn config(sink: &HttpPeer) -> String {
    let mut config = String::new();
    for name in ["pager", "chat", "email", "fallback"] {
        config += &format!(
            "[[receivers]]\nname = \"{name}\"\ntype = \"webhook\"\nurl = \"{}\"\nsend_resolved = true\n\n",
            sink.url(&format!("/{name}"))
        );
    }
    config += &format!(
        r#"
[[plugins]]
name = "severity-router"
path = '{}'
timeout = "1s"
memory_limit = "16MiB"

[plugins.config]
pager = "pager"
chat = "chat"
email = "email"

[route]
receiver = "fallback"
plugin = "severity-router"
group_by = ["alertname"]
group_wait = "1s"
group_interval = "2s"
repeat_interval = "1h"
"#,
        severity_router_wasm().display()
    );
    config
}

/// The sink, campanile and a Prometheus alerting to campanile (kept alive by the caller).
async fn start() -> (HttpPeer, Campanile, Prometheus) {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink)).await;
    let prometheus = Prometheus::start(RULES, &campanile.addr).await;
    (sink, campanile, prometheus)
}

/// Checks that `path` got a firing v4 notification from receiver `receiver` for the rule
/// `alertname` with exactly `labels`, whose fingerprint is the one campanile lists.
async fn assert_routed(
    sink: &HttpPeer,
    campanile: &Campanile,
    path: &str,
    receiver: &str,
    labels: Value,
) {
    let alertname = labels["alertname"].as_str().unwrap().to_string();
    let (payload, alert) = sink.wait_for_labelled(path, "alertname", &alertname).await;
    assert_eq!(payload["version"], "4", "payload: {payload}");
    assert_eq!(payload["receiver"], receiver, "payload: {payload}");
    assert_eq!(payload["status"], "firing", "payload: {payload}");
    assert_eq!(
        payload["groupLabels"],
        json!({"alertname": alertname}),
        "payload: {payload}"
    );
    assert_eq!(alert["status"], "firing", "alert: {alert}");
    assert_eq!(alert["labels"], labels, "alert: {alert}");
    let fingerprint = alert["fingerprint"].as_str().unwrap_or_default();
    assert!(is_fingerprint(fingerprint), "not a fingerprint: {alert}");

    let listed = campanile.alerts().await;
    let Some(stored) = alert_with_label(&listed, "alertname", &alertname) else {
        panic!("campanile does not list {alertname}: {listed:?}");
    };
    assert_eq!(
        stored["fingerprint"], fingerprint,
        "campanile lists {stored}"
    );
    assert_eq!(stored["labels"], labels, "campanile lists {stored}");

    // Nobody else was told about this alert.
    for other in ["/pager", "/chat", "/email", "/fallback"] {
        if other == path {
            continue;
        }
        for payload in sink.payloads(other) {
            let wrong = alert_with_label(webhook_alerts(&payload), "alertname", &alertname);
            assert!(
                wrong.is_none(),
                "{alertname} also went to {other}: {payload}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn critical_rule_pages() {
    let (sink, campanile, _prometheus) = start().await;
    let labels = json!({
        "alertname": "E2EDatabaseDown",
        "severity": "critical",
        "team": "db",
        "cluster": "eu1",
    });
    assert_routed(&sink, &campanile, "/pager", "pager", labels).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn warning_rule_goes_to_chat() {
    let (sink, campanile, _prometheus) = start().await;
    let labels = json!({
        "alertname": "E2EDiskAlmostFull",
        "severity": "warning",
        "team": "infra",
        "cluster": "us2",
    });
    assert_routed(&sink, &campanile, "/chat", "chat", labels).await;
}
