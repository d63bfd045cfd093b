//! campanile on a real PostgreSQL (a throw-away cluster made with `initdb`, see
//! `harness/third_party/postgres.rs`), through the library:
//!
//! - `store.rs`: the store backend — reopen, one transaction per batch, bad records, schema
//!   versions, concurrent migrations, the database going away and coming back;
//! - `leases.rs`: the cluster's leases — shares, takeover after the TTL, a paused holder,
//!   fencing by epoch, a graceful leave, duplicate names and shard counts refused.

#[path = "../harness/mod.rs"]
mod harness;

mod leases;
mod store;
