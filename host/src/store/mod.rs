//! Durable state: what campanile must not forget across a restart or a crash — accepted alerts,
//! what each group last notified (the notification log), the outbox of notifications not
//! yet delivered, and the operators' silences and acknowledgements. The in-memory cache, groups,
//! silences and acknowledgements are the hot copy; this is the truth they are rebuilt from at
//! start.
//!
//! The pipeline sees only [`Store`]: it queues [`Op`]s and awaits their durability, and reads a
//! [`Snapshot`] once at start. Behind it, `writer` is the one thread that group-commits the ops
//! to a [`backend::Backend`] (`redb` is the embedded one), and `records` is the stored format of
//! each kind of record.

mod backend;
/// The PostgreSQL backend; its connections serve what shares the database beside the writer
/// (the cluster's leases).
pub(crate) mod postgres;
mod records;
mod redb;
mod writer;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

pub use crate::config::{Durability, StoreBackend, StoreConfig};

pub use records::{
    extend_history, NotifiedRecord, OutboxEntry, SentRecord, StoredAck, StoredAlert, StoredMatcher,
    StoredSilence, StoredState,
};

use self::backend::Backend;
use self::postgres::PgBackend;
use self::redb::RedbBackend;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("writing the store {path} failed: {reason}")]
    Io { path: String, reason: String },
    #[error("the store writer has stopped")]
    Stopped,
    /// The shard's lease has moved on: another replica holds it (or nobody), so this flush's
    /// writes were not made.
    #[error("shard {shard}'s lease is no longer this replica's at epoch {epoch}: the flush was not written")]
    Fenced { shard: u32, epoch: i64 },
}

/// One transaction the writer made, as told to the observer given to
/// [`Store::open_observed`]: the store reports, telemetry counts (the store knows no metrics).
#[derive(Debug, Clone, Copy)]
pub struct Commit {
    /// Time to apply the transaction, including the fsync when `durable`.
    pub elapsed: Duration,
    /// Whether it was made durable (fsynced) before the writer went on.
    pub durable: bool,
    /// Whether it was written; a failure is also logged by the writer.
    pub ok: bool,
}

/// Called by the writer thread after every transaction; it must be quick.
pub type CommitObserver = Box<dyn Fn(&Commit) + Send>;

/// One change to durable state.
#[derive(Debug, Clone)]
pub enum Op {
    PutAlert(u64, StoredAlert),
    DeleteAlert(u64),
    PutNotified(String, NotifiedRecord),
    DeleteNotified(String),
    PutOutbox(u64, Box<OutboxEntry>),
    DeleteOutbox(u64),
    PutSilence(Box<StoredSilence>),
    DeleteSilence(String),
    PutAck(String, StoredAck),
    DeleteAck(String),
    /// A routing plugin's state: plugin, key, value.
    PutState(String, String, StoredState),
    DeleteState(String, String),
}

/// The record an [`Op`] writes: of several ops on one record, the last decides what is stored.
/// Ordered, so that a backend can write a batch's records in one order every process agrees on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Record {
    Alert(u64),
    Notified(String),
    Outbox(u64),
    Silence(String),
    Ack(String),
    State(String, String),
}

impl Op {
    fn record(&self) -> Record {
        match self {
            Op::PutAlert(fp, _) | Op::DeleteAlert(fp) => Record::Alert(*fp),
            Op::PutNotified(key, _) | Op::DeleteNotified(key) => Record::Notified(key.clone()),
            Op::PutOutbox(id, _) | Op::DeleteOutbox(id) => Record::Outbox(*id),
            Op::PutSilence(s) => Record::Silence(s.id.clone()),
            Op::DeleteSilence(id) => Record::Silence(id.clone()),
            Op::PutAck(key, _) | Op::DeleteAck(key) => Record::Ack(key.clone()),
            Op::PutState(plugin, key, _) | Op::DeleteState(plugin, key) => {
                Record::State(plugin.clone(), key.clone())
            }
        }
    }
}

/// Everything stored, as read at start.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Alerts by fingerprint.
    pub alerts: Vec<(u64, StoredAlert)>,
    pub notified: Vec<(String, NotifiedRecord)>,
    pub outbox: Vec<(u64, OutboxEntry)>,
    pub silences: Vec<StoredSilence>,
    /// Acknowledgements by group key.
    pub acks: Vec<(String, StoredAck)>,
    /// Routing plugins' state: plugin, key, value.
    pub state: Vec<(String, String, StoredState)>,
}

/// What a flush's writes are made under: its shard's lease, held by `replica` at `epoch`. The
/// store makes them only if the lease still is so when they commit, and holds the lease row
/// against a takeover until then; the embedded store (one replica) makes them always.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub replica: String,
    pub shard: u32,
    pub epoch: i64,
}

struct Request {
    ops: Vec<Op>,
    /// Made only under this lease, all or none, never kept for a retry (see [`Fence`]).
    fence: Option<Fence>,
    done: Option<oneshot::Sender<Result<(), StoreError>>>,
    /// Write what is queued durably, then stop the writer.
    stop: bool,
    /// Should the transaction fail, keep these writes for the next attempt: memory holds
    /// this state already. Not so for writes that become visible only once durable (a
    /// silence, an acknowledgement): their caller was told of the failure and changed nothing.
    keep: bool,
}

impl Request {
    fn ops(ops: Vec<Op>, done: Option<oneshot::Sender<Result<(), StoreError>>>) -> Self {
        Request {
            ops,
            fence: None,
            done,
            stop: false,
            keep: true,
        }
    }
}

/// A handle on the store; cheap to share.
pub struct Store {
    tx: Option<std_mpsc::Sender<Request>>,
    wait_for_disk: bool,
    /// Set by the writer while writes fail (see `run_writer`).
    failing: Arc<AtomicBool>,
    next_outbox_id: AtomicU64,
    writer: std::sync::Mutex<Option<thread::JoinHandle<()>>>,
    /// Cancelled when the writer thread ends, by [`Store::close`] or by a panic.
    writer_stopped: CancellationToken,
}

impl Store {
    /// A store that writes nothing (durability `off`), for unit tests of the stages that
    /// write to one.
    #[cfg(test)]
    pub fn scratch() -> Arc<Store> {
        let config = StoreConfig::embedded("unused", Durability::Off);
        Self::open(&config).expect("a store without a disk opens").0
    }

    /// Opens the store and reads what it holds.
    pub fn open(config: &StoreConfig) -> Result<(Arc<Store>, Snapshot), StoreError> {
        Self::open_observed(config, Box::new(|_| {}))
    }

    /// Like [`Store::open`], telling `observe` about every transaction written.
    pub fn open_observed(
        config: &StoreConfig,
        observe: CommitObserver,
    ) -> Result<(Arc<Store>, Snapshot), StoreError> {
        Self::open_replica(config, None, observe)
    }

    /// Like [`Store::open_observed`], for the cluster replica `replica`: its PostgreSQL
    /// transactions name it, so the change feed tells the other replicas of them
    /// (`cluster::sync`). The embedded store ignores it.
    pub fn open_replica(
        config: &StoreConfig,
        replica: Option<&str>,
        observe: CommitObserver,
    ) -> Result<(Arc<Store>, Snapshot), StoreError> {
        if config.durability == Durability::Off {
            return Ok((Arc::new(Store::in_memory()), Snapshot::default()));
        }
        let mut backend: Box<dyn Backend> = match &config.backend {
            StoreBackend::Redb => Box::new(RedbBackend::open(&config.path)?),
            StoreBackend::Postgres(pg) => Box::new(PgBackend::open(pg, replica)?),
        };
        let snapshot = backend.load()?;
        let next_id = match config.backend {
            StoreBackend::Redb => snapshot
                .outbox
                .iter()
                .map(|(id, _)| id.saturating_add(1))
                .max()
                .unwrap_or(1),
            // Replicas share the outbox table: each process numbers its entries from a random
            // 32-bit prefix, so two replicas (or two runs of one) do not reuse an id.
            StoreBackend::Postgres(_) => (u64::from(rand::random::<u32>()) << 32) | 1,
        };
        let (tx, rx) = std_mpsc::channel();
        let durability = config.durability;
        let failing = Arc::new(AtomicBool::new(false));
        let flag = failing.clone();
        let writer_stopped = CancellationToken::new();
        let on_exit = writer_stopped.clone().drop_guard();
        let writer = thread::Builder::new()
            .name("campanile-store".into())
            .spawn(move || {
                let _on_exit = on_exit;
                writer::run_writer(backend, rx, durability, observe, flag)
            })
            .map_err(|e| StoreError::Open {
                path: config.path.display().to_string(),
                reason: format!("cannot start the writer thread: {e}"),
            })?;
        let store = Store {
            tx: Some(tx),
            wait_for_disk: durability == Durability::Immediate,
            failing,
            next_outbox_id: AtomicU64::new(next_id),
            writer: std::sync::Mutex::new(Some(writer)),
            writer_stopped,
        };
        Ok((Arc::new(store), snapshot))
    }

    /// A store that keeps nothing.
    pub fn in_memory() -> Store {
        Store {
            tx: None,
            wait_for_disk: false,
            failing: Arc::default(),
            next_outbox_id: AtomicU64::new(1),
            writer: std::sync::Mutex::new(None),
            writer_stopped: CancellationToken::new(),
        }
    }

    /// Completes when the writer thread has ended: after [`Store::close`], or when it died.
    pub fn writer_stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.writer_stopped.clone().cancelled_owned()
    }

    /// Writes `ops` in order and returns once they are as durable as the configured
    /// durability promises. Memory already holds what they write: should they fail, the
    /// writer keeps them for its next attempt.
    pub async fn commit(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        self.start_commit(ops).await
    }

    /// As [`Store::commit`], for state the caller makes visible only once it is durable (a
    /// silence, an acknowledgement): should the write fail, it is dropped, as the caller drops
    /// the change.
    pub async fn commit_before_visible(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        self.queue(ops, false).await
    }

    /// Writes a flush's `ops` under `fence` and waits for them (whatever the durability):
    /// `Err(StoreError::Fenced)` when the lease has moved on, and nothing was written. A write
    /// that fails for another reason is not kept for a retry either: the caller, told of it,
    /// does not send what it would have recorded.
    pub async fn commit_fenced(&self, fence: Fence, ops: Vec<Op>) -> Result<(), StoreError> {
        let Some(tx) = &self.tx else {
            return Ok(());
        };
        let (done, wait) = oneshot::channel();
        tx.send(Request {
            fence: Some(fence),
            keep: false,
            ..Request::ops(ops, Some(done))
        })
        .map_err(|_| StoreError::Stopped)?;
        wait.await.unwrap_or(Err(StoreError::Stopped))
    }

    /// Queues `ops` for the writer now, in the caller's order with other writes, and returns
    /// what to await for them to be as durable as [`Store::commit`] promises.
    pub fn start_commit(
        &self,
        ops: Vec<Op>,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + use<> {
        self.queue(ops, true)
    }

    fn queue(
        &self,
        ops: Vec<Op>,
        keep: bool,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + use<> {
        let queued = match &self.tx {
            None => Ok(None),
            Some(_) if ops.is_empty() => Ok(None),
            // Nobody hears of a failure: the writes are kept whatever `keep` says.
            Some(tx) if !self.wait_for_disk => tx
                .send(Request::ops(ops, None))
                .map(|()| None)
                .map_err(|_| StoreError::Stopped),
            Some(tx) => {
                let (done, wait) = oneshot::channel();
                tx.send(Request {
                    keep,
                    ..Request::ops(ops, Some(done))
                })
                .map(|()| Some(wait))
                .map_err(|_| StoreError::Stopped)
            }
        };
        async move {
            match queued? {
                Some(wait) => wait.await.unwrap_or(Err(StoreError::Stopped)),
                None => Ok(()),
            }
        }
    }

    /// Writes `ops` in order without waiting; for bookkeeping whose loss at a crash only
    /// repeats work (deleting finished outbox entries, expired alerts).
    pub fn submit(&self, ops: Vec<Op>) {
        if let Some(tx) = &self.tx {
            if !ops.is_empty() && tx.send(Request::ops(ops, None)).is_err() {
                tracing::warn!("store writer stopped; a bookkeeping write was not made");
            }
        }
    }

    /// As [`Store::submit`], under `fence`: written only while the lease holds, and never
    /// kept for a retry (the bookkeeping of a flush: a group's record deleted as it empties).
    pub fn submit_fenced(&self, fence: Fence, ops: Vec<Op>) {
        if let Some(tx) = &self.tx {
            let request = Request {
                fence: Some(fence),
                keep: false,
                ..Request::ops(ops, None)
            };
            if tx.send(request).is_err() {
                tracing::warn!("store writer stopped; a bookkeeping write was not made");
            }
        }
    }

    /// Whether the last write failed and its writes wait for the next attempt.
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    pub fn next_outbox_id(&self) -> u64 {
        self.next_outbox_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Writes everything queued so far durably and stops the writer; later writes fail with
    /// [`StoreError::Stopped`]. Called once at shutdown.
    pub fn close(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Request {
                stop: true,
                ..Request::ops(Vec::new(), None)
            });
        }
        if let Some(handle) = self.writer.lock().expect("writer lock").take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use time::OffsetDateTime;

    fn alert(name: &str) -> StoredAlert {
        let now = OffsetDateTime::now_utc();
        StoredAlert {
            labels: Labels::from_pairs([("alertname", name)]),
            annotations: Labels::default(),
            starts_at: now,
            ends_at: now + time::Duration::minutes(5),
            timeout: true,
            generator_url: String::new(),
            updated_at: now,
        }
    }

    #[tokio::test]
    async fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            StoreConfig::embedded(dir.path().join("campanile.redb"), Durability::Immediate);
        {
            let (store, snap) = Store::open(&config).unwrap();
            assert!(snap.alerts.is_empty());
            store
                .commit(vec![
                    Op::PutAlert(1, alert("A")),
                    Op::PutAlert(2, alert("B")),
                    Op::PutNotified(
                        "k".into(),
                        NotifiedRecord {
                            firing: vec![1],
                            resolved: vec![],
                            at: OffsetDateTime::now_utc(),
                            sent: vec![],
                            wake_at: None,
                        },
                    ),
                ])
                .await
                .unwrap();
            store.commit(vec![Op::DeleteAlert(2)]).await.unwrap();
        }
        // The writer thread may still hold the file briefly after the handle is dropped.
        let (_, snap) = loop {
            match Store::open(&config) {
                Ok(s) => break s,
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        assert_eq!(snap.alerts.len(), 1);
        assert_eq!(snap.alerts[0].1.labels.get("alertname"), Some("A"));
        assert_eq!(snap.alerts[0].0, 1);
        assert_eq!(snap.notified[0].1.firing, vec![1]);
    }

    #[tokio::test]
    async fn the_embedded_store_makes_every_fenced_write() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            StoreConfig::embedded(dir.path().join("campanile.redb"), Durability::Immediate);
        let (store, _) = Store::open(&config).unwrap();
        let fence = Fence {
            replica: "any".into(),
            shard: 3,
            epoch: 99,
        };
        store
            .commit_fenced(fence, vec![Op::PutAlert(1, alert("A"))])
            .await
            .expect("one process owns the file: every fence holds");
        store.close();
        let (_, snap) = Store::open(&config).unwrap();
        assert_eq!(snap.alerts.len(), 1);
    }

    #[tokio::test]
    async fn observer_sees_every_commit() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            StoreConfig::embedded(dir.path().join("campanile.redb"), Durability::Immediate);
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let (store, _) = Store::open_observed(
            &config,
            Box::new(move |c: &Commit| log.lock().unwrap().push(*c)),
        )
        .unwrap();
        store
            .commit(vec![Op::PutAlert(1, alert("A"))])
            .await
            .unwrap();
        store.commit(vec![Op::DeleteAlert(1)]).await.unwrap();
        store.close();
        let seen = seen.lock().unwrap();
        assert!(seen.len() >= 2, "{seen:?}");
        assert!(seen.iter().all(|c| c.ok && c.durable), "{seen:?}");
    }

    #[test]
    fn corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("campanile.redb");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let err = Store::open(&StoreConfig::embedded(path.clone(), Durability::Immediate))
            .err()
            .expect("a corrupt store must not open");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}
