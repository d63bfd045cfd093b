//! The `escalation-policy` example plugin escalates with `wake-after` (chat, then the primary
//! after 2 s, then the secondary after 4 s) until someone acknowledges the group; the escalation
//! itself is checked for each language the example is written in (Rust, Python).

use std::time::Duration;

use serde_json::{json, Value};

use super::languages::Language;
use super::{count_for, post};
use crate::harness::*;

fn config(sink: &HttpPeer) -> String {
    config_with(sink, &escalation_wasm())
}

fn config_with(sink: &HttpPeer, plugin: &std::path::Path) -> String {
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
        plugin = plugin.display(),
    )
}

#[tokio::test]
async fn unacknowledged_group_escalates_chat_primary_secondary() {
    escalates_chat_primary_secondary(Language::Rust).await;
}

#[tokio::test]
async fn unacknowledged_group_escalates_in_python_too() {
    escalates_chat_primary_secondary(Language::Python).await;
}

async fn escalates_chat_primary_secondary(language: Language) {
    let sink = HttpPeer::start().await;
    let plugin = language.example("escalation_policy");
    let campanile = Launch::new(&config_with(&sink, &plugin))
        .shared_plugin_cache()
        .start()
        .await;
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
