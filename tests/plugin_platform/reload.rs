//! A plugin swapped while campanile runs: by `POST /-/reload`, by replacing its file, by SIGHUP,
//! and under load, with a broken one refused.

use std::time::Duration;

use serde_json::json;

use super::{count_for, post};
use crate::harness::*;

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
