//! A concurrent map from fingerprint to value in which each entry carries its own deadline.
//!
//! Sharded `HashMap`s behind mutexes: an entry costs its key, its value and an 8-byte
//! deadline, and a walk of every entry is a walk of the tables. Nothing is ever evicted to make
//! room. An entry past its deadline is invisible at once ([`ExpiringMap::get`],
//! [`ExpiringMap::for_each`], and [`ExpiringMap::update`] sees it as absent) and is removed by
//! the next [`ExpiringMap::sweep`], which names its key; until then it is counted by
//! [`ExpiringMap::len`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::model::Fingerprint;

/// Enough for two cores' workers and the API's walks not to wait on one another.
const SHARD_BITS: u32 = 5;
const SHARDS: usize = 1 << SHARD_BITS;

/// What [`ExpiringMap::update`]'s closure does with the entry it was shown.
pub enum Write<V> {
    /// The entry stays as it is, deadline and all (nothing is inserted if there was none).
    Keep,
    /// The entry becomes `V`, expiring the given time from now.
    Put(V, Duration),
}

struct Slot<V> {
    value: V,
    /// Milliseconds since the map's epoch.
    expires: u64,
}

type Shard<V> = HashMap<Fingerprint, Slot<V>>;

pub struct ExpiringMap<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    /// Entries held, expired ones included until swept: changed under a shard's lock.
    count: AtomicU64,
    epoch: Instant,
}

impl<V: Clone> ExpiringMap<V> {
    pub fn new() -> Self {
        ExpiringMap {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            count: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// The live value under `fp`.
    pub fn get(&self, fp: &Fingerprint) -> Option<V> {
        let now = self.now();
        let shard = self.shard(fp);
        shard
            .get(fp)
            .filter(|slot| slot.expires > now)
            .map(|slot| slot.value.clone())
    }

    /// Shows `f` the live value under `fp` (none if absent or expired) and does what it says,
    /// atomically with respect to every other call for `fp`.
    pub fn update<R>(&self, fp: Fingerprint, f: impl FnOnce(Option<&V>) -> (Write<V>, R)) -> R {
        let now = self.now();
        let mut shard = self.shard(&fp);
        let live = shard.get(&fp).filter(|slot| slot.expires > now);
        let (write, out) = f(live.map(|slot| &slot.value));
        if let Write::Put(value, ttl) = write {
            let expires = now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
            // An expired entry replaced in place is not counted again.
            if shard.insert(fp, Slot { value, expires }).is_none() {
                self.count.fetch_add(1, Ordering::Relaxed);
            }
        }
        out
    }

    /// Calls `f` with every live value, one shard locked at a time, in no particular order.
    pub fn for_each(&self, mut f: impl FnMut(&V)) {
        let now = self.now();
        for shard in self.shards.iter() {
            let shard = lock(shard);
            for slot in shard.values().filter(|slot| slot.expires > now) {
                f(&slot.value);
            }
        }
    }

    /// Removes every expired entry, calling `gone` with each key while its shard is still
    /// locked: whatever `gone` does for a key happens before any later write of that key (so a
    /// deletion it submits cannot land after the store write of a fresh alert with the same
    /// fingerprint). `gone` must not call back into the map.
    pub fn sweep(&self, mut gone: impl FnMut(Fingerprint)) {
        let now = self.now();
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let mut removed = 0u64;
            shard.retain(|fp, slot| {
                let live = slot.expires > now;
                if !live {
                    gone(*fp);
                    removed += 1;
                }
                live
            });
            self.count.fetch_sub(removed, Ordering::Relaxed);
        }
    }

    /// Entries held, counting expired ones until they are swept.
    pub fn len(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Milliseconds since the map's epoch: what deadlines are measured in.
    pub fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn shard(&self, fp: &Fingerprint) -> MutexGuard<'_, Shard<V>> {
        // Fibonacci hashing spreads fingerprints over the shards. A sender who crafts labels to
        // crowd one shard only makes its callers wait on one lock: each shard's table hashes
        // its keys with its own random seed.
        let i = (fp.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SHARD_BITS)) as usize;
        lock(&self.shards[i])
    }
}

impl<V: Clone> Default for ExpiringMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

/// A panic while a shard was held leaves its table whole (every change to it is one call), so
/// the lock is taken again rather than poisoning every later alert.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(m: &ExpiringMap<u32>, fp: u64, v: u32, ttl: Duration) -> Option<u32> {
        m.update(Fingerprint(fp), |old| (Write::Put(v, ttl), old.copied()))
    }

    fn swept(m: &ExpiringMap<u32>) -> Vec<Fingerprint> {
        let mut gone = Vec::new();
        m.sweep(|fp| gone.push(fp));
        gone
    }

    #[test]
    fn an_entry_is_seen_until_its_deadline_then_swept() {
        let m = ExpiringMap::new();
        put(&m, 1, 10, Duration::from_millis(40));
        put(&m, 2, 20, Duration::from_secs(60));
        assert_eq!(m.get(&Fingerprint(1)), Some(10));
        assert_eq!(m.len(), 2);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(m.get(&Fingerprint(1)), None, "expired: invisible at once");
        let mut seen = Vec::new();
        m.for_each(|v| seen.push(*v));
        assert_eq!(seen, [20]);
        assert_eq!(m.len(), 2, "counted until swept");
        assert_eq!(swept(&m), [Fingerprint(1)]);
        assert_eq!(m.len(), 1);
        assert!(swept(&m).is_empty());
    }

    #[test]
    fn an_expired_entry_is_absent_to_update_and_replaced_without_a_second_count() {
        let m = ExpiringMap::new();
        put(&m, 1, 10, Duration::ZERO);
        assert_eq!(put(&m, 1, 11, Duration::from_secs(60)), None);
        assert_eq!(m.len(), 1);
        assert_eq!(put(&m, 1, 12, Duration::from_secs(60)), Some(11));
        assert_eq!(m.len(), 1);
        assert!(swept(&m).is_empty(), "the replaced entry is live");
    }

    #[test]
    fn keep_leaves_the_entry_and_inserts_nothing() {
        let m = ExpiringMap::new();
        let seen = m.update(Fingerprint(7), |old| (Write::Keep, old.copied()));
        assert_eq!((seen, m.len(), m.get(&Fingerprint(7))), (None, 0, None));
        put(&m, 7, 70, Duration::from_secs(60));
        m.update(Fingerprint(7), |_| (Write::<u32>::Keep, ()));
        assert_eq!(m.get(&Fingerprint(7)), Some(70));
    }

    #[test]
    fn a_deadline_past_the_clocks_range_never_comes() {
        let m = ExpiringMap::new();
        put(&m, 1, 10, Duration::MAX);
        assert_eq!(m.get(&Fingerprint(1)), Some(10));
        assert!(swept(&m).is_empty());
    }

    #[test]
    fn every_shard_is_walked() {
        let m = ExpiringMap::new();
        for fp in 0..1_000u64 {
            put(
                &m,
                fp.wrapping_mul(0x1234_5678_9abc_def1),
                fp as u32,
                Duration::MAX,
            );
        }
        let mut sum = 0u64;
        m.for_each(|v| sum += u64::from(*v));
        assert_eq!((m.len(), sum), (1_000, 999 * 1_000 / 2));
    }

    #[test]
    fn concurrent_writers_count_each_key_once() {
        let m = std::sync::Arc::new(ExpiringMap::new());
        let writers: Vec<_> = (0..4u32)
            .map(|w| {
                let m = m.clone();
                std::thread::spawn(move || {
                    // Every writer writes the same 2,000 keys, each with its own value.
                    for fp in 0..2_000u64 {
                        put(&m, fp, w, Duration::from_secs(60));
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let mut seen = 0u64;
        m.for_each(|v| {
            assert!(*v < 4);
            seen += 1;
        });
        assert_eq!((m.len(), seen), (2_000, 2_000));
    }
}
