//! The plugin's own durable key/value state, kept by the host.
//!
//! State is per plugin (no plugin sees another's keys), survives host restarts, and is shared
//! by every group the plugin routes, so key it by what it describes — for example the group
//! key. Values are strings; serialise anything richer (a number, JSON) yourself. The host
//! limits each key plus value to 64 KiB and one plugin's state to 1 MiB; [`set`] fails (and
//! stores nothing) past those.
//!
//! ```
//! use campanile_sdk::{state, testing};
//!
//! state::set("pages-today", "3").unwrap();
//! assert_eq!(state::get("pages-today").as_deref(), Some("3"));
//! state::delete("pages-today");
//! assert_eq!(state::get("pages-today"), None);
//! ```

use std::time::Duration;

/// The value stored under `key`, or `None` if there is none or it expired.
///
/// ```
/// use campanile_sdk::state;
///
/// assert_eq!(state::get("never-set"), None);
/// ```
pub fn get(key: &str) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::campanile::router::host::state_get(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_state_get(key)
    }
}

/// Stores `value` under `key`, replacing what was there, until deleted.
///
/// ```
/// use campanile_sdk::state;
///
/// state::set("owner", "team-db").unwrap();
/// assert_eq!(state::get("owner").as_deref(), Some("team-db"));
/// ```
pub fn set(key: &str, value: &str) -> Result<(), String> {
    set_raw(key, value, None)
}

/// Stores `value` under `key` for `ttl` (whole seconds, at least one): afterwards [`get`]
/// answers `None`.
///
/// ```
/// use std::time::Duration;
/// use campanile_sdk::{state, testing, time};
///
/// state::set_for("cooldown", "1", Duration::from_secs(60)).unwrap();
/// assert!(state::get("cooldown").is_some());
/// testing::set_now_ms(time::now_ms() + 61_000);
/// assert_eq!(state::get("cooldown"), None);
/// ```
pub fn set_for(key: &str, value: &str, ttl: Duration) -> Result<(), String> {
    let secs = u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX).max(1);
    set_raw(key, value, Some(secs))
}

fn set_raw(key: &str, value: &str, ttl_seconds: Option<u32>) -> Result<(), String> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::campanile::router::host::state_set(key, value, ttl_seconds)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_state_set(key, value, ttl_seconds)
    }
}

/// Removes `key`; nothing happens if it is not there.
///
/// ```
/// use campanile_sdk::state;
///
/// state::delete("never-set");
/// ```
pub fn delete(key: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::campanile::router::host::state_delete(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_state_delete(key)
    }
}
