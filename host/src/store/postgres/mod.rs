//! The PostgreSQL backend (`[store] backend = "postgres"`): the same records as the embedded
//! store, one table per kind in the `campanile` schema, one transaction per batch.
//!
//! The writer thread is not async, so the backend owns a small tokio runtime of its own (one
//! worker, which also drives the pool's connections between writes) and blocks on it for each
//! batch. A batch is folded to the last op per record, then written as one statement per table
//! and kind (`unnest` of arrays): a batch of 4,096 alerts is two round trips, not 4,096.
//! A transaction that need not be durable (`durability = "deferred"`) commits with
//! `synchronous_commit = off`: PostgreSQL acknowledges it before its WAL is flushed.

mod connect;
mod schema;

use std::collections::HashMap;

use deadpool_postgres::{Object, Pool};
use tokio::runtime::Runtime;
use tokio_postgres::types::ToSql;

use super::backend::Backend;
use super::records::{decode, encode};
use super::{Op, Record, Snapshot, StoreError};
use crate::config::PostgresConfig;

pub(super) struct PgBackend {
    runtime: Runtime,
    pool: Pool,
    /// Where the database is, without credentials: for errors and logs.
    target: String,
}

impl PgBackend {
    /// Connects, applies the schema migrations this binary knows and refuses a database whose
    /// schema is newer. Blocks: call it off the async runtime (campanile opens its store on a
    /// blocking thread).
    pub(super) fn open(config: &PostgresConfig) -> Result<Self, StoreError> {
        let (pool, target) = connect::pool(config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("campanile-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Open {
                path: target.clone(),
                reason: format!("cannot start the PostgreSQL client runtime: {e}"),
            })?;
        let backend = PgBackend {
            runtime,
            pool,
            target,
        };
        backend.runtime.block_on(async {
            let mut client = backend.client().await.map_err(|reason| StoreError::Open {
                path: backend.target.clone(),
                reason,
            })?;
            schema::migrate(&mut client)
                .await
                .map_err(|reason| StoreError::Open {
                    path: backend.target.clone(),
                    reason,
                })
        })?;
        tracing::info!(database = %backend.target, version = schema::LATEST, "PostgreSQL store open");
        Ok(backend)
    }

    async fn client(&self) -> Result<Object, String> {
        self.pool
            .get()
            .await
            .map_err(|e| connect::describe_pool(&e))
    }

    fn io(&self, reason: String) -> StoreError {
        StoreError::Io {
            path: self.target.clone(),
            reason,
        }
    }

    async fn write(&self, ops: &[Op], durable: bool) -> Result<(), String> {
        let batch = Batch::of(ops);
        let mut client = self.client().await?;
        let txn = client
            .transaction()
            .await
            .map_err(|e| connect::describe(&e))?;
        if !durable {
            txn.batch_execute("SET LOCAL synchronous_commit = off")
                .await
                .map_err(|e| connect::describe(&e))?;
        }
        for (sql, params) in batch.statements() {
            let statement = txn
                .prepare_cached(sql)
                .await
                .map_err(|e| connect::describe(&e))?;
            txn.execute(&statement, &params)
                .await
                .map_err(|e| connect::describe(&e))?;
        }
        txn.commit().await.map_err(|e| connect::describe(&e))
    }

    async fn read(&self) -> Result<Snapshot, String> {
        let client = self.client().await?;
        let rows = |sql: &'static str| {
            let client = &client;
            async move {
                client
                    .query(sql, &[])
                    .await
                    .map_err(|e| connect::describe(&e))
            }
        };
        let mut snap = Snapshot::default();
        for row in rows("SELECT fingerprint, record FROM campanile.alerts").await? {
            let fp = u64::from_ne_bytes(row.get::<_, i64>(0).to_ne_bytes());
            if let Some(r) = self.decoded("alerts", &fp, row.get(1)) {
                snap.alerts.push((fp, r));
            }
        }
        for row in rows("SELECT group_key, record FROM campanile.notified").await? {
            let key = text(row.get(0));
            if let Some(r) = self.decoded("notified", &key, row.get(1)) {
                snap.notified.push((key, r));
            }
        }
        for row in rows("SELECT id, record FROM campanile.outbox").await? {
            let id = u64::from_ne_bytes(row.get::<_, i64>(0).to_ne_bytes());
            if let Some(r) = self.decoded("outbox", &id, row.get(1)) {
                snap.outbox.push((id, r));
            }
        }
        for row in rows("SELECT id, record FROM campanile.silences").await? {
            let id: String = row.get(0);
            if let Some(r) = self.decoded("silences", &id, row.get(1)) {
                snap.silences.push(r);
            }
        }
        for row in rows("SELECT group_key, record FROM campanile.acks").await? {
            let key = text(row.get(0));
            if let Some(r) = self.decoded("acks", &key, row.get(1)) {
                snap.acks.push((key, r));
            }
        }
        for row in rows("SELECT plugin, key, record FROM campanile.plugin_state").await? {
            let (plugin, key): (String, String) = (row.get(0), text(row.get(1)));
            if let Some(r) = self.decoded("plugin_state", &(&plugin, &key), row.get(2)) {
                snap.state.push((plugin, key, r));
            }
        }
        Ok(snap)
    }

    /// A stored record, or `None` with an error naming it: one bad record must not stop a
    /// start (it stays in the table, for inspection).
    fn decoded<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        key: &dyn std::fmt::Debug,
        bytes: &[u8],
    ) -> Option<T> {
        match decode(bytes) {
            Ok(record) => Some(record),
            Err(e) => {
                tracing::error!(
                    database = %self.target,
                    table,
                    key = ?key,
                    error = %e,
                    "a stored record does not decode; it is left out"
                );
                None
            }
        }
    }
}

impl Backend for PgBackend {
    fn load(&mut self) -> Result<Snapshot, StoreError> {
        self.runtime.block_on(self.read()).map_err(|e| self.io(e))
    }

    fn apply(&mut self, ops: &[Op], durable: bool) -> Result<(), StoreError> {
        if ops.is_empty() && !durable {
            return Ok(());
        }
        self.runtime
            .block_on(self.write(ops, durable))
            .map_err(|e| self.io(e))
    }
}

/// Keys are stored as bytes: a group key holds label values, which may hold NUL.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A batch folded to the last op per record, as columns per table and kind.
#[derive(Default)]
struct Batch {
    alerts: (Vec<i64>, Vec<Vec<u8>>),
    alerts_gone: Vec<i64>,
    notified: (Vec<Vec<u8>>, Vec<Vec<u8>>),
    notified_gone: Vec<Vec<u8>>,
    outbox: (Vec<i64>, Vec<Vec<u8>>),
    outbox_gone: Vec<i64>,
    silences: (Vec<String>, Vec<Vec<u8>>),
    silences_gone: Vec<String>,
    acks: (Vec<Vec<u8>>, Vec<Vec<u8>>),
    acks_gone: Vec<Vec<u8>>,
    state: (Vec<String>, Vec<Vec<u8>>, Vec<Vec<u8>>),
    state_gone: (Vec<String>, Vec<Vec<u8>>),
}

/// A fingerprint or outbox id as PostgreSQL's `bigint`, bit for bit.
fn signed(n: u64) -> i64 {
    i64::from_ne_bytes(n.to_ne_bytes())
}

impl Batch {
    fn of(ops: &[Op]) -> Batch {
        let mut last: HashMap<Record, &Op> = HashMap::with_capacity(ops.len());
        for op in ops {
            last.insert(op.record(), op);
        }
        let mut b = Batch::default();
        for op in last.into_values() {
            match op {
                Op::PutAlert(fp, a) => {
                    b.alerts.0.push(signed(*fp));
                    b.alerts.1.push(encode(a));
                }
                Op::DeleteAlert(fp) => b.alerts_gone.push(signed(*fp)),
                Op::PutNotified(key, r) => {
                    b.notified.0.push(key.as_bytes().to_vec());
                    b.notified.1.push(encode(r));
                }
                Op::DeleteNotified(key) => b.notified_gone.push(key.as_bytes().to_vec()),
                Op::PutOutbox(id, e) => {
                    b.outbox.0.push(signed(*id));
                    b.outbox.1.push(encode(e.as_ref()));
                }
                Op::DeleteOutbox(id) => b.outbox_gone.push(signed(*id)),
                Op::PutSilence(s) => {
                    b.silences.0.push(s.id.clone());
                    b.silences.1.push(encode(s.as_ref()));
                }
                Op::DeleteSilence(id) => b.silences_gone.push(id.clone()),
                Op::PutAck(key, a) => {
                    b.acks.0.push(key.as_bytes().to_vec());
                    b.acks.1.push(encode(a));
                }
                Op::DeleteAck(key) => b.acks_gone.push(key.as_bytes().to_vec()),
                Op::PutState(plugin, key, v) => {
                    b.state.0.push(plugin.clone());
                    b.state.1.push(key.as_bytes().to_vec());
                    b.state.2.push(encode(v));
                }
                Op::DeleteState(plugin, key) => {
                    b.state_gone.0.push(plugin.clone());
                    b.state_gone.1.push(key.as_bytes().to_vec());
                }
            }
        }
        b
    }

    /// The statements that write the batch, each with its parameters; tables with nothing
    /// to write are left out. After folding, no record is both put and deleted, so their
    /// order does not matter.
    fn statements(&self) -> Vec<(&'static str, Vec<&(dyn ToSql + Sync)>)> {
        let mut out: Vec<(&'static str, Vec<&(dyn ToSql + Sync)>)> = Vec::new();
        if !self.alerts.0.is_empty() {
            out.push((
                "INSERT INTO campanile.alerts (fingerprint, record) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[]) \
                 ON CONFLICT (fingerprint) DO UPDATE SET record = EXCLUDED.record",
                vec![&self.alerts.0, &self.alerts.1],
            ));
        }
        if !self.alerts_gone.is_empty() {
            out.push((
                "DELETE FROM campanile.alerts WHERE fingerprint = ANY($1::bigint[])",
                vec![&self.alerts_gone],
            ));
        }
        if !self.notified.0.is_empty() {
            out.push((
                "INSERT INTO campanile.notified (group_key, record) \
                 SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
                 ON CONFLICT (group_key) DO UPDATE SET record = EXCLUDED.record",
                vec![&self.notified.0, &self.notified.1],
            ));
        }
        if !self.notified_gone.is_empty() {
            out.push((
                "DELETE FROM campanile.notified WHERE group_key = ANY($1::bytea[])",
                vec![&self.notified_gone],
            ));
        }
        if !self.outbox.0.is_empty() {
            out.push((
                "INSERT INTO campanile.outbox (id, record) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[]) \
                 ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
                vec![&self.outbox.0, &self.outbox.1],
            ));
        }
        if !self.outbox_gone.is_empty() {
            out.push((
                "DELETE FROM campanile.outbox WHERE id = ANY($1::bigint[])",
                vec![&self.outbox_gone],
            ));
        }
        if !self.silences.0.is_empty() {
            out.push((
                "INSERT INTO campanile.silences (id, record) \
                 SELECT * FROM unnest($1::text[], $2::bytea[]) \
                 ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
                vec![&self.silences.0, &self.silences.1],
            ));
        }
        if !self.silences_gone.is_empty() {
            out.push((
                "DELETE FROM campanile.silences WHERE id = ANY($1::text[])",
                vec![&self.silences_gone],
            ));
        }
        if !self.acks.0.is_empty() {
            out.push((
                "INSERT INTO campanile.acks (group_key, record) \
                 SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
                 ON CONFLICT (group_key) DO UPDATE SET record = EXCLUDED.record",
                vec![&self.acks.0, &self.acks.1],
            ));
        }
        if !self.acks_gone.is_empty() {
            out.push((
                "DELETE FROM campanile.acks WHERE group_key = ANY($1::bytea[])",
                vec![&self.acks_gone],
            ));
        }
        if !self.state.0.is_empty() {
            out.push((
                "INSERT INTO campanile.plugin_state (plugin, key, record) \
                 SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]) \
                 ON CONFLICT (plugin, key) DO UPDATE SET record = EXCLUDED.record",
                vec![&self.state.0, &self.state.1, &self.state.2],
            ));
        }
        if !self.state_gone.0.is_empty() {
            out.push((
                "DELETE FROM campanile.plugin_state AS s \
                 USING unnest($1::text[], $2::bytea[]) AS gone (plugin, key) \
                 WHERE s.plugin = gone.plugin AND s.key = gone.key",
                vec![&self.state_gone.0, &self.state_gone.1],
            ));
        }
        out
    }
}
