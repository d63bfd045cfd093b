//! The shared-state change feed on a real PostgreSQL: two replicas' state (silences,
//! acknowledgements, plugin state, the alert cache and the dispatcher's queue) in one test
//! process, each with its own store and feed. What one writes through its owners reaches the
//! other's memory within a second; a replica does not take its own writes back; a change
//! committed late with an earlier sequence number is not missed, neither while running nor
//! between a start's place in the feed and its snapshot; a replica that was away longer than
//! the feed keeps reads the shared state whole.

use std::sync::Arc;
use std::time::{Duration, Instant};

use campanile::ack::Acks;
use campanile::cluster::{Replicated, StateSync};
use campanile::config::{Durability, StoreBackend};
use campanile::dedup::AlertCache;
use campanile::ingest::Ingestor;
use campanile::model::{Alert, Fingerprint, Labels, SharedAlert};
use campanile::plugin::PluginState;
use campanile::silence::{NewSilence, SilenceMatcher, Silences};
use campanile::store::{Op, Store, StoredSilence};
use campanile::telemetry::Metrics;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::harness::Postgres;
use crate::store::config as store_config;

/// The bound: a change on one replica is in the others' memory within it.
const WITHIN: Duration = Duration::from_secs(1);
const RETENTION: Duration = Duration::from_secs(3600);

/// One replica's state, as `app::start` builds it, with the dispatcher's queue read by the test.
struct Replica {
    to: Replicated,
    ingestor: Ingestor,
    /// What the dispatcher would file: alerts ingested here and alerts from the feed.
    dispatched: mpsc::Receiver<Vec<SharedAlert>>,
    sync: Option<StateSync>,
    /// What its feed poller counts.
    metrics: Arc<Metrics>,
}

impl Replica {
    /// Takes its place in the feed, then opens its store (as `app::start` does).
    async fn start(url: &str, name: &'static str) -> Replica {
        let config = store_config(url, Durability::Immediate);
        let StoreBackend::Postgres(pg) = &config.backend else {
            unreachable!("a PostgreSQL store")
        };
        let sync = StateSync::connect(pg, name).await.expect("feed place");
        let (store, snapshot) = tokio::task::spawn_blocking(move || {
            Store::open_replica(&config, Some(name), Box::new(|_| {})).map_err(|e| e.to_string())
        })
        .await
        .expect("open task")
        .expect("store opens");
        let cache = Arc::new(AlertCache::new(10_000, RETENTION));
        for (fp, s) in snapshot.alerts {
            let mut alert = Alert::from(s);
            alert.fingerprint = Fingerprint(fp);
            cache.upsert(alert).expect("room");
        }
        let (batches, dispatched) = mpsc::channel(64);
        let to = Replicated {
            silences: Arc::new(Silences::new(store.clone(), snapshot.silences)),
            acks: Arc::new(Acks::new(store.clone(), snapshot.acks)),
            plugin_state: Arc::new(PluginState::new(store.clone(), snapshot.state)),
            alerts: cache.clone(),
            dispatcher: batches.clone(),
            retention: RETENTION,
        };
        let ingestor = Ingestor::new(cache, store.clone(), batches, Arc::new(Metrics::new()));
        Replica {
            to,
            ingestor,
            dispatched,
            sync: Some(sync),
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// Runs its feed's poller in the background until `stop`.
    fn follow(&mut self, stop: &CancellationToken) {
        let sync = self.sync.take().expect("not following yet");
        tokio::spawn(sync.run(self.to.clone(), self.metrics.clone(), stop.clone()));
    }

    /// One poll, by hand.
    async fn poll(&mut self) -> campanile::cluster::Applied {
        let (sync, to) = (self.sync.as_mut().expect("polled by hand"), &self.to);
        sync.poll(to).await.expect("poll")
    }

    fn silenced(&self, labels: &Labels) -> bool {
        self.to
            .silences
            .is_silenced(labels, OffsetDateTime::now_utc())
    }
}

/// Waits until `done` holds, at most `within`; returns how long it took.
async fn within(what: &str, within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if done() {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn labels(name: &str) -> Labels {
    Labels::from_pairs([("alertname", name), ("instance", "h1")])
}

fn silence(name: &str, hours: i64) -> NewSilence {
    let now = OffsetDateTime::now_utc();
    NewSilence {
        id: None,
        matchers: vec![SilenceMatcher::new("alertname", name, false, true).unwrap()],
        starts_at: now,
        ends_at: now + time::Duration::hours(hours),
        created_by: "ops".into(),
        comment: "maintenance".into(),
    }
}

fn alert(name: &str) -> Alert {
    let labels = labels(name);
    let now = OffsetDateTime::now_utc();
    Alert {
        fingerprint: Fingerprint::of(&labels),
        labels,
        annotations: Labels::default(),
        starts_at: now,
        ends_at: now + time::Duration::minutes(5),
        timeout: true,
        generator_url: Default::default(),
        updated_at: now,
        extension: Default::default(),
    }
}

/// The record bytes campanile stores for a silence (its JSON), for writes made by hand.
fn record(s: &StoredSilence) -> Vec<u8> {
    serde_json::to_vec(s).unwrap()
}

fn stored_silence(id: &str, name: &str, comment: &str) -> StoredSilence {
    let now = OffsetDateTime::now_utc();
    StoredSilence {
        id: id.into(),
        matchers: vec![campanile::store::StoredMatcher {
            name: "alertname".into(),
            value: name.into(),
            is_regex: false,
            is_equal: true,
        }],
        starts_at: now,
        ends_at: now + time::Duration::hours(1),
        updated_at: now,
        created_by: "psql".into(),
        comment: comment.into(),
    }
}

/// A transaction made by hand as replica `replica` would make it (its writes enter the feed).
async fn tagged<'a>(
    client: &'a mut tokio_postgres::Client,
    replica: &str,
) -> tokio_postgres::Transaction<'a> {
    let txn = client.transaction().await.unwrap();
    txn.execute(
        "SELECT set_config('campanile.replica', $1, true)",
        &[&replica],
    )
    .await
    .unwrap();
    txn
}

async fn put_silence(txn: &tokio_postgres::Transaction<'_>, s: &StoredSilence) {
    txn.execute(
        "INSERT INTO campanile.silences (id, record) VALUES ($1, $2) \
         ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
        &[&s.id, &record(s)],
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_set_on_one_replica_mutes_on_the_other_within_a_second() {
    let pg = Postgres::start().await;
    let url = pg.database("silence").await;
    let a = Replica::start(&url, "a").await;
    let mut b = Replica::start(&url, "b").await;
    let stop = CancellationToken::new();
    b.follow(&stop);
    let web = labels("Web");
    assert!(!b.silenced(&web));

    let now = OffsetDateTime::now_utc();
    let id = a.to.silences.set(silence("Web", 1), now).await.unwrap();
    let took = within("the silence mutes on b", WITHIN, || b.silenced(&web)).await;
    eprintln!("silence on b after {took:?}");
    assert_eq!(b.to.silences.get(&id).unwrap().comment, "maintenance");

    // Expired on a: b stops muting within the second too.
    a.to.silences
        .expire(&id, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let took = within("the expiry reaches b", WITHIN, || !b.silenced(&web)).await;
    eprintln!("expiry on b after {took:?}");
    assert!(b.to.silences.get(&id).is_some(), "kept for its retention");
    // The poller counts what it took in (the silence, then its expiry) and when it last read.
    let metrics = b.metrics.encode();
    assert!(
        metrics.contains("campanile_cluster_feed_records_total{kind=\"silence\"} 2"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("campanile_cluster_feed_last_read_timestamp_seconds 0\n"),
        "{metrics}"
    );

    // b's own change reaches a (a follows too).
    let mut a = a;
    a.follow(&stop);
    let db = labels("Db");
    b.to.silences
        .set(silence("Db", 1), OffsetDateTime::now_utc())
        .await
        .unwrap();
    within("b's silence mutes on a", WITHIN, || a.silenced(&db)).await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgements_and_plugin_state_reach_the_other_replica() {
    let pg = Postgres::start().await;
    let url = pg.database("acks").await;
    let a = Replica::start(&url, "a").await;
    let mut b = Replica::start(&url, "b").await;
    let stop = CancellationToken::new();
    b.follow(&stop);
    let group = "{}:{alertname=\"Web\"}";
    let now = OffsetDateTime::now_utc();

    a.to.acks.ack(group, "alice", "on it", now).await.unwrap();
    within("the ack reaches b", WITHIN, || {
        b.to.acks.get(group).is_some()
    })
    .await;
    assert_eq!(b.to.acks.get(group).unwrap().by, "alice");
    a.to.acks.unack(group).await.unwrap();
    within("the withdrawal reaches b", WITHIN, || {
        b.to.acks.get(group).is_none()
    })
    .await;

    let state = &a.to.plugin_state;
    state
        .set("router", "k\0ey".into(), "1".into(), None, now)
        .unwrap();
    state
        .set("router", "ttl".into(), "x".into(), Some(3600), now)
        .unwrap();
    within("plugin state reaches b", WITHIN, || {
        b.to.plugin_state.get("router", "k\0ey", now).as_deref() == Some("1")
            && b.to.plugin_state.get("router", "ttl", now).as_deref() == Some("x")
    })
    .await;
    state
        .set("router", "k\0ey".into(), "2".into(), None, now)
        .unwrap();
    state.delete("router", "ttl");
    within("the change and the deletion reach b", WITHIN, || {
        b.to.plugin_state.get("router", "k\0ey", now).as_deref() == Some("2")
            && b.to.plugin_state.get("router", "ttl", now).is_none()
    })
    .await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_ingested_on_one_replica_is_in_the_others_cache_and_dispatched_there() {
    let pg = Postgres::start().await;
    let url = pg.database("alerts").await;
    let a = Replica::start(&url, "a").await;
    let mut b = Replica::start(&url, "b").await;
    let stop = CancellationToken::new();
    b.follow(&stop);

    let web = alert("Web");
    let outcome = a
        .ingestor
        .admit("api_v2", vec![Ok(web.clone())])
        .await
        .unwrap();
    assert_eq!(outcome.accepted, 1);
    let start = Instant::now();
    let batch = tokio::time::timeout(WITHIN, b.dispatched.recv())
        .await
        .expect("b's dispatcher gets the alert within a second")
        .unwrap();
    eprintln!("alert on b after {:?}", start.elapsed());
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].fingerprint, web.fingerprint);
    assert_eq!(batch[0].labels, web.labels);
    assert!(b.to.alerts.get(&web.fingerprint).is_some(), "in b's cache");

    // Resolved on a: b's copy resolves (Alertmanager's merge: the newer copy wins).
    let mut resolved = web.clone();
    resolved.updated_at = OffsetDateTime::now_utc();
    resolved.ends_at = resolved.updated_at;
    resolved.timeout = false;
    a.ingestor
        .admit("api_v2", vec![Ok(resolved)])
        .await
        .unwrap();
    let batch = tokio::time::timeout(WITHIN, b.dispatched.recv())
        .await
        .expect("the resolution reaches b's dispatcher")
        .unwrap();
    assert!(batch[0].resolved_at(OffsetDateTime::now_utc()));
    assert!(b
        .to
        .alerts
        .get(&web.fingerprint)
        .unwrap()
        .resolved_at(OffsetDateTime::now_utc()));

    // Prometheus sends to both: b's own copy, then a's identical one, is dispatched once on b.
    let db = alert("Db");
    b.ingestor
        .admit("api_v2", vec![Ok(db.clone())])
        .await
        .unwrap();
    assert_eq!(
        b.dispatched.recv().await.unwrap()[0].fingerprint,
        db.fingerprint
    );
    let mut again = db.clone();
    again.updated_at = OffsetDateTime::now_utc();
    a.ingestor.admit("api_v2", vec![Ok(again)]).await.unwrap();
    assert!(
        tokio::time::timeout(WITHIN, b.dispatched.recv())
            .await
            .is_err(),
        "a's copy of an alert b holds unchanged is not filed again"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_does_not_take_its_own_writes_back() {
    let pg = Postgres::start().await;
    let url = pg.database("own").await;
    let mut a = Replica::start(&url, "a").await;
    let mut b = Replica::start(&url, "b").await;
    let now = OffsetDateTime::now_utc();
    let id = b.to.silences.set(silence("Web", 1), now).await.unwrap();
    b.to.acks.ack("g", "bob", "", now).await.unwrap();
    b.to.plugin_state
        .set("router", "k".into(), "v".into(), None, now)
        .unwrap();
    b.ingestor
        .admit("api_v2", vec![Ok(alert("Web"))])
        .await
        .unwrap();
    b.dispatched.recv().await.unwrap();
    let mut applied = a.poll().await;
    // The plugin state is written without waiting: it may come with the next poll.
    let until = Instant::now() + Duration::from_secs(5);
    while applied.state == 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
        applied.state += a.poll().await.state;
    }
    assert_eq!(
        (
            applied.silences,
            applied.acks,
            applied.state,
            applied.alerts
        ),
        (1, 1, 1, 1),
        "{applied:?}"
    );
    assert!(b.poll().await.is_empty(), "b reads none of its own changes");

    // A write under b's name that b's memory does not hold (as when b's memory is ahead of
    // what it committed) is taken by a, never by b.
    let mut client = pg.connect("own").await.unwrap();
    let txn = tagged(&mut client, "b").await;
    put_silence(&txn, &stored_silence(&id, "Web", "changed under b's name")).await;
    txn.commit().await.unwrap();
    assert!(b.poll().await.is_empty());
    assert_eq!(b.to.silences.get(&id).unwrap().comment, "maintenance");
    assert_eq!(a.poll().await.silences, 1);
    assert_eq!(
        a.to.silences.get(&id).unwrap().comment,
        "changed under b's name"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_committed_after_a_later_one_is_not_missed() {
    let pg = Postgres::start().await;
    let url = pg.database("gap").await;
    let mut a = Replica::start(&url, "a").await;
    let (mut early, mut late) = (
        pg.connect("gap").await.unwrap(),
        pg.connect("gap").await.unwrap(),
    );
    // `early` writes first (its change row takes the lower seq) and commits last.
    let t1 = tagged(&mut early, "x").await;
    put_silence(&t1, &stored_silence("early", "Early", "")).await;
    let t2 = tagged(&mut late, "x").await;
    put_silence(&t2, &stored_silence("late", "Late", "")).await;
    t2.commit().await.unwrap();

    let applied = a.poll().await;
    assert_eq!(
        applied.silences, 1,
        "the committed one, without waiting for the open one"
    );
    assert!(a.to.silences.get("late").is_some());
    assert!(a.to.silences.get("early").is_none());
    assert!(a.poll().await.is_empty(), "read once");

    t1.commit().await.unwrap();
    let seqs = pg
        .query(
            "gap",
            "SELECT seq::text FROM campanile.changes ORDER BY name",
        )
        .await;
    let (early_seq, late_seq): (i64, i64) = (seqs[0].parse().unwrap(), seqs[1].parse().unwrap());
    assert!(
        early_seq < late_seq,
        "the classic gap: the later commit has the lower seq ({early_seq} < {late_seq})"
    );
    let applied = a.poll().await;
    assert_eq!(
        applied.silences, 1,
        "the late commit of the earlier seq is read"
    );
    assert!(a.silenced(&labels("Early")));
    assert!(a.poll().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starting_replica_misses_nothing_committed_between_its_place_and_its_snapshot() {
    let pg = Postgres::start().await;
    let url = pg.database("start").await;
    // The schema first (a replica that ran before).
    drop(Replica::start(&url, "a").await);
    let mut client = pg.connect("start").await.unwrap();
    let open = tagged(&mut client, "x").await;
    put_silence(&open, &stored_silence("open", "Open", "")).await;

    // b starts while that transaction is open: its snapshot cannot hold the silence …
    let mut b = Replica::start(&url, "b").await;
    assert!(b.to.silences.get("open").is_none());
    // … and what commits after its snapshot reaches it through the feed.
    open.commit().await.unwrap();
    assert_eq!(b.poll().await.silences, 1);
    assert!(b.silenced(&labels("Open")));
}

/// The rows of `campanile.<table>` in the database `trim`.
async fn rows(pg: &Postgres, table: &str) -> u32 {
    pg.query(
        "trim",
        &format!("SELECT count(*)::text FROM campanile.{table}"),
    )
    .await[0]
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_away_longer_than_the_feed_keeps_reads_the_shared_state_whole() {
    let pg = Postgres::start().await;
    let url = pg.database("trim").await;
    let mut a = Replica::start(&url, "a").await;
    let mut b = Replica::start(&url, "b").await;
    let now = OffsetDateTime::now_utc();
    // b holds a silence and a value the database will have lost while b was away.
    b.to.silences.set(silence("Gone", 1), now).await.unwrap();
    b.to.plugin_state
        .set("router", "gone".into(), "v".into(), None, now)
        .unwrap();
    // Written without waiting: deleted below only once it is there.
    let until = Instant::now() + Duration::from_secs(5);
    while rows(&pg, "plugin_state").await == 0 {
        assert!(Instant::now() < until, "the plugin state is written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(b.poll().await.is_empty());
    pg.query("trim", "DELETE FROM campanile.silences").await;
    pg.query("trim", "DELETE FROM campanile.plugin_state").await;

    // a writes, reads, and trims everything it has read (b, paused, has read none of it).
    a.to.silences.set(silence("New", 1), now).await.unwrap();
    a.to.acks.ack("g", "alice", "", now).await.unwrap();
    assert!(rows(&pg, "changes").await >= 2);
    // The places a trim chooses from are a second apart.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    a.poll().await;
    assert_eq!(
        a.sync
            .as_mut()
            .unwrap()
            .trim(Duration::from_secs(3600))
            .await
            .unwrap(),
        0,
        "nothing is old enough"
    );
    let trimmed = a.sync.as_mut().unwrap().trim(Duration::ZERO).await.unwrap();
    assert!(trimmed >= 2, "{trimmed}");
    assert_eq!(rows(&pg, "changes").await, 0);

    let applied = b.poll().await;
    assert!(applied.resync, "{applied:?}");
    assert!(b.silenced(&labels("New")), "read from the table");
    assert!(b.to.acks.get("g").is_some());
    assert!(
        !b.silenced(&labels("Gone")),
        "gone from the database, gone here"
    );
    assert_eq!(b.to.plugin_state.get("router", "gone", now), None);
    assert!(!b.poll().await.resync, "once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_campanile_leaves_nothing_in_the_feed() {
    let pg = Postgres::start().await;
    let url = pg.database("single").await;
    let config = store_config(&url, Durability::Immediate);
    let (store, _) = tokio::task::spawn_blocking(move || Store::open(&config).unwrap())
        .await
        .unwrap();
    store
        .commit(vec![Op::PutSilence(Box::new(stored_silence("s", "A", "")))])
        .await
        .unwrap();
    assert_eq!(
        pg.query("single", "SELECT count(*)::text FROM campanile.silences")
            .await,
        ["1"]
    );
    assert_eq!(
        pg.query("single", "SELECT count(*)::text FROM campanile.changes")
            .await,
        ["0"],
        "no [cluster], no replica named, no change rows"
    );
    tokio::task::spawn_blocking(move || store.close())
        .await
        .unwrap();
}
