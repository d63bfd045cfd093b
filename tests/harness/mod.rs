//! Shared helpers for the end-to-end tests: the one way to start the real `campanile` binary
//! (`campanile/`: a kept folder, restarts, `kill -9`, no race for a port), the one HTTP peer
//! that stands in for receivers and services (`http_peer/`: scripted answers and recording), a
//! real SMTP server (`smtp.rs`), real Prometheus, Alertmanager and PostgreSQL processes
//! (`third_party/`),
//! and waiting for conditions with deadlines.
//!
//! Include it from a test binary's root with `#[path = "harness/mod.rs"] mod harness;` (from a
//! `tests/NAME/main.rs`, `"../harness/mod.rs"`). Each binary uses only some of the helpers,
//! hence the `allow` below.

#![allow(dead_code, unused_imports)]

mod campanile;
mod http_peer;
mod process;
mod smtp;
mod tcp_proxy;
mod third_party;

pub use campanile::{check_config, Campanile, Launch, NotStarted, Reply};
pub use http_peer::{Answer, HttpPeer, Received};
pub use process::find_binary;
pub use smtp::{SmtpOptions, SmtpPeer};
pub use tcp_proxy::TcpProxy;
pub use third_party::{Alertmanager, Postgres, Prometheus};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a test waits for something that should happen within a few seconds.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The workspace root: the parent of the `host` package.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// The Alertmanager 0.25 fixtures in `shared/`, which sits beside the workspace (read-only).
pub fn fixtures_dir() -> PathBuf {
    let dir = workspace_root().join("../shared/fixtures/alertmanager-0.25");
    assert!(
        dir.is_dir(),
        "fixture folder {} is missing: shared/ must sit beside the workspace",
        dir.display()
    );
    dir
}

/// Reads a JSON fixture from [`fixtures_dir`].
pub fn fixture_json(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path.display()))
}

/// The path of a built plugin, e.g. `plugin_path("severity_router")`. Plugins are built by
/// `scripts/build-plugins.sh` into `target/wasm32-wasip2/plugin/`, or looked up in
/// `$CAMPANILE_PLUGIN_DIR`.
pub fn plugin_path(name: &str) -> PathBuf {
    let dir = std::env::var_os("CAMPANILE_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/wasm32-wasip2/plugin"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "plugin {} is missing: run scripts/build-plugins.sh first",
        path.display()
    );
    path
}

pub fn severity_router_wasm() -> PathBuf {
    plugin_path("severity_router")
}

pub fn escalation_wasm() -> PathBuf {
    plugin_path("escalation_policy")
}

pub fn replica_dedup_wasm() -> PathBuf {
    plugin_path("replica_dedup")
}

pub fn team_ownership_wasm() -> PathBuf {
    plugin_path("team_ownership")
}

pub fn hostile_wasm() -> PathBuf {
    plugin_path("hostile_plugin")
}

/// Polls `probe` every 100 ms until it returns `Ok`, and returns that value. After `timeout`,
/// panics with `what` and the last `Err` the probe gave, which should say what it saw.
pub async fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(seen) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Checks `probe` every 100 ms for `window` and panics as soon as it returns `Err`: for
/// asserting that something does *not* happen (a second notification, say) for a while.
pub async fn stays_true(
    what: &str,
    window: Duration,
    mut probe: impl AsyncFnMut() -> Result<(), String>,
) {
    let deadline = Instant::now() + window;
    while Instant::now() < deadline {
        if let Err(seen) = probe().await {
            panic!("expected {what} for {window:?}, but saw: {seen}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An HTTP client for loopback: no proxy, short timeouts.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("build reqwest client")
}

/// RFC 3339 timestamp `offset` from now (negative is in the past).
pub fn rfc3339_from_now(offset: time::Duration) -> String {
    (time::OffsetDateTime::now_utc() + offset)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format RFC 3339")
}

/// A label value unique to this test process and call, so tests never see each other's alerts.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The alerts of an Alertmanager webhook v4 payload.
pub fn webhook_alerts(payload: &Value) -> &[Value] {
    payload["alerts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("webhook payload has no alerts array: {payload}"))
}

/// The alert of `alerts` (API v2 or webhook shape) whose label `name` equals `value`.
pub fn alert_with_label<'a>(alerts: &'a [Value], name: &str, value: &str) -> Option<&'a Value> {
    alerts.iter().find(|a| a["labels"][name] == value)
}

/// Percent-encodes `s` for a query string (everything but RFC 3986's unreserved characters).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Whether `s` is an Alertmanager fingerprint: 16 lowercase hex digits.
pub fn is_fingerprint(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
