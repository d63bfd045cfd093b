//! Observability and the example deployment, end to end. A real Prometheus, configured from
//! `examples/prometheus.yml` and `examples/rules.yml`, scrapes campanile (configured from
//! `examples/campanile.toml`) and alerts to it; the counters it scraped must show the routed
//! alert. A real Alertmanager configured from `examples/alertmanager.yml` forwards to campanile.
//! The example files are read here, with as few substitutions as running on loopback needs, so
//! what an operator copies keeps working. Also: health endpoints, `healthcheck`, `--version`,
//! `--help`, exit codes and JSON logs.

#[path = "harness/mod.rs"]
mod harness;

use std::path::PathBuf;
use std::process::Command;

use harness::*;
use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_campanile");

fn examples_dir() -> PathBuf {
    workspace_root().join("examples")
}

/// The text of `examples/NAME`.
fn example(name: &str) -> String {
    let path = examples_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `text` with `from` replaced by `to`; fails if `from` is not in it, so a changed example makes
/// this test fail instead of quietly testing something else.
fn substitute(text: &str, file: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "examples/{file} no longer contains {from:?}: update tests/observability.rs"
    );
    text.replace(from, to)
}

/// `examples/campanile.toml`, runnable here: the same receivers as webhooks on `sink` (path
/// `/NAME`), the built plugin, the store in the working folder, and a 1 s group wait.
fn campanile_config(sink: &HttpPeer) -> String {
    let mut config: toml::Table =
        toml::from_str(&example("campanile.toml")).expect("examples/campanile.toml is TOML");
    let receivers = config["receivers"]
        .as_array_mut()
        .expect("examples/campanile.toml has receivers");
    for receiver in receivers {
        let name = receiver["name"]
            .as_str()
            .expect("receiver name")
            .to_string();
        let mut webhook = toml::Table::new();
        webhook.insert("name".into(), name.clone().into());
        webhook.insert("type".into(), "webhook".into());
        webhook.insert("url".into(), sink.url(&format!("/{name}")).into());
        webhook.insert("send_resolved".into(), true.into());
        *receiver = webhook.into();
    }
    let plugins = config["plugins"].as_array_mut().expect("plugins");
    assert_eq!(plugins[0]["name"].as_str(), Some("severity-router"));
    plugins[0]["path"] = severity_router_wasm().display().to_string().into();
    config["store"]["path"] = "campanile.redb".into();
    config["route"]["group_wait"] = "1s".into();
    toml::to_string(&config).expect("config serialises")
}

/// `examples/prometheus.yml` scraping and alerting to `campanile` every second.
fn prometheus_config(campanile: &str) -> String {
    let file = "prometheus.yml";
    let mut text = example(file);
    text = substitute(&text, file, "scrape_interval: 15s", "scrape_interval: 1s");
    text = substitute(
        &text,
        file,
        "evaluation_interval: 15s",
        "evaluation_interval: 1s",
    );
    text = substitute(&text, file, "campanile:9797", campanile);
    // No Alertmanager in this test: a closed local port rather than a name to resolve.
    substitute(&text, file, "alertmanager:9093", "127.0.0.1:9")
}

/// `examples/alertmanager.yml` forwarding to `campanile` after a 1 s group wait.
fn alertmanager_config(campanile: &Campanile) -> String {
    let file = "alertmanager.yml";
    let text = substitute(
        &example(file),
        file,
        "http://campanile:9797/",
        &campanile.url("/"),
    );
    substitute(&text, file, "group_wait: 5s", "group_wait: 1s")
}

/// A Prometheus running the example configuration and rules, alerting to `campanile`.
async fn example_prometheus(campanile: &str) -> Prometheus {
    Prometheus::start_with(&prometheus_config(campanile), &example("rules.yml")).await
}

/// Runs the campanile binary with `args` and returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(BINARY)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run campanile {args:?}: {e}"));
    (
        output.status.code().expect("exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_the_counters_of_a_routed_alert() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&campanile_config(&sink)).await;
    let prometheus = example_prometheus(&campanile.addr).await;

    // The example's always-firing Watchdog (severity info) goes to the `email` receiver.
    let (payload, alert) = sink
        .wait_for_labelled("/email", "alertname", "Watchdog")
        .await;
    assert_eq!(payload["receiver"], "email", "payload: {payload}");
    assert_eq!(alert["status"], "firing", "alert: {alert}");

    // What Prometheus scraped after that shows the whole path.
    for (promql, at_least) in [
        ("up{job=\"campanile\"}", 1.0),
        ("campanile_build_info", 1.0),
        (
            "sum(campanile_alerts_received_total{endpoint=\"api_v2\",outcome=\"accepted\"})",
            1.0,
        ),
        ("sum(campanile_alerts_active)", 1.0),
        ("sum(campanile_groups)", 1.0),
        (
            "sum(campanile_plugin_calls_total{plugin=\"severity-router\"})",
            1.0,
        ),
        ("sum(campanile_plugin_call_duration_seconds_count)", 1.0),
        (
            "sum(campanile_notifications_total{receiver=\"email\",integration=\"webhook\",outcome=\"sent\"})",
            1.0,
        ),
        (
            "sum(campanile_store_commit_duration_seconds_count{durable=\"true\"})",
            1.0,
        ),
        ("sum(campanile_start_time_seconds)", 1.0),
    ] {
        prometheus.wait_for_value(promql, at_least).await;
    }
    // Re-sends of the same alert (every second) are merged into the one held.
    prometheus
        .wait_for_value("sum(campanile_alerts_deduplicated_total)", 1.0)
        .await;
    assert_eq!(
        prometheus
            .value("sum(campanile_plugin_faults_total) or vector(0)")
            .await
            .unwrap(),
        0.0
    );

    // The scrape itself is healthy, and every example rule evaluates without error.
    let targets = prometheus.get_json("/api/v1/targets", &[]).await.unwrap();
    let campanile_target = targets["activeTargets"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["labels"]["job"] == "campanile"))
        .cloned()
        .unwrap_or_else(|| panic!("no campanile target in {targets}"));
    assert_eq!(
        campanile_target["health"], "up",
        "target: {campanile_target}"
    );
    let rules = prometheus.get_json("/api/v1/rules", &[]).await.unwrap();
    let mut count = 0;
    for group in rules["groups"].as_array().expect("rule groups") {
        for rule in group["rules"].as_array().expect("rules") {
            count += 1;
            assert_eq!(rule["health"], "ok", "rule {}: {rule}", rule["name"]);
        }
    }
    assert!(count >= 5, "the example rules did not load: {rules}");
    assert!(
        !prometheus.log().contains("level=error"),
        "prometheus logged errors:\n{}",
        prometheus.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn example_alertmanager_forwards_to_campanile() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&campanile_config(&sink)).await;
    let alertmanager = Alertmanager::start(&alertmanager_config(&campanile)).await;

    let alertname = unique("ObsForwarded");
    alertmanager
        .post_alerts(&json!([{
            "labels": {"alertname": alertname, "severity": "critical", "cluster": "eu1"},
            "annotations": {"summary": "forwarded by the example Alertmanager"},
        }]))
        .await;
    // severity critical: the plugin picks the `pager` receiver.
    let (payload, _) = sink
        .wait_for_labelled("/pager", "alertname", &alertname)
        .await;
    assert_eq!(payload["receiver"], "pager", "payload: {payload}");
    // Counted once the alert is durable, which may come after the notification: grouping
    // starts while the commit is written.
    wait_until("the webhook_v4 accepted counter", PATIENCE, async || {
        let received = campanile
            .metric(
                "campanile_alerts_received_total",
                &[("endpoint", "webhook_v4"), ("outcome", "accepted")],
            )
            .await;
        (received >= 1.0)
            .then_some(())
            .ok_or_else(|| format!("webhook_v4 accepted counter is {received}"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn example_files_pass_their_tools_checks() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "campanile.toml",
        "prometheus.yml",
        "rules.yml",
        "alertmanager.yml",
    ] {
        std::fs::copy(examples_dir().join(name), dir.path().join(name)).unwrap();
    }
    // The plugin beside the config, where the image has it.
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        severity_router_wasm(),
        dir.path().join("plugins/severity_router.wasm"),
    )
    .unwrap();
    let config = dir.path().join("campanile.toml");
    let (code, stdout, stderr) = run(&["check-config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "check-config rejected the example: {stderr}");
    assert!(stdout.contains("OK"), "{stdout}");

    for (tool, package, args) in [
        (
            "promtool",
            "prometheus",
            vec!["check", "config", "prometheus.yml"],
        ),
        (
            "promtool",
            "prometheus",
            vec!["check", "rules", "rules.yml"],
        ),
        (
            "amtool",
            "prometheus-alertmanager",
            vec!["check-config", "alertmanager.yml"],
        ),
    ] {
        let output = Command::new(find_binary(&[tool], package))
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{tool} {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    // Every file compose.yaml mounts from the examples folder exists.
    let compose = example("compose.yaml");
    let mounts: Vec<&str> = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- ./"))
        .map(|m| m.split(':').next().unwrap())
        .collect();
    assert!(mounts.len() >= 4, "compose.yaml mounts {mounts:?}");
    for m in mounts {
        assert!(
            examples_dir().join(m).is_file(),
            "compose.yaml mounts ./{m}, which examples/ does not have"
        );
    }
}

#[test]
fn version_help_and_exit_codes() {
    let (code, stdout, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(stdout, format!("campanile {}\n", env!("CARGO_PKG_VERSION")));

    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for expected in [
        "serve",
        "check-config",
        "healthcheck",
        "Exit status",
        "RUST_LOG",
    ] {
        assert!(
            stdout.contains(expected),
            "--help lacks {expected:?}:\n{stdout}"
        );
    }

    // Usage errors and invalid configurations exit 2.
    let (code, _, stderr) = run(&["serve", "--no-such-flag"]);
    assert_eq!(code, 2, "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[route]\nreceiver = \"nobody\"\n").unwrap();
    let (code, _, stderr) = run(&["serve", "--config", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&bad.display().to_string()), "{stderr}");

    // A plugin that is not a component: check-config compiles plugins, so it says so.
    std::fs::write(dir.path().join("broken.wasm"), b"not wasm").unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        "[[receivers]]\nname = \"log\"\ntype = \"log\"\n\n\
         [[plugins]]\nname = \"broken\"\npath = \"broken.wasm\"\n\n\
         [route]\nreceiver = \"log\"\nplugin = \"broken\"\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&["check-config", broken.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("broken"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_endpoints_and_healthcheck_command() {
    let campanile = Campanile::start(
        "[[receivers]]\nname = \"log\"\ntype = \"log\"\n\n[route]\nreceiver = \"log\"\n",
    )
    .await;
    for path in ["/-/healthy", "/-/ready"] {
        let reply = campanile.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
    }
    let ready = campanile.url("/-/ready");
    let (code, stdout, stderr) = run(&["healthcheck", "--url", &ready]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("ready"), "{stdout}");

    // Nothing listening: not healthy, exit 1, saying why.
    let down = HttpPeer::down().await;
    let closed = down.url("/-/ready");
    let (code, _, stderr) = run(&["healthcheck", "--url", &closed, "--timeout", "2s"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");

    // A port that is taken: serve cannot start, exit 1.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("campanile.toml");
    std::fs::write(
        &config,
        "[store]\ndurability = \"off\"\n\n[[receivers]]\nname = \"log\"\ntype = \"log\"\n\n[route]\nreceiver = \"log\"\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&[
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--listen",
        &campanile.addr,
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("cannot listen"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_carry_the_flush_span() {
    let config = r#"
[store]
durability = "off"

[[receivers]]
name = "audit"
type = "log"

[route]
name = "root"
receiver = "audit"
group_by = ["alertname"]
group_wait = "1s"
"#;
    let campanile = Launch::new(config)
        .env("CAMPANILE_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .start()
        .await;
    let alertname = unique("ObsJsonLog");
    let response = campanile
        .post_alerts(&json!([{"labels": {"alertname": alertname}}]))
        .await;
    assert_eq!(response.status, 200, "{response:?}");
    let line = wait_until("the JSON notification line", PATIENCE, async || {
        let text = campanile.log();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).map_err(|e| format!("not JSON: {l:?}: {e}")))
            .collect::<Result<_, _>>()?;
        lines
            .into_iter()
            .find(|l| {
                l["fields"]["receiver"] == "audit"
                    && l["fields"]["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("notification") && m.contains(&alertname))
            })
            .ok_or(text)
    })
    .await;
    assert_eq!(line["level"], "INFO", "{line}");
    let group_key = line["fields"]["group_key"].as_str().unwrap_or_default();
    assert!(group_key.contains(&alertname), "{line}");
    // Every line of the run was JSON (checked above); the flush span names its group.
    let text = campanile.log();
    let flush = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .flat_map(|l| l["spans"].as_array().cloned().unwrap_or_default())
        .find(|s| s["name"] == "flush");
    if let Some(span) = flush {
        assert_eq!(span["group_key"], group_key, "{span}");
        assert_eq!(span["route"], "root", "{span}");
    }
}
