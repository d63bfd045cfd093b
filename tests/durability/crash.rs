//! Crashes: `kill -9` under load loses no alert that got a 2xx and repeats only the
//! deliveries in flight, on the embedded store and on PostgreSQL; a store that does not decode stops the start, naming the file.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::{alert_names, config, config_on, group_key, launch, per_group, start};
use crate::harness::{self, wait_until, Answer, HttpPeer, Postgres};

/// At most this many deliveries per receiver can be repeated after a crash: those in flight
/// (campanile's per-receiver concurrency, 4) and those finished whose outbox entry was not yet
/// cleared on disk (at most 64; in practice those of the commit in progress).
const REPEATABLE_PER_RECEIVER: usize = 4 + 64;

#[tokio::test(flavor = "multi_thread")]
async fn crash_under_load_loses_no_acknowledged_alert_and_duplicates_only_in_flight() {
    crash_under_load("path = \"data/campanile.redb\"\ndurability = \"immediate\"").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_postgres_a_crash_under_load_loses_no_acknowledged_alert() {
    let pg = Postgres::start().await;
    let url = pg.database("crash").await;
    crash_under_load(&format!("backend = \"postgres\"\nurl = \"{url}\"")).await;
    // The store really was PostgreSQL: the alerts are in its table.
    let rows = pg
        .query("crash", "SELECT count(*)::text FROM campanile.alerts")
        .await;
    assert_ne!(rows, ["0"], "no alert in PostgreSQL");
}

/// `kill -9` while four senders post new alerts, with the store's keys `store`; then a
/// restart on the same folder and store.
async fn crash_under_load(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    // A slow receiver, so deliveries queue up and some are in flight at the crash.
    let received =
        HttpPeer::answering(Answer::new(200, "ok").delay(Duration::from_millis(50))).await;
    let mut node = start(dir.path(), &config_on(&received.addr(), store)).await;

    // Four senders post batches of five new alerts; kill -9 after a second and a half.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let url = node.url("/api/v2/alerts");
    let mut senders = Vec::new();
    for sender in 0..4 {
        let acknowledged = acknowledged.clone();
        let url = url.clone();
        senders.push(tokio::spawn(async move {
            let client = harness::client();
            let ends = harness::rfc3339_from_now(time::Duration::hours(1));
            for batch in 0..400 {
                let names: Vec<String> = (0..5)
                    .map(|i| format!("Load-{sender}-{batch}-{i}"))
                    .collect();
                let body: Vec<Value> = names
                    .iter()
                    .map(|n| json!({"labels": {"alertname": n}, "endsAt": ends}))
                    .collect();
                match client.post(&url).json(&body).send().await {
                    Ok(r) if r.status() == 200 => acknowledged.lock().unwrap().extend(names),
                    _ => return, // the process is gone: stop, as Prometheus would until it is back
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    node.kill();
    for s in senders {
        s.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 50,
        "the load generator got only {} alerts in",
        acknowledged.len()
    );
    let before_restart = per_group(&received);
    assert!(
        before_restart.len() < acknowledged.len(),
        "the crash should come while notifications are pending"
    );

    node.start_again()
        .await
        .unwrap_or_else(|e| panic!("campanile did not start again: {e}"));

    let stored: HashSet<String> = alert_names(&node).await.into_iter().collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|n| !stored.contains(*n))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged alerts lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );

    wait_until(
        "a notification for every acknowledged alert",
        Duration::from_secs(180),
        async || {
            let got = per_group(&received);
            let missing = acknowledged
                .iter()
                .filter(|n| !got.contains_key(&group_key(n)))
                .count();
            (missing == 0).then_some(()).ok_or_else(|| {
                format!(
                    "{missing} of {} groups not yet notified",
                    acknowledged.len()
                )
            })
        },
    )
    .await;
    // Let any stray repeat arrive before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = per_group(&received);
    let repeated: Vec<(&String, &usize)> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.len() <= REPEATABLE_PER_RECEIVER && repeated.iter().all(|(_, n)| **n == 2),
        "only deliveries in flight or not yet cleared at the crash may repeat, once: {repeated:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_store_refuses_to_start_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/campanile.redb"), vec![0x5a; 16384]).unwrap();
    let refused = match launch(dir.path(), &config("127.0.0.1:9", "immediate"))
        .try_start()
        .await
    {
        Ok(_) => panic!("campanile started on a corrupt store"),
        Err(refused) => refused,
    };
    assert!(
        refused.status.is_some_and(|s| !s.success()),
        "campanile started on a corrupt store: {refused}"
    );
    assert!(
        refused.log.contains("data/campanile.redb"),
        "the error names the file: {}",
        refused.log
    );
    // The file is left as it was, for the operator to inspect or restore.
    assert_eq!(
        std::fs::read(dir.path().join("data/campanile.redb")).unwrap(),
        vec![0x5a; 16384]
    );
}
