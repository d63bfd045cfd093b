//! Versioned schema migrations, applied at start. Each migration runs once, in order, in one
//! transaction with the others under an advisory lock, so replicas starting together do not
//! race; `campanile.schema_migrations` records which ran, which campanile ran it, and from
//! migration 4 on which schema versions can still run against what it left (`readable_from`).
//!
//! **Version skew.** A database whose schema is newer than this binary knows is served only when
//! every newer migration says this binary's schema can read it (an additive change: a table, a
//! nullable column, an index — records carry new fields only as optional ones, which older
//! decoders skip); otherwise it is refused, as an older campanile must not write records a newer
//! one reads differently. So one release of skew, during a rolling upgrade, is safe whenever the
//! newer release's migrations are additive, and refused at start, with the version to run,
//! when they are not.

use deadpool_postgres::Object;

use super::connect::describe;

/// One schema migration.
struct Migration {
    version: i32,
    sql: &'static str,
    /// The oldest schema version whose binaries run correctly against the schema it leaves.
    readable_from: i32,
}

/// The migrations, in order. Never edit a released one; add the next.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("0001_init.sql"),
        readable_from: 1,
    },
    Migration {
        version: 2,
        sql: include_str!("0002_cluster.sql"),
        readable_from: 2,
    },
    Migration {
        version: 3,
        sql: include_str!("0003_changes.sql"),
        readable_from: 3,
    },
    Migration {
        version: 4,
        sql: include_str!("0004_readable_from.sql"),
        readable_from: 3,
    },
];

/// The migration that added `readable_from`: the rows of those before it leave it empty.
const READABLE_FROM_SINCE: i32 = 4;

/// The newest schema version this binary knows.
pub(super) const LATEST: i32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Any constant the replicas agree on: the advisory lock migrations hold.
const MIGRATION_LOCK: i64 = 0x63_61_6d_70_61_6e; // "campan"

pub(crate) async fn migrate(client: &mut Object) -> Result<(), String> {
    let txn = client.transaction().await.map_err(|e| describe(&e))?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| describe(&e))?;
    txn.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS campanile;
         CREATE TABLE IF NOT EXISTS campanile.schema_migrations (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now(),
             applied_by text NOT NULL
         );",
    )
    .await
    .map_err(|e| describe(&e))?;
    let current: i32 = txn
        .query_one(
            "SELECT coalesce(max(version), 0) FROM campanile.schema_migrations",
            &[],
        )
        .await
        .map_err(|e| describe(&e))?
        .get(0);
    if current > LATEST {
        // Newer than this binary: served only if every newer migration says it can be.
        let needs: i32 = txn
            .query_one(
                "SELECT max(coalesce(readable_from, version)) FROM campanile.schema_migrations \
                 WHERE version > $1",
                &[&LATEST],
            )
            .await
            .map_err(|e| describe(&e))?
            .get(0);
        if needs > LATEST {
            return Err(format!(
                "the database's campanile schema is version {current}, which needs a campanile \
                 knowing schema {needs} or newer; this campanile ({}) knows up to {LATEST}: run \
                 a campanile at least as new as the one that migrated it",
                env!("CARGO_PKG_VERSION")
            ));
        }
        tracing::warn!(
            schema = current,
            known = LATEST,
            "the database's schema is newer than this campanile knows, and its newer migrations \
             say this one runs correctly against it (a rolling upgrade): upgrade this replica too"
        );
        return txn.commit().await.map_err(|e| describe(&e));
    }
    let by = format!("campanile {}", env!("CARGO_PKG_VERSION"));
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        let version = m.version;
        txn.batch_execute(m.sql)
            .await
            .map_err(|e| format!("schema migration {version}: {}", describe(&e)))?;
        let recorded = if version >= READABLE_FROM_SINCE {
            txn.execute(
                "INSERT INTO campanile.schema_migrations (version, applied_by, readable_from) \
                 VALUES ($1, $2, $3)",
                &[&version, &by, &m.readable_from],
            )
            .await
        } else {
            txn.execute(
                "INSERT INTO campanile.schema_migrations (version, applied_by) VALUES ($1, $2)",
                &[&version, &by],
            )
            .await
        };
        recorded.map_err(|e| describe(&e))?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
    txn.commit().await.map_err(|e| describe(&e))
}
