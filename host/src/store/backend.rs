//! What a store backend does: read everything at start, and apply a batch of ops as one
//! transaction. The writer thread (`writer.rs`) owns the backend and calls it from that thread
//! only, so a backend needs no locking of its own; everything above it — group commit, retry
//! after a failure, durability — is the writer's and the same for every backend.

use super::{Fence, Op, Snapshot, StoreError};

/// The ops of one flush, to be made only under their fence.
pub(super) struct Fenced {
    pub(super) fence: Fence,
    pub(super) ops: Vec<Op>,
}

pub(super) trait Backend: Send {
    /// Everything stored. A record that does not decode is left out with an error naming it
    /// (the start goes on); a store that cannot be read at all is an error.
    fn load(&mut self) -> Result<Snapshot, StoreError>;

    /// Applies `ops` in order, then each of `fenced` whose fence holds, as one transaction:
    /// all of it or, on an error, none. Returns, per fenced set, whether it was made. When
    /// `durable`, the transaction is on stable storage before this returns; otherwise it may
    /// be made durable by a later durable call. A record is written either fenced or not,
    /// never both (the flushes' records are theirs), so the two need no common order.
    fn apply(
        &mut self,
        ops: &[Op],
        fenced: &[Fenced],
        durable: bool,
    ) -> Result<Vec<bool>, StoreError>;
}
