//! The redb backend: one file, one table per kind of record, one write transaction per batch.

use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

use super::backend::{Backend, Fenced};
use super::records::{decode, encode};
use super::{Op, Snapshot, StoreError};

/// redb's page cache. The store is read in full once, at start, and then only written, so its
/// pages need not stay in memory: the default (1 GiB) would keep every written page resident,
/// about as many bytes per alert again as the live alert itself. Pages that miss come from the
/// kernel's page cache.
const CACHE_BYTES: usize = 1 << 20;

const ALERTS: TableDefinition<u64, &[u8]> = TableDefinition::new("alerts");
const NOTIFIED: TableDefinition<&str, &[u8]> = TableDefinition::new("notified");
const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const SILENCES: TableDefinition<&str, &[u8]> = TableDefinition::new("silences");
const ACKS: TableDefinition<&str, &[u8]> = TableDefinition::new("acks");
/// Plugin state, keyed by plugin name, a NUL, and the plugin's key.
const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("plugin_state");

const SCHEMA_VERSION: u64 = 1;

pub struct RedbBackend {
    /// `None` after a failed write, until the next write opens the file again.
    db: Option<Database>,
    path: PathBuf,
}

impl RedbBackend {
    /// Opens or creates the database file. An unreadable or corrupt file is an error naming
    /// it — never a silent empty start.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let fail = |e: &dyn std::fmt::Display| StoreError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let db = Self::create(path).map_err(|e| fail(&e))?;
        let backend = RedbBackend {
            db: Some(db),
            path: path.to_path_buf(),
        };
        backend.init().map_err(|e| fail(&e))?;
        Ok(backend)
    }

    fn create(path: &Path) -> Result<Database, redb::DatabaseError> {
        redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path)
    }

    /// Opens the file again if a failed write closed it.
    fn reopen(&mut self) -> Result<(), StoreError> {
        if self.db.is_none() {
            self.db = Some(Self::create(&self.path).map_err(self.err())?);
            tracing::info!(path = %self.path.display(), "store reopened after a failed write");
        }
        Ok(())
    }

    fn init(&self) -> Result<(), StoreError> {
        let db = self.db.as_ref().expect("open at init");
        let txn = db.begin_write().map_err(self.err())?;
        {
            let mut meta = txn.open_table(META).map_err(self.err())?;
            let version = meta
                .get("schema_version")
                .map_err(self.err())?
                .map(|v| v.value());
            match version {
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(self.err())?;
                }
                Some(SCHEMA_VERSION) => {}
                Some(other) => {
                    return Err(StoreError::Open {
                        path: self.path.display().to_string(),
                        reason: format!(
                            "schema version {other}, this campanile reads {SCHEMA_VERSION}"
                        ),
                    })
                }
            }
            txn.open_table(ALERTS).map_err(self.err())?;
            txn.open_table(NOTIFIED).map_err(self.err())?;
            txn.open_table(OUTBOX).map_err(self.err())?;
            txn.open_table(SILENCES).map_err(self.err())?;
            txn.open_table(ACKS).map_err(self.err())?;
            txn.open_table(STATE).map_err(self.err())?;
        }
        txn.commit().map_err(self.err())
    }

    fn err<E: std::fmt::Display>(&self) -> impl Fn(E) -> StoreError + '_ {
        move |e| StoreError::Io {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        }
    }

    fn write(&self, db: &Database, ops: &[&Op], durable: bool) -> Result<(), StoreError> {
        let mut txn = db.begin_write().map_err(self.err())?;
        txn.set_durability(if durable {
            Durability::Immediate
        } else {
            Durability::None
        })
        .map_err(self.err())?;
        {
            let mut alerts = txn.open_table(ALERTS).map_err(self.err())?;
            let mut notified = txn.open_table(NOTIFIED).map_err(self.err())?;
            let mut outbox = txn.open_table(OUTBOX).map_err(self.err())?;
            let mut silences = txn.open_table(SILENCES).map_err(self.err())?;
            let mut acks = txn.open_table(ACKS).map_err(self.err())?;
            let mut state = txn.open_table(STATE).map_err(self.err())?;
            for op in ops {
                match op {
                    Op::PutAlert(fp, a) => {
                        alerts
                            .insert(fp, encode(a).as_slice())
                            .map_err(self.err())?;
                    }
                    Op::DeleteAlert(fp) => {
                        alerts.remove(fp).map_err(self.err())?;
                    }
                    Op::PutNotified(key, r) => {
                        notified
                            .insert(key.as_str(), encode(r).as_slice())
                            .map_err(self.err())?;
                    }
                    Op::DeleteNotified(key) => {
                        notified.remove(key.as_str()).map_err(self.err())?;
                    }
                    Op::PutOutbox(id, e) => {
                        outbox
                            .insert(id, encode(e.as_ref()).as_slice())
                            .map_err(self.err())?;
                    }
                    Op::DeleteOutbox(id) => {
                        outbox.remove(id).map_err(self.err())?;
                    }
                    Op::PutSilence(s) => {
                        silences
                            .insert(s.id.as_str(), encode(s.as_ref()).as_slice())
                            .map_err(self.err())?;
                    }
                    Op::DeleteSilence(id) => {
                        silences.remove(id.as_str()).map_err(self.err())?;
                    }
                    Op::PutAck(key, a) => {
                        acks.insert(key.as_str(), encode(a).as_slice())
                            .map_err(self.err())?;
                    }
                    Op::DeleteAck(key) => {
                        acks.remove(key.as_str()).map_err(self.err())?;
                    }
                    Op::PutState(plugin, key, v) => {
                        state
                            .insert(state_key(plugin, key).as_str(), encode(v).as_slice())
                            .map_err(self.err())?;
                    }
                    Op::DeleteState(plugin, key) => {
                        state
                            .remove(state_key(plugin, key).as_str())
                            .map_err(self.err())?;
                    }
                }
            }
        }
        txn.commit().map_err(self.err())
    }

    /// Hands every row of `table` that decodes to `each`; logs and skips the others.
    fn read_rows<K, T>(
        &self,
        txn: &redb::ReadTransaction,
        table: TableDefinition<'static, K, &'static [u8]>,
        mut each: impl for<'a> FnMut(K::SelfType<'a>, T),
    ) -> Result<(), StoreError>
    where
        K: redb::Key + 'static,
        T: serde::de::DeserializeOwned,
    {
        let rows = txn.open_table(table).map_err(self.err())?;
        for row in rows.iter().map_err(self.err())? {
            let (k, v) = row.map_err(self.err())?;
            match decode::<T>(v.value()) {
                Ok(record) => each(k.value(), record),
                Err(e) => tracing::error!(
                    store = %self.path.display(),
                    table = table.name(),
                    key = ?k.value(),
                    "stored record left out: it does not decode ({e})"
                ),
            }
        }
        Ok(())
    }
}

impl Backend for RedbBackend {
    /// Everything stored, for start-up. A record that does not decode is logged with its table
    /// and key and left out (it stays on disk, for inspection): one bad record must not stop
    /// a start.
    fn load(&mut self) -> Result<Snapshot, StoreError> {
        let db = self.db.as_ref().expect("open at start");
        let txn = db.begin_read().map_err(self.err())?;
        let mut snap = Snapshot::default();
        self.read_rows(&txn, ALERTS, |k, v| snap.alerts.push((k, v)))?;
        self.read_rows(&txn, NOTIFIED, |k, v| {
            snap.notified.push((k.to_string(), v))
        })?;
        self.read_rows(&txn, OUTBOX, |k, v| snap.outbox.push((k, v)))?;
        self.read_rows(&txn, SILENCES, |_, v| snap.silences.push(v))?;
        self.read_rows(&txn, ACKS, |k, v| snap.acks.push((k.to_string(), v)))?;
        self.read_rows(&txn, STATE, |k, v| {
            if let Some((plugin, key)) = k.split_once('\0') {
                snap.state.push((plugin.to_string(), key.to_string(), v));
            }
        })?;
        Ok(snap)
    }

    /// Applies every op in one transaction; `durable` decides whether the commit waits for
    /// the disk. After an I/O error redb refuses every later write until the file is opened
    /// again (`PreviousIo`), so a failed write closes the database and the next one reopens
    /// it: a disk that was full works again once it has room, without a restart.
    fn apply(
        &mut self,
        ops: &[Op],
        fenced: &[Fenced],
        durable: bool,
    ) -> Result<Vec<bool>, StoreError> {
        // One process owns the file: every fence holds.
        let all: Vec<&Op> = ops
            .iter()
            .chain(fenced.iter().flat_map(|f| f.ops.iter()))
            .collect();
        let result = self.reopen().and_then(|()| {
            let db = self.db.as_ref().expect("open");
            self.write(db, &all, durable)
        });
        if result.is_err() {
            self.db = None;
        }
        result.map(|()| vec![true; fenced.len()])
    }
}

fn state_key(plugin: &str, key: &str) -> String {
    format!("{plugin}\0{key}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::store::records::StoredAlert;
    use time::OffsetDateTime;

    #[test]
    fn a_record_that_does_not_decode_is_left_out_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("campanile.redb");
        let now = OffsetDateTime::now_utc();
        let good = StoredAlert {
            labels: Labels::from_pairs([("alertname", "Good")]),
            annotations: Labels::default(),
            starts_at: now,
            ends_at: now,
            timeout: false,
            generator_url: String::new(),
            updated_at: now,
        };
        {
            let mut backend = RedbBackend::open(&path).unwrap();
            backend.apply(&[Op::PutAlert(1, good)], &[], true).unwrap();
            // What an older or newer binary, or a bug, might have written.
            let db = backend.db.as_ref().unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut alerts = txn.open_table(ALERTS).unwrap();
                alerts.insert(2, br#"{"labels":"#.as_slice()).unwrap();
                let mut notified = txn.open_table(NOTIFIED).unwrap();
                notified.insert("{}:{}", br#"[1,2]"#.as_slice()).unwrap();
            }
            txn.commit().unwrap();
        }
        let mut backend = RedbBackend::open(&path).unwrap();
        let snapshot = backend
            .load()
            .expect("one bad record does not stop a start");
        let fingerprints: Vec<u64> = snapshot.alerts.iter().map(|(fp, _)| *fp).collect();
        assert_eq!(fingerprints, vec![1]);
        assert!(snapshot.notified.is_empty());
    }
}
