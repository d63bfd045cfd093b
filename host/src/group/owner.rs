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
    /// Whether this replica's lease on `shard` at `epoch` is unsettled: no longer believed in
    /// (a lease round is late), yet not found lost by any round either, so the next round may
    /// renew it at the same epoch.
    fn unsettled(&self, shard: u32, epoch: i64) -> bool;
}

/// How often a delivery or a due group waiting on an unsettled lease looks again.
pub const SETTLE_POLL: std::time::Duration = std::time::Duration::from_millis(50);

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

    /// Whether this replica holds the shard at the flush's epoch, once the lease rounds have
    /// settled it. A lease whose round is late is neither held nor lost; the next round renews
    /// it at the same epoch, and then no takeover reads the flush's outbox entry. So a delivery
    /// that gave up on it then would be lost. This waits while the lease is unsettled, up to
    /// [`Owner::takeover_within`]; past that, the shard is another replica's to deliver.
    pub async fn settled(&self) -> bool {
        let give_up =
            crate::clock::deadline(tokio::time::Instant::now(), self.owner.takeover_within());
        loop {
            if self.holds() {
                return true;
            }
            if !self.owner.unsettled(self.fence.shard, self.fence.epoch)
                || tokio::time::Instant::now() >= give_up
            {
                return false;
            }
            tokio::time::sleep(SETTLE_POLL).await;
        }
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

/// One shard (0) whose lease a test moves between believed in, unsettled and lost.
#[cfg(test)]
pub(super) mod one_shard {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::Owner;
    use crate::store::Fence;

    /// Shard 0's lease as this replica sees it.
    #[derive(Clone, Copy, PartialEq)]
    pub enum Seen {
        Held,
        /// Its round is late: neither held nor lost.
        Late,
        Lost,
    }

    /// The lease at epoch 7, takeovers within 4 s.
    pub struct OneShard(Mutex<Seen>);

    impl OneShard {
        pub fn new(seen: Seen) -> Self {
            OneShard(Mutex::new(seen))
        }

        pub fn set(&self, seen: Seen) {
            *self.0.lock().unwrap() = seen;
        }

        fn is(&self, seen: Seen) -> bool {
            *self.0.lock().unwrap() == seen
        }
    }

    pub fn fence(shard: u32) -> Fence {
        Fence {
            replica: "a".into(),
            shard,
            epoch: 7,
        }
    }

    impl Owner for OneShard {
        fn shard(&self, _: &str) -> u32 {
            0
        }
        fn fence(&self, shard: u32) -> Option<Fence> {
            self.is(Seen::Held).then(|| fence(shard))
        }
        fn takeover_within(&self) -> Duration {
            Duration::from_secs(4)
        }
        fn unsettled(&self, _: u32, epoch: i64) -> bool {
            epoch == 7 && self.is(Seen::Late)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::one_shard::{fence, OneShard, Seen};
    use super::*;

    /// The lease starts as `first`, and becomes `then` after a second.
    async fn settles(first: Seen, then: Seen) -> bool {
        let owner = Arc::new(OneShard::new(first));
        let lease = FlushLease::new(fence(0), owner.clone());
        let later = owner.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            later.set(then);
        });
        lease.settled().await
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_round_that_renews_the_lease_keeps_the_delivery_here() {
        assert!(settles(Seen::Late, Seen::Held).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_round_that_loses_the_lease_leaves_the_delivery_to_the_new_holder() {
        assert!(!settles(Seen::Late, Seen::Lost).await);
        assert!(
            !settles(Seen::Lost, Seen::Held).await,
            "lost is settled: no wait"
        );
        assert!(settles(Seen::Held, Seen::Lost).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_that_stays_unsettled_is_given_up_after_the_takeover_time() {
        let owner = Arc::new(OneShard::new(Seen::Late));
        let lease = FlushLease::new(fence(0), owner);
        let started = tokio::time::Instant::now();
        assert!(!lease.settled().await);
        assert!(started.elapsed() >= Duration::from_secs(4));
    }
}
