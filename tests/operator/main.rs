//! The operator APIs against the real binary, driven by the real `amtool` (Debian's
//! `prometheus-alertmanager` 0.25):
//!
//! - `silences.rs`: silences mute and unmute notifications, with alert and group queries;
//! - `muting.rs`: inhibition and time intervals;
//! - `status.rs`: `amtool config routes`, the status and the receivers;
//! - `access.rs`: bearer-token authentication of writes, and of reads when asked;
//! - `acks.rs`: acknowledgements, by API and by signed link.

#[path = "../harness/mod.rs"]
mod harness;

mod access;
mod acks;
mod muting;
mod silences;
mod status;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use harness::*;

/// A webhook receiver on the sink's `/hook`, groups by alertname, due after 1 s; `extra` comes
/// first (for `[server]`) and `tail` last (for `[[inhibit_rules]]`, child routes).
fn config(sink: &HttpPeer, extra: &str, tail: &str) -> String {
    format!(
        r#"{extra}
[[receivers]]
name = "hook"
type = "webhook"
url = "{}"
send_resolved = true

[route]
receiver = "hook"
group_by = ["alertname"]
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1h"
{tail}
"#,
        sink.url("/hook")
    )
}

/// How long a muted alert must stay unnotified to count as muted: several group intervals.
const MUTED_FOR: Duration = Duration::from_secs(4);

fn amtool_binary() -> PathBuf {
    find_binary(&["amtool"], "prometheus-alertmanager")
}

/// Runs `amtool --alertmanager.url=http://ADDR ARGS…` and returns its output.
async fn amtool(campanile: &Campanile, args: &[&str]) -> Output {
    tokio::process::Command::new(amtool_binary())
        .arg(format!("--alertmanager.url=http://{}", campanile.addr))
        .args(args)
        .output()
        .await
        .expect("run amtool")
}

/// Runs amtool and asserts it succeeded; returns its standard output.
async fn amtool_ok(campanile: &Campanile, args: &[&str]) -> String {
    let out = amtool(campanile, args).await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "amtool {args:?} failed ({}): stdout {stdout:?}, stderr {stderr:?}",
        out.status,
    );
    // amtool compares the version campanile reports with its own, on every command.
    assert!(
        !stderr.contains("are different"),
        "amtool {args:?} warned of a version mismatch: {stderr:?}"
    );
    stdout
}

async fn amtool_json(campanile: &Campanile, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["-o", "json"];
    all.extend_from_slice(args);
    let stdout = amtool_ok(campanile, &all).await;
    match serde_json::from_str(&stdout) {
        Ok(Value::Array(items)) => items,
        other => panic!("amtool {args:?} did not print a JSON array: {other:?} from {stdout:?}"),
    }
}

fn alertnames(items: &[Value]) -> Vec<&str> {
    let mut names: Vec<&str> = items
        .iter()
        .filter_map(|a| a["labels"]["alertname"].as_str())
        .collect();
    names.sort();
    names
}

/// Whether any notification on `/hook` held a firing alert named `name`.
fn notified_firing(sink: &HttpPeer, name: &str) -> bool {
    sink.payloads("/hook").iter().any(|p| {
        webhook_alerts(p)
            .iter()
            .any(|a| a["labels"]["alertname"] == name && a["status"] == "firing")
    })
}

async fn never_notified(sink: &HttpPeer, name: &str) {
    stays_true(
        &format!("no notification of {name}"),
        MUTED_FOR,
        async || match notified_firing(sink, name) {
            true => Err(sink.summary()),
            false => Ok(()),
        },
    )
    .await;
}

async fn wait_notified(sink: &HttpPeer, name: &str) {
    wait_until(
        &format!("a notification of {name} firing"),
        PATIENCE,
        async || {
            notified_firing(sink, name)
                .then_some(())
                .ok_or_else(|| sink.summary())
        },
    )
    .await;
}

const TOKEN: &str = "operator-s3cret-token";

async fn send(
    campanile: &Campanile,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> u16 {
    let mut request = client().request(method, campanile.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("request").status().as_u16()
}
