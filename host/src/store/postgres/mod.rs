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
pub(crate) mod feed;
mod schema;

pub(crate) use connect::{describe, describe_pool, pool as connect_pool};
pub(crate) use schema::migrate;

/// The condition under which a write of a flush is made: its shard's lease (`l`) is still this
/// replica's (`$2`) at the epoch the flush was made under (`$3`), unexpired on the database's
/// clock. Parameters: `$1` shard, `$2` replica, `$3` epoch.
pub(crate) const FENCE: &str =
    "l.shard = $1 AND l.holder = $2 AND l.epoch = $3 AND l.expires_at > now()";

use std::collections::BTreeMap;

use deadpool_postgres::{Object, Pool};
use tokio::runtime::Runtime;
use tokio_postgres::types::ToSql;

use super::backend::{Backend, Fenced};
use super::records::{decode, encode};
use super::{NotifiedRecord, Op, OutboxEntry, Record, Snapshot, StoreError};
use crate::config::PostgresConfig;

pub(super) struct PgBackend {
    runtime: Runtime,
    pool: Pool,
    /// Where the database is, without credentials: for errors and logs.
    target: String,
    /// The cluster replica this store writes for: each transaction names it, so the change
    /// feed (`feed`) tells the other replicas and this one skips it.
    replica: Option<String>,
}

impl PgBackend {
    /// Connects, applies the schema migrations this binary knows and refuses a database whose
    /// schema is newer. Blocks: call it off the async runtime (campanile opens its store on a
    /// blocking thread).
    pub(super) fn open(config: &PostgresConfig, replica: Option<&str>) -> Result<Self, StoreError> {
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
            replica: replica.map(str::to_string),
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

    async fn write(
        &self,
        ops: &[Op],
        fenced: &[Fenced],
        durable: bool,
    ) -> Result<Vec<bool>, String> {
        let batch = Batch::of(ops.iter());
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
        if let Some(replica) = &self.replica {
            // SET LOCAL campanile.replica: read by the change feed's triggers (migration 3).
            txn.execute(
                "SELECT set_config('campanile.replica', $1, true)",
                &[replica],
            )
            .await
            .map_err(|e| connect::describe(&e))?;
        }
        execute(&txn, &batch).await?;
        let mut made = Vec::with_capacity(fenced.len());
        let check = format!("SELECT 1 FROM campanile.leases l WHERE {FENCE} FOR SHARE");
        for set in fenced {
            // The lease row stays locked until the commit: a takeover waits for it, and the
            // new holder then reads what this flush wrote.
            let shard = i32::try_from(set.fence.shard).unwrap_or(i32::MAX);
            let holds = txn
                .query_opt(&check, &[&shard, &set.fence.replica, &set.fence.epoch])
                .await
                .map_err(|e| connect::describe(&e))?
                .is_some();
            if holds {
                execute(&txn, &Batch::of(set.ops.iter())).await?;
            }
            made.push(holds);
        }
        txn.commit().await.map_err(|e| connect::describe(&e))?;
        Ok(made)
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
            let fp = unsigned(row.get(0));
            if let Some(r) = decoded(&self.target, "alerts", &fp, row.get(1)) {
                snap.alerts.push((fp, r));
            }
        }
        for row in rows("SELECT group_key, record FROM campanile.notified").await? {
            let key = text(row.get(0));
            if let Some(r) = decoded(&self.target, "notified", &key, row.get(1)) {
                snap.notified.push((key, r));
            }
        }
        for row in rows("SELECT id, record FROM campanile.outbox").await? {
            let id = unsigned(row.get(0));
            if let Some(r) = decoded(&self.target, "outbox", &id, row.get(1)) {
                snap.outbox.push((id, r));
            }
        }
        for row in rows("SELECT id, record FROM campanile.silences").await? {
            let id: String = row.get(0);
            if let Some(r) = decoded(&self.target, "silences", &id, row.get(1)) {
                snap.silences.push(r);
            }
        }
        for row in rows("SELECT group_key, record FROM campanile.acks").await? {
            let key = text(row.get(0));
            if let Some(r) = decoded(&self.target, "acks", &key, row.get(1)) {
                snap.acks.push((key, r));
            }
        }
        for row in rows("SELECT plugin, key, record FROM campanile.plugin_state").await? {
            let (plugin, key): (String, String) = (row.get(0), text(row.get(1)));
            if let Some(r) = decoded(&self.target, "plugin_state", &(&plugin, &key), row.get(2)) {
                snap.state.push((plugin, key, r));
            }
        }
        Ok(snap)
    }
}

impl Backend for PgBackend {
    fn load(&mut self) -> Result<Snapshot, StoreError> {
        self.runtime.block_on(self.read()).map_err(|e| self.io(e))
    }

    fn apply(
        &mut self,
        ops: &[Op],
        fenced: &[Fenced],
        durable: bool,
    ) -> Result<Vec<bool>, StoreError> {
        if ops.is_empty() && fenced.is_empty() && !durable {
            return Ok(Vec::new());
        }
        self.runtime
            .block_on(self.write(ops, fenced, durable))
            .map_err(|e| self.io(e))
    }
}

/// What the groups that `mine` picks (a shard's) last notified, and their outbox entries not
/// yet delivered: what a replica taking a shard over resumes from. Records that do not decode
/// are left out with an error, as at start.
pub(crate) async fn read_groups(
    client: &Object,
    database: &str,
    mine: impl Fn(&str) -> bool,
) -> Result<(Vec<(String, NotifiedRecord)>, Vec<(u64, OutboxEntry)>), String> {
    let mut notified = Vec::new();
    for row in client
        .query("SELECT group_key, record FROM campanile.notified", &[])
        .await
        .map_err(|e| connect::describe(&e))?
    {
        let key = text(row.get(0));
        if mine(&key) {
            if let Some(record) = decoded(database, "notified", &key, row.get(1)) {
                notified.push((key, record));
            }
        }
    }
    let mut outbox = Vec::new();
    for row in client
        .query("SELECT id, record FROM campanile.outbox", &[])
        .await
        .map_err(|e| connect::describe(&e))?
    {
        let id = unsigned(row.get(0));
        if let Some(entry) = decoded::<OutboxEntry>(database, "outbox", &id, row.get(1)) {
            if mine(&entry.group_key) {
                outbox.push((id, entry));
            }
        }
    }
    Ok((notified, outbox))
}

/// A stored record, or `None` with an error naming it: one bad record must not stop a start
/// or a takeover (it stays in the table, for inspection).
fn decoded<T: serde::de::DeserializeOwned>(
    database: &str,
    table: &str,
    key: &dyn std::fmt::Debug,
    bytes: &[u8],
) -> Option<T> {
    match decode(bytes) {
        Ok(record) => Some(record),
        Err(e) => {
            tracing::error!(
                database,
                table,
                key = ?key,
                error = %e,
                "a stored record does not decode; it is left out"
            );
            None
        }
    }
}

/// Runs the statements that write `batch`, in `txn`.
async fn execute(txn: &deadpool_postgres::Transaction<'_>, batch: &Batch) -> Result<(), String> {
    for (sql, params) in batch.statements() {
        let statement = txn
            .prepare_cached(&sql)
            .await
            .map_err(|e| connect::describe(&e))?;
        txn.execute(&statement, &params)
            .await
            .map_err(|e| connect::describe(&e))?;
    }
    Ok(())
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

/// A `bigint` read back as the fingerprint or outbox id it stores.
fn unsigned(n: i64) -> u64 {
    u64::from_ne_bytes(n.to_ne_bytes())
}

impl Batch {
    /// Ordered by record: replicas writing the same alerts at once (Prometheus sends every
    /// alert to every replica) then lock their rows in one order, and never deadlock.
    fn of<'a>(ops: impl Iterator<Item = &'a Op>) -> Batch {
        let mut last: BTreeMap<Record, &Op> = BTreeMap::new();
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
    fn statements(&self) -> Vec<(String, Params<'_>)> {
        let puts: [(Table, Params<'_>, bool); 6] = [
            (
                ALERTS,
                vec![&self.alerts.0, &self.alerts.1],
                self.alerts.0.is_empty(),
            ),
            (
                NOTIFIED,
                vec![&self.notified.0, &self.notified.1],
                self.notified.0.is_empty(),
            ),
            (
                OUTBOX,
                vec![&self.outbox.0, &self.outbox.1],
                self.outbox.0.is_empty(),
            ),
            (
                SILENCES,
                vec![&self.silences.0, &self.silences.1],
                self.silences.0.is_empty(),
            ),
            (
                ACKS,
                vec![&self.acks.0, &self.acks.1],
                self.acks.0.is_empty(),
            ),
            (
                STATE,
                vec![&self.state.0, &self.state.1, &self.state.2],
                self.state.0.is_empty(),
            ),
        ];
        let deletes: [(Table, Params<'_>, bool); 6] = [
            (ALERTS, vec![&self.alerts_gone], self.alerts_gone.is_empty()),
            (
                NOTIFIED,
                vec![&self.notified_gone],
                self.notified_gone.is_empty(),
            ),
            (OUTBOX, vec![&self.outbox_gone], self.outbox_gone.is_empty()),
            (
                SILENCES,
                vec![&self.silences_gone],
                self.silences_gone.is_empty(),
            ),
            (ACKS, vec![&self.acks_gone], self.acks_gone.is_empty()),
            (
                STATE,
                vec![&self.state_gone.0, &self.state_gone.1],
                self.state_gone.0.is_empty(),
            ),
        ];
        let puts = puts
            .into_iter()
            .filter(|(_, _, empty)| !empty)
            .map(|(table, params, _)| (table.upsert(), params));
        let deletes = deletes
            .into_iter()
            .filter(|(_, _, empty)| !empty)
            .map(|(table, params, _)| (table.delete(), params));
        puts.chain(deletes).collect()
    }
}

/// A statement's parameters.
type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

/// A table of records: its name and its key columns with their types.
#[derive(Clone, Copy)]
struct Table {
    name: &'static str,
    keys: &'static [(&'static str, &'static str)],
}

const ALERTS: Table = Table {
    name: "alerts",
    keys: &[("fingerprint", "bigint")],
};
const NOTIFIED: Table = Table {
    name: "notified",
    keys: &[("group_key", "bytea")],
};
const OUTBOX: Table = Table {
    name: "outbox",
    keys: &[("id", "bigint")],
};
const SILENCES: Table = Table {
    name: "silences",
    keys: &[("id", "text")],
};
const ACKS: Table = Table {
    name: "acks",
    keys: &[("group_key", "bytea")],
};
const STATE: Table = Table {
    name: "plugin_state",
    keys: &[("plugin", "text"), ("key", "bytea")],
};

impl Table {
    fn names(&self) -> String {
        self.keys
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `$1::type[], $2::type[], …` for the keys, then `record`'s when `with_record`.
    fn arrays(&self, with_record: bool) -> String {
        let types = self.keys.iter().map(|(_, t)| *t);
        let types: Vec<&str> = if with_record {
            types.chain(["bytea"]).collect()
        } else {
            types.collect()
        };
        types
            .iter()
            .enumerate()
            .map(|(i, t)| format!("${}::{t}[]", i.saturating_add(1)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Inserts or replaces the records whose keys and values are the array parameters.
    fn upsert(&self) -> String {
        format!(
            "INSERT INTO campanile.{t} ({k}, record) SELECT * FROM unnest({a}) \
             ON CONFLICT ({k}) DO UPDATE SET record = EXCLUDED.record",
            t = self.name,
            k = self.names(),
            a = self.arrays(true),
        )
    }

    /// Deletes the records whose keys are the array parameters.
    fn delete(&self) -> String {
        let matched: Vec<String> = self
            .keys
            .iter()
            .map(|(n, _)| format!("t.{n} = gone.{n}"))
            .collect();
        format!(
            "DELETE FROM campanile.{t} AS t USING unnest({a}) AS gone ({k}) WHERE {m}",
            t = self.name,
            a = self.arrays(false),
            k = self.names(),
            m = matched.join(" AND "),
        )
    }
}
