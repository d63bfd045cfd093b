//! Durable state: what campanile must not forget across a restart or a crash — accepted alerts,
//! what each group last notified (the notification log), the outbox of notifications not
//! yet delivered, and the operators' silences and acknowledgements. The in-memory cache, groups,
//! silences and acknowledgements are the hot copy; this is the truth they are rebuilt from at
//! start.
//!
//! Writes go through one writer thread that **group-commits**: while one transaction is being
//! made durable, new requests queue up, and the next transaction takes all of them, so many
//! concurrent ingest requests share one fsync. `records` is the on-disk format, `redb` the
//! backend.

mod records;
mod redb;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

pub use records::{
    extend_history, NotifiedRecord, OutboxEntry, SentRecord, StoredAck, StoredAlert, StoredMatcher,
    StoredSilence, StoredState,
};

use self::redb::RedbBackend;

/// The most requests folded into one transaction.
const MAX_BATCH: usize = 4096;

/// How soon the writes of a failed transaction are tried again: doubling from the first to the
/// last while the store keeps failing.
const RETRY_AFTER_FAILURE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(30));

/// The store is failing: when to try again, and what to answer until then.
struct Failing {
    retry_at: Instant,
    backoff: Duration,
    error: StoreError,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("writing the store {path} failed: {reason}")]
    Io { path: String, reason: String },
    #[error("the store writer has stopped")]
    Stopped,
}

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// After the transaction holding it is on disk (fsync). Concurrent writes share commits.
    Immediate,
    /// Before it is on disk; the writer makes everything durable at least every
    /// `flush_interval`. A crash loses at most that window; a clean shutdown loses nothing.
    Deferred { flush_interval: Duration },
    /// Nothing is written: state lives in memory only and is lost on restart.
    Off,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// The database file.
    pub path: PathBuf,
    pub durability: Durability,
}

impl StoreConfig {
    /// Where compiled plugins are cached: `plugin-cache/` beside the database file (as an
    /// absolute path, which the cache needs), unless nothing is to be written
    /// (`durability = "off"`).
    pub fn plugin_cache_dir(&self) -> Option<PathBuf> {
        if matches!(self.durability, Durability::Off) {
            return None;
        }
        let dir = self.path.parent().unwrap_or(std::path::Path::new("."));
        std::path::absolute(dir.join("plugin-cache")).ok()
    }
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

struct Request {
    ops: Vec<Op>,
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
    /// Opens the store and reads what it holds.
    pub fn open(config: &StoreConfig) -> Result<(Arc<Store>, Snapshot), StoreError> {
        Self::open_observed(config, Box::new(|_| {}))
    }

    /// Like [`Store::open`], telling `observe` about every transaction written.
    pub fn open_observed(
        config: &StoreConfig,
        observe: CommitObserver,
    ) -> Result<(Arc<Store>, Snapshot), StoreError> {
        if config.durability == Durability::Off {
            return Ok((Arc::new(Store::in_memory()), Snapshot::default()));
        }
        let backend = RedbBackend::open(&config.path)?;
        let snapshot = backend.load()?;
        let next_id = snapshot
            .outbox
            .iter()
            .map(|(id, _)| id + 1)
            .max()
            .unwrap_or(1);
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
                run_writer(backend, rx, durability, observe, flag)
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

fn run_writer(
    mut backend: RedbBackend,
    rx: std_mpsc::Receiver<Request>,
    durability: Durability,
    observe: CommitObserver,
    failing_flag: Arc<AtomicBool>,
) {
    let mut apply = |ops: &[Op], durable: bool| {
        let started = Instant::now();
        let result = backend.apply(ops, durable);
        observe(&Commit {
            elapsed: started.elapsed(),
            durable,
            ok: result.is_ok(),
        });
        result
    };
    let flush_interval = match durability {
        Durability::Deferred { flush_interval } => flush_interval,
        _ => Duration::MAX,
    };
    let mut dirty = false;
    let mut last_sync = Instant::now();
    // The writes of transactions that failed, the last op per record. They go first into the
    // next attempt, so once the disk works again the store catches up with memory, even with
    // writes nobody waited for, and even where a sender's retry is an identical re-send the
    // cache settles without a write. Attempts are spaced out (RETRY_AFTER_FAILURE): each one
    // rewrites everything pending, so requests in between are refused at once, their writes
    // kept for the next attempt.
    let mut failed: HashMap<Record, Op> = HashMap::new();
    let mut failing: Option<Failing> = None;
    loop {
        let wait = if let Some(f) = &failing {
            Some(f.retry_at.saturating_duration_since(Instant::now()))
        } else if dirty {
            Some(flush_interval.saturating_sub(last_sync.elapsed()))
        } else {
            None
        };
        let first = if let Some(wait) = wait {
            match rx.recv_timeout(wait) {
                Ok(r) => Some(r),
                Err(std_mpsc::RecvTimeoutError::Timeout) => None,
                Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(r) => Some(r),
                Err(_) => break,
            }
        };
        let mut ops: Vec<Op> = Vec::new();
        // Per op: keep it if the transaction fails (`Request::keep`).
        let mut keep: Vec<bool> = Vec::new();
        let mut waiters = Vec::new();
        let mut stop = false;
        let mut take = |r: Request| {
            keep.extend(std::iter::repeat_n(r.keep, r.ops.len()));
            ops.extend(r.ops);
            waiters.extend(r.done);
            stop |= r.stop;
        };
        if let Some(first) = first {
            take(first);
            for _ in 1..MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => take(r),
                    Err(_) => break,
                }
            }
        }
        let kept = |ops: Vec<Op>, keep: Vec<bool>| {
            ops.into_iter()
                .zip(keep)
                .filter(|(_, keep)| *keep)
                .map(|(op, _)| (op.record(), op))
        };
        if let Some(f) = failing
            .as_ref()
            .filter(|f| !stop && Instant::now() < f.retry_at)
        {
            failed.extend(kept(ops, keep));
            for w in waiters {
                let _ = w.send(Err(f.error.clone()));
            }
            continue;
        }
        // Earlier failed writes first: a later op on the same record wins.
        let retried = failed.len();
        let ops: Vec<Op> = failed.drain().map(|(_, op)| op).chain(ops).collect();
        let keep: Vec<bool> = std::iter::repeat_n(true, retried).chain(keep).collect();
        let durable =
            stop || durability == Durability::Immediate || last_sync.elapsed() >= flush_interval;
        let result = apply(&ops, durable);
        match &result {
            Ok(()) => {
                failing_flag.store(false, Ordering::Relaxed);
                if failing.take().is_some() {
                    tracing::info!(
                        ops = ops.len(),
                        "store writes work again; pending writes made"
                    );
                }
            }
            Err(e) => {
                let backoff = failing.as_ref().map_or(RETRY_AFTER_FAILURE.0, |f| {
                    (f.backoff * 2).min(RETRY_AFTER_FAILURE.1)
                });
                tracing::error!(error = %e, ops = ops.len(), retry_in = ?backoff, "store write failed; its writes are kept for the next attempt");
                failed.extend(kept(ops, keep));
                failing_flag.store(true, Ordering::Relaxed);
                failing = Some(Failing {
                    retry_at: Instant::now()
                        .checked_add(backoff)
                        .unwrap_or_else(Instant::now),
                    backoff,
                    error: e.clone(),
                });
            }
        }
        if durable {
            last_sync = Instant::now();
            dirty = false;
        } else {
            dirty = true;
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
        if stop {
            return;
        }
    }
    // Every sender is gone: make what is written durable before the thread ends.
    if dirty || !failed.is_empty() {
        let ops: Vec<Op> = failed.into_values().collect();
        if let Err(e) = apply(&ops, true) {
            tracing::error!(error = %e, "final store flush failed");
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
        let config = StoreConfig {
            path: dir.path().join("campanile.redb"),
            durability: Durability::Immediate,
        };
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
    async fn observer_sees_every_commit() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            path: dir.path().join("campanile.redb"),
            durability: Durability::Immediate,
        };
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
        let err = Store::open(&StoreConfig {
            path: path.clone(),
            durability: Durability::Immediate,
        })
        .err()
        .expect("a corrupt store must not open");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}
