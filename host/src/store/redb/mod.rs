//! The redb backend: one file, one table per kind of record, one write transaction per batch.
//! Alerts are keyed by their order of arrival, not their fingerprint (`slots.rs` says why).

mod slots;

use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

use super::backend::{Backend, Fenced};
use super::records::{decode, encode, StoredAlert};
use super::{Op, Snapshot, StoreError};
use slots::{Changes, Slots};

/// redb's page cache. The store is read in full once, at start, and then only written, so its
/// pages need not stay in memory: the default (1 GiB) would keep every written page resident,
/// about as many bytes per alert again as the live alert itself. Pages that miss come from the
/// kernel's page cache.
const CACHE_BYTES: usize = 1 << 20;

/// Each alert under its slot (`slots.rs`): its fingerprint and its record.
const ALERTS: TableDefinition<u64, (u64, &[u8])> = TableDefinition::new("alerts_in_order");
/// Schema 1's alerts table, keyed by fingerprint: moved into [`ALERTS`] when a file of schema 1
/// is opened.
const ALERTS_BY_FINGERPRINT: TableDefinition<u64, &[u8]> = TableDefinition::new("alerts");
const NOTIFIED: TableDefinition<&str, &[u8]> = TableDefinition::new("notified");
const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const SILENCES: TableDefinition<&str, &[u8]> = TableDefinition::new("silences");
const ACKS: TableDefinition<&str, &[u8]> = TableDefinition::new("acks");
/// Plugin state, keyed by plugin name, a NUL, and the plugin's key.
const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("plugin_state");

const SCHEMA_VERSION: u64 = 2;

pub struct RedbBackend {
    /// `None` after a failed write, until the next write opens the file again.
    db: Option<Database>,
    path: PathBuf,
    slots: Slots,
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
            slots: Slots::default(),
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
                Some(1) => {
                    self.move_alerts_into_slots(&txn)?;
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(self.err())?;
                }
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

    /// Schema 1 → 2: every alert moved from the table keyed by fingerprint to [`ALERTS`].
    fn move_alerts_into_slots(&self, txn: &redb::WriteTransaction) -> Result<(), StoreError> {
        {
            let old = txn.open_table(ALERTS_BY_FINGERPRINT).map_err(self.err())?;
            let mut new = txn.open_table(ALERTS).map_err(self.err())?;
            for (slot, row) in (0u64..).zip(old.iter().map_err(self.err())?) {
                let (fingerprint, record) = row.map_err(self.err())?;
                new.insert(slot, (fingerprint.value(), record.value()))
                    .map_err(self.err())?;
            }
        }
        txn.delete_table(ALERTS_BY_FINGERPRINT)
            .map_err(self.err())?;
        Ok(())
    }

    fn err<E: std::fmt::Display>(&self) -> impl Fn(E) -> StoreError + '_ {
        move |e| StoreError::Io {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        }
    }

    /// Makes `ops` in one transaction; returns what it did to the alerts' slots, to be taken
    /// in once it committed.
    fn write(&self, db: &Database, ops: &[&Op], durable: bool) -> Result<Changes, StoreError> {
        let mut slots = self.slots.pending();
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
                            .insert(slots.put(*fp), (*fp, encode(a).as_slice()))
                            .map_err(self.err())?;
                    }
                    Op::DeleteAlert(fp) => {
                        if let Some(slot) = slots.delete(*fp) {
                            alerts.remove(slot).map_err(self.err())?;
                        }
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
        txn.commit().map_err(self.err())?;
        Ok(slots.into_changes())
    }

    /// Every stored alert that decodes, with its fingerprint; each one's slot noted.
    fn read_alerts(
        &mut self,
        txn: &redb::ReadTransaction,
    ) -> Result<Vec<(u64, StoredAlert)>, StoreError> {
        let rows = txn.open_table(ALERTS).map_err(self.err())?;
        let mut alerts = Vec::new();
        for row in rows.iter().map_err(self.err())? {
            let (slot, value) = row.map_err(self.err())?;
            let (fingerprint, record) = value.value();
            // Noted even when it does not decode: a later write of that alert takes its slot.
            self.slots.found(fingerprint, slot.value());
            match decode(record) {
                Ok(alert) => alerts.push((fingerprint, alert)),
                Err(e) => tracing::error!(
                    store = %self.path.display(),
                    table = ALERTS.name(),
                    key = slot.value(),
                    fingerprint,
                    "stored record left out: it does not decode ({e})"
                ),
            }
        }
        Ok(alerts)
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
        let mut snap = Snapshot {
            alerts: self.read_alerts(&txn)?,
            ..Snapshot::default()
        };
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
        match result {
            Ok(changes) => {
                self.slots.commit(changes);
                Ok(vec![true; fenced.len()])
            }
            Err(e) => {
                self.db = None;
                Err(e)
            }
        }
    }
}

fn state_key(plugin: &str, key: &str) -> String {
    format!("{plugin}\0{key}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use time::OffsetDateTime;

    fn stored(name: &str) -> StoredAlert {
        let now = OffsetDateTime::now_utc();
        StoredAlert {
            labels: Labels::from_pairs([("alertname", name)]),
            annotations: Labels::default(),
            starts_at: now,
            ends_at: now,
            timeout: false,
            generator_url: String::new(),
            updated_at: now,
        }
    }

    fn names(snapshot: &Snapshot) -> Vec<(u64, String)> {
        let mut names: Vec<(u64, String)> = snapshot
            .alerts
            .iter()
            .map(|(fp, a)| (*fp, a.labels.get("alertname").unwrap().to_string()))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn alerts_are_updated_and_deleted_in_their_slots_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("campanile.redb");
        {
            let mut backend = RedbBackend::open(&path).unwrap();
            let puts = [(30, "A"), (10, "B"), (20, "C")].map(|(fp, n)| Op::PutAlert(fp, stored(n)));
            backend.apply(&puts, &[], true).unwrap();
            backend
                .apply(
                    &[Op::PutAlert(30, stored("A2")), Op::DeleteAlert(10)],
                    &[],
                    true,
                )
                .unwrap();
        }
        let mut backend = RedbBackend::open(&path).unwrap();
        let snapshot = backend.load().unwrap();
        assert_eq!(names(&snapshot), [(20, "C".into()), (30, "A2".into())]);
        // After a load, a write of a stored alert replaces it rather than adding a twin.
        backend
            .apply(
                &[
                    Op::PutAlert(20, stored("C2")),
                    Op::PutAlert(40, stored("D")),
                ],
                &[],
                true,
            )
            .unwrap();
        backend.apply(&[Op::DeleteAlert(30)], &[], true).unwrap();
        drop(backend);
        let snapshot = RedbBackend::open(&path).unwrap().load().unwrap();
        assert_eq!(names(&snapshot), [(20, "C2".into()), (40, "D".into())]);
    }

    #[test]
    fn a_schema_1_file_has_its_alerts_moved_into_slots() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("campanile.redb");
        {
            // What campanile 0.3 wrote: alerts keyed by fingerprint.
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut meta = txn.open_table(META).unwrap();
                meta.insert("schema_version", 1).unwrap();
                let mut alerts = txn.open_table(ALERTS_BY_FINGERPRINT).unwrap();
                for (fp, n) in [(5, "A"), (3, "B")] {
                    alerts.insert(fp, encode(&stored(n)).as_slice()).unwrap();
                }
            }
            txn.commit().unwrap();
        }
        let mut backend = RedbBackend::open(&path).unwrap();
        let snapshot = backend.load().unwrap();
        assert_eq!(names(&snapshot), [(3, "B".into()), (5, "A".into())]);
        backend.apply(&[Op::DeleteAlert(5)], &[], true).unwrap();
        drop(backend);
        let snapshot = RedbBackend::open(&path).unwrap().load().unwrap();
        assert_eq!(names(&snapshot), [(3, "B".into())]);
        let db = Database::open(&path).unwrap();
        let txn = db.begin_read().unwrap();
        let tables: Vec<String> = txn
            .list_tables()
            .unwrap()
            .map(|t| t.name().to_string())
            .collect();
        assert!(!tables.contains(&"alerts".to_string()), "{tables:?}");
    }

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
                alerts.insert(9, (2, br#"{"labels":"#.as_slice())).unwrap();
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
