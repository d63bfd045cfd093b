//! The incident key PagerDuty (`dedup_key`) and Opsgenie (`alias`) fold events by: a SHA-256 of
//! the receiver's name and the group key, in hex. It is the same for every notification of a
//! group — a trigger and its resolve, a retry, a re-delivery from the outbox after a restart —
//! so a resolve closes the incident its trigger opened, and a repeat never opens a second one.

use std::fmt::Write;

use sha2::{Digest, Sha256};

use super::Notification;

/// 64 lowercase hex digits (PagerDuty allows 255, Opsgenie 512).
pub fn key(n: &Notification) -> String {
    let mut hash = Sha256::new();
    hash.update(n.receiver.as_bytes());
    hash.update([0]);
    hash.update(n.flush.key.as_bytes());
    let mut out = String::with_capacity(64);
    for b in hash.finalize() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::tests::disk_full;

    #[test]
    fn stable_per_receiver_and_group() {
        let n = disk_full();
        let k = key(&n);
        assert_eq!(k.len(), 64);
        assert!(k
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(key(&disk_full()), k, "same group, same key");
        let mut other = disk_full();
        other.receiver = "other".into();
        assert_ne!(key(&other), k, "each receiver has its own incident");
    }
}
