//! Silences made and ended with `amtool`: they mute notifications until they expire, show in
//! alert and group queries, and are imported, updated and refused as Alertmanager does.

use serde_json::json;

use super::{alertnames, amtool, amtool_json, amtool_ok, config, never_notified, wait_notified};
use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn amtool_silence_mutes_until_expired() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink, "", "")).await;
    let silenced = unique("Silenced");
    let control = unique("Control");

    let added = amtool_ok(
        &campanile,
        &[
            "silence",
            "add",
            &format!("alertname={silenced}"),
            "severity=~warn.*",
            "--comment=maintenance",
            "--author=ops",
            "--duration=1h",
        ],
    )
    .await;
    let id = added.trim().to_string();
    assert_eq!(id.len(), 36, "amtool prints the new silence id: {added:?}");

    let silences = amtool_json(&campanile, &["silence", "query"]).await;
    assert_eq!(silences.len(), 1, "{silences:?}");
    let s = &silences[0];
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["status"]["state"], "active");
    assert_eq!(s["createdBy"], "ops");
    assert_eq!(s["comment"], "maintenance");
    let matchers = s["matchers"].as_array().unwrap();
    assert!(matchers.contains(
        &json!({"name": "alertname", "value": silenced, "isRegex": false, "isEqual": true})
    ));
    assert!(matchers.contains(
        &json!({"name": "severity", "value": "warn.*", "isRegex": true, "isEqual": true})
    ));
    let table = amtool_ok(
        &campanile,
        &["silence", "query", &format!("alertname={silenced}")],
    )
    .await;
    assert!(
        table.contains(&id),
        "amtool silence query lists it: {table}"
    );
    let quiet = amtool_ok(&campanile, &["silence", "query", "-q"]).await;
    assert_eq!(quiet.trim(), id);

    let reply = campanile
        .post_alerts(&json!([
            {"labels": {"alertname": silenced, "severity": "warning"}, "annotations": {"summary": "muted"}},
            {"labels": {"alertname": control, "severity": "warning"}},
        ]))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    wait_notified(&sink, &control).await;
    never_notified(&sink, &silenced).await;

    // The API and amtool see it as silenced.
    let alerts = campanile.alerts().await;
    let muted = alert_with_label(&alerts, "alertname", &silenced).expect("silenced alert listed");
    assert_eq!(muted["status"]["state"], "suppressed");
    assert_eq!(muted["status"]["silencedBy"], json!([id]));
    assert_eq!(muted["status"]["inhibitedBy"], json!([]));
    let active = amtool_json(&campanile, &["alert", "query"]).await;
    assert_eq!(
        alertnames(&active),
        [control.as_str()],
        "active only by default"
    );
    let with_silenced = amtool_json(&campanile, &["alert", "query", "--silenced"]).await;
    assert_eq!(
        alertnames(&with_silenced),
        [silenced.as_str()],
        "--silenced alone lists only suppressed ones"
    );
    let filtered = amtool_json(
        &campanile,
        &[
            "alert",
            "query",
            "-a",
            "-s",
            &format!("alertname={control}"),
        ],
    )
    .await;
    assert_eq!(alertnames(&filtered), [control.as_str()]);
    let simple = amtool_ok(&campanile, &["alert", "query", "-s", &silenced]).await;
    assert!(
        simple.contains(&silenced) && simple.contains("suppressed"),
        "{simple}"
    );
    let reply = campanile
        .get("/api/v2/alerts?silenced=false&active=true")
        .await;
    assert_eq!(
        alertnames(reply.json().as_array().unwrap()),
        [control.as_str()]
    );

    let groups = campanile.get("/api/v2/alerts/groups").await.json();
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert!(groups.iter().all(|g| g["receiver"]["name"] == "hook"));
    assert!(groups
        .iter()
        .any(|g| g["labels"] == json!({"alertname": silenced})));

    // Expired: the alert is told at the next group interval, not the repeat interval.
    amtool_ok(&campanile, &["silence", "expire", &id]).await;
    wait_notified(&sink, &silenced).await;
    let expired = amtool_json(&campanile, &["silence", "query", "--expired"]).await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["status"]["state"], "expired");
    assert!(amtool_json(&campanile, &["silence", "query"])
        .await
        .is_empty());
    let one = campanile.get(&format!("/api/v2/silence/{id}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["status"]["state"], "expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn amtool_silence_import_update_and_errors() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink, "", "")).await;
    let name = unique("Imported");

    // An export from another Alertmanager: its id is unknown here, so amtool re-creates it.
    let now = time::OffsetDateTime::now_utc();
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let export = json!([{
        "id": "3f6a2b1c-9d4e-4f5a-8b7c-0d1e2f3a4b5c",
        "status": {"state": "active"},
        "updatedAt": rfc(now),
        "matchers": [{"name": "alertname", "value": name, "isRegex": false, "isEqual": true}],
        "startsAt": rfc(now - time::Duration::minutes(5)),
        "endsAt": rfc(now + time::Duration::hours(2)),
        "createdBy": "elsewhere",
        "comment": "imported",
    }]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("silences.json");
    std::fs::write(&file, export.to_string()).unwrap();
    let printed = amtool_ok(&campanile, &["silence", "import", file.to_str().unwrap()]).await;
    let id = printed.trim().to_string();
    assert_eq!(id.len(), 36, "{printed:?}");
    assert_ne!(id, "3f6a2b1c-9d4e-4f5a-8b7c-0d1e2f3a4b5c");

    // Re-importing its own export with --force creates a second one.
    let exported = amtool_ok(&campanile, &["-o", "json", "silence", "query"]).await;
    std::fs::write(&file, &exported).unwrap();
    amtool_ok(
        &campanile,
        &["silence", "import", "--force", file.to_str().unwrap()],
    )
    .await;
    assert_eq!(
        amtool_json(&campanile, &["silence", "query"]).await.len(),
        2
    );

    // Extending keeps the id; changing the matchers expires the old one and makes a new one.
    let current = campanile.get(&format!("/api/v2/silence/{id}")).await.json();
    let mut longer = current.clone();
    longer["endsAt"] = json!(rfc(now + time::Duration::hours(5)));
    let reply = campanile.post_json("/api/v2/silences", &longer).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["silenceID"], id.as_str());
    let mut other = current.clone();
    other["matchers"][0]["value"] = json!(format!("{name}-other"));
    let reply = campanile.post_json("/api/v2/silences", &other).await;
    let new_id = reply.json()["silenceID"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    let old = campanile.get(&format!("/api/v2/silence/{id}")).await.json();
    assert_eq!(old["status"]["state"], "expired");

    // Alertmanager's refusals.
    let mut backwards = current.clone();
    backwards["id"] = json!("");
    backwards["endsAt"] = json!(rfc(now - time::Duration::hours(1)));
    let reply = campanile.post_json("/api/v2/silences", &backwards).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(
        reply.json().is_string(),
        "errors are JSON strings: {reply:?}"
    );
    let mut matches_all = current.clone();
    matches_all["id"] = json!("");
    matches_all["matchers"] = json!([{"name": "x", "value": ".*", "isRegex": true}]);
    assert_eq!(
        campanile
            .post_json("/api/v2/silences", &matches_all)
            .await
            .status,
        400
    );
    let out = amtool(
        &campanile,
        &["silence", "expire", "00000000-0000-4000-8000-000000000000"],
    )
    .await;
    assert!(!out.status.success(), "expiring an unknown silence fails");
    assert_eq!(
        campanile
            .get("/api/v2/silence/00000000-0000-4000-8000-000000000000")
            .await
            .status,
        404
    );
    // Not a UUID: Alertmanager's 422, with go-openapi's body.
    let reply = campanile.get("/api/v2/silence/nope").await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.json(),
        json!({"code": 601, "message": "silenceID in path must be of type uuid: \"nope\""})
    );
}
