//! The plugin's own `config` table from the host configuration.
//!
//! ```toml
//! [[plugins]]
//! name = "my-router"
//! path = "my_router.wasm"
//! [plugins.config]
//! pager = "oncall-pager"
//! ```
//!
//! Strings are returned as they are; other TOML values (numbers, booleans, arrays) in their
//! TOML form, e.g. `"42"` or `"true"`.
//!
//! ```
//! use campanile_sdk::{config, testing};
//!
//! testing::set_config(&[("pager", "oncall-pager")]);
//! assert_eq!(config::get("pager").as_deref(), Some("oncall-pager"));
//! ```

/// The value of `key` in the plugin's config table, or `None` if the key is not set.
///
/// ```
/// use campanile_sdk::{config, testing};
///
/// testing::set_config(&[("chat", "team-chat")]);
/// assert_eq!(config::get("chat"), Some("team-chat".to_string()));
/// assert_eq!(config::get("email"), None);
/// ```
pub fn get(key: &str) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::campanile::router::host::config_get(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_config_get(key)
    }
}

/// The value of `key` in the plugin's config table, or `default` if the key is not set.
///
/// ```
/// use campanile_sdk::{config, testing};
///
/// testing::set_config(&[("chat", "team-chat")]);
/// assert_eq!(config::get_or("chat", "fallback"), "team-chat");
/// assert_eq!(config::get_or("email", "fallback"), "fallback");
/// ```
pub fn get_or(key: &str, default: &str) -> String {
    get(key).unwrap_or_else(|| default.to_string())
}

/// The keys of the plugin's config table, sorted.
///
/// ```
/// use campanile_sdk::{config, testing};
///
/// testing::set_config(&[("pager", "pd"), ("chat", "slack")]);
/// assert_eq!(config::keys(), ["chat", "pager"]);
/// ```
pub fn keys() -> Vec<String> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::campanile::router::host::config_keys()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_config_keys()
    }
}
