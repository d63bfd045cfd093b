//! Several replicas on one PostgreSQL store (`[cluster]`): the groups are hashed into shards
//! (`shard`), and each shard is flushed by the one replica holding its lease (`lease`), whose
//! epoch fences the flush's writes; what any replica writes to the shared state reaches the
//! others' memory through the change feed (`sync`). See ARCHITECTURE.md, "Cluster".

mod lease;
mod runner;
mod shard;
mod sync;

pub use lease::{ClusterError, Held, Leases, Peer, Round};
pub use runner::{run, Membership, Replay};
pub use shard::shard_of;
pub use sync::{Applied, Replicated, StateSync, SyncError, KEEP, POLL};
