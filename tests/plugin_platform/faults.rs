//! A hostile routing plugin must never lose an alert nor stall campanile: whatever the plugin does
//! (loop, trap, error, name an unknown receiver, exhaust memory or stack, answer something huge),
//! the route's own receiver gets the group, and campanile keeps answering meanwhile.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

/// How long campanile may take to answer a health check or accept an alert while plugins misbehave.
const RESPONSIVE: Duration = Duration::from_secs(1);

/// The hostile plugin in `mode` on the root route, with the route's receiver `fallback` and the
/// plugin's own choice (in mode `ok`) `named`, both on the sink.
fn config(sink: &HttpPeer, mode: &str) -> String {
    format!(
        r#"
[[receivers]]
name = "fallback"
type = "webhook"
url = "{fallback}"

[[receivers]]
name = "named"
type = "webhook"
url = "{named}"

[[plugins]]
name = "hostile"
path = '{plugin}'
timeout = "200ms"
memory_limit = "16MiB"
max_output = "32KiB"

[plugins.config]
mode = "{mode}"
receiver = "named"

[route]
receiver = "fallback"
plugin = "hostile"
group_by = ["alertname"]
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1h"
"#,
        fallback = sink.url("/fallback"),
        named = sink.url("/named"),
        plugin = hostile_wasm().display(),
    )
}

/// Posts alerts for `alertnames` (one group each) and checks that campanile answered quickly.
async fn post(campanile: &Campanile, alertnames: &[&str]) {
    let alerts: Vec<_> = alertnames
        .iter()
        .map(|name| json!({"labels": {"alertname": name, "severity": "critical"}}))
        .collect();
    let started = Instant::now();
    let reply = campanile.post_alerts(&json!(alerts)).await;
    let took = started.elapsed();
    assert_eq!(reply.status, 200, "posting {alertnames:?}: {reply:?}");
    assert!(took < RESPONSIVE, "posting {alertnames:?} took {took:?}");
}

/// Waits until every alert of `alertnames` reached `path`, checking all along that campanile
/// answers `/-/healthy` within [`RESPONSIVE`].
async fn wait_delivered_while_healthy(
    campanile: &Campanile,
    sink: &HttpPeer,
    path: &str,
    alertnames: &[&str],
) {
    let what = format!("{alertnames:?} at {path} while /-/healthy stays quick");
    wait_until(&what, PATIENCE, async || {
        let started = Instant::now();
        let health = campanile.get("/-/healthy").await;
        let took = started.elapsed();
        assert_eq!(health.status, 200, "/-/healthy: {health:?}");
        assert!(took < RESPONSIVE, "/-/healthy took {took:?}");
        let delivered: Vec<String> = sink
            .payloads(path)
            .iter()
            .flat_map(|p| webhook_alerts(p).to_vec())
            .filter_map(|a| a["labels"]["alertname"].as_str().map(String::from))
            .collect();
        if alertnames.iter().all(|n| delivered.iter().any(|d| d == n)) {
            Ok(())
        } else {
            Err(sink.summary())
        }
    })
    .await;
}

/// Every group reaches the fallback receiver, never the plugin's choice, and campanile stays
/// responsive before, during and after the faults, which `/metrics` counts as `kind`.
async fn faults_fall_back(mode: &str, kind: &str) {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink, mode)).await;

    // Three groups at once: three plugin calls that each misbehave.
    let first = ["E2EFirst", "E2ESecond", "E2EThird"];
    post(&campanile, &first).await;
    wait_delivered_while_healthy(&campanile, &sink, "/fallback", &first).await;

    // A fault leaves the plugin usable: a later group is routed (to the fallback again).
    post(&campanile, &["E2EAfter"]).await;
    wait_delivered_while_healthy(&campanile, &sink, "/fallback", &["E2EAfter"]).await;

    for payload in sink.payloads("/fallback") {
        assert_eq!(payload["receiver"], "fallback", "{payload}");
    }
    assert!(
        sink.requests_to("/named").is_empty(),
        "mode {mode}: the plugin's receiver was notified: {}",
        sink.summary()
    );
    // The fallbacks came from the fault under test, once per group, not from another failure.
    let faults = campanile
        .metric(
            "campanile_plugin_faults_total",
            &[("plugin", "hostile"), ("kind", kind)],
        )
        .await;
    assert!(
        faults >= 4.0,
        "mode {mode}: expected 4 plugin faults of kind {kind}, /metrics counts {faults}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_ok_notifies_its_receiver() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink, "ok")).await;
    post(&campanile, &["E2EOk"]).await;
    let (payload, alert) = sink.wait_for_labelled("/named", "alertname", "E2EOk").await;
    assert_eq!(payload["receiver"], "named", "{payload}");
    assert_eq!(alert["status"], "firing", "{alert}");
    assert!(
        sink.requests_to("/fallback").is_empty(),
        "the fallback was notified although the plugin worked: {}",
        sink.summary()
    );
    let faults = campanile
        .metric("campanile_plugin_faults_total", &[("plugin", "hostile")])
        .await;
    assert_eq!(faults, 0.0, "a working plugin was counted as faulty");
}

/// Instances are reused between calls, but one whose memory grows (a plugin that leaks, here
/// 2 MiB per call under a 16 MiB limit) is retired before the leak can become a fault: every
/// group reaches the plugin's receiver and no fault is counted.
#[tokio::test(flavor = "multi_thread")]
async fn leaking_plugin_is_recycled_before_it_faults() {
    let sink = HttpPeer::start().await;
    let config = config(&sink, "leak").replace("group_wait = \"1s\"", "group_wait = \"0s\"");
    let campanile = Campanile::start(&config).await;
    // One group after another, so calls meet the instance the previous call left.
    let names: Vec<String> = (0..12).map(|i| format!("E2ELeak{i}")).collect();
    for name in &names {
        post(&campanile, &[name]).await;
        wait_delivered_while_healthy(&campanile, &sink, "/named", &[name]).await;
    }
    let faults = campanile
        .metric("campanile_plugin_faults_total", &[("plugin", "hostile")])
        .await;
    assert_eq!(
        faults,
        0.0,
        "the leak turned into faults: {}",
        sink.summary()
    );
    // The titles count calls per instance: above 1 shows reuse, and the count restarts.
    let mut served = Vec::new();
    for payload in sink.payloads("/named") {
        let decisions = campanile
            .decisions(payload["groupKey"].as_str().unwrap())
            .await;
        for decision in decisions.as_array().unwrap() {
            for action in decision["actions"].as_array().unwrap() {
                let action = action.as_str().unwrap();
                let calls = action.rsplit("leak ").next().unwrap().trim_end_matches('"');
                served.push(calls.parse::<u32>().unwrap_or_else(|_| panic!("{action}")));
            }
        }
    }
    assert_eq!(served.len(), names.len(), "{served:?}");
    assert!(
        served.iter().any(|&n| n > 1),
        "no instance was reused: {served:?}"
    );
    let retired = served.windows(2).any(|w| w[0] > 1 && w[1] == 1);
    assert!(
        retired,
        "no worn instance was replaced by a fresh one: {served:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_loop_times_out_to_fallback() {
    faults_fall_back("loop", "timeout").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_trap_falls_back() {
    faults_fall_back("trap", "trap").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_error_falls_back() {
    faults_fall_back("error", "error").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_unknown_receiver_falls_back() {
    faults_fall_back("unknown-receiver", "unknown_receiver").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_empty_answer_falls_back() {
    faults_fall_back("silent", "error").await;
}

/// An unknown receiver beside a configured one: the route's receiver is told in the unknown
/// one's place, and the configured one is told too (as `campanile plugin test` shows).
#[tokio::test(flavor = "multi_thread")]
async fn plugin_unknown_receiver_beside_a_known_one_tells_both() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink, "mixed")).await;
    post(&campanile, &["E2EMixed"]).await;
    wait_delivered_while_healthy(&campanile, &sink, "/fallback", &["E2EMixed"]).await;
    wait_delivered_while_healthy(&campanile, &sink, "/named", &["E2EMixed"]).await;
    let faults = campanile
        .metric(
            "campanile_plugin_faults_total",
            &[("plugin", "hostile"), ("kind", "unknown_receiver")],
        )
        .await;
    assert_eq!(faults, 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_memory_exhaustion_falls_back() {
    faults_fall_back("memory", "memory").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_stack_overflow_falls_back() {
    faults_fall_back("recursion", "trap").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_answer_past_max_output_falls_back() {
    faults_fall_back("wordy", "output").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_giant_answer_falls_back() {
    faults_fall_back("giant", "memory").await;
}

/// The hostile plugin in Python (`tests/plugins/python-hostile`), at the default memory limit,
/// one configured plugin per mode in one campanile: a loop, runaway memory and an exception
/// each fall back to the route's receiver, counted by kind, while the same build in mode `ok`
/// routes; a fault leaves each plugin usable for the next group; and the instance that routed
/// the first `ok` group, although its interpreter fills more than half the memory limit, is
/// kept warm for the second.
#[tokio::test(flavor = "multi_thread")]
async fn python_plugin_faults_fall_back() {
    const MODES: [(&str, &str); 3] = [
        ("loop", "timeout"),
        ("memory", "memory"),
        ("exception", "error"),
    ];
    let sink = HttpPeer::start().await;
    let plugin = crate::languages::Language::Python.example("hostile");
    let mut config = format!(
        r#"
[[receivers]]
name = "fallback"
type = "webhook"
url = "{fallback}"

[[receivers]]
name = "named"
type = "webhook"
url = "{named}"

[route]
receiver = "fallback"
plugin = "py-ok"
group_by = ["alertname"]
group_wait = "0s"
group_interval = "1s"
repeat_interval = "1h"
"#,
        fallback = sink.url("/fallback"),
        named = sink.url("/named"),
    );
    for mode in ["ok", "loop", "memory", "exception"] {
        config += &format!(
            "\n[[plugins]]\nname = \"py-{mode}\"\npath = '{}'\ntimeout = \"500ms\"\n\
             [plugins.config]\nmode = \"{mode}\"\nreceiver = \"named\"\n",
            plugin.display()
        );
    }
    for (mode, _) in MODES {
        config += &format!(
            "\n[[route.routes]]\nmatchers = ['mode=\"{mode}\"']\nreceiver = \"fallback\"\n\
             plugin = \"py-{mode}\"\ngroup_by = [\"alertname\"]\ngroup_wait = \"0s\"\n"
        );
    }
    let campanile = Launch::new(&config).shared_plugin_cache().start().await;

    for round in ["First", "Again"] {
        let name = |mode: &str| format!("E2EPy{round}{mode}");
        let mut alerts = vec![json!({"labels": {"alertname": name("ok"), "mode": "ok"}})];
        for (mode, _) in MODES {
            alerts.push(json!({"labels": {"alertname": name(mode), "mode": mode}}));
        }
        let started = Instant::now();
        let reply = campanile.post_alerts(&json!(alerts)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert!(
            started.elapsed() < RESPONSIVE,
            "posting took {:?}",
            started.elapsed()
        );
        let faulty: Vec<String> = MODES.iter().map(|(mode, _)| name(mode)).collect();
        let faulty: Vec<&str> = faulty.iter().map(String::as_str).collect();
        wait_delivered_while_healthy(&campanile, &sink, "/fallback", &faulty).await;
        wait_delivered_while_healthy(&campanile, &sink, "/named", &[&name("ok")]).await;
    }
    for (mode, kind) in MODES {
        let plugin = format!("py-{mode}");
        let faults = campanile
            .metric(
                "campanile_plugin_faults_total",
                &[("plugin", &plugin), ("kind", kind)],
            )
            .await;
        assert_eq!(faults, 2.0, "{mode}: expected two faults of kind {kind}");
    }
    let ok_faults = campanile
        .metric("campanile_plugin_faults_total", &[("plugin", "py-ok")])
        .await;
    assert_eq!(ok_faults, 0.0);
    assert!(
        campanile.log().contains("ZeroDivisionError"),
        "the exception is logged by name"
    );
    let mut titles = Vec::new();
    for payload in sink.payloads("/named") {
        let decisions = campanile
            .decisions(payload["groupKey"].as_str().unwrap())
            .await;
        titles.push(decisions[0]["actions"][0].clone());
        let alerts = webhook_alerts(&payload);
        assert!(
            alerts.iter().all(|a| a["labels"]["mode"] == "ok"),
            "a faulty mode reached the plugin's receiver: {payload:#}"
        );
    }
    assert_eq!(
        titles,
        [
            json!("notify named title=\"python ok 1\""),
            json!("notify named title=\"python ok 2\"")
        ],
        "the second call met the instance the first one left"
    );
}
