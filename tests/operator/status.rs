//! What campanile tells `amtool` and the API about itself: the routing tree, the status and the
//! receivers.

use serde_json::json;

use super::{amtool_binary, amtool_ok, config};
use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn amtool_config_routes_status_and_receivers() {
    let sink = HttpPeer::start().await;
    let tail = r#"
[[route.routes]]
name = "db"
matchers = ['team="db"']
receiver = "hook"
continue = true

[[inhibit_rules]]
source_matchers = ['severity="critical"']
target_matchers = ['severity="warning"']
equal = ["cluster"]
"#;
    let campanile = Campanile::start(&config(&sink, "", tail)).await;
    let tree = amtool_ok(&campanile, &["config", "routes"]).await;
    assert!(tree.contains("default-route  receiver: hook"), "{tree}");
    assert!(
        tree.contains(r#"{team="db"}  continue: true  receiver: hook"#),
        "{tree}"
    );
    let shown = amtool_ok(&campanile, &["config", "show"]).await;
    assert!(shown.contains("inhibit_rules:"), "{shown}");

    let status = campanile.get("/api/v2/status").await.json();
    assert_eq!(status["cluster"]["status"], "disabled");
    assert!(status["uptime"].is_string());
    // The Alertmanager version whose API campanile speaks, which is amtool's own here.
    let amtool_version = std::process::Command::new(amtool_binary())
        .arg("--version")
        .output()
        .expect("amtool --version");
    let amtool_version = String::from_utf8_lossy(&amtool_version.stdout).to_string()
        + &String::from_utf8_lossy(&amtool_version.stderr);
    let reported = status["versionInfo"]["version"].as_str().unwrap();
    assert!(
        amtool_version.contains(&format!("version {reported} ")),
        "campanile reports {reported}, amtool is {amtool_version:?}"
    );
    assert!(
        status["versionInfo"]["revision"]
            .as_str()
            .unwrap()
            .starts_with("campanile-"),
        "{status}"
    );
    let receivers = campanile.get("/api/v2/receivers").await.json();
    assert_eq!(receivers, json!([{"name": "hook"}]));
}
