//! `[store]`, typed: where durable state lives and when a write counts as made.

use std::path::PathBuf;
use std::time::Duration;

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// After the transaction holding it is on disk (fsync). Concurrent writes share commits.
    Immediate,
    /// Before it is on disk; the writer makes everything durable at least every
    /// `flush_interval`. A crash loses at most that window; a clean shutdown loses nothing.
    Deferred { flush_interval: Duration },
    /// Nothing is written: state lives in memory only and is lost on restart.
    Off,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// The database file.
    pub path: PathBuf,
    pub durability: Durability,
}

impl StoreConfig {
    /// Where compiled plugins are cached: `plugin-cache/` beside the database file (as an
    /// absolute path, which the cache needs), unless nothing is to be written
    /// (`durability = "off"`).
    pub fn plugin_cache_dir(&self) -> Option<PathBuf> {
        if matches!(self.durability, Durability::Off) {
            return None;
        }
        let dir = self.path.parent().unwrap_or(std::path::Path::new("."));
        std::path::absolute(dir.join("plugin-cache")).ok()
    }
}
