//! Deduplication: the cache of live alerts that folds re-sent alerts into one, by their
//! fingerprint (`model::Fingerprint`).

pub mod cache;
mod expiring;
mod sources;

pub use cache::{AlertCache, CacheFull};
