//! The plugin platform end to end, through the real binary: the `escalation-policy` example
//! plugin escalates with `wake-after` until someone acknowledges, with a shortened clock
//! (page after 2 s, the secondary after 4 s).

#[path = "harness/mod.rs"]
mod harness;

use std::time::Duration;

use harness::*;
use serde_json::{json, Value};

fn config(sink: &HttpPeer) -> String {
    format!(
        r#"
[[receivers]]
name = "chat"
type = "webhook"
url = "{chat}"

[[receivers]]
name = "primary"
type = "webhook"
url = "{primary}"

[[receivers]]
name = "secondary"
type = "webhook"
url = "{secondary}"

[[plugins]]
name = "escalation"
path = '{plugin}'

[plugins.config]
chat = "chat"
primary = "primary"
secondary = "secondary"
page_after = "2s"
secondary_after = "4s"

[route]
receiver = "chat"
plugin = "escalation"
group_by = ["alertname"]
group_wait = "100ms"
group_interval = "1h"
repeat_interval = "4h"
"#,
        chat = sink.url("/chat"),
        primary = sink.url("/primary"),
        secondary = sink.url("/secondary"),
        plugin = escalation_wasm().display(),
    )
}

fn count_for(sink: &HttpPeer, path: &str, name: &str) -> usize {
    sink.payloads(path)
        .iter()
        .filter(|p| alert_with_label(webhook_alerts(p), "alertname", name).is_some())
        .count()
}

async fn post(campanile: &Campanile, name: &str) {
    let reply = campanile
        .post_alerts(&json!([{"labels": {"alertname": name, "severity": "critical"}}]))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn unacknowledged_group_escalates_chat_primary_secondary() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink)).await;
    let name = unique("Escalate");
    post(&campanile, &name).await;

    let is_it = |a: &Value| a["labels"]["alertname"] == name.as_str();
    sink.wait_for_alert("/chat", &name, is_it).await;
    assert_eq!(
        count_for(&sink, "/primary", &name),
        0,
        "paged before page_after"
    );
    sink.wait_for_alert("/primary", &name, is_it).await;
    sink.wait_for_alert("/secondary", &name, is_it).await;

    // Each step told once: a wake-up does not repeat earlier steps.
    let chat_at = sink.requests_to("/chat")[0].at;
    let primary_at = sink.requests_to("/primary")[0].at;
    let secondary_at = sink.requests_to("/secondary")[0].at;
    assert!(
        primary_at - chat_at >= Duration::from_millis(1900),
        "{:?}",
        primary_at - chat_at
    );
    assert!(secondary_at - chat_at >= Duration::from_millis(3900));
    stays_true(
        "one notification per step",
        Duration::from_secs(2),
        async || {
            let counts = [
                count_for(&sink, "/chat", &name),
                count_for(&sink, "/primary", &name),
                count_for(&sink, "/secondary", &name),
            ];
            (counts == [1, 1, 1])
                .then_some(())
                .ok_or(format!("{counts:?}"))
        },
    )
    .await;

    // The decision log tells why each was told.
    let key = sink.payloads("/chat")[0]["groupKey"]
        .as_str()
        .unwrap()
        .to_string();
    let decisions = campanile.decisions(&key).await;
    let summary: Vec<(String, Value, Value)> = decisions
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["plugin"], "escalation");
            assert_eq!(d["plugin_version"].as_str().map(str::len), Some(12));
            (
                d["reason"].as_str().unwrap().to_string(),
                d["receivers"].clone(),
                d["wake_after"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("first".to_string(), json!(["chat"]), json!(2)),
            ("wake".to_string(), json!(["primary"]), json!(2)),
            ("wake".to_string(), json!(["secondary"]), Value::Null),
        ],
        "{decisions:#}"
    );
    assert_eq!(
        decisions[0]["actions"],
        json!(["notify chat", "wake-after 2s"])
    );
    let missing = campanile.get("/api/v1/groups/decisions").await;
    assert_eq!(missing.status, 400);
}

#[tokio::test]
async fn acknowledgement_stops_the_escalation() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink)).await;
    let name = unique("Acked");
    post(&campanile, &name).await;
    let (payload, _) = sink
        .wait_for_alert("/chat", &name, |a| {
            a["labels"]["alertname"] == name.as_str()
        })
        .await;
    let key = payload["groupKey"].as_str().unwrap().to_string();

    let ack = json!({"group_key": key, "by": "alice", "comment": "on it"});
    let reply = campanile.post_json("/api/v1/groups/ack", &ack).await;
    assert_eq!(reply.status, 200, "{reply:?}");

    // The wake-up the plugin asked for comes at 2 s and is dropped by the host.
    wait_until("the wake-up to be dropped", PATIENCE, async || {
        let log = campanile.log();
        log.contains("wake-up dropped: the group is acknowledged")
            .then_some(())
            .ok_or("not yet".to_string())
    })
    .await;
    stays_true("nobody paged", Duration::from_secs(3), async || {
        let paged = count_for(&sink, "/primary", &name) + count_for(&sink, "/secondary", &name);
        (paged == 0).then_some(()).ok_or(format!("{paged} pages"))
    })
    .await;
    let decisions = campanile.decisions(&key).await;
    assert_eq!(
        decisions[1]["note"], "wake-up dropped: acknowledged by alice",
        "{decisions:#}"
    );
}

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

/// One config table that both plugins read: `severity-router` sends critical alerts to `pager`;
/// the hostile plugin in mode `ok` sends everything to `named`. So which version routes is
/// visible at the receiver.
fn reload_config(sink: &HttpPeer) -> String {
    format!(
        r#"
[[receivers]]
name = "fallback"
type = "webhook"
url = "{fallback}"

[[receivers]]
name = "pager"
type = "webhook"
url = "{pager}"

[[receivers]]
name = "named"
type = "webhook"
url = "{named}"

[[plugins]]
name = "router"
path = "router.wasm"

[plugins.config]
pager = "pager"
mode = "ok"
receiver = "named"

[route]
receiver = "fallback"
plugin = "router"
group_by = ["alertname"]
group_wait = "100ms"
group_interval = "1h"
repeat_interval = "4h"
"#,
        fallback = sink.url("/fallback"),
        pager = sink.url("/pager"),
        named = sink.url("/named"),
    )
}

/// Replaces the plugin file as an operator should: write beside it, then rename over it.
fn replace_plugin(campanile: &Campanile, source: &std::path::Path) {
    let dir = campanile.config_path().parent().unwrap();
    let tmp = dir.join("router.wasm.new");
    std::fs::copy(source, &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("router.wasm")).unwrap();
}

/// A sink and campanile routing with `router.wasm` (a copy of severity-router) in its folder.
async fn start_reloadable() -> (HttpPeer, Campanile) {
    let sink = HttpPeer::start().await;
    let campanile = Launch::new(&reload_config(&sink))
        .file("router.wasm", &severity_router_wasm())
        .start()
        .await;
    (sink, campanile)
}

async fn routed_to(campanile: &Campanile, sink: &HttpPeer, path: &str) {
    let name = unique("Reload");
    post(campanile, &name).await;
    sink.wait_for_alert(path, &name, |a| a["labels"]["alertname"] == name.as_str())
        .await;
}

#[tokio::test]
async fn reload_swaps_the_plugin_and_rejects_a_broken_one() {
    let (sink, campanile) = start_reloadable().await;
    routed_to(&campanile, &sink, "/pager").await;

    // Nothing changed: nothing reloaded.
    let reply = campanile.post_raw("/-/reload", "").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["unchanged"], json!(["router"]));

    // A broken file is refused with the reason; the loaded version keeps routing. (Written in
    // place on purpose: the file watcher may see it first, and is refused the same way.)
    let dir = campanile.config_path().parent().unwrap().to_path_buf();
    std::fs::write(dir.join("router.wasm"), b"\0asm garbage").unwrap();
    let reply = campanile.post_raw("/-/reload", "").await;
    assert_eq!(reply.status, 500, "{reply:?}");
    let message = reply.json()["error"].as_str().unwrap().to_string();
    assert!(
        message.contains("router") && message.contains("router.wasm"),
        "{message}"
    );
    routed_to(&campanile, &sink, "/pager").await;

    // A new version, by the API.
    replace_plugin(&campanile, &hostile_wasm());
    let reply = campanile.post_raw("/-/reload", "").await;
    // The watcher may have swapped it already; either way the new version routes now.
    assert_eq!(reply.status, 200, "{reply:?}");
    routed_to(&campanile, &sink, "/named").await;
    assert_eq!(sink.requests_to("/fallback").len(), 0, "no fault fallback");
}

#[tokio::test]
async fn replacing_the_file_or_sighup_reloads() {
    let (sink, campanile) = start_reloadable().await;
    routed_to(&campanile, &sink, "/pager").await;

    // The file watcher notices a replaced file by itself.
    replace_plugin(&campanile, &hostile_wasm());
    wait_until("the file watcher to reload", PATIENCE, async || {
        let reloads = campanile
            .metric(
                "campanile_plugin_reloads_total",
                &[("trigger", "file"), ("outcome", "reloaded")],
            )
            .await;
        (reloads == 1.0).then_some(()).ok_or(format!("{reloads}"))
    })
    .await;
    routed_to(&campanile, &sink, "/named").await;

    // SIGHUP reloads (whether it or the watcher sees the new file first, the signal is
    // handled and counted, and the new version routes).
    replace_plugin(&campanile, &severity_router_wasm());
    campanile.hangup();
    wait_until("SIGHUP to be handled", PATIENCE, async || {
        let by_signal = campanile
            .metric("campanile_plugin_reloads_total", &[("trigger", "signal")])
            .await;
        let swapped = campanile
            .metric("campanile_plugin_reloads_total", &[("outcome", "reloaded")])
            .await;
        (by_signal >= 1.0 && swapped == 2.0)
            .then_some(())
            .ok_or(format!("signal {by_signal}, reloaded {swapped}"))
    })
    .await;
    routed_to(&campanile, &sink, "/pager").await;
}

fn campanile_cli(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_campanile"))
        .args(args)
        .output()
        .expect("run campanile");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn plugin_check_names_the_contract_and_refuses_what_does_not_load() {
    let wasm = severity_router_wasm();
    let (code, out, err) = campanile_cli(&["plugin", "check", wasm.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("links against campanile:router@0.3.0"),
        "{out}"
    );
    assert!(out.contains("campanile:router/host@0.3.0"), "{out}");
    assert!(
        out.contains("  route\n") && out.contains("  identity\n"),
        "{out}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.wasm");
    std::fs::write(&bad, b"not a component").unwrap();
    let (code, _, err) = campanile_cli(&["plugin", "check", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("broken.wasm") && err.contains("not a valid component"),
        "{err}"
    );

    // A component built with an SDK for the previous contract: it imports the 0.2.0 host.
    let old = dir.path().join("old.wasm");
    let component = wat::parse_str(
        r#"(component
            (import "campanile:router/host@0.2.0" (instance
                (export "now-ms" (func (result s64)))))
        )"#,
    )
    .unwrap();
    std::fs::write(&old, component).unwrap();
    let (code, _, err) = campanile_cli(&["plugin", "check", old.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("does not fit the campanile:router@0.3.0 contract")
            && err.contains("rebuild it with campanile-sdk 0.3")
            && err.contains("campanile:router/host@0.2.0"),
        "{err}"
    );
}

#[test]
fn plugin_test_dry_runs_recorded_alerts_and_fails_on_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.json");
    std::fs::write(
        &alerts,
        json!([
            {"labels": {"alertname": "DiskFull", "severity": "critical", "instance": "a"}},
            {"labels": {"alertname": "DiskFull", "severity": "critical", "instance": "b"}},
            {"labels": {"alertname": "Slow", "severity": "warning"}},
            {"labels": {}},
        ])
        .to_string(),
    )
    .unwrap();
    let config = dir.path().join("campanile.toml");
    let write_config = |plugin: &std::path::Path, mode: &str| {
        std::fs::write(
            &config,
            format!(
                r#"
[[receivers]]
name = "fallback"
type = "log"
[[receivers]]
name = "pager"
type = "log"
[[receivers]]
name = "chat"
type = "log"

[[plugins]]
name = "router"
path = '{}'
[plugins.config]
pager = "pager"
chat = "chat"
mode = "{mode}"
receiver = "nobody"

[route]
receiver = "fallback"
plugin = "router"
group_by = ["alertname"]
"#,
                plugin.display()
            ),
        )
        .unwrap();
    };
    let router = severity_router_wasm();
    write_config(&router, "ok");
    let args = |wasm: &std::path::Path| {
        vec![
            "plugin".to_string(),
            "test".to_string(),
            wasm.display().to_string(),
            "--config".to_string(),
            config.display().to_string(),
            "--alerts".to_string(),
            alerts.display().to_string(),
        ]
    };
    let run = |wasm: &std::path::Path| {
        let a = args(wasm);
        campanile_cli(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (code, out, err) = run(&router);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("group {}:{alertname=\"DiskFull\"} (route root, 2 firing, 0 resolved)\n  plugin: notify pager severity=critical\n  told: pager\n"),
        "{out}"
    );
    assert!(
        out.contains("plugin: notify chat severity=warning"),
        "{out}"
    );
    assert!(out.contains("skipped alert 3"), "{out}");
    assert!(
        out.contains("2 groups, 0 faults, 1 alerts skipped"),
        "{out}"
    );

    // The hostile plugin names a receiver the config lacks: a fault, exit 1.
    let hostile = hostile_wasm();
    write_config(&hostile, "unknown-receiver");
    let (code, out, _) = run(&hostile);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAULT: plugin named receiver"), "{out}");
    assert!(
        out.contains("fallback: the route's receiver fallback is told in the plugin's place\n  told: fallback\n"),
        "{out}"
    );

    // The service's rule (tests/plugin_faults.rs runs these modes in the service): an empty
    // answer is a fault, the route's receiver told; an unknown receiver beside a known one
    // tells the route's receiver in its place and the known one too.
    write_config(&hostile, "silent");
    let (code, out, _) = run(&hostile);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "FAULT: plugin returned an error: returned no action (use suppress to tell nobody)"
        ),
        "{out}"
    );
    assert!(out.contains("told: fallback\n"), "{out}");
    write_config(&hostile, "mixed");
    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("receiver = \"nobody\"", "receiver = \"chat\""),
    )
    .unwrap();
    let (code, out, _) = run(&hostile);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("told: fallback, chat\n"), "{out}");
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

/// Reloads while alerts flow: every group is routed exactly once, by one version or the other,
/// and never falls back (no call sees a half-swapped plugin).
#[tokio::test(flavor = "multi_thread")]
async fn a_reload_under_load_loses_nothing_and_routes_nothing_twice() {
    let (sink, campanile) = start_reloadable().await;
    let prefix = unique("Load");
    let posting = async {
        for i in 0..60 {
            let reply = campanile
                .post_alerts(&json!([
                    {"labels": {"alertname": format!("{prefix}-{i}"), "severity": "critical"}}
                ]))
                .await;
            assert_eq!(reply.status, 200, "{reply:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    let reloading = async {
        for round in 0..6 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let next = if round % 2 == 0 {
                hostile_wasm()
            } else {
                severity_router_wasm()
            };
            replace_plugin(&campanile, &next);
            let reply = campanile.post_raw("/-/reload", "").await;
            assert_eq!(reply.status, 200, "{reply:?}");
        }
    };
    tokio::join!(posting, reloading);

    let names: Vec<String> = (0..60).map(|i| format!("{prefix}-{i}")).collect();
    wait_until("every group routed", PATIENCE, async || {
        let routed = names
            .iter()
            .filter(|n| count_for(&sink, "/pager", n) + count_for(&sink, "/named", n) > 0)
            .count();
        (routed == names.len())
            .then_some(())
            .ok_or(format!("{routed} of {} routed", names.len()))
    })
    .await;
    for n in &names {
        let times = count_for(&sink, "/pager", n) + count_for(&sink, "/named", n);
        assert_eq!(times, 1, "{n} routed {times} times");
    }
    assert!(sink.requests_to("/fallback").is_empty(), "a call fell back");
    let by_version: std::collections::HashSet<usize> = names
        .iter()
        .map(|n| count_for(&sink, "/pager", n))
        .collect();
    assert_eq!(by_version.len(), 2, "both versions routed some groups");
}
