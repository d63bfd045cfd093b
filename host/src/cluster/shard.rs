//! Which shard a group belongs to: FNV-1a (64 bits) of its group key, modulo the shard count.
//! Every replica must compute the same shard for the same key, in every version: this function
//! is part of the stored format and never changes.

/// The shard of the group with key `group_key`, among `shards` (at least 1).
pub fn shard_of(group_key: &str, shards: u32) -> u32 {
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    h.write(group_key.as_bytes());
    let shards = u64::from(shards.max(1));
    // The remainder is below `shards`, which fits in a u32.
    u32::try_from(h.finish().checked_rem(shards).unwrap_or(0)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shard_of_a_key_is_fixed_and_keys_spread() {
        // Fixed values: a change here would move every group to another replica's shard
        // during a rolling upgrade.
        assert_eq!(
            shard_of("{}:{alertname=\"DiskFull\"}", 64),
            shard_of("{}:{alertname=\"DiskFull\"}", 64)
        );
        assert_eq!(
            shard_of("", 64),
            (0xcbf2_9ce4_8422_2325_u64 % 64) as u32,
            "FNV-1a's offset basis"
        );
        assert_eq!(shard_of("anything", 1), 0);
        let mut seen = [0u32; 8];
        for i in 0..8000 {
            seen[shard_of(&format!("{{}}:{{alertname=\"A{i}\"}}"), 8) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
    }
}
