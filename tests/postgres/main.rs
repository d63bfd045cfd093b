//! campanile on a real PostgreSQL (a throw-away cluster made with `initdb`, see
//! `harness/third_party/postgres.rs`), through the library:
//!
//! - `store.rs`: the store backend — reopen, one transaction per batch, bad records, schema
//!   versions, concurrent migrations, the database going away and coming back;
//! - `leases.rs`: the cluster's leases — shares, takeover after the TTL, a paused holder,
//!   fencing by epoch, a graceful leave, duplicate names and shard counts refused;
//! - `sync.rs`: the shared-state change feed — silences, acknowledgements, plugin state and
//!   alerts written on one replica in the other's memory within a second, own writes skipped,
//!   late commits and a start's window not missed, a trimmed feed read whole.

#[path = "../harness/mod.rs"]
mod harness;

mod leases;
mod store;
mod sync;
