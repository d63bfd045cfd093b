//! `campanile plugin check` (the contract a plugin was built against, and what does not load),
//! `campanile plugin test` (a dry run of recorded alerts) and `campanile plugin build`'s errors.

use serde_json::json;

use crate::harness::*;

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
            && err.contains("built for campanile:router 0.2.0")
            && err.contains("campanile-sdk 0.3 for Rust")
            && err.contains("`campanile plugin build` for Python"),
        "{err}"
    );

    // A JavaScript component built without `-d http -d fetch-event` imports wasi:http: the
    // error names that import and the flags, not a Rust SDK.
    let http = dir.path().join("http.wasm");
    let component = wat::parse_str(
        r#"(component
            (import "wasi:http/types@0.2.3" (instance
                (export "now" (func (result s64)))))
        )"#,
    )
    .unwrap();
    std::fs::write(&http, component).unwrap();
    let (code, _, err) = campanile_cli(&["plugin", "check", http.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("imports wasi:http/types@0.2.3")
            && err.contains("-d http -d fetch-event")
            && !err.contains("campanile-sdk 0.3"),
        "{err}"
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_answer_without_a_panic() {
    // `campanile plugin check x.wasm | head -1`: the reader is gone before the rest is written.
    // Here it is gone before anything is: every write meets a closed pipe.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let wasm = severity_router_wasm();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_campanile"))
        .args(["plugin", "check", wasm.to_str().unwrap()])
        .stdout(writer)
        .output()
        .expect("run campanile");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(141), "{err}");
    assert!(
        err.is_empty(),
        "a closed pipe is not an error to report: {err}"
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

    // The service's rule (`faults.rs` runs these modes in the service): an empty
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

/// `campanile plugin build` says what is missing and how to install it, and which tool builds a
/// plugin in another language. (Building for real is `scripts/build-sdk-plugins.sh`, whose
/// components the other tests route with.)
#[test]
fn plugin_build_names_the_missing_toolchain_and_the_right_tool() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("my_router.py");
    std::fs::write(&app, "from campanile_sdk import router\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_campanile"))
        .args(["plugin", "build", app.to_str().unwrap()])
        .env("CAMPANILE_COMPONENTIZE_PY", dir.path().join("nowhere"))
        .output()
        .expect("run campanile");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("componentize-py was not found")
            && err.contains("pip install componentize-py==0.25.1 campanile-sdk"),
        "{err}"
    );

    let js = dir.path().join("router.ts");
    std::fs::write(&js, "").unwrap();
    let (code, _, err) = campanile_cli(&["plugin", "build", js.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("npm run build") && err.contains("sdk/js/README.md"),
        "{err}"
    );
}
