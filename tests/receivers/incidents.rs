//! PagerDuty and Opsgenie: one incident key from trigger to resolve (PagerDuty's `dedup_key`,
//! Opsgenie's alias), a hang past the timeout retried, a 400 body logged without the key.

use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{
    alert, alert_v4, config, default_text, gap, no_more_than, normalise, post, resolved, RUNBOOK,
    SOURCE,
};
use crate::harness::*;

/// The incident key for a group of the root route grouped by alertname.
fn incident_key(receiver: &str, alertname: &str) -> String {
    let mut h = Sha256::new();
    h.update(receiver.as_bytes());
    h.update([0]);
    h.update(format!("{{}}:{{alertname=\"{alertname}\"}}").as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
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
