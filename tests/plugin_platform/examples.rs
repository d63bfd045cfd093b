//! The other example plugins through the host: `replica-dedup` as the identity plugin folds HA
//! replicas into one alert (and a faulty identity plugin costs only the folding), and
//! `team-ownership` routes by the host's lookups.

use serde_json::{json, Value};

use super::count_for;
use crate::harness::*;

/// With `replica-dedup` as the identity plugin, the same alert from two HA Prometheus replicas
/// is one alert: one entry in the API, one alert in the notification — and it stays one after
/// a re-send from either replica.
#[tokio::test]
async fn ha_replicas_fold_into_one_alert() {
    let sink = HttpPeer::start().await;
    let config = format!(
        r#"
[ingest]
identity_plugin = "replica-dedup"

[[receivers]]
name = "hook"
type = "webhook"
url = "{hook}"

[[plugins]]
name = "replica-dedup"
path = '{plugin}'

[route]
receiver = "hook"
group_by = ["alertname"]
group_wait = "500ms"
group_interval = "1h"
repeat_interval = "4h"
"#,
        hook = sink.url("/hook"),
        plugin = replica_dedup_wasm().display(),
    );
    let campanile = Campanile::start(&config).await;
    let name = unique("Replicated");
    for replica in ["a", "b", "a"] {
        let reply = campanile
            .post_alerts(&json!([
                {"labels": {"alertname": name, "replica": replica, "instance": "db-1"}},
                {"labels": {"alertname": name, "replica": replica, "instance": "db-2"}},
            ]))
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    let ours = campanile.alerts_named(&name).await;
    assert_eq!(ours.len(), 2, "one alert per instance: {ours:#?}");
    let (payload, _) = sink
        .wait_for_alert("/hook", &name, |a| {
            a["labels"]["alertname"] == name.as_str()
        })
        .await;
    assert_eq!(webhook_alerts(&payload).len(), 2, "{payload:#}");
    assert_eq!(
        campanile
            .metric("campanile_alerts_deduplicated_total", &[])
            .await,
        4.0
    );
}

/// An identity plugin that faults (a malformed label set, a trap) costs nothing but the
/// folding: every alert lands under its own fingerprint, and the fault is counted by kind.
#[tokio::test]
async fn a_faulty_identity_plugin_keeps_each_alerts_own_fingerprint() {
    for (identity, kind) in [("malformed", "output"), ("trap", "trap")] {
        let config = format!(
            r#"
[ingest]
identity_plugin = "hostile"

[[receivers]]
name = "log"
type = "log"

[[plugins]]
name = "hostile"
path = '{plugin}'

[plugins.config]
identity = "{identity}"

[route]
receiver = "log"
"#,
            plugin = hostile_wasm().display(),
        );
        let campanile = Campanile::start(&config).await;
        let name = unique("Identity");
        let reply = campanile
            .post_alerts(&json!([
                {"labels": {"alertname": name, "replica": "a"}},
                {"labels": {"alertname": name, "replica": "b"}},
            ]))
            .await;
        assert_eq!(reply.status, 200, "{identity}: {reply:?}");
        let replicas: Vec<Value> = campanile
            .alerts_named(&name)
            .await
            .into_iter()
            .map(|a| a["labels"]["replica"].clone())
            .collect();
        assert_eq!(replicas.len(), 2, "{identity}: both kept: {replicas:?}");
        assert_eq!(
            campanile
                .metric(
                    "campanile_plugin_faults_total",
                    &[("plugin", "hostile"), ("kind", kind)]
                )
                .await,
            2.0,
            "{identity}"
        );
    }
}

#[tokio::test]
async fn team_ownership_routes_through_the_host() {
    let sink = HttpPeer::start().await;
    let config = format!(
        r#"
[[receivers]]
name = "ops"
type = "webhook"
url = "{ops}"
[[receivers]]
name = "db-chat"
type = "webhook"
url = "{db_chat}"
[[receivers]]
name = "db-pager"
type = "webhook"
url = "{db_pager}"

[[plugins]]
name = "teams"
path = '{plugin}'
[plugins.config]
"team.db" = "db-chat, db-pager"
"team.default" = "ops"
"service.postgres" = "db"

[route]
receiver = "ops"
plugin = "teams"
group_by = ["alertname", "service"]
group_wait = "100ms"
group_interval = "1h"
repeat_interval = "4h"
"#,
        ops = sink.url("/ops"),
        db_chat = sink.url("/db-chat"),
        db_pager = sink.url("/db-pager"),
        plugin = team_ownership_wasm().display(),
    );
    let campanile = Campanile::start(&config).await;
    let db = unique("DbDown");
    let other = unique("Orphan");
    let reply = campanile
        .post_alerts(&json!([
            {"labels": {"alertname": db, "service": "postgres", "severity": "critical"}},
            {"labels": {"alertname": other, "service": "unknown"}},
        ]))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let named = |n: &str| {
        let n = n.to_string();
        move |a: &Value| a["labels"]["alertname"] == n.as_str()
    };
    sink.wait_for_alert("/db-chat", &db, named(&db)).await;
    sink.wait_for_alert("/db-pager", &db, named(&db)).await;
    sink.wait_for_alert("/ops", &other, named(&other)).await;
    assert_eq!(
        count_for(&sink, "/ops", &db),
        0,
        "the db team's group reached ops"
    );
}
