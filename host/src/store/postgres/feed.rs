//! The shared-state change feed, as the database keeps it (migration 3): triggers on `alerts`,
//! `silences`, `acks` and `plugin_state` add a row to `campanile.changes` per record that a
//! replica's transaction wrote, naming the record, the replica and the transaction. [`Feed`]
//! reads the rows that other replicas wrote since it last looked, and the records they name as
//! committed now; `cluster::sync` applies them to memory.
//!
//! **Where a reader is, and why nothing is missed.** Rows are not read in the order of a
//! sequence: a transaction that took a lower value may commit after one that took a higher, and
//! a reader past the higher one would never see the lower. Each row holds its transaction's id
//! instead, and a reader's place is the `xmin` of its last snapshot: every transaction with a
//! lower id had ended by then, so every row below the place that will ever be committed was
//! visible to that read. Each read returns the rows at or above the place that are visible
//! (committed) now, and moves the place to the new snapshot's `xmin`. A row is thus read by the
//! first read after its commit, however late that commit came, and possibly again by later reads
//! while an older transaction is still open below it: those rows are remembered (by `seq`) and
//! not returned twice, and forgotten once the place passes them. A long writing transaction
//! elsewhere in the database (read-only ones take no id and hold nothing back) delays nothing:
//! it only makes each read return, and skip, the rows committed above it until it ends.
//!
//! **Trimming.** Rows are deleted once every replica that was alive must have read them: those
//! below a place this replica held [`Feed::trim`]'s `keep` ago (a row below it was committed
//! before then, and every reader polls every few hundred milliseconds). A reader that has not
//! read for longer (paused, cut off from the database) finds its place below the trimmed mark and
//! reads the shared tables whole instead (`Changes::gap`).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

use deadpool_postgres::{Object, Pool};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::super::records::decode;
use super::connect::{describe, describe_pool, pool as connect_pool};
use crate::config::PostgresConfig;
use crate::store::{StoredAck, StoredAlert, StoredSilence, StoredState};

/// The keys of the records that changed, by kind, each once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Changes {
    pub(crate) alerts: Vec<u64>,
    pub(crate) silences: Vec<String>,
    pub(crate) acks: Vec<String>,
    /// Plugin, key.
    pub(crate) state: Vec<(String, String)>,
    /// Rows this reader may have missed were trimmed: read the tables whole.
    pub(crate) gap: bool,
}

impl Changes {
    pub(crate) fn is_empty(&self) -> bool {
        !self.gap
            && self.alerts.is_empty()
            && self.silences.is_empty()
            && self.acks.is_empty()
            && self.state.is_empty()
    }
}

/// A record as committed now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Committed<T> {
    Put(T),
    /// Deleted (or never written).
    Gone,
    /// Stored, but it does not decode (logged): neither applied nor taken as deleted.
    Unreadable,
}

/// Where a read of [`Feed::next`] leaves the reader, once applied.
#[must_use = "the place moves only when the read is given to Feed::advance"]
pub(crate) struct Read {
    place: i64,
    /// Rows returned, at or above the old place.
    seen: Vec<(i64, i64)>,
}

/// Which records to read: the ones named, or every one in the table.
pub(crate) enum Which<'a, K> {
    Keys(&'a [K]),
    All,
}

/// One replica's reader of the feed.
pub(crate) struct Feed {
    pool: Pool,
    /// Where the database is, without credentials: for logs.
    target: String,
    replica: String,
    /// Every row with a lower transaction id has been read (see the module's notes).
    place: i64,
    /// Rows at or above `place` read already: transaction id, seq.
    seen: BTreeSet<(i64, i64)>,
    /// Places held, oldest first, with when they were reached: what [`Feed::trim`] may delete.
    places: VecDeque<(Instant, i64)>,
}

/// How many places [`Feed::trim`] chooses from, one a second: more than any `keep` it is given.
const PLACES: usize = 4096;

/// The place of a new reader: the `xmin` of a snapshot taken now. Every transaction below it
/// has ended, so a snapshot loaded after this holds what they wrote.
const PLACE: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint";

/// One read: the new place and the trimmed mark, then the rows of other replicas at or above
/// the old place (`$1`), in one statement and so one snapshot — the `xmin` is that of the
/// snapshot the rows are read in (`pg_current_snapshot` is the statement's).
const READ: &str = "\
    SELECT h.place, t.below, c.seq, c.xid, c.kind, c.fingerprint, c.name, c.key \
    FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS place) h \
    CROSS JOIN campanile.changes_trimmed t \
    LEFT JOIN campanile.changes c ON c.xid >= $1 AND c.replica <> $2 \
    ORDER BY c.seq";

/// Deletes the rows below `$1` and raises the trimmed mark to it, in one statement.
const TRIM: &str = "\
    WITH gone AS (DELETE FROM campanile.changes WHERE xid < $1 RETURNING 1), \
         mark AS (UPDATE campanile.changes_trimmed SET below = greatest(below, $1)) \
    SELECT count(*) FROM gone";

impl Feed {
    /// Connects (a pool of its own) and takes the place of a new reader: call it before the
    /// store loads its snapshot, so nothing committed between the two is missed. `replica` is
    /// the name this replica's store writes under (its own rows are not read).
    pub(crate) async fn open(config: &PostgresConfig, replica: &str) -> Result<Feed, String> {
        let (pool, target) = connect_pool(config).map_err(|e| e.to_string())?;
        let mut feed = Feed {
            pool,
            target,
            replica: replica.to_string(),
            place: 0,
            seen: BTreeSet::new(),
            places: VecDeque::new(),
        };
        let client = feed.client().await?;
        feed.place = client
            .query_one(PLACE, &[])
            .await
            .map_err(|e| describe(&e))?
            .get(0);
        feed.remember(feed.place);
        Ok(feed)
    }

    /// Notes that the place was `place` now, at most once a second and for at most
    /// [`PLACES`] seconds back: dropping the oldest only makes a trim keep more.
    fn remember(&mut self, place: i64) {
        let recent = self
            .places
            .back()
            .is_some_and(|(at, _)| at.elapsed() < Duration::from_secs(1));
        if !recent {
            if self.places.len() >= PLACES {
                self.places.pop_front();
            }
            self.places.push_back((Instant::now(), place));
        }
    }

    /// The changes other replicas committed since the last read. The place stays where it
    /// is until [`Feed::advance`] is given the [`Read`]: call it once they are applied, so
    /// that changes read but not applied (an error on the way) are read again.
    pub(crate) async fn next(&self) -> Result<(Changes, Read), String> {
        let client = self.client().await?;
        let rows = client
            .query(READ, &[&self.place, &self.replica])
            .await
            .map_err(|e| describe(&e))?;
        let Some(first) = rows.first() else {
            return Err("the change feed's read returned no row".into());
        };
        let (place, below): (i64, i64) = (first.get(0), first.get(1));
        let mut changes = Changes {
            gap: self.place < below,
            ..Changes::default()
        };
        let mut read = Read {
            place: place.max(self.place),
            seen: Vec::new(),
        };
        let mut keys = Keys::default();
        for row in &rows {
            let Some(seq) = row.get::<_, Option<i64>>(2) else {
                continue; // no change: the one row of the place alone
            };
            let xid: i64 = row.get(3);
            if self.seen.contains(&(xid, seq)) {
                continue;
            }
            read.seen.push((xid, seq));
            keys.add(row, &mut changes);
        }
        Ok((changes, read))
    }

    /// Moves the place past what `read` returned, now applied.
    pub(crate) fn advance(&mut self, read: Read) {
        self.seen.extend(read.seen);
        // Rows below the new place cannot come back: forget them.
        self.seen = self.seen.split_off(&(read.place, i64::MIN));
        self.place = read.place;
        self.remember(read.place);
    }

    /// Deletes the rows every live reader has read: those below the place this reader held
    /// `keep` ago. Returns how many went.
    pub(crate) async fn trim(&mut self, keep: Duration) -> Result<u64, String> {
        let mut below = None;
        while let Some(&(at, place)) = self.places.front() {
            if at.elapsed() < keep {
                break;
            }
            below = Some(place);
            self.places.pop_front();
        }
        let Some(below) = below else {
            return Ok(0);
        };
        let client = self.client().await?;
        let gone: i64 = client
            .query_one(TRIM, &[&below])
            .await
            .map_err(|e| describe(&e))?
            .get(0);
        Ok(u64::try_from(gone).unwrap_or(0))
    }

    pub(crate) async fn alerts(
        &self,
        which: Which<'_, u64>,
    ) -> Result<Vec<(u64, Committed<StoredAlert>)>, String> {
        let fps: Vec<i64> = match which {
            Which::Keys(fps) => fps.iter().map(|&fp| signed(fp)).collect(),
            Which::All => Vec::new(),
        };
        let rows = self
            .rows(
                &which,
                "SELECT fingerprint, record FROM campanile.alerts WHERE fingerprint = ANY($1)",
                "SELECT fingerprint, record FROM campanile.alerts",
                &[&fps],
            )
            .await?;
        let key = |row: &Row| unsigned(row.get(0));
        Ok(self.committed("alerts", which, &rows, key, 1))
    }

    pub(crate) async fn silences(
        &self,
        which: Which<'_, String>,
    ) -> Result<Vec<(String, Committed<StoredSilence>)>, String> {
        let ids: &[String] = match &which {
            Which::Keys(ids) => ids,
            Which::All => &[],
        };
        let rows = self
            .rows(
                &which,
                "SELECT id, record FROM campanile.silences WHERE id = ANY($1)",
                "SELECT id, record FROM campanile.silences",
                &[&ids],
            )
            .await?;
        let key = |row: &Row| row.get::<_, String>(0);
        Ok(self.committed("silences", which, &rows, key, 1))
    }

    pub(crate) async fn acks(
        &self,
        which: Which<'_, String>,
    ) -> Result<Vec<(String, Committed<StoredAck>)>, String> {
        let keys: Vec<&[u8]> = match &which {
            Which::Keys(keys) => keys.iter().map(|k| k.as_bytes()).collect(),
            Which::All => Vec::new(),
        };
        let rows = self
            .rows(
                &which,
                "SELECT group_key, record FROM campanile.acks WHERE group_key = ANY($1)",
                "SELECT group_key, record FROM campanile.acks",
                &[&keys],
            )
            .await?;
        let key = |row: &Row| text(row.get(0));
        Ok(self.committed("acks", which, &rows, key, 1))
    }

    pub(crate) async fn state(
        &self,
        which: Which<'_, (String, String)>,
    ) -> Result<Vec<((String, String), Committed<StoredState>)>, String> {
        let (plugins, keys): (Vec<&str>, Vec<&[u8]>) = match &which {
            Which::Keys(keys) => keys.iter().map(|(p, k)| (p.as_str(), k.as_bytes())).unzip(),
            Which::All => (Vec::new(), Vec::new()),
        };
        let rows = self
            .rows(
                &which,
                "SELECT plugin, key, record FROM campanile.plugin_state \
                 WHERE (plugin, key) IN (SELECT * FROM unnest($1::text[], $2::bytea[]))",
                "SELECT plugin, key, record FROM campanile.plugin_state",
                &[&plugins, &keys],
            )
            .await?;
        let key = |row: &Row| (row.get::<_, String>(0), text(row.get(1)));
        Ok(self.committed("plugin_state", which, &rows, key, 2))
    }

    /// The rows of the records `which` names (`by_keys`, with `params`) or of all (`all`).
    async fn rows(
        &self,
        which: &Which<'_, impl Sized>,
        by_keys: &str,
        all: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, String> {
        let client = self.client().await?;
        let result = match which {
            Which::Keys([]) => return Ok(Vec::new()),
            Which::Keys(_) => client.query(by_keys, params).await,
            Which::All => client.query(all, &[]).await,
        };
        result.map_err(|e| describe(&e))
    }

    /// Each record of `rows` decoded (its key from `key`, its bytes in column `record`), and,
    /// for named keys, those without a row as [`Committed::Gone`].
    fn committed<K, T>(
        &self,
        table: &str,
        which: Which<'_, K>,
        rows: &[Row],
        key: impl Fn(&Row) -> K,
        record: usize,
    ) -> Vec<(K, Committed<T>)>
    where
        K: Clone + Eq + Hash + std::fmt::Debug,
        T: serde::de::DeserializeOwned,
    {
        let mut found: HashMap<K, Committed<T>> = HashMap::with_capacity(rows.len());
        for row in rows {
            let k = key(row);
            let value = match decode(row.get::<_, &[u8]>(record)) {
                Ok(v) => Committed::Put(v),
                Err(e) => {
                    tracing::error!(
                        database = %self.target,
                        table,
                        key = ?k,
                        error = %e,
                        "a record another replica stored does not decode; it is not applied"
                    );
                    Committed::Unreadable
                }
            };
            found.insert(k, value);
        }
        match which {
            Which::All => found.into_iter().collect(),
            Which::Keys(keys) => keys
                .iter()
                .map(|k| (k.clone(), found.remove(k).unwrap_or(Committed::Gone)))
                .collect(),
        }
    }

    async fn client(&self) -> Result<Object, String> {
        self.pool.get().await.map_err(|e| describe_pool(&e))
    }
}

/// Each changed key once, in the order first seen.
#[derive(Default)]
struct Keys {
    alerts: HashSet<u64>,
    silences: HashSet<String>,
    acks: HashSet<String>,
    state: HashSet<(String, String)>,
}

impl Keys {
    fn add(&mut self, row: &Row, changes: &mut Changes) {
        let kind: &str = row.get(4);
        let name = || row.get::<_, Option<String>>(6).unwrap_or_default();
        let key = || text(row.get::<_, Option<Vec<u8>>>(7).unwrap_or_default());
        match kind {
            "alerts" => {
                let fp = unsigned(row.get::<_, Option<i64>>(5).unwrap_or_default());
                if self.alerts.insert(fp) {
                    changes.alerts.push(fp);
                }
            }
            "silences" => {
                let id = name();
                if self.silences.insert(id.clone()) {
                    changes.silences.push(id);
                }
            }
            "acks" => {
                let k = key();
                if self.acks.insert(k.clone()) {
                    changes.acks.push(k);
                }
            }
            "plugin_state" => {
                let k = (name(), key());
                if self.state.insert(k.clone()) {
                    changes.state.push(k);
                }
            }
            other => tracing::warn!(kind = other, "a change of an unknown kind is ignored"),
        }
    }
}

/// Keys are stored as bytes: a group key holds label values, which may hold NUL.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A fingerprint as PostgreSQL's `bigint`, bit for bit, and back.
fn signed(n: u64) -> i64 {
    i64::from_ne_bytes(n.to_ne_bytes())
}

fn unsigned(n: i64) -> u64 {
    u64::from_ne_bytes(n.to_ne_bytes())
}
