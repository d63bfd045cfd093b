//! The web console end to end: campanile serves it at `/` (its files open, with a CSP), and a
//! real browser — Debian's Chromium, headless, driven by playwright-core from
//! `console.test.mjs` — uses it against two running campaniles: one whose writes need
//! `server.auth_token`, one whose reads need it too. The browser's tests check what the page
//! shows and what the API then says; this binary then checks what only the receiver can tell:
//! the alert silenced from the console was never notified, its unsilenced twin was.
//! `units.test.mjs` checks the scripts' pure parts (matcher syntax, metrics) under Node alone.
//!
//! Needs `chromium` (Debian) and `npm ci` in tests/console/ (scripts/test.sh does both).

#[path = "../harness/mod.rs"]
mod harness;

mod served;

use std::path::PathBuf;
use std::time::Duration;

use harness::*;

const TOKEN: &str = "console-s3cret-token";

/// The browser tests in console.test.mjs (each must pass; none may be skipped).
const BROWSER_TESTS: usize = 13;

/// Writes need the token; the hostile plugin faults (mode `error`) for `case="fault"`, whose
/// decision log the console shows; `case="mute"` waits 15 s before its first notification,
/// long enough for the browser to silence one of its alerts first; `case="broken"` goes to a
/// receiver that refuses everything with 400, whose error the console shows.
fn config(sink: &HttpPeer, broken: &HttpPeer, read_auth: bool) -> String {
    format!(
        r#"[server]
auth_token = "{TOKEN}"
read_auth = {read_auth}

[[receivers]]
name = "hook"
type = "webhook"
url = "{hook}"

[[receivers]]
name = "broken"
type = "webhook"
url = "{broken}"

[[plugins]]
name = "hostile"
path = '{plugin}'
[plugins.config]
mode = "error"

[route]
receiver = "hook"
group_by = ["alertname"]
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1h"

[[route.routes]]
name = "faulty"
matchers = ['case="fault"']
receiver = "hook"
plugin = "hostile"

[[route.routes]]
name = "broken"
matchers = ['case="broken"']
receiver = "broken"

[[route.routes]]
name = "muted"
matchers = ['case="mute"']
receiver = "hook"
group_wait = "15s"
"#,
        hook = sink.url("/hook"),
        broken = broken.url("/broken"),
        plugin = hostile_wasm().display(),
    )
}

/// A receiver that refuses every notification for good.
async fn refusing() -> HttpPeer {
    HttpPeer::answering(Answer::new(400, "bad payload")).await
}

fn folder() -> PathBuf {
    workspace_root().join("tests/console")
}

/// Whether any notification on `/hook` held a firing alert named `name`.
fn notified_firing(sink: &HttpPeer, name: &str) -> bool {
    sink.payloads("/hook").iter().any(|p| {
        webhook_alerts(p)
            .iter()
            .any(|a| a["labels"]["alertname"] == name && a["status"] == "firing")
    })
}

/// Runs `node --test-reporter=tap FILE` in tests/console with `env`; its TAP output, after
/// asserting that every one of `tests` passed and none was skipped.
async fn node_tests(file: &str, tests: usize, env: &[(&str, &str)]) -> String {
    assert!(
        folder().join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run `npm ci` in tests/console (scripts/test.sh does)"
    );
    let node = find_binary(&["node", "nodejs"], "nodejs");
    let out = tokio::process::Command::new(node)
        .arg("--test-reporter=tap")
        .arg(file)
        .current_dir(folder())
        .envs(env.iter().copied())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{file} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(&format!("# pass {tests}\n")) && stdout.contains("# fail 0\n"),
        "expected {tests} tests of {file} to pass, none skipped:\n{stdout}"
    );
    stdout
}

#[tokio::test]
async fn the_console_scripts_parse_matchers_and_metrics() {
    node_tests("units.test.mjs", 5, &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_in_a_browser() {
    let sink = HttpPeer::start().await;
    let broken = refusing().await;
    let campanile = Campanile::start(&config(&sink, &broken, false)).await;
    let reads_too = Campanile::start(&config(&sink, &broken, true)).await;
    let screenshots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let (base, read_auth) = (campanile.url(""), reads_too.url(""));
    node_tests(
        "console.test.mjs",
        BROWSER_TESTS,
        &[
            ("CAMPANILE", base.as_str()),
            ("CAMPANILE_READ_AUTH", read_auth.as_str()),
            ("TOKEN", TOKEN),
            ("VERSION", env!("CARGO_PKG_VERSION")),
            ("SCREENSHOTS", &screenshots.to_string_lossy()),
        ],
    )
    .await;
    eprintln!("screenshots in {}", screenshots.display());

    // The browser acknowledged a group; the API lists it.
    let acks = campanile.get("/api/v1/groups/acks").await.json();
    assert_eq!(acks[0]["by"], "alice", "{acks}");

    // The route notifies: the unsilenced twin arrives; the alert silenced from the console
    // never does, though both became due together.
    wait_until("SilenceControl notified", PATIENCE, async || {
        notified_firing(&sink, "SilenceControl")
            .then_some(())
            .ok_or_else(|| sink.summary())
    })
    .await;
    stays_true(
        "no notification of SilenceMe",
        Duration::from_secs(2),
        async || match notified_firing(&sink, "SilenceMe") {
            true => Err(sink.summary()),
            false => Ok(()),
        },
    )
    .await;
}
