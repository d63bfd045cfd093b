//! What a routing plugin keeps across a restart: the wake-up it asked for, its compiled code
//! (cached beside the store) and its state.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{group_key, per_group, start, told};
use crate::harness::{self, stays_true, wait_until, Answer, Campanile, HttpPeer, PATIENCE};

/// How many files are below `dir`.
fn walk_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        walk_files(&p)
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// A wake-up a routing plugin asked for is stored: campanile stops (SIGTERM) between the chat
/// notification and the page, and after the restart the page still comes when it is due, and
/// chat is not told again.
#[tokio::test(flavor = "multi_thread")]
async fn an_escalation_timer_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let chat = HttpPeer::start().await;
    let primary = HttpPeer::start().await;
    let config = format!(
        r#"
[store]
path = "data/campanile.redb"

[[receivers]]
name = "chat"
type = "webhook"
url = "{chat_url}"

[[receivers]]
name = "primary"
type = "webhook"
url = "{primary_url}"

[[plugins]]
name = "escalation"
path = '{plugin}'

[plugins.config]
chat = "chat"
primary = "primary"
page_after = "4s"

[route]
receiver = "chat"
plugin = "escalation"
group_by = ["alertname"]
group_wait = "100ms"
group_interval = "1h"
repeat_interval = "4h"
"#,
        chat_url = chat.url("/chat"),
        primary_url = primary.url("/primary"),
        plugin = harness::escalation_wasm().display(),
    );
    let mut node = start(dir.path(), &config).await;
    let body = json!([{"labels": {"alertname": "Escalating"}}]);
    assert_eq!(node.post_alerts(&body).await.status, 200);
    let key = group_key("Escalating");
    wait_until("chat to be told", PATIENCE, async || {
        (told(&chat, &key) == 1)
            .then_some(())
            .ok_or_else(|| format!("{:?}", per_group(&chat)))
    })
    .await;
    let told_at = Instant::now();
    // The compiled plugin was cached beside the store, for the restart to reuse.
    let cache = dir.path().join("data/plugin-cache");
    let cached = walk_files(&cache);
    assert!(cached > 0, "nothing cached in {}", cache.display());
    node.restart().await;
    assert_eq!(told(&primary, &key), 0, "paged before the restart");

    wait_until("the page after the restart", PATIENCE, async || {
        (told(&primary, &key) == 1)
            .then_some(())
            .ok_or_else(|| format!("{:?}", per_group(&primary)))
    })
    .await;
    assert!(
        told_at.elapsed() >= Duration::from_millis(3500),
        "paged {:?} after chat, before page_after",
        told_at.elapsed()
    );
    stays_true(
        "chat told once",
        Duration::from_secs(2),
        async || match told(&chat, &key) {
            1 => Ok(()),
            n => Err(format!("{n} chat notifications:\n{}", node.logs())),
        },
    )
    .await;
}

/// A plugin's state is durable: the hostile plugin in mode `count` keeps a call counter in its
/// state and titles each notification `call N`; after a restart the count goes on.
#[tokio::test(flavor = "multi_thread")]
async fn plugin_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // The log receiver is not used: a Slack-shaped body carries the title.
    let hook = HttpPeer::answering(Answer::new(200, "ok")).await;
    let config = format!(
        r#"
[store]
path = "data/campanile.redb"

[[receivers]]
name = "chat"
type = "slack"
url = "{hook_url}"

[[plugins]]
name = "counter"
path = '{plugin}'
[plugins.config]
mode = "count"

[route]
receiver = "chat"
plugin = "counter"
group_by = ["alertname"]
group_wait = "100ms"
group_interval = "1h"
repeat_interval = "4h"
"#,
        hook_url = hook.url("/hook"),
        plugin = harness::hostile_wasm().display(),
    );
    let mut node = start(dir.path(), &config).await;
    let post = async |node: &Campanile, name: &str| {
        let reply = node
            .post_alerts(&json!([{"labels": {"alertname": name}}]))
            .await;
        assert_eq!(reply.status, 200);
    };
    let has_title = async |n: usize, title: &str| {
        let title = title.to_string();
        wait_until(
            &format!("a notification titled {title:?}"),
            PATIENCE,
            async || {
                let t: Vec<String> = hook
                    .requests()
                    .iter()
                    .filter_map(|r| r.json.as_ref()?["text"].as_str().map(str::to_string))
                    .collect();
                (t.len() == n && t.iter().any(|x| x.contains(&title)))
                    .then_some(())
                    .ok_or(format!("{t:?}"))
            },
        )
        .await;
    };
    post(&node, "First").await;
    has_title(1, "call 1").await;
    post(&node, "Second").await;
    has_title(2, "call 2").await;
    node.restart().await;
    post(&node, "Third").await;
    has_title(3, "call 3").await;
}
