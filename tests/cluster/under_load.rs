//! The cluster while new alerts keep arriving, as during an outage: PostgreSQL restarted, and
//! every replica restarted in turn (a rolling upgrade); and, once an incident is over, the
//! groups each replica held for the others forgotten.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::harness::{self, wait_until, Campanile, HttpPeer, Launch, Postgres};
use super::{all_notified, assert_once, config, key, post_to_all, replicas, spread};

/// A sender as Prometheus is with Alertmanagers: each batch of new alerts posted to every
/// replica; a batch no replica took is posted again until one does. A batch is acknowledged
/// once any replica answered 200.
struct Load {
    /// The replicas' base URLs (a restarted replica listens on a new port).
    urls: Arc<Mutex<Vec<String>>>,
    acknowledged: Arc<Mutex<Vec<String>>>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Load {
    fn start(prefix: &str, nodes: &[Campanile]) -> Load {
        let urls = Arc::new(Mutex::new(nodes.iter().map(|n| n.url("")).collect()));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let task = tokio::spawn(send(
            prefix.to_string(),
            urls.clone(),
            acknowledged.clone(),
            stop.clone(),
        ));
        Load {
            urls,
            acknowledged,
            stop,
            task,
        }
    }

    fn moved(&self, replica: usize, node: &Campanile) {
        self.urls.lock().unwrap()[replica] = node.url("");
    }

    /// Stops sending; the names of the alerts acknowledged.
    async fn finish(self) -> Vec<String> {
        self.stop.cancel();
        self.task.await.expect("the sender");
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        assert!(
            acknowledged.len() >= 20,
            "too little load: {acknowledged:?}"
        );
        acknowledged
    }
}

async fn send(
    prefix: String,
    urls: Arc<Mutex<Vec<String>>>,
    acknowledged: Arc<Mutex<Vec<String>>>,
    stop: CancellationToken,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let ends = harness::rfc3339_from_now(time::Duration::hours(1));
    for batch in 0.. {
        let names: Vec<String> = (0..4).map(|i| format!("{prefix}{batch}x{i}")).collect();
        let body: Vec<Value> = names
            .iter()
            .map(|n| json!({"labels": {"alertname": n}, "endsAt": ends}))
            .collect();
        loop {
            if stop.is_cancelled() {
                return;
            }
            let targets = urls.lock().unwrap().clone();
            let mut taken = false;
            for url in targets {
                let reply = client
                    .post(format!("{url}/api/v2/alerts"))
                    .json(&body)
                    .send()
                    .await;
                taken |= reply.is_ok_and(|r| r.status() == 200);
            }
            if taken {
                acknowledged.lock().unwrap().extend(names.iter().cloned());
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The alert names stored in the database.
async fn stored(pg: &Postgres, db: &str) -> HashSet<String> {
    pg.query(
        db,
        "SELECT convert_from(record, 'UTF8')::json->'labels'->>'alertname' FROM campanile.alerts",
    )
    .await
    .into_iter()
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_restarted_under_load_loses_nothing_and_the_replicas_recover_by_themselves() {
    let mut pg = Postgres::start().await;
    let receiver = HttpPeer::start().await;
    let mut nodes = replicas(&pg, "pgrestart", &receiver, "1s").await;
    spread(&pg, "pgrestart", 3).await;
    let pids: Vec<u32> = nodes.iter().map(Campanile::pid).collect();
    let load = Load::start("Storm", &nodes);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // A crash of the database (kill -9), and its recovery on the same data.
    pg.restart().await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let acknowledged = load.finish().await;
    eprintln!("{} alerts acknowledged", acknowledged.len());
    all_notified(&receiver, &acknowledged, Duration::from_secs(60)).await;
    let stored = stored(&pg, "pgrestart").await;
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|n| !stored.contains(*n))
        .collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    // Nobody restarted them: the same processes are ready and hold the shards again.
    spread(&pg, "pgrestart", 3).await;
    for (node, pid) in nodes.iter_mut().zip(pids) {
        assert_eq!(node.pid(), pid);
        assert!(node.wait_exit(Duration::ZERO).await.is_none());
        let ready = node.get("/-/ready").await;
        assert_eq!(ready.status, 200, "{ready:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolling_restart_of_every_replica_under_load_loses_and_doubles_nothing() {
    let pg = Postgres::start().await;
    let receiver = HttpPeer::start().await;
    let mut nodes = replicas(&pg, "rolling", &receiver, "1s").await;
    spread(&pg, "rolling", 3).await;
    let load = Load::start("Rolling", &nodes);
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (i, node) in nodes.iter_mut().enumerate() {
        node.restart().await;
        load.moved(i, node);
        spread(&pg, "rolling", 3).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let acknowledged = load.finish().await;
    eprintln!("{} alerts acknowledged", acknowledged.len());
    all_notified(&receiver, &acknowledged, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_once(&receiver, &acknowledged);
    let stored = stored(&pg, "rolling").await;
    assert!(acknowledged.iter().all(|n| stored.contains(n)));
}

/// Without the pass over groups held elsewhere, each replica would keep every group of the
/// others' shards for good: memory that grows with every incident.
#[tokio::test(flavor = "multi_thread")]
async fn once_an_incident_is_over_no_replica_keeps_its_groups() {
    let pg = Postgres::start().await;
    let receiver = HttpPeer::start().await;
    let url = pg.database("forget").await;
    let mut nodes = Vec::new();
    for name in ["a", "b", "c"] {
        let config = config(&url, name, &receiver.addr(), "1s")
            .replace("group_interval = \"1m\"", "group_interval = \"2s\"");
        nodes.push(Launch::new(&config).start().await);
    }
    spread(&pg, "forget", 3).await;
    let names: Vec<String> = (0..12).map(|i| format!("Over{i}")).collect();
    let all: Vec<&Campanile> = nodes.iter().collect();
    post_to_all(&all, &names).await;
    all_notified(&receiver, &names, Duration::from_secs(30)).await;
    for node in &nodes {
        assert_eq!(node.metric("campanile_groups", &[]).await, 12.0);
    }
    // Resolved everywhere; each holder tells it, then every replica forgets the groups.
    let now = harness::rfc3339_from_now(time::Duration::ZERO);
    let resolved: Vec<Value> = names
        .iter()
        .map(|n| json!({"labels": {"alertname": n}, "endsAt": now}))
        .collect();
    for node in &nodes {
        assert_eq!(node.post_alerts(&json!(resolved)).await.status, 200);
    }
    wait_until(
        "every group told resolved",
        Duration::from_secs(30),
        async || {
            let told: HashSet<String> = receiver
                .payloads("/hook")
                .iter()
                .filter(|p| p["status"] == "resolved")
                .map(|p| p["groupKey"].as_str().unwrap_or_default().to_string())
                .collect();
            let left = names.iter().filter(|n| !told.contains(&key(n))).count();
            (left == 0).then_some(()).ok_or(format!("{left} not yet"))
        },
    )
    .await;
    for (i, node) in nodes.iter().enumerate() {
        wait_until(
            "the groups forgotten",
            Duration::from_secs(30),
            async || {
                let groups = node.metric("campanile_groups", &[]).await;
                (groups == 0.0)
                    .then_some(())
                    .ok_or(format!("replica {i} holds {groups} groups"))
            },
        )
        .await;
    }
}
