//! Campanile as an Alertmanager webhook receiver and as a drop-in for Alertmanager's own API: a
//! real Alertmanager forwards to campanile, Alertmanager's recorded webhook payloads and
//! fingerprints must come out the same, and campanile's webhook notifier retries like
//! Alertmanager's.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::harness::*;

/// Campanile sending every group, firing and resolved, to the sink's `/forward`.
fn campanile_config(sink: &HttpPeer) -> String {
    format!(
        r#"
[[receivers]]
name = "forward"
type = "webhook"
url = "{}"
send_resolved = true

[route]
receiver = "forward"
group_by = ["alertname"]
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1h"
"#,
        sink.url("/forward")
    )
}

/// Alertmanager sending every group, firing and resolved, to campanile's webhook endpoint.
fn alertmanager_config(campanile: &Campanile) -> String {
    format!(
        r#"
route:
  receiver: campanile
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: campanile
    webhook_configs:
      - url: "{}"
        send_resolved: true
"#,
        campanile.url("/api/v1/alertmanager")
    )
}

fn fingerprint_of(alerts: &[Value], alertname: &str) -> String {
    let alert = alert_with_label(alerts, "alertname", alertname)
        .unwrap_or_else(|| panic!("no alert {alertname} in {alerts:?}"));
    let fingerprint = alert["fingerprint"].as_str().unwrap_or_default();
    assert!(is_fingerprint(fingerprint), "not a fingerprint: {alert}");
    fingerprint.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn alertmanager_webhook_keeps_fingerprints_and_resolves() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&campanile_config(&sink)).await;
    let alertmanager = Alertmanager::start(&alertmanager_config(&campanile)).await;

    let started = rfc3339_from_now(time::Duration::minutes(-1));
    let disk = json!({
        "labels": {"alertname": "E2EDiskFull", "instance": "node-7:9100", "severity": "warning"},
        "annotations": {"summary": "Disk 95% full"},
        "startsAt": started,
    });
    let postgres = json!({
        "labels": {"alertname": "E2EPostgresDown", "instance": "pg-0:9187", "severity": "critical"},
        "annotations": {"summary": "Postgres down on pg-0"},
        "startsAt": started,
        "generatorURL": "http://prometheus.invalid/graph?g0.expr=pg_up",
    });
    alertmanager
        .post_alerts(&json!([disk.clone(), postgres.clone()]))
        .await;

    for alert in [&disk, &postgres] {
        let alertname = alert["labels"]["alertname"].as_str().unwrap();
        let (payload, forwarded) = sink
            .wait_for_labelled("/forward", "alertname", alertname)
            .await;
        assert_eq!(payload["receiver"], "forward", "payload: {payload}");
        assert_eq!(payload["version"], "4", "payload: {payload}");
        assert_eq!(forwarded["status"], "firing", "alert: {forwarded}");
        assert_eq!(forwarded["labels"], alert["labels"], "alert: {forwarded}");
        assert_eq!(
            forwarded["annotations"], alert["annotations"],
            "alert: {forwarded}"
        );

        let expected = fingerprint_of(&alertmanager.alerts().await, alertname);
        assert_eq!(
            forwarded["fingerprint"], expected,
            "campanile's notification has another fingerprint than Alertmanager's: {forwarded}"
        );
        assert_eq!(
            fingerprint_of(&campanile.alerts().await, alertname),
            expected
        );
    }

    // Resolve Postgres at Alertmanager: Alertmanager tells campanile, campanile tells the sink.
    let fingerprint = fingerprint_of(&alertmanager.alerts().await, "E2EPostgresDown");
    let mut resolved = postgres.clone();
    resolved["endsAt"] = json!(rfc3339_from_now(time::Duration::seconds(-1)));
    alertmanager.post_alerts(&json!([resolved])).await;
    let (payload, alert) = sink
        .wait_for_alert("/forward", "E2EPostgresDown resolved", |a| {
            a["fingerprint"] == fingerprint.as_str() && a["status"] == "resolved"
        })
        .await;
    assert_eq!(payload["receiver"], "forward", "payload: {payload}");
    assert_eq!(alert["labels"], postgres["labels"], "alert: {alert}");
    assert_eq!(payload["status"], "resolved", "payload: {payload}");
}

/// Posts Alertmanager 0.25's recorded webhook bodies to campanile's webhook endpoint. Firing
/// alerts must be listed with Alertmanager's fingerprints; the resolved one must be notified with
/// its fingerprint.
#[tokio::test(flavor = "multi_thread")]
async fn recorded_webhook_payloads_keep_fingerprints() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&campanile_config(&sink)).await;

    let mut firing = Vec::new();
    for name in [
        "webhook-v4-firing-postgres.json",
        "webhook-v4-firing-diskfull.json",
    ] {
        let payload = fixture_json(name);
        let reply = campanile.post_webhook(&payload).await;
        assert_eq!(reply.status, 200, "{name}: {reply:?}");
        firing.extend_from_slice(webhook_alerts(&payload));
    }
    assert_eq!(firing.len(), 3);
    let listed = campanile.alerts().await;
    for alert in &firing {
        let stored = listed
            .iter()
            .find(|a| a["labels"] == alert["labels"])
            .unwrap_or_else(|| panic!("campanile does not list {alert}: {listed:?}"));
        assert_eq!(stored["fingerprint"], alert["fingerprint"], "{stored}");
    }

    let partly = fixture_json("webhook-v4-partly-resolved-postgres.json");
    let reply = campanile.post_webhook(&partly).await;
    assert_eq!(reply.status, 200, "partly resolved: {reply:?}");
    for alert in webhook_alerts(&partly) {
        let fingerprint = alert["fingerprint"].as_str().unwrap();
        let listed = campanile.alerts().await;
        let stored = listed.iter().find(|a| a["labels"] == alert["labels"]);
        if alert["status"] == "firing" {
            let stored = stored.unwrap_or_else(|| panic!("campanile lost {alert}: {listed:?}"));
            assert_eq!(stored["fingerprint"], fingerprint, "{stored}");
        } else {
            if let Some(stored) = stored {
                assert_eq!(stored["fingerprint"], fingerprint, "{stored}");
            }
            let (_, notified) = sink
                .wait_for_alert("/forward", "the resolved fixture alert", |a| {
                    a["labels"] == alert["labels"] && a["status"] == "resolved"
                })
                .await;
            assert_eq!(notified["fingerprint"], fingerprint, "{notified}");
        }
    }
}

/// Fingerprints computed by Alertmanager 0.25 for awkward label sets (quotes, long values,
/// non-ASCII) must be campanile's too.
#[tokio::test(flavor = "multi_thread")]
async fn fingerprints_match_alertmanager() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&campanile_config(&sink)).await;
    let table = fixture_json("fingerprints.json");
    let table = table.as_array().expect("fingerprints.json is an array");
    let alerts: Vec<Value> = table
        .iter()
        .map(|row| json!({"labels": row["labels"]}))
        .collect();
    let reply = campanile.post_alerts(&Value::Array(alerts)).await;
    assert_eq!(reply.status, 200, "{reply:?}");

    let listed: BTreeMap<String, String> = campanile
        .alerts()
        .await
        .iter()
        .map(|a| (a["labels"].to_string(), a["fingerprint"].to_string()))
        .collect();
    let mut wrong = Vec::new();
    for row in table {
        let got = listed.get(&row["labels"].to_string());
        if got != Some(&row["fingerprint"].to_string()) {
            wrong.push(format!(
                "{}: expected {}, got {got:?}",
                row["labels"], row["fingerprint"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "fingerprints differ:\n{}",
        wrong.join("\n")
    );
}

/// A webhook receiver answering 500 twice gets the same notification a third time.
#[tokio::test(flavor = "multi_thread")]
async fn webhook_notifier_retries_server_errors() {
    let sink = HttpPeer::start().await;
    sink.script_path("/forward", [Answer::status(500), Answer::status(500)]);
    let campanile = Campanile::start(&campanile_config(&sink)).await;
    let reply = campanile
        .post_alerts(&json!([{"labels": {"alertname": "E2ERetry", "severity": "critical"}}]))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");

    wait_until(
        "a notification answered 200 after two 500s",
        PATIENCE,
        async || {
            let answered: Vec<u16> = sink
                .requests_to("/forward")
                .iter()
                .map(|r| r.answered)
                .collect();
            if answered.contains(&200) {
                Ok(())
            } else {
                Err(sink.summary())
            }
        },
    )
    .await;
    let requests = sink.requests_to("/forward");
    let answered: Vec<u16> = requests.iter().map(|r| r.answered).collect();
    assert_eq!(answered[..3], [500, 500, 200], "{}", sink.summary());
    for request in &requests[..3] {
        let alerts = webhook_alerts(request.json());
        assert_eq!(alerts.len(), 1, "{}", sink.summary());
        assert_eq!(alerts[0]["labels"]["alertname"], "E2ERetry");
        assert_eq!(
            alerts[0]["fingerprint"],
            webhook_alerts(requests[0].json())[0]["fingerprint"]
        );
    }
}
