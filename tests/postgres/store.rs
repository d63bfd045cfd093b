//! The store on PostgreSQL:
//! records survive a reopen, a batch is one transaction, a bad record is skipped, a newer
//! schema is refused, replicas migrating at once do not race, and a database that goes away
//! and comes back loses nothing the store acknowledged.

use std::sync::Arc;
use std::time::Duration;

use crate::harness::{self, Postgres};
use campanile::config::{Durability, PostgresConfig, Secret, StoreBackend, StoreConfig};
use campanile::model::Labels;
use campanile::store::{NotifiedRecord, Op, Snapshot, Store, StoredAlert, StoredState};
use time::OffsetDateTime;

pub(crate) fn config(url: &str, durability: Durability) -> StoreConfig {
    StoreConfig {
        backend: StoreBackend::Postgres(PostgresConfig {
            url: Secret::new(url.to_string()),
            pool_size: 4,
            statement_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            ca_file: None,
        }),
        path: "unused.redb".into(),
        durability,
    }
}

/// Opens the store off the async runtime, as campanile does.
async fn open(config: &StoreConfig) -> Result<(Arc<Store>, Snapshot), String> {
    let config = config.clone();
    tokio::task::spawn_blocking(move || Store::open(&config).map_err(|e| e.to_string()))
        .await
        .expect("open task")
}

/// Closes the store off the async runtime (it joins the writer thread).
async fn close(store: Arc<Store>) {
    tokio::task::spawn_blocking(move || store.close())
        .await
        .expect("close task");
}

fn alert(name: &str) -> StoredAlert {
    let now = OffsetDateTime::now_utc();
    StoredAlert {
        labels: Labels::from_pairs([("alertname", name), ("nul", "a\0b")]),
        annotations: Labels::default(),
        starts_at: now,
        ends_at: now + time::Duration::minutes(5),
        timeout: true,
        generator_url: String::new(),
        updated_at: now,
    }
}

fn notified(fps: Vec<u64>) -> NotifiedRecord {
    NotifiedRecord {
        firing: fps,
        resolved: vec![],
        at: OffsetDateTime::now_utc(),
        sent: vec![],
        wake_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_survive_a_reopen_with_the_last_op_per_record_winning() {
    let pg = Postgres::start().await;
    let url = pg.database("reopen").await;
    let config = config(&url, Durability::Immediate);
    let (store, snap) = open(&config).await.expect("opens an empty database");
    assert!(snap.alerts.is_empty());
    store
        .commit(vec![
            Op::PutAlert(1, alert("A")),
            Op::PutAlert(u64::MAX, alert("B")),
            Op::PutAlert(3, alert("C")),
            Op::DeleteAlert(3),
            Op::PutNotified("{}:{nul=\"a\0b\"}".into(), notified(vec![1])),
            Op::PutNotified("{}:{nul=\"a\0b\"}".into(), notified(vec![1, u64::MAX])),
            Op::PutState(
                "router".into(),
                "k\0ey".into(),
                StoredState {
                    value: "v".into(),
                    expires_at: None,
                },
            ),
        ])
        .await
        .expect("commit");
    store
        .commit(vec![Op::DeleteAlert(1)])
        .await
        .expect("commit");
    close(store).await;

    let (store, snap) = open(&config).await.expect("reopens");
    let fps: Vec<u64> = snap.alerts.iter().map(|(fp, _)| *fp).collect();
    assert_eq!(
        fps,
        [u64::MAX],
        "fingerprints keep all 64 bits; deletes hold"
    );
    assert_eq!(snap.alerts[0].1.labels.get("nul"), Some("a\0b"));
    assert_eq!(snap.notified.len(), 1);
    assert_eq!(snap.notified[0].0, "{}:{nul=\"a\0b\"}");
    assert_eq!(
        snap.notified[0].1.firing,
        [1, u64::MAX],
        "the later put won"
    );
    assert_eq!(snap.state[0].0, "router");
    assert_eq!(snap.state[0].1, "k\0ey");
    close(store).await;
    assert_eq!(
        pg.query(
            "reopen",
            "SELECT max(version)::text FROM campanile.schema_migrations"
        )
        .await,
        ["4"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_does_not_decode_is_left_out_and_the_start_goes_on() {
    let pg = Postgres::start().await;
    let url = pg.database("bad").await;
    let config = config(&url, Durability::Immediate);
    let (store, _) = open(&config).await.unwrap();
    store
        .commit(vec![
            Op::PutAlert(1, alert("A")),
            Op::PutAlert(2, alert("B")),
        ])
        .await
        .unwrap();
    close(store).await;
    pg.query(
        "bad",
        "UPDATE campanile.alerts SET record = '\\x7b226c6162656c73223a'::bytea WHERE fingerprint = 2",
    )
    .await;
    let (_store, snap) = open(&config)
        .await
        .expect("one bad record does not stop a start");
    let fps: Vec<u64> = snap.alerts.iter().map(|(fp, _)| *fp).collect();
    assert_eq!(fps, [1]);
    assert_eq!(
        pg.query("bad", "SELECT count(*)::text FROM campanile.alerts")
            .await,
        ["2"],
        "the bad record stays, for inspection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_migrated_by_a_newer_campanile_is_refused() {
    let pg = Postgres::start().await;
    let url = pg.database("newer").await;
    let config = config(&url, Durability::Immediate);
    let (store, _) = open(&config).await.unwrap();
    close(store).await;
    pg.query(
        "newer",
        "INSERT INTO campanile.schema_migrations (version, applied_by) VALUES (999, 'campanile 9.9.9')",
    )
    .await;
    let err = open(&config).await.err().expect("refused");
    assert!(err.contains("version 999"), "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{}/newer", pg.port)),
        "{err}"
    );
}

/// Version skew in a rolling upgrade: a newer release's additive migrations leave a schema this
/// binary still serves (reads and writes), one that is not additive is refused, naming the
/// version to run; and a record a newer release wrote with a field this one does not know is
/// read, the field skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_one_release_ahead_is_served_when_its_migrations_say_so() {
    let pg = Postgres::start().await;
    let url = pg.database("skew").await;
    let config = config(&url, Durability::Immediate);
    let (store, _) = open(&config).await.unwrap();
    close(store).await;
    // The next release added a nullable column and said schema 4 reads its schema.
    pg.query(
        "skew",
        "ALTER TABLE campanile.alerts ADD COLUMN added_later text; \
         INSERT INTO campanile.schema_migrations (version, applied_by, readable_from) \
         VALUES (5, 'campanile 9.9.0', 4)",
    )
    .await;
    // And wrote a record with a field of its own.
    let newer = serde_json::json!({
        "labels": {"alertname": "FromNewer"},
        "annotations": {},
        "starts_at": "2026-01-01T00:00:00Z",
        "ends_at": "9999-01-01T00:00:00Z",
        "timeout": false,
        "generator_url": "",
        "updated_at": "2026-01-01T00:00:00Z",
        "field_of_a_newer_release": {"nested": [1, 2]},
    });
    pg.query(
        "skew",
        &format!(
            "INSERT INTO campanile.alerts (fingerprint, record) VALUES (7, convert_to('{newer}', 'UTF8'))"
        ),
    )
    .await;
    let (store, snap) = open(&config).await.expect("served one release behind");
    assert_eq!(snap.alerts.len(), 1, "{:?}", snap.alerts);
    assert_eq!(snap.alerts[0].1.labels.get("alertname"), Some("FromNewer"));
    store
        .commit(vec![Op::PutAlert(8, alert("FromOlder"))])
        .await
        .expect("writes too");
    close(store).await;
    assert_eq!(
        pg.query("skew", "SELECT count(*)::text FROM campanile.alerts")
            .await,
        ["2"]
    );
    // The release after that changed something older binaries would write wrongly.
    pg.query(
        "skew",
        "INSERT INTO campanile.schema_migrations (version, applied_by, readable_from) \
         VALUES (6, 'campanile 9.10.0', 6)",
    )
    .await;
    let err = open(&config).await.err().expect("refused");
    assert!(err.contains("schema is version 6"), "{err}");
    assert!(err.contains("knowing schema 6 or newer"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_once() {
    let pg = Postgres::start().await;
    let url = pg.database("together").await;
    let config = config(&url, Durability::Immediate);
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let config = config.clone();
            async move { open(&config).await }
        })
        .collect();
    for result in futures_join(opens).await {
        close(result.expect("every replica opens").0).await;
    }
    assert_eq!(
        pg.query(
            "together",
            "SELECT count(*)::text FROM campanile.schema_migrations"
        )
        .await,
        ["4"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_show_in_errors() {
    let pg = Postgres::start().await;
    let url = format!(
        "postgresql://campanile:hunter2@127.0.0.1:{}/missing_db",
        pg.port
    );
    let err = open(&config(&url, Durability::Immediate))
        .await
        .err()
        .expect("no such database");
    assert!(err.contains("missing_db"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_made_while_the_database_is_down_land_when_it_returns() {
    let mut pg = Postgres::start().await;
    let url = pg.database("outage").await;
    let config = config(&url, Durability::Immediate);
    let (store, _) = open(&config).await.unwrap();
    store
        .commit(vec![Op::PutAlert(1, alert("before"))])
        .await
        .expect("commit while up");

    pg.kill();
    let refused = store.commit(vec![Op::PutAlert(2, alert("during"))]).await;
    assert!(
        refused.is_err(),
        "a commit cannot be acknowledged while the database is down"
    );
    assert!(store.is_failing());
    pg.restart().await;

    // The failed write was kept (memory holds it already) and is retried with back-off.
    harness::wait_until(
        "the store to write again",
        harness::PATIENCE,
        async || match store.commit(vec![Op::PutAlert(3, alert("after"))]).await {
            Ok(()) => Ok(()),
            Err(e) => Err(e.to_string()),
        },
    )
    .await;
    close(store).await;
    let (_store, snap) = open(&config).await.unwrap();
    let mut fps: Vec<u64> = snap.alerts.iter().map(|(fp, _)| *fp).collect();
    fps.sort();
    assert_eq!(
        fps,
        [1, 2, 3],
        "nothing written before, during or after the outage is lost"
    );
}

/// Awaits all of `futures` concurrently.
async fn futures_join<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}
