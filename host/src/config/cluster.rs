//! `[cluster]`, typed: this replica's name and the lease settings every replica of one
//! database shares.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// This replica's name, unique in the cluster: the holder named in its leases.
    pub replica: String,
    /// How long a lease lasts unrenewed: a dead replica's shards are taken over after it.
    pub lease_ttl: Duration,
    /// How many shards the group keys are hashed into; the same for every replica of a
    /// database (the first replica records it, the others must agree).
    pub shards: u32,
    /// The URL other replicas and operators reach this one at (shown in the status).
    pub advertise: String,
}
