//! Several replicas on one PostgreSQL store (`[cluster]`): the groups are hashed into shards
//! (`shard`), and each shard is flushed by the one replica holding its lease (`lease`), whose
//! epoch fences the flush's writes. See ARCHITECTURE.md, "Cluster".

mod lease;
mod runner;
mod shard;

pub use lease::{ClusterError, Held, Leases, Peer, Round};
pub use runner::{run, Replay};
pub use shard::shard_of;
