//! Several real campanile processes on one real PostgreSQL (`[cluster]`): every sender posts
//! each alert to every replica, as Prometheus does with Alertmanagers, and each group must be
//! notified exactly once; a replica killed with `kill -9` has its groups taken over and
//! notified by the others within the lease TTL.

#[path = "../harness/mod.rs"]
mod harness;

mod shared_state;
mod under_load;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use harness::{wait_until, Campanile, HttpPeer, Launch, Postgres, TcpProxy};

const LEASE_TTL: &str = "2s";

fn config(url: &str, replica: &str, receiver: &str, group_wait: &str) -> String {
    format!(
        r#"
[store]
backend = "postgres"
url = "{url}"

[cluster]
replica = "{replica}"
advertise = "http://{replica}.test:9797"
lease_ttl = "{LEASE_TTL}"
shards = 16

[[receivers]]
name = "hook"
type = "webhook"
url = "http://{receiver}/hook"

[route]
receiver = "hook"
group_by = ["alertname"]
group_wait = "{group_wait}"
group_interval = "1m"
repeat_interval = "1h"
"#
    )
}

async fn replicas(
    pg: &Postgres,
    db: &str,
    receiver: &HttpPeer,
    group_wait: &str,
) -> Vec<Campanile> {
    let url = pg.database(db).await;
    let mut out = Vec::new();
    for name in ["a", "b", "c"] {
        out.push(
            Launch::new(&config(&url, name, &receiver.addr(), group_wait))
                .env("RUST_LOG", "info")
                .start()
                .await,
        );
    }
    out
}

/// Posts `names` as firing alerts to every replica in `to`.
async fn post_to_all(to: &[&Campanile], names: &[String]) {
    let ends = harness::rfc3339_from_now(time::Duration::hours(1));
    let body: Vec<Value> = names
        .iter()
        .map(|n| json!({"labels": {"alertname": n}, "endsAt": ends}))
        .collect();
    for replica in to {
        let reply = harness::client()
            .post(replica.url("/api/v2/alerts"))
            .json(&body)
            .send()
            .await
            .expect("post alerts");
        assert_eq!(reply.status(), 200);
    }
}

/// Notifications received per group key.
fn per_group(receiver: &HttpPeer) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for payload in receiver.payloads("/hook") {
        let key = payload["groupKey"].as_str().unwrap_or_default().to_string();
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn key(name: &str) -> String {
    format!("{{}}:{{alertname=\"{name}\"}}")
}

async fn all_notified(receiver: &HttpPeer, names: &[String], within: Duration) {
    wait_until("every group notified", within, async || {
        let got = per_group(receiver);
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !got.contains_key(&key(n)))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} of {} not yet notified, e.g. {:?}",
                missing.len(),
                names.len(),
                missing.first()
            ))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn three_replicas_sent_every_alert_notify_each_group_once() {
    let pg = Postgres::start().await;
    let receiver = HttpPeer::start().await;
    let nodes = replicas(&pg, "steady", &receiver, "2s").await;
    let names: Vec<String> = (0..30).map(|i| format!("Steady{i}")).collect();
    post_to_all(&nodes.iter().collect::<Vec<_>>(), &names).await;
    all_notified(&receiver, &names, Duration::from_secs(30)).await;
    // Let any second notification arrive before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_once(&receiver, &names);
    // The shards are spread over the replicas.
    let holders = pg
        .query(
            "steady",
            "SELECT count(DISTINCT holder)::text FROM campanile.leases WHERE expires_at > now()",
        )
        .await;
    assert_eq!(holders, ["3"], "each replica holds a share");

    // The status says so, in Alertmanager's shape, and amtool reads it.
    let status: Value = harness::client()
        .get(nodes[0].url("/api/v2/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["cluster"]["name"], "a");
    assert_eq!(status["cluster"]["status"], "ready");
    let peers: Vec<&str> = status["cluster"]["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(peers, ["a", "b", "c"]);
    assert_eq!(
        status["cluster"]["peers"][1]["address"],
        "http://b.test:9797"
    );
    let amtool = harness::find_binary(&["amtool"], "prometheus-alertmanager");
    let out = std::process::Command::new(amtool)
        .args(["cluster", "show", "-o", "extended", "--alertmanager.url"])
        .arg(nodes[1].url(""))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{shown}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shown.contains("Cluster Status:  ready"), "{shown}");
    assert!(shown.contains("Node Name:       b"), "{shown}");
    for peer in ["a", "b", "c"] {
        assert!(
            shown.contains(&format!("http://{peer}.test:9797  {peer}")),
            "{shown}"
        );
    }
    let metrics = harness::client()
        .get(nodes[2].url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("campanile_cluster_replicas 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("campanile_cluster_database_reachable 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_killed_before_its_groups_were_due_has_them_notified_by_the_others() {
    let pg = Postgres::start().await;
    let receiver = HttpPeer::start().await;
    let mut nodes = replicas(&pg, "killed", &receiver, "3s").await;
    spread(&pg, "killed", 3).await;
    let names: Vec<String> = (0..30).map(|i| format!("Failover{i}")).collect();
    post_to_all(&nodes.iter().collect::<Vec<_>>(), &names).await;
    // kill -9 the replica holding the most shards, before any group is due.
    let victim = top_holder(&pg, "killed").await;
    let dead = ["a", "b", "c"][victim].to_string();
    nodes[victim].kill();
    // Its shards move after the lease TTL (2 s), the others flush at once what is due.
    all_notified(&receiver, &names, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_once(&receiver, &names);
    let holders = pg
        .query(
            "killed",
            "SELECT DISTINCT holder FROM campanile.leases WHERE expires_at > now() ORDER BY holder",
        )
        .await;
    assert!(
        !holders.contains(&dead),
        "the dead replica holds nothing: {holders:?}"
    );
}

/// Alerts that arrive after a replica died, due at once: those of its shards are passed over
/// by the survivors until one takes the shard, and then told at once — not a group_interval
/// (1 m) later.
#[tokio::test(flavor = "multi_thread")]
async fn alerts_due_during_a_failover_are_told_as_soon_as_their_shard_is_taken() {
    let pg = Postgres::start().await;
    let receiver = HttpPeer::start().await;
    let mut nodes = replicas(&pg, "duringfailover", &receiver, "0s").await;
    spread(&pg, "duringfailover", 3).await;
    let victim = top_holder(&pg, "duringfailover").await;
    nodes[victim].kill();
    let survivors: Vec<&Campanile> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != victim)
        .map(|(_, n)| n)
        .collect();
    let names: Vec<String> = (0..30).map(|i| format!("During{i}")).collect();
    post_to_all(&survivors, &names).await;
    all_notified(&receiver, &names, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_once(&receiver, &names);
}

/// The replica holding the most shards, by its index in `["a", "b", "c"]`.
async fn top_holder(pg: &Postgres, db: &str) -> usize {
    let top = pg
        .query(
            db,
            "SELECT holder FROM campanile.leases WHERE holder IS NOT NULL \
             GROUP BY holder ORDER BY count(*) DESC, holder LIMIT 1",
        )
        .await;
    ["a", "b", "c"]
        .iter()
        .position(|n| Some(&n.to_string()) == top.first())
        .expect("a replica holds shards")
}

async fn spread(pg: &Postgres, db: &str, replicas: usize) {
    wait_until("the shards spread over the replicas", Duration::from_secs(30), async || {
        let holders = pg
            .query(
                db,
                "SELECT count(DISTINCT holder)::text FROM campanile.leases WHERE expires_at > now()",
            )
            .await;
        (holders == [replicas.to_string()]).then_some(()).ok_or(format!("{holders:?}"))
    })
    .await;
}

fn assert_once(receiver: &HttpPeer, names: &[String]) {
    let got = per_group(receiver);
    let twice: Vec<(&String, &usize)> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "groups notified more than once: {twice:?}"
    );
    assert_eq!(got.len(), names.len(), "{got:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_replica_sends_nothing_for_the_shards_it_lost() {
    let pg = Postgres::start().await;
    let receiver = HttpPeer::start().await;
    let nodes = replicas(&pg, "paused", &receiver, "3s").await;
    spread(&pg, "paused", 3).await;
    let names: Vec<String> = (0..30).map(|i| format!("Paused{i}")).collect();
    post_to_all(&nodes.iter().collect::<Vec<_>>(), &names).await;
    // SIGSTOP the top holder for twice the lease TTL, over the groups' due time.
    let paused = top_holder(&pg, "paused").await;
    nodes[paused].signal("STOP");
    all_notified(&receiver, &names, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    nodes[paused].signal("CONT");
    // Resumed, its timers are overdue: it must find its leases gone and send nothing.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_once(&receiver, &names);
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_notified_before_a_failover_are_not_notified_again_by_the_new_holder() {
    let pg = Postgres::start().await;
    let receiver = HttpPeer::start().await;
    let mut nodes = replicas(&pg, "handover", &receiver, "1s").await;
    spread(&pg, "handover", 3).await;
    let names: Vec<String> = (0..30).map(|i| format!("Handover{i}")).collect();
    post_to_all(&nodes.iter().collect::<Vec<_>>(), &names).await;
    all_notified(&receiver, &names, Duration::from_secs(30)).await;
    let victim = top_holder(&pg, "handover").await;
    nodes[victim].kill();
    // The others take its shards over and resume from its records: nothing is due again
    // before group_interval (1 m).
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_once(&receiver, &names);
    // And a graceful stop hands over at once, also without repeats.
    let next = (0..3).find(|i| *i != victim).expect("another replica");
    nodes[next].stop().await;
    // It gave its leases back and left before it exited (not after the TTL).
    let name = ["a", "b", "c"][next];
    let left = pg
        .query(
            "handover",
            &format!(
                "SELECT (SELECT count(*) FROM campanile.leases WHERE holder = '{name}') \
                 + (SELECT count(*) FROM campanile.replicas WHERE name = '{name}')"
            ),
        )
        .await;
    assert_eq!(left, ["0"], "{name} still holds leases or is still listed");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_once(&receiver, &names);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_due_while_the_database_is_down_still_go_out() {
    let mut pg = Postgres::start().await;
    let receiver = HttpPeer::start().await;
    let nodes = replicas(&pg, "outage", &receiver, "4s").await;
    spread(&pg, "outage", 3).await;
    let names: Vec<String> = (0..30).map(|i| format!("Outage{i}")).collect();
    post_to_all(&nodes.iter().collect::<Vec<_>>(), &names).await;
    // The database goes away before any group is due, and stays away past the lease TTL.
    pg.kill();
    all_notified(&receiver, &names, Duration::from_secs(30)).await;
    assert_once(&receiver, &names);
    // The replicas are alive but not ready (no traffic should come to them), and say why.
    for node in &nodes {
        let client = harness::client();
        let healthy = client.get(node.url("/-/healthy")).send().await.unwrap();
        assert_eq!(healthy.status(), 200);
        let ready = client.get(node.url("/-/ready")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        assert!(ready
            .text()
            .await
            .unwrap()
            .contains("database is unreachable"));
    }
    // And the metrics tell it: rounds fail, the database is unreachable.
    let failures = nodes[1]
        .metric("campanile_cluster_round_failures_total", &[])
        .await;
    assert!(failures >= 1.0, "{failures}");
    assert_eq!(
        nodes[1]
            .metric("campanile_cluster_database_reachable", &[])
            .await,
        0.0
    );
    // While it is down, alerts cannot be stored: senders are told to retry.
    let reply = harness::client()
        .post(nodes[0].url("/api/v2/alerts"))
        .json(&json!([{"labels": {"alertname": "DuringOutage"}}]))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 503);
    pg.restart().await;
    // Back: the cluster settles without a restart and pages again.
    spread(&pg, "outage", 3).await;
    // The store's writer retries with back-off (up to 30 s): a sender retries until it takes.
    let after = vec!["AfterOutage".to_string()];
    for node in &nodes {
        wait_until(
            "the store to take alerts again",
            Duration::from_secs(60),
            async || {
                let reply = harness::client()
                    .post(node.url("/api/v2/alerts"))
                    .json(&json!([{"labels": {"alertname": "AfterOutage"}}]))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                (reply.status() == 200)
                    .then_some(())
                    .ok_or(format!("{}", reply.status()))
            },
        )
        .await;
    }
    all_notified(&receiver, &after, Duration::from_secs(30)).await;
}

#[test]
fn the_example_deployment_configuration_checks() {
    let file = harness::workspace_root().join("examples/ha/campanile.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_campanile"))
        .arg("check-config")
        .arg(&file)
        .env(
            "CAMPANILE_DATABASE_URL",
            "postgresql://campanile@127.0.0.1:5432/campanile",
        )
        .output()
        .expect("run check-config");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_cut_off_from_the_database_loses_nothing_and_doubles_only_its_own_shards() {
    let pg = Postgres::start().await;
    let receiver = HttpPeer::start().await;
    let url = pg.database("partition").await;
    // Replica c reaches the database through a proxy the test can cut.
    let proxy = TcpProxy::start(&format!("127.0.0.1:{}", pg.port)).await;
    let through_proxy = url.replace(
        &format!(":{}/", pg.port),
        &format!(":{}/", proxy.addr.rsplit(':').next().unwrap()),
    );
    let mut nodes = Vec::new();
    for (name, url) in [("a", &url), ("b", &url), ("c", &through_proxy)] {
        nodes.push(
            Launch::new(&config(url, name, &receiver.addr(), "4s"))
                .env("RUST_LOG", "info")
                .start()
                .await,
        );
    }
    spread(&pg, "partition", 3).await;
    let c_shards: Vec<String> = pg
        .query(
            "partition",
            "SELECT shard::text FROM campanile.leases WHERE holder = 'c'",
        )
        .await;
    assert!(!c_shards.is_empty());
    let names: Vec<String> = (0..30).map(|i| format!("Partition{i}")).collect();
    post_to_all(&nodes.iter().collect::<Vec<_>>(), &names).await;
    proxy.cut();
    // Every group is told; a and b take c's shards after the TTL.
    all_notified(&receiver, &names, Duration::from_secs(30)).await;
    wait_until("a and b hold every shard", Duration::from_secs(30), async || {
        let c = pg
            .query(
                "partition",
                "SELECT count(*)::text FROM campanile.leases WHERE holder = 'c' AND expires_at > now()",
            )
            .await;
        (c == ["0"]).then_some(()).ok_or(format!("c holds {c:?}"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let shard_of = |name: &String| campanile::cluster::shard_of(&key(name), 16).to_string();
    let got = per_group(&receiver);
    for name in &names {
        let told = got.get(&key(name)).copied().unwrap_or(0);
        assert!(told >= 1, "{name} was never told");
        if told > 1 {
            assert!(
                c_shards.contains(&shard_of(name)),
                "{name} was told {told} times but is not in c's shards"
            );
            assert_eq!(told, 2, "{name} told {told} times");
        }
    }
    // Healed: c finds its leases gone and the cluster settles.
    proxy.mend();
    spread(&pg, "partition", 3).await;
    nodes[2].stop().await;
}
