//! Versioned schema migrations, applied at start. Each migration runs once, in order, in one
//! transaction with the others under an advisory lock, so replicas starting together do not
//! race; `campanile.schema_migrations` records which ran and which campanile ran it. A database
//! whose schema is newer than this binary knows is refused: an older campanile must not write
//! records a newer one reads differently.

use deadpool_postgres::Object;

use super::connect::describe;

/// The migrations, in order: (version, SQL). Never edit a released one; add the next.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("0001_init.sql")),
    (2, include_str!("0002_cluster.sql")),
    (3, include_str!("0003_changes.sql")),
];

/// The newest schema version this binary knows.
pub(super) const LATEST: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

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
        return Err(format!(
            "the database's campanile schema is version {current}, newer than this campanile \
             ({}) knows (up to {LATEST}): run a campanile at least as new as the one that \
             migrated it",
            env!("CARGO_PKG_VERSION")
        ));
    }
    let by = format!("campanile {}", env!("CARGO_PKG_VERSION"));
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        txn.batch_execute(sql)
            .await
            .map_err(|e| format!("schema migration {version}: {}", describe(&e)))?;
        txn.execute(
            "INSERT INTO campanile.schema_migrations (version, applied_by) VALUES ($1, $2)",
            &[version, &by],
        )
        .await
        .map_err(|e| describe(&e))?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
    txn.commit().await.map_err(|e| describe(&e))
}
