//! A full disk: writes that fail answer 503, campanile keeps serving, and once there is room
//! again nothing that was answered 2xx — nor a refused batch never sent again — is lost.

use std::collections::HashSet;
use std::process::Command;

use serde_json::{json, Value};

use super::{alert_names, config, start};
use crate::harness::{self, wait_until, Campanile, HttpPeer, Reply, PATIENCE};

/// Sets the soft file-size limit of process `pid` (`prlimit`, util-linux): `limit` is bytes or
/// `unlimited`.
fn set_file_size_limit(pid: u32, limit: &str) {
    let status = Command::new("prlimit")
        .args([&format!("--pid={pid}"), &format!("--fsize={limit}:")])
        .status()
        .expect("run prlimit (util-linux)");
    assert!(status.success(), "prlimit --fsize={limit}: failed");
}

/// Posts `names` as firing alerts ending at `ends` (with a long annotation, so the store grows
/// quickly).
async fn post_alerts(node: &Campanile, names: &[String], ends: &str) -> Reply {
    let body: Vec<Value> = names
        .iter()
        .map(|n| {
            json!({
                "labels": {"alertname": n},
                "annotations": {"description": "x".repeat(2000)},
                "endsAt": ends,
            })
        })
        .collect();
    node.post_alerts(&json!(body)).await
}

/// Limits campanile's file size to the store's size now, then posts batches of new alerts
/// (named `{tag}-{batch}-{i}`) until one is refused; returns that batch.
async fn fill_the_disk(node: &Campanile, tag: &str, ends: &str) -> Vec<String> {
    let size = std::fs::metadata(node.dir().join("data/campanile.redb"))
        .unwrap()
        .len();
    set_file_size_limit(node.pid(), &size.to_string());
    for batch in 0..1000 {
        let names: Vec<String> = (0..20).map(|i| format!("{tag}-{batch}-{i}")).collect();
        let reply = post_alerts(node, &names, ends).await;
        match reply.status {
            200 => continue,
            503 => {
                assert!(
                    reply.body.contains("could not be stored durably"),
                    "{}",
                    reply.body
                );
                return names;
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    panic!("the store never hit the file-size limit");
}

/// Posts `names` until campanile answers 200 (a sender retrying a 503).
async fn post_until_taken(node: &Campanile, names: &[String], ends: &str) {
    wait_until(
        "the batch to be taken",
        PATIENCE,
        async || match post_alerts(node, names, ends).await.status {
            200 => Ok(()),
            other => Err(format!("status {other}")),
        },
    )
    .await;
}

/// A store that cannot be written (a file-size limit on the process, which fails redb's writes
/// with EFBIG as a full disk fails them with ENOSPC) answers 503 and keeps serving. Once there
/// is room again it writes without a restart; the writes of the failed transactions are made
/// then, and no 2xx is answered before the disk has the alerts, not even to an identical
/// re-send of a refused batch (which the cache already holds).
#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_answers_503_and_once_it_has_room_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = HttpPeer::start().await;
    let mut node = start(dir.path(), &config(&receiver.addr(), "immediate")).await;
    let ends = harness::rfc3339_from_now(time::Duration::hours(1));
    let before = vec!["Before".to_string()];
    assert_eq!(post_alerts(&node, &before, &ends).await.status, 200);

    // 1. A refused batch that nobody sends again is written once the disk has room.
    let never_resent = fill_the_disk(&node, "Full", &ends).await;
    // campanile keeps serving meanwhile.
    assert_eq!(node.get("/-/healthy").await.status, 200);
    // A silence is visible only once durable: refused now, it must not turn up later.
    let silence = node
        .post_json(
            "/api/v2/silences",
            &json!({
                "matchers": [{"name": "alertname", "value": "Ghost", "isRegex": false}],
                "startsAt": harness::rfc3339_from_now(time::Duration::ZERO),
                "endsAt": ends,
                "createdBy": "test",
                "comment": "made while the disk was full",
            }),
        )
        .await;
    assert_eq!(silence.status, 503, "{}", silence.body);
    set_file_size_limit(node.pid(), "unlimited");
    let after = vec!["After".to_string()];
    post_until_taken(&node, &after, &ends).await;

    // 2. A refused batch re-sent identically as soon as there is room: 503 until the writer's
    //    next attempt has it on disk, then 200.
    let resent = fill_the_disk(&node, "Again", &ends).await;
    set_file_size_limit(node.pid(), "unlimited");
    post_until_taken(&node, &resent, &ends).await;

    // Crash right away: nothing that got a 2xx, nor the batch never re-sent, is lost.
    node.kill();
    node.start_again()
        .await
        .unwrap_or_else(|e| panic!("campanile did not start again: {e}"));
    let stored: HashSet<String> = alert_names(&node).await.into_iter().collect();
    for name in before
        .iter()
        .chain(&never_resent)
        .chain(&after)
        .chain(&resent)
    {
        assert!(
            stored.contains(name),
            "{name} was lost; stored: {}",
            stored.len()
        );
    }
    let silences = node.get("/api/v2/silences").await.json();
    assert_eq!(
        silences,
        json!([]),
        "the refused silence was written after all"
    );
}
