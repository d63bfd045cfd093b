//! Where each alert lives in the `alerts` table: a key in order of arrival (its *slot*), not its
//! fingerprint. Fingerprints are hashes, so a batch of new alerts keyed by them lands on as many
//! B-tree leaves as it has alerts, and every one of those pages is copied, written and synced by
//! the commit; keyed by arrival, a storm's new alerts fill the last leaves, a few pages per
//! commit. Each record carries its fingerprint; this map (rebuilt at load) finds the slot of an
//! alert to update or delete.
//!
//! Changes are made in a [`Pending`] set during a transaction and taken in only once it
//! commits, so a failed transaction leaves the map as the file is.

use std::collections::HashMap;

/// Fingerprint → slot, for every alert in the file, and the next free slot.
#[derive(Default)]
pub(super) struct Slots {
    by_fingerprint: HashMap<u64, u64>,
    next: u64,
}

impl Slots {
    /// Takes note of a stored alert (at load).
    pub(super) fn found(&mut self, fingerprint: u64, slot: u64) {
        self.by_fingerprint.insert(fingerprint, slot);
        self.next = self.next.max(slot.saturating_add(1));
    }

    /// A set of changes to make in one transaction.
    pub(super) fn pending(&self) -> Pending<'_> {
        Pending {
            slots: self,
            changes: HashMap::new(),
            next: self.next,
        }
    }

    /// Takes in the changes of a transaction that committed.
    pub(super) fn commit(&mut self, changes: Changes) {
        for (fingerprint, slot) in changes.slots {
            match slot {
                Some(slot) => self.by_fingerprint.insert(fingerprint, slot),
                None => self.by_fingerprint.remove(&fingerprint),
            };
        }
        self.next = changes.next;
    }
}

/// What a transaction did to the map: per fingerprint its slot, or `None` once deleted.
pub(super) struct Changes {
    slots: HashMap<u64, Option<u64>>,
    next: u64,
}

/// The map as a transaction in progress sees it.
pub(super) struct Pending<'a> {
    slots: &'a Slots,
    changes: HashMap<u64, Option<u64>>,
    next: u64,
}

impl Pending<'_> {
    fn slot(&self, fingerprint: u64) -> Option<u64> {
        match self.changes.get(&fingerprint) {
            Some(changed) => *changed,
            None => self.slots.by_fingerprint.get(&fingerprint).copied(),
        }
    }

    /// The slot to write the alert `fingerprint` to: its own, or the next free one.
    pub(super) fn put(&mut self, fingerprint: u64) -> u64 {
        if let Some(slot) = self.slot(fingerprint) {
            return slot;
        }
        let slot = self.next;
        self.next += 1;
        self.changes.insert(fingerprint, Some(slot));
        slot
    }

    /// The slot to delete, if the alert `fingerprint` is stored.
    pub(super) fn delete(&mut self, fingerprint: u64) -> Option<u64> {
        let slot = self.slot(fingerprint)?;
        self.changes.insert(fingerprint, None);
        Some(slot)
    }

    pub(super) fn into_changes(self) -> Changes {
        Changes {
            slots: self.changes,
            next: self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_alerts_take_the_next_slots_and_keep_them() {
        let mut slots = Slots::default();
        slots.found(7, 4);
        let mut pending = slots.pending();
        assert_eq!(pending.put(7), 4, "a stored alert keeps its slot");
        assert_eq!((pending.put(1), pending.put(2)), (5, 6));
        assert_eq!(pending.put(1), 5);
        assert_eq!(pending.delete(7), Some(4));
        assert_eq!(pending.delete(7), None);
        assert_eq!(pending.put(7), 7, "deleted, then new again: a new slot");
        slots.commit(pending.into_changes());
        let mut after = slots.pending();
        assert_eq!((after.put(1), after.put(7), after.put(3)), (5, 7, 8));
    }

    #[test]
    fn a_transaction_not_taken_in_changes_nothing() {
        let mut slots = Slots::default();
        slots.found(7, 0);
        let mut failed = slots.pending();
        failed.put(1);
        assert_eq!(failed.delete(7), Some(0));
        drop(failed);
        let mut next = slots.pending();
        assert_eq!((next.delete(7), next.put(1)), (Some(0), 1));
    }
}
