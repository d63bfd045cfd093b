//! The redb backend: one file, one table per kind of record, one write transaction per batch.

use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use super::records::{
    NotifiedRecord, OutboxEntry, StoredAck, StoredAlert, StoredSilence, StoredState,
};
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

    /// Applies every op in one transaction; `durable` decides whether the commit waits for
    /// the disk. After an I/O error redb refuses every later write until the file is opened
    /// again (`PreviousIo`), so a failed write closes the database and the next one reopens
    /// it: a disk that was full works again once it has room, without a restart.
    pub fn apply(&mut self, ops: &[Op], durable: bool) -> Result<(), StoreError> {
        let result = self.reopen().and_then(|()| {
            let db = self.db.as_ref().expect("open");
            self.write(db, ops, durable)
        });
        if result.is_err() {
            self.db = None;
        }
        result
    }

    fn write(&self, db: &Database, ops: &[Op], durable: bool) -> Result<(), StoreError> {
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

    /// Everything stored, for start-up.
    pub fn load(&self) -> Result<Snapshot, StoreError> {
        let db = self.db.as_ref().expect("open at start");
        let txn = db.begin_read().map_err(self.err())?;
        let mut snap = Snapshot::default();
        for row in txn
            .open_table(ALERTS)
            .map_err(self.err())?
            .iter()
            .map_err(self.err())?
        {
            let (k, v) = row.map_err(self.err())?;
            snap.alerts
                .push((k.value(), self.decode::<StoredAlert>("alerts", v.value())?));
        }
        for row in txn
            .open_table(NOTIFIED)
            .map_err(self.err())?
            .iter()
            .map_err(self.err())?
        {
            let (k, v) = row.map_err(self.err())?;
            snap.notified.push((
                k.value().to_string(),
                self.decode::<NotifiedRecord>("notified", v.value())?,
            ));
        }
        for row in txn
            .open_table(OUTBOX)
            .map_err(self.err())?
            .iter()
            .map_err(self.err())?
        {
            let (k, v) = row.map_err(self.err())?;
            snap.outbox
                .push((k.value(), self.decode::<OutboxEntry>("outbox", v.value())?));
        }
        for row in txn
            .open_table(SILENCES)
            .map_err(self.err())?
            .iter()
            .map_err(self.err())?
        {
            let (_, v) = row.map_err(self.err())?;
            snap.silences
                .push(self.decode::<StoredSilence>("silences", v.value())?);
        }
        for row in txn
            .open_table(ACKS)
            .map_err(self.err())?
            .iter()
            .map_err(self.err())?
        {
            let (k, v) = row.map_err(self.err())?;
            snap.acks.push((
                k.value().to_string(),
                self.decode::<StoredAck>("acks", v.value())?,
            ));
        }
        for row in txn
            .open_table(STATE)
            .map_err(self.err())?
            .iter()
            .map_err(self.err())?
        {
            let (k, v) = row.map_err(self.err())?;
            let Some((plugin, key)) = k.value().split_once('\0') else {
                continue;
            };
            snap.state.push((
                plugin.to_string(),
                key.to_string(),
                self.decode::<StoredState>("plugin_state", v.value())?,
            ));
        }
        Ok(snap)
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        bytes: &[u8],
    ) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
            path: self.path.display().to_string(),
            table: table.to_string(),
            reason: e.to_string(),
        })
    }
}

fn state_key(plugin: &str, key: &str) -> String {
    format!("{plugin}\0{key}")
}

fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("records serialise")
}
