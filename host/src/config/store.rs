//! `[store]`, typed: where durable state lives and when a write counts as made.

use std::path::PathBuf;
use std::time::Duration;

use super::Secret;

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
    pub backend: StoreBackend,
    /// The embedded database file. Its directory also holds the plugin compile cache, whichever
    /// backend runs.
    pub path: PathBuf,
    pub durability: Durability,
}

/// Where durable state lives.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreBackend {
    /// The embedded store: one redb file at `path`.
    Redb,
    /// A PostgreSQL database.
    Postgres(PostgresConfig),
}

/// `[store] backend = "postgres"`.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresConfig {
    /// A libpq connection URL or keyword string; it may hold a password.
    pub url: Secret<String>,
    /// Most connections open at once.
    pub pool_size: usize,
    /// The server cancels a statement that runs longer (PostgreSQL's `statement_timeout`).
    pub statement_timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// PEM certificates of a private CA, trusted beside the web's roots for TLS.
    pub ca_file: Option<PathBuf>,
}

impl StoreConfig {
    /// The embedded store in the file `path`.
    pub fn embedded(path: impl Into<PathBuf>, durability: Durability) -> Self {
        StoreConfig {
            backend: StoreBackend::Redb,
            path: path.into(),
            durability,
        }
    }

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
