//! Reloading the whole configuration (SIGHUP, `POST /-/reload`) against the real binary:
//! routes and receivers changed under load lose no alert and tell none twice; a broken file is
//! refused with its errors and the running configuration keeps routing; a changed `group_by`
//! re-forms groups, each told once; a receiver removed while a delivery to it is retried still
//! delivers it.

#[path = "harness/mod.rs"]
mod harness;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use harness::*;
use serde_json::{json, Value};

/// Receivers on the sink's paths, and a tree: the root tells `ops`; `routes` comes after it.
fn config(sink: &HttpPeer, receivers: &[(&str, &str)], group_by: &str, routes: &str) -> String {
    let mut toml = String::new();
    for (name, path) in receivers {
        toml.push_str(&format!(
            "[[receivers]]\nname = \"{name}\"\ntype = \"webhook\"\nurl = \"{}\"\nsend_resolved = true\n\n",
            sink.url(path)
        ));
    }
    toml.push_str(&format!(
        r#"[route]
receiver = "ops"
group_by = {group_by}
group_wait = "200ms"
group_interval = "1h"
repeat_interval = "4h"
{routes}
"#
    ));
    toml
}

/// A child route for `team` telling `receiver`.
fn team_route(team: &str, receiver: &str) -> String {
    format!("[[route.routes]]\nmatchers = ['team=\"{team}\"']\nreceiver = \"{receiver}\"\n")
}

/// Replaces the configuration file as an operator should: write beside it, then rename.
fn write_config(campanile: &Campanile, text: &str) {
    let path = campanile.config_path();
    let tmp = path.with_extension("toml.new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn reload(campanile: &Campanile) -> Value {
    let reply = campanile.post_raw("/-/reload", "").await;
    assert_eq!(reply.status, 200, "{reply:?}\n{}", campanile.log());
    reply.json()
}

/// Every firing alert told, as `(groupKey, receiver, alertname)`, with how many times.
fn told(sink: &HttpPeer) -> HashMap<(String, String, String), usize> {
    let mut told = HashMap::new();
    for r in sink.requests() {
        let Some(payload) = &r.json else { continue };
        if r.answered != 200 {
            continue;
        }
        for alert in webhook_alerts(payload) {
            if alert["status"] != "firing" {
                continue;
            }
            let key = (
                payload["groupKey"].as_str().unwrap_or("").to_string(),
                payload["receiver"].as_str().unwrap_or("").to_string(),
                alert["labels"]["alertname"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
            *told.entry(key).or_default() += 1;
        }
    }
    told
}

/// Routes and receivers change while alerts keep coming: `db` moves to another URL (a changed
/// receiver: a new worker, the old one drains), a `web` route and receiver come and go. Every
/// alert is told, and no alert twice to the same receiver in the same group.
#[tokio::test(flavor = "multi_thread")]
async fn routes_and_receivers_reloaded_under_load_lose_nothing_and_tell_nothing_twice() {
    let sink = HttpPeer::start().await;
    let a = config(
        &sink,
        &[("ops", "/ops"), ("db", "/db-a")],
        r#"["alertname"]"#,
        &team_route("db", "db"),
    );
    let b = config(
        &sink,
        &[("ops", "/ops"), ("db", "/db-b"), ("web", "/web")],
        r#"["alertname"]"#,
        &format!("{}{}", team_route("db", "db"), team_route("web", "web")),
    );
    let campanile = Campanile::start(&a).await;
    let prefix = unique("Load");
    let teams = ["db", "web", "other"];
    let names: Vec<String> = (0..90).map(|i| format!("{prefix}-{i}")).collect();
    let posting = async {
        for (i, name) in names.iter().enumerate() {
            let reply = campanile
                .post_alerts(&json!([{"labels": {"alertname": name, "team": teams[i % 3]}}]))
                .await;
            assert_eq!(reply.status, 200, "{reply:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let reloading = async {
        for round in 0..8 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            write_config(&campanile, if round % 2 == 0 { &b } else { &a });
            let report = reload(&campanile).await;
            assert_eq!(report["changed"], true, "{report}");
        }
    };
    tokio::join!(posting, reloading);

    wait_until("every alert told", PATIENCE, async || {
        let told: HashSet<String> = told(&sink).into_keys().map(|(_, _, n)| n).collect();
        let missing: Vec<&String> = names.iter().filter(|n| !told.contains(*n)).collect();
        missing
            .is_empty()
            .then_some(())
            .ok_or(format!("{} not told: {missing:?}", missing.len()))
    })
    .await;
    let twice: Vec<_> = told(&sink).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(twice.is_empty(), "told twice: {twice:?}");
    assert_eq!(
        campanile
            .metric("campanile_config_reloads_total", &[("outcome", "success")])
            .await,
        8.0
    );
    // db alerts went to the URL of the configuration their group was flushed under, and the
    // old worker delivered what it had been given.
    assert!(!sink.requests_to("/db-a").is_empty() || !sink.requests_to("/db-b").is_empty());
    assert_eq!(
        campanile
            .metric("campanile_notifications_total", &[("outcome", "failed")])
            .await,
        0.0
    );
}

/// A file that does not parse, then one naming an unknown receiver, then one changing a
/// setting that needs a restart: each refused, by the API and by SIGHUP, with the errors in the
/// reply and the log, `campanile_config_last_reload_successful` at 0, and the running
/// configuration still routing. Then a good file: accepted, the metric at 1, a new hash, and
/// the status showing the new tree.
#[tokio::test]
async fn a_broken_file_is_refused_and_the_running_configuration_keeps_routing() {
    let sink = HttpPeer::start().await;
    let good = config(
        &sink,
        &[("ops", "/ops"), ("db", "/db")],
        r#"["alertname"]"#,
        &team_route("db", "db"),
    );
    let campanile = Campanile::start(&good).await;
    let successful = async || {
        campanile
            .metric("campanile_config_last_reload_successful", &[])
            .await
    };
    let hash = campanile.metric("campanile_config_hash", &[]).await;
    assert_eq!(successful().await, 1.0);
    assert!(hash > 0.0);
    let routes_db = async || {
        let name = unique("StillRouted");
        campanile
            .post_alerts(&json!([{"labels": {"alertname": name, "team": "db"}}]))
            .await;
        sink.wait_for_alert("/db", &name, |a| a["labels"]["alertname"] == name.as_str())
            .await;
    };
    routes_db().await;

    // A syntax error, by the API: 500 with the file, line and message.
    write_config(&campanile, "[route\nreceiver = \"ops\"\n");
    let reply = campanile.post_raw("/-/reload", "").await;
    assert_eq!(reply.status, 500, "{reply:?}");
    let body = reply.json();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("campanile.toml") && error.contains("line "),
        "{error}"
    );
    assert_eq!(successful().await, 0.0);
    routes_db().await;

    // An unknown receiver, by SIGHUP: refused and logged.
    let unknown = good.replace("receiver = \"db\"\n", "receiver = \"nobody\"\n");
    write_config(&campanile, &unknown);
    campanile.hangup();
    wait_until("SIGHUP's reload to be refused", PATIENCE, async || {
        let refused = campanile
            .metric(
                "campanile_config_reloads_total",
                &[("trigger", "signal"), ("outcome", "failure")],
            )
            .await;
        (refused == 1.0).then_some(()).ok_or(format!("{refused}"))
    })
    .await;
    let log = campanile.log();
    assert!(
        log.contains("configuration reload refused") && log.contains("nobody"),
        "{log}"
    );
    // And by the API, with the key named.
    let reply = campanile.post_raw("/-/reload", "").await;
    assert_eq!(reply.status, 500, "{reply:?}");
    let errors = reply.json()["errors"].clone();
    assert!(
        errors.as_array().unwrap().iter().any(|e| {
            let e = e.as_str().unwrap();
            e.contains("route.routes[0].receiver") && e.contains("nobody")
        }),
        "{errors}"
    );
    assert_eq!(successful().await, 0.0);
    routes_db().await;

    // A setting that needs a restart: refused, naming it.
    write_config(&campanile, &format!("[limits]\nmax_alerts = 7\n{good}"));
    let reply = campanile.post_raw("/-/reload", "").await;
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(reply.body.contains("limits.max_alerts"), "{reply:?}");
    assert_eq!(
        campanile.metric("campanile_config_hash", &[]).await,
        hash,
        "the hash is the running file's"
    );

    // A good file with a new route: accepted.
    let next = config(
        &sink,
        &[("ops", "/ops"), ("db", "/db"), ("web", "/web")],
        r#"["alertname"]"#,
        &format!("{}{}", team_route("db", "db"), team_route("web", "web")),
    );
    write_config(&campanile, &next);
    let report = reload(&campanile).await;
    assert_eq!(report["receivers"]["started"], json!(["web"]), "{report}");
    assert_eq!(successful().await, 1.0);
    let new_hash = campanile.metric("campanile_config_hash", &[]).await;
    assert!(new_hash != hash && new_hash > 0.0);
    assert_eq!(report["config_hash"].as_f64(), Some(new_hash));
    let status = campanile.get("/api/v2/status").await.json();
    let original = status["config"]["original"].as_str().unwrap();
    assert!(original.contains("name: \"web\""), "{original}");
    let receivers = campanile.get("/api/v2/receivers").await.json();
    assert_eq!(receivers.as_array().unwrap().len(), 3, "{receivers}");
    let name = unique("NewRoute");
    campanile
        .post_alerts(&json!([{"labels": {"alertname": name, "team": "web"}}]))
        .await;
    sink.wait_for_alert("/web", &name, |a| a["labels"]["alertname"] == name.as_str())
        .await;
    routes_db().await;
}

/// `group_by` gains a label: the group splits into new groups (new group keys), each told its
/// alerts once, as Alertmanager does; the old group is not told again. Putting `group_by` back
/// brings the old group back with what it had told, so nothing is told then.
#[tokio::test]
async fn a_changed_group_by_re_forms_groups_told_once() {
    let sink = HttpPeer::start().await;
    let by_name = config(&sink, &[("ops", "/ops")], r#"["alertname"]"#, "");
    let campanile = Campanile::start(&by_name).await;
    let name = unique("Split");
    campanile
        .post_alerts(&json!([
            {"labels": {"alertname": name, "team": "db"}},
            {"labels": {"alertname": name, "team": "web"}},
        ]))
        .await;
    let (first, _) = sink
        .wait_for_alert("/ops", &name, |a| a["labels"]["alertname"] == name.as_str())
        .await;
    assert_eq!(webhook_alerts(&first).len(), 2, "one group of two: {first}");
    let notified = |sink: &HttpPeer| -> Vec<Value> {
        sink.payloads("/ops")
            .into_iter()
            .filter(|p| {
                webhook_alerts(p)
                    .iter()
                    .any(|a| a["labels"]["alertname"] == name.as_str())
            })
            .collect()
    };

    write_config(
        &campanile,
        &config(&sink, &[("ops", "/ops")], r#"["alertname", "team"]"#, ""),
    );
    let report = reload(&campanile).await;
    assert_eq!(
        (&report["groups"]["formed"], &report["groups"]["gone"]),
        (&json!(2), &json!(1)),
        "{report}"
    );
    wait_until("the two new groups told", PATIENCE, async || {
        let n = notified(&sink);
        (n.len() == 3).then_some(()).ok_or(format!("{n:?}"))
    })
    .await;
    let mut keys: Vec<String> = notified(&sink)[1..]
        .iter()
        .map(|p| {
            assert_eq!(webhook_alerts(p).len(), 1, "{p}");
            p["groupKey"].as_str().unwrap().to_string()
        })
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("{{}}:{{alertname=\"{name}\", team=\"db\"}}"),
            format!("{{}}:{{alertname=\"{name}\", team=\"web\"}}"),
        ]
    );

    // Back as it was: the old group comes back with its notification log, nothing is told.
    write_config(&campanile, &by_name);
    let report = reload(&campanile).await;
    assert_eq!(report["groups"]["formed"], json!(1), "{report}");
    stays_true("nothing told again", Duration::from_secs(2), async || {
        let n = notified(&sink);
        (n.len() == 3).then_some(()).ok_or(format!("{n:?}"))
    })
    .await;
}

/// A receiver is removed while a delivery to it is being retried (the receiver answers 500,
/// then 200): the delivery goes on with the old settings and completes.
#[tokio::test]
async fn a_removed_receiver_still_completes_its_delivery_being_retried() {
    let sink = HttpPeer::start().await;
    sink.script_path("/flaky", vec![Answer::status(500); 3]);
    let with_flaky = config(
        &sink,
        &[("ops", "/ops"), ("flaky", "/flaky")],
        r#"["alertname"]"#,
        &team_route("flaky", "flaky"),
    );
    let campanile = Campanile::start(&with_flaky).await;
    let name = unique("Retried");
    campanile
        .post_alerts(&json!([{"labels": {"alertname": name, "team": "flaky"}}]))
        .await;
    wait_until("a first failed attempt", PATIENCE, async || {
        let n = sink.requests_to("/flaky").len();
        (n >= 1).then_some(()).ok_or(format!("{n} attempts"))
    })
    .await;

    write_config(
        &campanile,
        &config(&sink, &[("ops", "/ops")], r#"["alertname"]"#, ""),
    );
    let report = reload(&campanile).await;
    assert_eq!(
        report["receivers"]["draining"],
        json!(["flaky"]),
        "{report}"
    );
    let receivers = campanile.get("/api/v2/receivers").await.json();
    assert_eq!(receivers, json!([{"name": "ops"}]));

    wait_until("the retried delivery to succeed", PATIENCE, async || {
        let sent = campanile
            .metric(
                "campanile_notifications_total",
                &[("receiver", "flaky"), ("outcome", "sent")],
            )
            .await;
        (sent == 1.0)
            .then_some(())
            .ok_or(format!("sent {sent}; {}", sink.summary()))
    })
    .await;
    let delivered = sink
        .requests_to("/flaky")
        .into_iter()
        .filter(|r| r.answered == 200)
        .count();
    assert_eq!(delivered, 1);
    // The alert stays in its group, now under the root route; that group is new, so ops is told.
    sink.wait_for_alert("/ops", &name, |a| a["labels"]["alertname"] == name.as_str())
        .await;
}

/// A plugin entry changed (its `config` table, then its path): a new set of plugins is loaded
/// and routes the flushes after the reload; a plugin that does not load refuses the reload, and
/// the running plugins keep routing.
#[tokio::test]
async fn a_changed_plugin_entry_loads_a_new_set_or_refuses_the_reload() {
    let sink = HttpPeer::start().await;
    let with_plugin = |receiver: &str, path: &str| {
        let mut toml = config(
            &sink,
            &[("ops", "/ops"), ("one", "/one"), ("two", "/two")],
            r#"["alertname"]"#,
            "",
        );
        toml = toml.replace(
            "receiver = \"ops\"\ngroup_by",
            "receiver = \"ops\"\nplugin = \"router\"\ngroup_by",
        );
        toml.push_str(&format!(
            "\n[[plugins]]\nname = \"router\"\npath = \"{path}\"\n[plugins.config]\nmode = \"ok\"\nreceiver = \"{receiver}\"\n"
        ));
        toml
    };
    let campanile = Launch::new(&with_plugin("one", "router.wasm"))
        .file("router.wasm", &hostile_wasm())
        .start()
        .await;
    let routed_to = async |path: &str| {
        let name = unique("Plugin");
        campanile
            .post_alerts(&json!([{"labels": {"alertname": name}}]))
            .await;
        sink.wait_for_alert(path, &name, |a| a["labels"]["alertname"] == name.as_str())
            .await;
    };
    routed_to("/one").await;

    write_config(&campanile, &with_plugin("two", "router.wasm"));
    let report = reload(&campanile).await;
    assert_eq!(
        report["unchanged"],
        json!(["router"]),
        "same build: {report}"
    );
    routed_to("/two").await;

    // A file that is not a component: the new set does not load, nothing changes.
    let dir = campanile.config_path().parent().unwrap().to_path_buf();
    std::fs::write(dir.join("broken.wasm"), b"\0asm garbage").unwrap();
    write_config(&campanile, &with_plugin("one", "broken.wasm"));
    let reply = campanile.post_raw("/-/reload", "").await;
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(
        reply.body.contains("broken.wasm") && reply.body.contains("not a valid component"),
        "{reply:?}"
    );
    assert_eq!(
        campanile
            .metric(
                "campanile_plugin_reloads_total",
                &[("trigger", "api"), ("outcome", "failed")]
            )
            .await,
        1.0
    );
    routed_to("/two").await;
    assert!(sink.requests_to("/ops").is_empty(), "no fault fallback");
}
