//! The cluster's leases on a real PostgreSQL, two or three replicas in one test process, each
//! round driven by hand (`tick`) so the tests decide who is alive, who is paused and when.

use std::collections::BTreeSet;
use std::time::Duration;

use campanile::cluster::{ClusterError, Leases};
use campanile::config::{ClusterConfig, Durability, StoreBackend};
use campanile::store::{Fence, NotifiedRecord, Op, Store, StoreError};

use crate::harness::Postgres;
use crate::store::config as store_config;

const SHARDS: u32 = 8;
const TTL: Duration = Duration::from_secs(1);

async fn replica(url: &str, name: &str, shards: u32) -> Result<Leases, ClusterError> {
    let StoreBackend::Postgres(pg) = store_config(url, Durability::Immediate).backend else {
        unreachable!("a PostgreSQL store")
    };
    Leases::connect(
        &pg,
        ClusterConfig {
            replica: name.into(),
            lease_ttl: TTL,
            shards,
            advertise: format!("http://{name}:9797"),
        },
    )
    .await
}

fn shards(of: &Leases) -> BTreeSet<u32> {
    of.held().into_iter().map(|(s, _)| s).collect()
}

/// No shard is believed held by two replicas, and each belief is backed by the database.
async fn check_exclusive(replicas: &[&Leases]) {
    let mut seen = BTreeSet::new();
    for r in replicas {
        for (s, epoch) in r.held() {
            assert!(seen.insert(s), "shard {s} is held twice");
            assert!(
                r.verify(s, epoch).await.unwrap(),
                "{} believes it holds shard {s} at epoch {epoch}; the database disagrees",
                r.replica()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_replica_takes_every_shard_and_the_next_gets_its_share() {
    let pg = Postgres::start().await;
    let url = pg.database("share").await;
    let a = replica(&url, "a", SHARDS).await.unwrap();
    assert!(a.held().is_empty(), "nothing before the first round");
    let round = a.tick().await.unwrap();
    assert_eq!(round.taken.len(), SHARDS as usize);
    assert!(
        round.taken.iter().all(|(_, epoch)| *epoch == 1),
        "{round:?}"
    );
    assert_eq!(shards(&a).len(), SHARDS as usize);

    let b = replica(&url, "b", SHARDS).await.unwrap();
    let round = b.tick().await.unwrap();
    assert_eq!(round.replicas, 2);
    assert!(round.taken.is_empty(), "nothing is free yet: {round:?}");
    check_exclusive(&[&a, &b]).await;

    let round = a.tick().await.unwrap();
    assert_eq!(
        round.released.len(),
        4,
        "a gives back down to its share: {round:?}"
    );
    check_exclusive(&[&a, &b]).await;
    let round = b.tick().await.unwrap();
    assert_eq!(round.taken.len(), 4, "{round:?}");
    assert!(
        round.taken.iter().all(|(_, epoch)| *epoch == 2),
        "each taking moves the epoch"
    );
    check_exclusive(&[&a, &b]).await;
    let all: BTreeSet<u32> = shards(&a).union(&shards(&b)).copied().collect();
    assert_eq!(all.len(), SHARDS as usize, "every shard has a holder");

    // A third replica: shares of ⌈8/3⌉ = 3, and still one holder per shard.
    let c = replica(&url, "c", SHARDS).await.unwrap();
    for _ in 0..3 {
        for r in [&a, &b, &c] {
            r.tick().await.unwrap();
            check_exclusive(&[&a, &b, &c]).await;
        }
    }
    let counts: Vec<usize> = [&a, &b, &c].iter().map(|r| shards(r).len()).collect();
    assert_eq!(counts.iter().sum::<usize>(), SHARDS as usize, "{counts:?}");
    assert!(counts.iter().all(|&n| n <= 3), "{counts:?}");
    let peers = a.peers().await.unwrap();
    let names: Vec<&str> = peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(peers[1].address, "http://b:9797");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_holder_stops_believing_before_its_shards_can_be_taken_and_is_fenced_after() {
    let pg = Postgres::start().await;
    let url = pg.database("paused").await;
    let a = replica(&url, "a", SHARDS).await.unwrap();
    a.tick().await.unwrap();
    let b = replica(&url, "b", SHARDS).await.unwrap();
    b.tick().await.unwrap();
    assert_eq!(shards(&a).len(), SHARDS as usize);
    let old: Vec<(u32, i64)> = a.held();

    // `a` is paused (no rounds, as under SIGSTOP). Before the database would let anyone take
    // its shards, it already believes in none of them.
    tokio::time::sleep(TTL.mul_f32(0.85)).await;
    assert!(a.held().is_empty(), "a still believes in {:?}", a.held());
    // Whether b may take them yet depends on how fast this machine is; either way no shard
    // is believed held twice.
    b.tick().await.unwrap();
    check_exclusive(&[&a, &b]).await;

    tokio::time::sleep(TTL.mul_f32(0.3)).await;
    b.tick().await.unwrap();
    assert_eq!(
        shards(&b).len(),
        SHARDS as usize,
        "b holds them all: {:?}",
        b.held()
    );
    assert!(
        b.held().iter().all(|(_, epoch)| *epoch == 2),
        "{:?}",
        b.held()
    );
    for (s, epoch) in &old {
        assert!(
            !a.verify(*s, *epoch).await.unwrap(),
            "a's old lease on {s} is fenced"
        );
    }
    check_exclusive(&[&a, &b]).await;

    // `a` resumes: its renewal finds nothing, and it takes only what b gives back.
    let round = a.tick().await.unwrap();
    assert!(round.taken.is_empty(), "{round:?}");
    check_exclusive(&[&a, &b]).await;
    b.tick().await.unwrap();
    a.tick().await.unwrap();
    check_exclusive(&[&a, &b]).await;
    assert_eq!(shards(&a).len() + shards(&b).len(), SHARDS as usize);
    assert!(
        a.held().iter().all(|(_, epoch)| *epoch == 3),
        "{:?}",
        a.held()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_leaves_hands_its_shards_over_at_once() {
    let pg = Postgres::start().await;
    let url = pg.database("leave").await;
    let a = replica(&url, "a", SHARDS).await.unwrap();
    a.tick().await.unwrap();
    let b = replica(&url, "b", SHARDS).await.unwrap();
    a.leave().await.unwrap();
    assert!(a.held().is_empty());
    let round = b.tick().await.unwrap();
    assert_eq!(round.replicas, 1, "a is gone from the replicas");
    assert_eq!(
        round.taken.len(),
        SHARDS as usize,
        "no wait for the TTL: {round:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_with_one_name_or_different_shard_counts_are_refused() {
    let pg = Postgres::start().await;
    let url = pg.database("refused").await;
    let a = replica(&url, "a", SHARDS).await.unwrap();
    a.tick().await.unwrap();
    match replica(&url, "a", SHARDS).await {
        Err(ClusterError::Duplicate(name)) => assert_eq!(name, "a"),
        other => panic!("a second `a` must be refused: {:?}", other.err()),
    }
    match replica(&url, "b", 16).await {
        Err(e @ ClusterError::Shards { .. }) => {
            let text = e.to_string();
            assert!(text.contains("8 shards") && text.contains("16"), "{text}");
        }
        other => panic!("a different shard count must be refused: {:?}", other.err()),
    }
    // Once the first `a` is no longer seen (it died), a new process may take the name.
    tokio::time::sleep(TTL.mul_f32(1.2)).await;
    let again = replica(&url, "a", SHARDS)
        .await
        .expect("a dead replica's name is free");
    let round = again.tick().await.unwrap();
    assert_eq!(round.taken.len(), SHARDS as usize, "{round:?}");
    // The old process, were it only paused, finds its name taken and holds nothing.
    assert!(matches!(a.tick().await, Err(ClusterError::Duplicate(_))));
    assert!(a.held().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_is_written_only_under_its_lease() {
    let pg = Postgres::start().await;
    let url = pg.database("fenced").await;
    let config = store_config(&url, Durability::Immediate);
    let opened = config.clone();
    let (store, _) = tokio::task::spawn_blocking(move || Store::open(&opened))
        .await
        .unwrap()
        .unwrap();
    let a = replica(&url, "a", SHARDS).await.unwrap();
    a.tick().await.unwrap();
    let (shard, epoch) = a.held()[0];
    let fence = |epoch| Fence {
        replica: "a".into(),
        shard,
        epoch,
    };
    let notified = |n: u64| {
        Op::PutNotified(
            "{}:{alertname=\"A\"}".into(),
            NotifiedRecord {
                firing: vec![n],
                resolved: vec![],
                at: time::OffsetDateTime::now_utc(),
                sent: vec![],
                wake_at: None,
            },
        )
    };
    store
        .commit_fenced(fence(epoch), vec![notified(1)])
        .await
        .expect("the holder writes its flush");
    match store
        .commit_fenced(fence(epoch + 1), vec![notified(2)])
        .await
    {
        Err(StoreError::Fenced { shard: s, epoch: e }) => assert_eq!((s, e), (shard, epoch + 1)),
        other => panic!("an epoch a does not hold must be fenced: {other:?}"),
    }

    // `a` pauses past its lease; `b` takes the shard. A flush `a` made before the pause is
    // refused, while writes queued beside it (in the same transaction, when the writer
    // takes them together) are made.
    tokio::time::sleep(TTL.mul_f32(1.2)).await;
    let b = replica(&url, "b", SHARDS).await.unwrap();
    b.tick().await.unwrap();
    assert!(b.holds(shard).is_some());
    let alert = campanile::store::StoredAlert {
        labels: campanile::model::Labels::from_pairs([("alertname", "beside")]),
        annotations: campanile::model::Labels::default(),
        starts_at: time::OffsetDateTime::now_utc(),
        ends_at: time::OffsetDateTime::now_utc(),
        timeout: false,
        generator_url: String::new(),
        updated_at: time::OffsetDateTime::now_utc(),
    };
    let (stale, beside) = tokio::join!(
        store.commit_fenced(fence(epoch), vec![notified(3)]),
        store.commit(vec![Op::PutAlert(7, alert)]),
    );
    assert!(matches!(stale, Err(StoreError::Fenced { .. })), "{stale:?}");
    beside.expect("an unfenced write beside a fenced one is made");
    assert_eq!(
        pg.query("fenced", "SELECT count(*)::text FROM campanile.alerts")
            .await,
        ["1"]
    );
    let closing = store.clone();
    tokio::task::spawn_blocking(move || closing.close())
        .await
        .unwrap();
    let (_, snap) = tokio::task::spawn_blocking(move || Store::open(&config))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snap.notified.len(), 1);
    assert_eq!(
        snap.notified[0].1.firing,
        [1],
        "only the flush made under the lease"
    );
}
