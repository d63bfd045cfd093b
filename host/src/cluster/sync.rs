//! Shared state between replicas: what one replica writes — silences, acknowledgements, routing
//! plugins' state, alerts — reaches every other replica's memory within a second.
//!
//! Every replica's store names the replica in each transaction it writes; triggers log each
//! changed record in `campanile.changes` (migration 3). Every [`POLL`] a replica reads the rows of
//! the others since its last read (`store::postgres::feed`, which explains why none is missed
//! even when transactions commit out of order), reads the records they name **as committed
//! now** — not the value a change carried, so replicas converge on the latest state whatever
//! order they read in — and puts them in memory through their owners, with no write back:
//! silences (`Silences::refresh`), acknowledgements (`Acks::refresh`), plugin state
//! (`PluginState::apply_committed`), and alerts, merged into the cache by Alertmanager's rule
//! and filed by the dispatcher as ingested ones are. Its own rows it skips: its memory is as
//! new as what it committed, or newer.
//!
//! **Why a poll, not LISTEN/NOTIFY.** A poll of an indexed table every 250 ms keeps every
//! replica within the second the issue asks for (on average an eighth of a second after the
//! commit), costs the database a few cheap reads a second, and needs nothing but the pool.
//! NOTIFY would cut the wait to the round trip but serializes every notifying commit on one
//! cluster-wide lock — on the alerts table, that is ingest's throughput — and LISTEN needs a
//! connection of its own outside the pool, which must be watched and re-made after every
//! failure, with a poll behind it anyway for what it missed.
//!
//! **At start** a replica takes its place in the feed before the store loads its snapshot
//! ([`StateSync::connect`] before `Store::open_replica`): whatever commits between the two is
//! read again by the first poll, which changes nothing already held.
//!
//! **Deleted alerts** are not taken from the feed: each replica's cache forgets an alert a
//! retention after it resolved, as the one that deleted it did.
//!
//! **Two replicas changing one record at once.** The database keeps the last commit; memory
//! follows it as long as no replica holds a change of that record it has not committed yet.
//! Silences and acknowledgements hold none with `durability = "immediate"` (the default): they
//! become visible only once committed, and their owner's lock keeps a feed read from falling
//! between the commit and the change becoming visible (`Silences::refresh`). Plugin state, and
//! silences under `deferred`, are written behind memory: should a replica read another's change
//! of a key while its own change of that same key is still on its way to the database, it keeps
//! the other's value while the database ends with its own, until the key changes again. Such
//! writes of one key by two replicas within one write's latency are rare — a group's routing
//! plugin runs on the one replica holding its shard — and alerts are immune: they are merged by
//! Alertmanager's rule, whatever order the copies come in.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ack::Acks;
use crate::config::PostgresConfig;
use crate::dedup::cache::Upsert;
use crate::dedup::AlertCache;
use crate::model::{Alert, Fingerprint, SharedAlert};
use crate::plugin::PluginState;
use crate::silence::Silences;
use crate::store::postgres::feed::{Changes, Committed, Feed, Which};
use crate::telemetry::Metrics;

/// How often the feed is read.
pub const POLL: Duration = Duration::from_millis(250);
/// How long change rows are kept after every replica must have read them.
pub const KEEP: Duration = Duration::from_secs(300);
/// How often a replica trims the feed.
const TRIM_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, thiserror::Error)]
pub enum SyncError {
    #[error("the change feed: {0}")]
    Database(String),
    #[error("the dispatcher has stopped")]
    Stopped,
}

/// What the other replicas' changes are applied to: this replica's memory.
#[derive(Clone)]
pub struct Replicated {
    pub silences: Arc<Silences>,
    pub acks: Arc<Acks>,
    pub plugin_state: Arc<PluginState>,
    pub alerts: Arc<AlertCache>,
    /// The dispatcher's ingest queue: alerts from the feed are filed as ingested ones are.
    pub dispatcher: mpsc::Sender<Vec<SharedAlert>>,
    /// `ingest.retention`: an alert resolved longer ago is not taken in (as at start).
    pub retention: Duration,
}

/// What one poll took in: records read as committed, per kind (deleted ones included).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    pub silences: usize,
    pub acks: usize,
    pub state: usize,
    /// Alerts read; those new or changed here were handed to the dispatcher.
    pub alerts: usize,
    /// The feed had been trimmed past this replica's place: everything was read again.
    pub resync: bool,
}

impl Applied {
    pub fn is_empty(&self) -> bool {
        self.silences == 0 && self.acks == 0 && self.state == 0 && self.alerts == 0
    }

    /// The records read, by the kind `campanile_cluster_feed_records_total` names.
    fn by_kind(&self) -> [(&'static str, usize); 4] {
        [
            ("silence", self.silences),
            ("ack", self.acks),
            ("plugin_state", self.state),
            ("alert", self.alerts),
        ]
    }
}

/// One replica's follower of the others' changes.
pub struct StateSync {
    feed: Feed,
    replica: String,
}

impl StateSync {
    /// Connects to the store's database (a pool of its own) and takes this replica's place in
    /// the feed. Call it **before** the store loads its snapshot.
    pub async fn connect(store: &PostgresConfig, replica: &str) -> Result<StateSync, SyncError> {
        let feed = Feed::open(store, replica)
            .await
            .map_err(SyncError::Database)?;
        Ok(StateSync {
            feed,
            replica: replica.to_string(),
        })
    }

    /// Reads the changes the other replicas committed since the last poll and applies them to
    /// `to`. Silences first, so that an alert and the silence that mutes it, written together,
    /// are filed muted.
    pub async fn poll(&mut self, to: &Replicated) -> Result<Applied, SyncError> {
        let (changes, read) = self.feed.next().await.map_err(SyncError::Database)?;
        if changes.is_empty() {
            self.feed.advance(read);
            return Ok(Applied::default());
        }
        if changes.gap {
            tracing::warn!(
                replica = %self.replica,
                "this replica missed changes the feed no longer holds (it was away longer than {}); reading the shared state whole",
                humantime::format_duration(KEEP)
            );
        }
        let feed = &self.feed;
        let applied = Applied {
            silences: silences(feed, &changes, &to.silences).await?,
            acks: acks(feed, &changes, &to.acks).await?,
            state: state(feed, &changes, &to.plugin_state).await?,
            alerts: alerts(feed, &changes, to).await?,
            resync: changes.gap,
        };
        // Only now: had anything failed, the next poll would read these changes again (taking
        // in a record twice changes nothing).
        self.feed.advance(read);
        Ok(applied)
    }

    /// Deletes the feed's rows that every replica has read (older than `keep`).
    pub async fn trim(&mut self, keep: Duration) -> Result<u64, SyncError> {
        self.feed.trim(keep).await.map_err(SyncError::Database)
    }

    /// Polls every [`POLL`] until `shutdown` (trimming every minute). A failed poll is logged
    /// and the next one tried: the place does not move, so nothing is missed meanwhile. Ends
    /// early only if the dispatcher has stopped. A poll is not cut short by a timeout of its
    /// own (the server's `statement_timeout` and the pool's bound each step), which could
    /// drop it between reading and applying.
    pub async fn run(mut self, to: Replicated, metrics: Arc<Metrics>, shutdown: CancellationToken) {
        let mut failing = false;
        let mut trimmed = Instant::now();
        loop {
            match self.poll(&to).await {
                Ok(applied) => {
                    metrics.feed_read(applied.by_kind());
                    if failing {
                        tracing::info!(replica = %self.replica, "the change feed is read again");
                        failing = false;
                    }
                    if !applied.is_empty() {
                        tracing::debug!(replica = %self.replica, ?applied, "changes of other replicas applied");
                    }
                }
                Err(SyncError::Stopped) => return,
                Err(e) => {
                    metrics.cluster_feed_failures.inc();
                    if !failing {
                        tracing::warn!(replica = %self.replica, error = %e, "cannot read the change feed; other replicas' changes wait until it can");
                    }
                    failing = true;
                }
            }
            if trimmed.elapsed() >= TRIM_EVERY {
                trimmed = Instant::now();
                match self.trim(KEEP).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::debug!(replica = %self.replica, rows = n, "change feed trimmed")
                    }
                    Err(e) => {
                        tracing::warn!(replica = %self.replica, error = %e, "cannot trim the change feed")
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

/// Committed records as the owners take them: `None` for deleted; unreadable ones left out.
fn readable<K, T>(committed: Vec<(K, Committed<T>)>) -> Vec<(K, Option<T>)> {
    committed
        .into_iter()
        .filter_map(|(k, c)| match c {
            Committed::Put(v) => Some((k, Some(v))),
            Committed::Gone => Some((k, None)),
            Committed::Unreadable => None,
        })
        .collect()
}

/// `committed`, plus every key `held` has that the database has not (for a whole read).
fn with_gone<K: Clone + Eq + std::hash::Hash, T>(
    mut committed: Vec<(K, Committed<T>)>,
    held: impl IntoIterator<Item = K>,
) -> Vec<(K, Committed<T>)> {
    let stored: HashSet<K> = committed.iter().map(|(k, _)| k.clone()).collect();
    let gone: Vec<K> = held.into_iter().filter(|k| !stored.contains(k)).collect();
    committed.extend(gone.into_iter().map(|k| (k, Committed::Gone)));
    committed
}

fn db(e: String) -> SyncError {
    SyncError::Database(e)
}

async fn silences(feed: &Feed, changes: &Changes, to: &Silences) -> Result<usize, SyncError> {
    if !changes.gap && changes.silences.is_empty() {
        return Ok(0);
    }
    to.refresh(|| async {
        let committed = if changes.gap {
            let all = feed.silences(Which::All).await.map_err(db)?;
            with_gone(all, to.list().into_iter().map(|s| s.id))
        } else {
            feed.silences(Which::Keys(&changes.silences))
                .await
                .map_err(db)?
        };
        Ok(readable(committed))
    })
    .await
}

async fn acks(feed: &Feed, changes: &Changes, to: &Acks) -> Result<usize, SyncError> {
    if !changes.gap && changes.acks.is_empty() {
        return Ok(0);
    }
    to.refresh(|| async {
        let committed = if changes.gap {
            let all = feed.acks(Which::All).await.map_err(db)?;
            with_gone(all, to.list().into_iter().map(|a| a.group_key))
        } else {
            feed.acks(Which::Keys(&changes.acks)).await.map_err(db)?
        };
        Ok(readable(committed))
    })
    .await
}

async fn state(feed: &Feed, changes: &Changes, to: &PluginState) -> Result<usize, SyncError> {
    let committed = if changes.gap {
        let all = feed.state(Which::All).await.map_err(db)?;
        with_gone(all, to.keys())
    } else if changes.state.is_empty() {
        return Ok(0);
    } else {
        feed.state(Which::Keys(&changes.state)).await.map_err(db)?
    };
    let committed = readable(committed);
    for ((plugin, key), value) in &committed {
        to.apply_committed(plugin, key, value.clone());
    }
    Ok(committed.len())
}

/// Merges the alerts into the cache (Alertmanager's rule, as a re-send is: whichever replica's
/// copy is newer wins, so reading an older one changes nothing) and hands those that changed
/// to the dispatcher, which files them under their groups as it does ingested ones — as the
/// start's restore does, without a write.
async fn alerts(feed: &Feed, changes: &Changes, to: &Replicated) -> Result<usize, SyncError> {
    let committed = if changes.gap {
        feed.alerts(Which::All).await.map_err(db)?
    } else if changes.alerts.is_empty() {
        return Ok(0);
    } else {
        feed.alerts(Which::Keys(&changes.alerts))
            .await
            .map_err(db)?
    };
    let read = committed.len();
    let now = OffsetDateTime::now_utc();
    let mut batch = Vec::new();
    for (fingerprint, c) in committed {
        let Committed::Put(stored) = c else {
            continue;
        };
        let mut alert = Alert::from(stored);
        // Stored under its fingerprint, which an identity plugin may have chosen.
        alert.fingerprint = Fingerprint(fingerprint);
        if crate::clock::after(alert.end(), to.retention) < now {
            continue;
        }
        match to.alerts.upsert(alert) {
            Ok((_, Upsert::Unchanged)) => {}
            Ok((a, _)) => batch.push(a),
            Err(full) => tracing::error!(
                "an alert another replica accepted is not held here: {full}; raise limits.max_alerts"
            ),
        }
    }
    if !batch.is_empty() {
        to.dispatcher
            .send(batch)
            .await
            .map_err(|_| SyncError::Stopped)?;
    }
    Ok(read)
}
