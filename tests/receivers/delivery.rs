//! How deliveries are paced and given up, whatever the integration: `Retry-After` as an HTTP
//! date, the rate limit and the queue behind it, a receiver that hangs, an error body of many
//! megabytes, and `retry_for` as a deadline.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::{alert, config, gap, no_more_than, post};
use crate::harness::*;

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let peer = HttpPeer::answering(Answer::accepted()).await;
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3));
    peer.script([Answer::new(429, "slow down").header("retry-after", &at)]);
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"teams\"\ntype = \"msteams\"\nurl = \"{}\"\n",
            peer.url("/invoke")
        ),
        "teams",
    ))
    .await;
    post(&campanile, json!([alert("Dated", "warning")])).await;
    let requests = peer.wait_for(2).await;
    // The date has whole seconds: it is at least 2 s after the script was set.
    let waited = gap(&requests[0], &requests[1]);
    assert!(
        waited >= Duration::from_millis(1500),
        "retried after {waited:?}"
    );
}

#[tokio::test]
async fn rate_limit_spaces_attempts_and_waiting_ones_are_queued() {
    let peer = HttpPeer::answering(Answer::slack_ok()).await;
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"chat\"\ntype = \"slack\"\nurl = \"{}\"\nconcurrency = 1\nrate_limit = {{ per_second = 2.0, burst = 1 }}\n",
            peer.url("/hook")
        ),
        "chat",
    ))
    .await;
    let names = ["Storm1", "Storm2", "Storm3", "Storm4", "Storm5"];
    let alerts: Vec<Value> = names.iter().map(|n| alert(n, "warning")).collect();
    post(&campanile, json!(alerts)).await;
    let requests = peer.wait_for(names.len()).await;
    for pair in requests.windows(2) {
        // 2 per second: 500 ms apart, less what loopback jitter may take off.
        let g = gap(&pair[0], &pair[1]);
        assert!(g >= Duration::from_millis(400), "attempts {g:?} apart");
    }
    let mut got: Vec<String> = requests
        .iter()
        .map(|r| {
            r.json()["blocks"][1]["elements"][0]["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    got.sort();
    let want: Vec<String> = names
        .iter()
        .map(|n| format!("Group: alertname={n}"))
        .collect();
    assert_eq!(got, want, "every group delivered once");
}

#[tokio::test]
async fn a_hanging_receiver_queues_its_work_and_delays_no_other() {
    let slow = HttpPeer::answering(Answer::slack_ok()).await;
    slow.script([Answer::slack_ok().held()]);
    let fast = HttpPeer::answering(Answer::no_content()).await;
    let campanile = Campanile::start(&format!(
        r#"
[[receivers]]
name = "slow"
type = "slack"
url = "{slow}"
concurrency = 1
timeout = "30s"
rate_limit = {{ per_second = 100.0 }}

[[receivers]]
name = "fast"
type = "discord"
url = "{fast}"

[route]
receiver = "fast"
group_by = ["alertname"]
group_wait = "200ms"
group_interval = "1s"
repeat_interval = "1h"

[[route.routes]]
matchers = ['alertname=~".+"']
receiver = "slow"
continue = true

[[route.routes]]
matchers = ['alertname=~".+"']
receiver = "fast"
"#,
        slow = slow.url("/hook"),
        fast = fast.url("/hook"),
    ))
    .await;
    post(&campanile, json!([alert("Q1", "warning")])).await;
    slow.wait_for(1).await;
    post(
        &campanile,
        json!([alert("Q2", "warning"), alert("Q3", "warning")]),
    )
    .await;
    // The other receiver gets all three while the first delivery still hangs, and the two
    // behind it wait in the slow receiver's queue, visibly.
    fast.wait_for(3).await;
    wait_until(
        "2 notifications queued for the slow receiver",
        PATIENCE,
        async || {
            let depth = campanile
                .metric("campanile_notification_queue", &[("receiver", "slow")])
                .await;
            if depth == 2.0 {
                Ok(())
            } else {
                Err(format!("queue depth {depth}"))
            }
        },
    )
    .await;
    assert_eq!(slow.requests().len(), 1, "{}", slow.summary());
    // Once the hang ends, the queue drains: nothing was dropped.
    slow.release();
    let requests = slow.wait_for(3).await;
    assert!(requests.iter().all(|r| r.answered == 200));
    wait_until("the queue drained", PATIENCE, async || {
        let depth = campanile
            .metric("campanile_notification_queue", &[("receiver", "slow")])
            .await;
        if depth == 0.0 {
            Ok(())
        } else {
            Err(format!("queue depth {depth}"))
        }
    })
    .await;
}

/// A webhook receiver `hook` at `url`, with `extra` delivery keys.
fn webhook_receiver(url: &str, extra: &str) -> String {
    format!("[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{url}\"\n{extra}\n")
}

/// Waits until campanile has given up on a notification, and returns its log.
async fn given_up(campanile: &Campanile) -> String {
    wait_until("the notification to be given up", PATIENCE, async || {
        let log = campanile.log();
        if log.contains("notification failed permanently") {
            Ok(log)
        } else {
            Err("not yet".to_string())
        }
    })
    .await
}

#[tokio::test]
async fn a_huge_error_body_is_read_only_as_far_as_the_log_needs() {
    const PADDING: usize = 32 << 20;
    const START: &str = "upstream exploded; this is how its error body begins";
    let peer = HttpPeer::answering(Answer::new(500, START).padded(PADDING)).await;
    let campanile = Campanile::start(&config(
        &webhook_receiver(&peer.url("/hook"), "retry_for = \"3s\""),
        "hook",
    ))
    .await;
    let before = campanile.proc_status_bytes("VmRSS");
    post(&campanile, json!([alert("HugeBody", "critical")])).await;
    let log = given_up(&campanile).await;
    let attempts = peer.requests().len();
    assert!(attempts >= 3, "{}", peer.summary());
    let peak = campanile.proc_status_bytes("VmHWM");
    let rss = campanile.proc_status_bytes("VmRSS");
    eprintln!(
        "{attempts} answers of 32 MiB: VmRSS {} MB before, {} MB after, VmHWM {} MB",
        before >> 20,
        rss >> 20,
        peak >> 20
    );
    assert!(
        peak < 100 << 20,
        "campanile's memory peaked at {} MB after {attempts} error bodies of 32 MiB",
        peak >> 20
    );
    assert!(
        log.contains(&format!("endpoint answered 500: {START}")),
        "{log}"
    );
}

#[tokio::test]
async fn retry_for_is_a_deadline_the_last_attempt_lands_on() {
    let peer = HttpPeer::answering(Answer::new(503, "busy")).await;
    let campanile = Campanile::start(&config(
        &webhook_receiver(&peer.url("/hook"), "retry_for = \"8s\""),
        "hook",
    ))
    .await;
    post(&campanile, json!([alert("Deadline", "critical")])).await;
    given_up(&campanile).await;
    let requests = peer.requests();
    let last = gap(&requests[0], &requests[requests.len() - 1]);
    let times: Vec<String> = requests
        .iter()
        .map(|r| format!("{:.2}", gap(&requests[0], r).as_secs_f64()))
        .collect();
    eprintln!("attempts at {} s", times.join(", "));
    assert!(
        last >= Duration::from_millis(7500) && last <= Duration::from_millis(8500),
        "the last of {} attempts came {last:?} after the first (retry_for = 8s)",
        requests.len()
    );
    no_more_than(&peer, requests.len(), Duration::from_secs(2)).await;
}
