//! Routing plugins' own state: a small key/value map per plugin, with optional expiry, kept in
//! memory and written through to the store so it survives restarts. No plugin can reach
//! another's keys: the host always supplies the plugin's name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use crate::store::{Op, Store, StoredState};

/// Largest key plus value one `state-set` may store.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Most bytes (keys plus values) one plugin may hold.
pub const MAX_PLUGIN_BYTES: usize = 1024 * 1024;

/// Why a value was not stored.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StateError {
    #[error("key and value are {0} bytes; the limit per value is {MAX_VALUE_BYTES}")]
    ValueTooLarge(usize),
    #[error("the plugin's state would be {0} bytes; the limit per plugin is {MAX_PLUGIN_BYTES}")]
    PluginFull(usize),
}

#[derive(Debug, Clone)]
struct Entry {
    value: String,
    expires_at: Option<OffsetDateTime>,
}

impl Entry {
    fn live(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// Every plugin's state.
pub struct PluginState {
    plugins: Mutex<HashMap<String, HashMap<String, Entry>>>,
    /// Where changes are written; `None` keeps them in memory (check-config, dry runs).
    store: Option<Arc<Store>>,
}

impl PluginState {
    /// The state as stored, for start-up.
    pub fn new(store: Arc<Store>, stored: Vec<(String, String, StoredState)>) -> Self {
        let mut plugins: HashMap<String, HashMap<String, Entry>> = HashMap::new();
        for (plugin, key, s) in stored {
            plugins.entry(plugin).or_default().insert(
                key,
                Entry {
                    value: s.value,
                    expires_at: s.expires_at,
                },
            );
        }
        PluginState {
            plugins: Mutex::new(plugins),
            store: Some(store),
        }
    }

    /// State that lives in memory only, for tools that route without a store.
    pub fn in_memory() -> Self {
        PluginState {
            plugins: Mutex::new(HashMap::new()),
            store: None,
        }
    }

    fn write(&self, ops: Vec<Op>) {
        if let (Some(store), false) = (&self.store, ops.is_empty()) {
            store.submit(ops);
        }
    }

    pub fn get(&self, plugin: &str, key: &str, now: OffsetDateTime) -> Option<String> {
        let plugins = self.plugins.lock().expect("plugin state lock");
        let entry = plugins.get(plugin)?.get(key)?;
        entry.live(now).then(|| entry.value.clone())
    }

    pub fn set(
        &self,
        plugin: &str,
        key: String,
        value: String,
        ttl_seconds: Option<u32>,
        now: OffsetDateTime,
    ) -> Result<(), StateError> {
        let size = key.len() + value.len();
        if size > MAX_VALUE_BYTES {
            return Err(StateError::ValueTooLarge(size));
        }
        let mut plugins = self.plugins.lock().expect("plugin state lock");
        let map = plugins.entry(plugin.to_string()).or_default();
        let expired = purge_expired(map, now);
        let total: usize = map
            .iter()
            .filter(|(k, _)| **k != key)
            .map(|(k, e)| k.len() + e.value.len())
            .sum::<usize>()
            + size;
        let mut ops: Vec<Op> = expired
            .into_iter()
            .map(|k| Op::DeleteState(plugin.to_string(), k))
            .collect();
        if total > MAX_PLUGIN_BYTES {
            self.write(ops);
            return Err(StateError::PluginFull(total));
        }
        let entry = Entry {
            value,
            expires_at: ttl_seconds
                .map(|s| crate::clock::shift(now, time::Duration::seconds(s.into()))),
        };
        ops.push(Op::PutState(
            plugin.to_string(),
            key.clone(),
            StoredState {
                value: entry.value.clone(),
                expires_at: entry.expires_at,
            },
        ));
        map.insert(key, entry);
        self.write(ops);
        Ok(())
    }

    /// Takes in a value another replica changed (`cluster::sync`), as committed now (`None`:
    /// deleted) — in memory only, as the store has it. Limits are not checked: the writer did.
    pub fn apply_committed(&self, plugin: &str, key: &str, stored: Option<StoredState>) {
        let mut plugins = self.plugins.lock().expect("plugin state lock");
        match stored {
            Some(s) => {
                let entry = Entry {
                    value: s.value,
                    expires_at: s.expires_at,
                };
                plugins
                    .entry(plugin.to_string())
                    .or_default()
                    .insert(key.to_string(), entry);
            }
            None => {
                if let Some(map) = plugins.get_mut(plugin) {
                    map.remove(key);
                    if map.is_empty() {
                        plugins.remove(plugin);
                    }
                }
            }
        }
    }

    /// Every key held, as (plugin, key).
    pub fn keys(&self) -> Vec<(String, String)> {
        let plugins = self.plugins.lock().expect("plugin state lock");
        plugins
            .iter()
            .flat_map(|(p, map)| map.keys().map(|k| (p.clone(), k.clone())))
            .collect()
    }

    pub fn delete(&self, plugin: &str, key: &str) {
        let mut plugins = self.plugins.lock().expect("plugin state lock");
        if let Some(map) = plugins.get_mut(plugin) {
            if map.remove(key).is_some() {
                self.write(vec![Op::DeleteState(plugin.to_string(), key.to_string())]);
            }
        }
    }
}

/// Drops the expired entries of one plugin; returns their keys.
fn purge_expired(map: &mut HashMap<String, Entry>, now: OffsetDateTime) -> Vec<String> {
    let expired: Vec<String> = map
        .iter()
        .filter(|(_, e)| !e.live(now))
        .map(|(k, _)| k.clone())
        .collect();
    for k in &expired {
        map.remove(k);
    }
    expired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Durability, StoreConfig};

    fn state() -> (PluginState, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::embedded(dir.path().join("s.redb"), Durability::Off);
        let (store, _) = Store::open(&config).unwrap();
        (PluginState::new(store, Vec::new()), dir)
    }

    #[test]
    fn plugins_are_isolated_and_values_expire() {
        let (s, _dir) = state();
        let now = OffsetDateTime::now_utc();
        s.set("a", "k".into(), "1".into(), None, now).unwrap();
        s.set("a", "t".into(), "2".into(), Some(60), now).unwrap();
        assert_eq!(s.get("a", "k", now).as_deref(), Some("1"));
        assert_eq!(s.get("b", "k", now), None, "another plugin's key");
        assert_eq!(s.get("a", "t", now).as_deref(), Some("2"));
        let later = now + time::Duration::seconds(61);
        assert_eq!(s.get("a", "t", later), None, "expired");
        s.delete("a", "k");
        assert_eq!(s.get("a", "k", now), None);
    }

    #[test]
    fn limits_refuse_and_keep_what_was_there() {
        let (s, _dir) = state();
        let now = OffsetDateTime::now_utc();
        let big = "x".repeat(MAX_VALUE_BYTES);
        assert!(matches!(
            s.set("a", "k".into(), big, None, now),
            Err(StateError::ValueTooLarge(_))
        ));
        let chunk = "y".repeat(MAX_VALUE_BYTES - 8);
        let mut stored = 0;
        let err = loop {
            match s.set("a", format!("k{stored:06}"), chunk.clone(), None, now) {
                Ok(()) => stored += 1,
                Err(e) => break e,
            }
        };
        assert!(matches!(err, StateError::PluginFull(_)), "{err}");
        assert_eq!(stored, MAX_PLUGIN_BYTES / MAX_VALUE_BYTES);
        assert!(s.get("a", "k000000", now).is_some());
        // Replacing a key does not count its old value twice.
        s.set("a", "k000000".into(), chunk, None, now).unwrap();
    }
}
