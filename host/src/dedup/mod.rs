//! Deduplication: an alert's identity (its fingerprint) and the cache of live alerts that
//! folds re-sent alerts into one.

pub mod cache;
pub mod fingerprint;

pub use cache::{AlertCache, CacheFull};
