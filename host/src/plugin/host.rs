//! The store data of one plugin call and the host functions the plugin may import.
//!
//! WASI is linked because Rust's standard library imports it, but the context grants nothing:
//! no preopened directories, no environment, no arguments, no inherited stdio, no network.

use std::sync::Arc;

use time::OffsetDateTime;

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::{campanile::router, Level};
use super::PluginState;
use crate::config::PluginConfig;

/// Everything one call can reach.
pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: MemoryLimiter,
    plugin: Arc<PluginConfig>,
    state: Arc<PluginState>,
}

impl CallState {
    pub fn new(plugin: Arc<PluginConfig>, state: Arc<PluginState>) -> Self {
        CallState {
            // A builder with nothing allowed: stdio goes nowhere, no files, no sockets.
            wasi: WasiCtxBuilder::new().build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                max_bytes: plugin.memory_limit,
                in_use: 0,
                exceeded: false,
            },
            plugin,
            state,
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory and remembers whether the cap was hit, so the fault is named.
pub struct MemoryLimiter {
    max_bytes: usize,
    /// The largest linear memory the instance has grown to, in bytes.
    pub in_use: usize,
    pub exceeded: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.exceeded = true;
            // An error (rather than `Ok(false)`) traps at once instead of letting the guest
            // handle the failed growth by aborting in some less obvious way.
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes exceeded",
                self.max_bytes
            ));
        }
        self.in_use = self.in_use.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl router::types::Host for CallState {}

impl router::host::Host for CallState {
    fn log(&mut self, level: Level, message: String) {
        let plugin = self.plugin.name.as_str();
        // Bounded so a chatty plugin cannot flood the log with one call.
        let message: String = message.chars().take(4096).collect();
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn config_get(&mut self, key: String) -> Option<String> {
        self.plugin.config.get(&key).cloned()
    }

    fn config_keys(&mut self) -> Vec<String> {
        self.plugin.config.keys().cloned().collect()
    }

    fn now_ms(&mut self) -> i64 {
        crate::model::unix_ms(time::OffsetDateTime::now_utc())
    }

    fn state_get(&mut self, key: String) -> Option<String> {
        self.state
            .get(&self.plugin.name, &key, OffsetDateTime::now_utc())
    }

    fn state_set(
        &mut self,
        key: String,
        value: String,
        ttl_seconds: Option<u32>,
    ) -> Result<(), String> {
        let plugin = &self.plugin.name;
        self.state
            .set(plugin, key, value, ttl_seconds, OffsetDateTime::now_utc())
            .map_err(|e| {
                tracing::warn!(plugin = %plugin, error = %e, "plugin state not stored");
                e.to_string()
            })
    }

    fn state_delete(&mut self, key: String) {
        self.state.delete(&self.plugin.name, &key);
    }
}
