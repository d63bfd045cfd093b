//! End-only refreshes (a re-send that moves only a firing alert's `endsAt`, what Prometheus
//! sends every minute) are written only when the stored end comes within half the alert's lead
//! (README, "Durability"). `kill -9` after a run of them: the alert comes back still firing,
//! its stored end at least half a lead past the last re-send, even once the end the first post
//! gave has passed.

use std::time::Duration;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{config, start};
use crate::harness::{self, HttpPeer};

/// How far ahead each send puts the end (Prometheus: 4 × `resend_delay`).
const LEAD: time::Duration = time::Duration::seconds(10);
/// How often the alert is re-sent (Prometheus: `resend_delay`).
const EVERY: Duration = Duration::from_millis(500);
/// Re-sends before the crash: past half the lead, so one of them had to be written.
const RESENDS: u32 = 12;

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format RFC 3339")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_end_only_refreshes_restores_the_alert_still_firing() {
    let dir = tempfile::tempdir().unwrap();
    let received = HttpPeer::start().await;
    let mut node = start(dir.path(), &config(&received.addr(), "immediate")).await;
    let name = harness::unique("Refreshed");
    // As Prometheus sends a firing alert: the same start every time, the end a lead ahead.
    let started = rfc3339(OffsetDateTime::now_utc());
    let send = async |node: &harness::Campanile| {
        let now = OffsetDateTime::now_utc();
        let body = json!([{
            "labels": {"alertname": name},
            "startsAt": started,
            "endsAt": rfc3339(now + LEAD),
        }]);
        assert_eq!(node.post_alerts(&body).await.status, 200);
        now
    };
    let first = send(&node).await;
    let mut last = first;
    for _ in 0..RESENDS {
        tokio::time::sleep(EVERY).await;
        last = send(&node).await;
    }
    node.kill();

    // Past the end the first post gave: an alert whose refreshes were all lost is resolved now.
    let first_end = first + LEAD;
    let wait = first_end - OffsetDateTime::now_utc() + time::Duration::milliseconds(200);
    tokio::time::sleep(wait.try_into().unwrap_or_default()).await;
    node.start_again()
        .await
        .unwrap_or_else(|e| panic!("campanile did not start again: {e}"));

    let listed: Vec<Value> = node.alerts_named(&name).await;
    assert_eq!(
        listed.len(),
        1,
        "the alert is still firing after the restart: {listed:?}"
    );
    let ends = OffsetDateTime::parse(listed[0]["endsAt"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!(
        ends >= last + LEAD / 2 - time::Duration::milliseconds(1),
        "the stored end {ends} is at least half a lead past the last re-send at {last}"
    );
    assert_eq!(listed[0]["status"]["state"], "active");
}
