//! What mutes a route's notifications besides silences: inhibition by a firing alert, and
//! time intervals (`mute_time_intervals`, `active_time_intervals`).

use serde_json::json;

use super::{alertnames, amtool_json, config, never_notified, wait_notified};
use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn critical_inhibits_warnings_until_it_resolves() {
    let sink = HttpPeer::start().await;
    let tail = r#"
[[inhibit_rules]]
source_matchers = ['severity="critical"']
target_matchers = ['severity="warning"']
equal = ["cluster"]
"#;
    let campanile = Campanile::start(&config(&sink, "", tail)).await;
    let critical = unique("Critical");
    let inhibited = unique("Inhibited");
    let other_cluster = unique("OtherCluster");
    let reply = campanile
        .post_alerts(&json!([
            {"labels": {"alertname": critical, "severity": "critical", "cluster": "a"}},
            {"labels": {"alertname": inhibited, "severity": "warning", "cluster": "a"}},
            {"labels": {"alertname": other_cluster, "severity": "warning", "cluster": "b"}},
        ]))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    wait_notified(&sink, &critical).await;
    wait_notified(&sink, &other_cluster).await;
    never_notified(&sink, &inhibited).await;

    let alerts = campanile.alerts().await;
    let source = alert_with_label(&alerts, "alertname", &critical).unwrap();
    let target = alert_with_label(&alerts, "alertname", &inhibited).unwrap();
    assert_eq!(target["status"]["state"], "suppressed");
    assert_eq!(
        target["status"]["inhibitedBy"],
        json!([source["fingerprint"]])
    );
    let listed = amtool_json(&campanile, &["alert", "query", "--inhibited"]).await;
    assert_eq!(alertnames(&listed), [inhibited.as_str()]);

    // The critical alert resolves: the warning is told.
    let reply = campanile
        .post_alerts(&json!([{
            "labels": {"alertname": critical, "severity": "critical", "cluster": "a"},
            "endsAt": rfc3339_from_now(time::Duration::seconds(-1)),
        }]))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    wait_notified(&sink, &inhibited).await;
}

/// Time intervals that certainly do (`always`: the whole day, in a zone with daylight saving)
/// and certainly do not (`never`: a year long gone) contain the moment the test runs.
const TIME_INTERVALS: &str = r#"
[[time_intervals]]
name = "always"
[[time_intervals.intervals]]
times = [{ start_time = "00:00", end_time = "24:00" }]
location = "Europe/Berlin"

[[time_intervals]]
name = "never"
[[time_intervals.intervals]]
years = ["2001"]
"#;

#[tokio::test(flavor = "multi_thread")]
async fn time_intervals_mute_their_route_only() {
    let sink = HttpPeer::start().await;
    let tail = r#"
[[route.routes]]
matchers = ['team="muted"']
mute_time_intervals = ["always"]
[[route.routes]]
matchers = ['team="open"']
mute_time_intervals = ["never"]
[[route.routes]]
matchers = ['team="inactive"']
active_time_intervals = ["never"]
[[route.routes]]
matchers = ['team="active"']
active_time_intervals = ["always"]
# Not inherited: a child of a muted route sends.
[[route.routes]]
matchers = ['team="parent"']
mute_time_intervals = ["always"]
[[route.routes.routes]]
matchers = ['tier="child"']
"#;
    let campanile = Campanile::start(&config(&sink, TIME_INTERVALS, tail)).await;
    let name = |team: &str| unique(&format!("Time_{team}"));
    let (muted, open, inactive, active, child) = (
        name("muted"),
        name("open"),
        name("inactive"),
        name("active"),
        name("child"),
    );
    let reply = campanile
        .post_alerts(&json!([
            {"labels": {"alertname": muted, "team": "muted"}},
            {"labels": {"alertname": open, "team": "open"}},
            {"labels": {"alertname": inactive, "team": "inactive"}},
            {"labels": {"alertname": active, "team": "active"}},
            {"labels": {"alertname": child, "team": "parent", "tier": "child"}},
        ]))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    wait_notified(&sink, &open).await;
    wait_notified(&sink, &active).await;
    wait_notified(&sink, &child).await;
    never_notified(&sink, &muted).await;
    never_notified(&sink, &inactive).await;
    // Muted, not lost: the alerts are still held, and listed.
    let alerts = campanile.alerts().await;
    assert!(alert_with_label(&alerts, "alertname", &muted).is_some());
    assert!(alert_with_label(&alerts, "alertname", &inactive).is_some());
}

#[tokio::test]
async fn unknown_time_interval_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("campanile.toml");
    let sink_url = "http://127.0.0.1:1/hook";
    std::fs::write(
        &file,
        format!(
            "{TIME_INTERVALS}\n[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{sink_url}\"\n[route]\nreceiver = \"hook\"\n[[route.routes]]\nmatchers = ['team=\"db\"']\nmute_time_intervals = [\"weekends\"]\n"
        ),
    )
    .unwrap();
    let out = check_config(&file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "route.routes[0].mute_time_intervals: no time interval named \"weekends\" is defined in [[time_intervals]]"
        ),
        "{stderr}"
    );
}
