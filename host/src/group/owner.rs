//! Which groups this replica may flush. Alone (no `[cluster]`) it flushes every group; in a
//! cluster each group belongs to a shard, and only the replica holding that shard's lease
//! flushes it, under the lease's fence. The dispatcher asks an [`Owner`] before every flush; a
//! flush carries the [`FlushLease`] it was made under, whose writes the store fences and whose
//! deliveries start only while the lease still holds.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::store::{Fence, NotifiedRecord};

/// Who holds which shard (the cluster's leases).
pub trait Owner: Send + Sync {
    /// The shard of the group with `key`.
    fn shard(&self, key: &str) -> u32;
    /// The fence under which this replica holds `shard` now, if it does.
    fn fence(&self, shard: u32) -> Option<Fence>;
    /// How long after its holder stops a shard is held by another replica, at most: a
    /// replica that does not hold a group forgets its resolved alerts after this and the
    /// group's interval (see [`super::AggrGroup::pass`]).
    fn takeover_within(&self) -> std::time::Duration;
}

/// The lease a flush was made under.
#[derive(Clone)]
pub struct FlushLease {
    pub fence: Fence,
    owner: Arc<dyn Owner>,
}

impl FlushLease {
    pub fn new(fence: Fence, owner: Arc<dyn Owner>) -> Self {
        FlushLease { fence, owner }
    }

    /// Whether this replica still holds the shard at the flush's epoch: a delivery of the flush
    /// starts (or retries) only then; otherwise its outbox entry is the new holder's to send.
    pub fn holds(&self) -> bool {
        self.owner
            .fence(self.fence.shard)
            .is_some_and(|f| f.epoch == self.fence.epoch)
    }
}

impl fmt::Debug for FlushLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlushLease")
            .field("fence", &self.fence)
            .finish()
    }
}

/// A shard this replica has taken, with what its groups last notified, read from the store
/// after the lease was taken: the dispatcher resumes their timers from it before it flushes any
/// of them.
#[derive(Debug)]
pub struct Takeover {
    pub shard: u32,
    pub epoch: i64,
    pub records: HashMap<String, NotifiedRecord>,
}
