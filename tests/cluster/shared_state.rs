//! The shared state between real replicas (the change feed, `cluster/sync.rs`): alerts sent to
//! one replica only, as through a load balancer, are notified once by whichever replica holds
//! their group; a silence made on one replica is on the others within a second and mutes there.
//! Both fail without the feed.

use std::time::Duration;

use serde_json::json;

use super::harness::{wait_until, HttpPeer, Postgres};
use super::{all_notified, assert_once, post_to_all, replicas, spread};

#[tokio::test(flavor = "multi_thread")]
async fn alerts_sent_to_one_replica_are_notified_once_whichever_replica_holds_their_group() {
    let pg = Postgres::start().await;
    let receiver = HttpPeer::start().await;
    let nodes = replicas(&pg, "balanced", &receiver, "2s").await;
    spread(&pg, "balanced", 3).await;
    let names: Vec<String> = (0..30).map(|i| format!("Balanced{i}")).collect();
    // A load balancer in front: each alert reaches one replica, most of them one that does not
    // hold the alert's group.
    for (i, name) in names.iter().enumerate() {
        post_to_all(&[&nodes[i % 3]], std::slice::from_ref(name)).await;
    }
    all_notified(&receiver, &names, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_once(&receiver, &names);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silence_made_on_one_replica_mutes_on_the_others_within_a_second() {
    let pg = Postgres::start().await;
    let receiver = HttpPeer::start().await;
    let nodes = replicas(&pg, "silenced", &receiver, "2s").await;
    spread(&pg, "silenced", 3).await;
    let now = time::OffsetDateTime::now_utc();
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let silence = json!({
        "matchers": [{"name": "alertname", "value": "Muted.*", "isRegex": true}],
        "startsAt": rfc(now),
        "endsAt": rfc(now + time::Duration::hours(1)),
        "createdBy": "ops",
        "comment": "maintenance",
    });
    let reply = nodes[0].post_json("/api/v2/silences", &silence).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let id = reply.json()["silenceID"].as_str().unwrap().to_string();
    let made = std::time::Instant::now();
    for node in &nodes[1..] {
        wait_until(
            "the silence on every replica",
            Duration::from_secs(1),
            async || {
                let got = node.get(&format!("/api/v2/silence/{id}")).await;
                (got.status == 200).then_some(()).ok_or(format!("{got:?}"))
            },
        )
        .await;
    }
    eprintln!("silence on the other replicas after {:?}", made.elapsed());
    let muted: Vec<String> = (0..10).map(|i| format!("Muted{i}")).collect();
    let loud: Vec<String> = (0..10).map(|i| format!("Loud{i}")).collect();
    post_to_all(
        &nodes.iter().collect::<Vec<_>>(),
        &[muted.clone(), loud.clone()].concat(),
    )
    .await;
    all_notified(&receiver, &loud, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_once(&receiver, &loud);
}
