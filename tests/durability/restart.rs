//! A graceful restart (SIGTERM, then a start on the same store): alerts, group timers, the
//! outbox and a receiver's `Retry-After` carry over; nothing is sent twice; and a shutdown
//! starts no new delivery.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{alert_names, config, group_key, per_group, start, told};
use crate::harness::{self, stays_true, wait_until, Answer, HttpPeer, Received, PATIENCE};

#[tokio::test(flavor = "multi_thread")]
async fn graceful_restart_keeps_alerts_timers_and_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let received = HttpPeer::start().await;
    let mut node = start(dir.path(), &config(&received.addr(), "immediate")).await;

    let ends = harness::rfc3339_from_now(time::Duration::hours(1));
    let body = json!([{"labels": {"alertname": "Notified"}, "endsAt": ends}]);
    assert_eq!(node.post_alerts(&body).await.status, 200);
    wait_until("the first notification", PATIENCE, async || {
        (told(&received, &group_key("Notified")) == 1)
            .then_some(())
            .ok_or_else(|| format!("{:?}", per_group(&received)))
    })
    .await;

    // Posted just before the stop: its group_wait (1 s) runs out while campanile is down.
    let body = json!([{"labels": {"alertname": "Pending"}, "endsAt": ends}]);
    assert_eq!(node.post_alerts(&body).await.status, 200);
    node.restart().await;

    let mut names = alert_names(&node).await;
    names.sort();
    assert_eq!(
        names,
        ["Notified", "Pending"],
        "every acknowledged alert is back"
    );
    wait_until(
        "the pending group to be flushed after the restart",
        PATIENCE,
        async || {
            (told(&received, &group_key("Pending")) == 1)
                .then_some(())
                .ok_or_else(|| format!("{:?}", per_group(&received)))
        },
    )
    .await;
    // The group notified before the restart remembers it: no second "first" notification.
    stays_true(
        "no repeat of the notification sent before the restart",
        Duration::from_secs(3),
        async || match told(&received, &group_key("Notified")) {
            1 => Ok(()),
            n => Err(format!("{n} notifications for the group")),
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn notification_waits_out_a_receiver_outage_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // The receiver is down: deliveries fail with connection refused and are retried.
    let received = HttpPeer::down().await;
    let mut node = start(dir.path(), &config(&received.addr(), "immediate")).await;
    let ends = harness::rfc3339_from_now(time::Duration::hours(1));
    let body = json!([{"labels": {"alertname": "Outage"}, "endsAt": ends}]);
    assert_eq!(node.post_alerts(&body).await.status, 200);
    // Wait until campanile has tried and failed at least once.
    wait_until("a failed delivery attempt", PATIENCE, async || {
        let log = node.logs();
        log.contains("will retry")
            .then_some(())
            .ok_or_else(|| "no retry logged yet".to_string())
    })
    .await;

    node.restart().await;
    received.up();
    wait_until(
        "the notification after the receiver came back",
        PATIENCE,
        async || {
            (told(&received, &group_key("Outage")) >= 1)
                .then_some(())
                .ok_or_else(|| "nothing yet".to_string())
        },
    )
    .await;
    stays_true(
        "exactly one notification",
        Duration::from_secs(3),
        async || match told(&received, &group_key("Outage")) {
            1 => Ok(()),
            n => Err(format!("{n} notifications")),
        },
    )
    .await;
}

/// The alert names of the webhook payloads received, in order.
fn names_received(requests: &[Received]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            r.json()["groupLabels"]["alertname"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_starts_no_delivery_and_leaves_the_queued_ones_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    // A slow receiver and one delivery at a time: the first is in flight, the others queue.
    let peer = HttpPeer::answering(Answer::new(200, "ok").delay(Duration::from_millis(1500))).await;
    let config = config(&peer.addr(), "immediate")
        .replace("timeout = \"5s\"", "timeout = \"5s\"\nconcurrency = 1");
    let mut node = start(dir.path(), &config).await;
    let names: Vec<String> = (0..5).map(|i| format!("Queued{i}")).collect();
    let ends = harness::rfc3339_from_now(time::Duration::hours(1));
    let alerts: Vec<Value> = names
        .iter()
        .map(|n| json!({"labels": {"alertname": n}, "endsAt": ends}))
        .collect();
    assert_eq!(node.post_alerts(&json!(alerts)).await.status, 200);
    let in_flight = peer.wait_for(1).await;
    assert_eq!(in_flight.len(), 1, "{}", peer.summary());

    // A request whose body never ends keeps the server, and so the process, in its grace
    // period for a while: long enough for a worker to start another delivery, if it would.
    let mut slow = tokio::net::TcpStream::connect(&node.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut slow,
        b"POST /api/v2/alerts HTTP/1.1\r\nhost: campanile\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n[",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    let (exit, ()) = tokio::join!(node.stop(), async {
        // The delivery in flight is answered 1.5 s after it arrived; then some more time.
        tokio::time::sleep(Duration::from_millis(3000)).await;
        drop(slow);
    });
    assert!(
        exit.success(),
        "campanile exited with {exit} after SIGTERM:\n{}",
        node.logs()
    );
    let after: Vec<_> = peer
        .requests()
        .into_iter()
        .filter(|r| r.at > signalled)
        .collect();
    assert!(
        after.is_empty(),
        "deliveries started after SIGTERM: {:?}\n{}",
        names_received(&after),
        node.logs()
    );
    let log = node.logs();
    assert!(
        log.contains("notification sent"),
        "the delivery in flight gets the grace period to finish:\n{log}"
    );

    // After the restart every queued one is delivered, and the one that finished during the
    // grace period is not repeated: its outbox entry was cleared before the store closed.
    node.start_again()
        .await
        .unwrap_or_else(|e| panic!("campanile did not start again: {e}"));
    let received = peer.wait_for(names.len()).await;
    stays_true(
        "each notification delivered exactly once",
        Duration::from_secs(3),
        async || {
            let mut got = names_received(&peer.requests());
            got.sort();
            (got == names)
                .then_some(())
                .ok_or_else(|| format!("{got:?}"))
        },
    )
    .await;
    assert_eq!(names_received(&received[..1]), names_received(&in_flight));
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let peer = HttpPeer::answering(Answer::new(200, "ok")).await;
    peer.script([Answer::new(503, "busy").header("retry-after", "3")]);
    let mut node = start(dir.path(), &config(&peer.addr(), "immediate")).await;
    let ends = harness::rfc3339_from_now(time::Duration::hours(1));
    let body = json!([{"labels": {"alertname": "Busy"}, "endsAt": ends}]);
    assert_eq!(node.post_alerts(&body).await.status, 200);
    let first = peer.wait_for(1).await;
    assert_eq!(first[0].answered, 503);

    // Stopped right after the 503 and started again at once: the retry is due 3 s after the
    // 503, whatever happened in between.
    node.restart().await;
    let requests = peer.wait_for(2).await;
    let waited = requests[1].at.duration_since(requests[0].at);
    eprintln!("retried {waited:?} after the 503 (Retry-After: 3), across a restart");
    assert!(
        waited >= Duration::from_secs(3),
        "the retry came {waited:?} after the 503 that asked for 3 s:\n{}",
        node.logs()
    );
    assert_eq!(requests[1].answered, 200);
    assert!(
        waited < Duration::from_secs(10),
        "the retry came {waited:?} after the 503"
    );
}
