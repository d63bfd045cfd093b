//! One plugin's instances: a compiled, linked component (`LoadedPlugin`) and the instances it
//! keeps warm between calls. A call checks one out (an idle one with a fresh deadline, or a
//! new one) and checks it back in when it ended cleanly; [`keeps`] decides whether it stays.

use std::sync::{Arc, Mutex};

use wasmtime::{Engine, Store};

use super::bindings::{Router, RouterPre};
use super::fault::classify;
use super::host::CallState;
use super::{PluginFault, PluginState, EPOCH_TICK};
use crate::config::PluginConfig;

/// Most instances of one plugin kept warm between calls.
pub const IDLE_PER_PLUGIN: usize = 4;

/// Calls one instance serves before it is replaced by a fresh one.
pub const CALLS_PER_INSTANCE: u32 = 1_000;

/// A compiled, linked plugin ready to instantiate.
pub struct LoadedPlugin {
    pub config: Arc<PluginConfig>,
    /// The first 12 hex digits of the SHA-256 of the .wasm file: which build is routing.
    pub version: String,
    pub(super) pre: RouterPre<CallState>,
    /// Instances that ended their last call cleanly, ready for the next one.
    pub(super) idle: Mutex<Vec<Warm>>,
}

/// An instance of a plugin in its own store, between calls.
pub(super) struct Warm {
    pub(super) store: Store<CallState>,
    pub(super) router: Router,
    /// Calls it has served.
    pub(super) calls: u32,
}

impl LoadedPlugin {
    /// Takes an idle instance or makes a fresh one, with a new deadline and a clean limiter.
    pub(super) fn checkout(
        self: &Arc<Self>,
        engine: &Engine,
        state: &Arc<PluginState>,
    ) -> Result<Warm, PluginFault> {
        let idle = self.idle.lock().expect("idle instances lock").pop();
        let mut warm = match idle {
            Some(mut warm) => {
                warm.store.set_epoch_deadline(self.deadline_ticks());
                warm
            }
            None => self.instantiate(engine, state)?,
        };
        warm.calls += 1;
        Ok(warm)
    }

    /// The plugin's time limit in epoch ticks.
    fn deadline_ticks(&self) -> u64 {
        let ticks = self
            .config
            .timeout
            .as_nanos()
            .div_ceil(EPOCH_TICK.as_nanos()) as u64;
        ticks.max(1)
    }

    /// Keeps an instance whose call ended cleanly for the next call, if [`keeps`] says so.
    /// (One whose call faulted is never checked in: the caller drops it.)
    pub(super) fn checkin(&self, warm: Warm) {
        let mut idle = self.idle.lock().expect("idle instances lock");
        let in_use = warm.store.data().limiter.in_use;
        if keeps(warm.calls, in_use, self.config.memory_limit, idle.len()) {
            idle.push(warm);
        }
    }

    /// A fresh instance in a store with the plugin's memory cap and a deadline that covers
    /// instantiation and the call after it.
    fn instantiate(&self, engine: &Engine, state: &Arc<PluginState>) -> Result<Warm, PluginFault> {
        let mut store = Store::new(engine, CallState::new(self.config.clone(), state.clone()));
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(self.deadline_ticks());
        match self.pre.instantiate(&mut store) {
            Ok(router) => Ok(Warm {
                store,
                router,
                calls: 0,
            }),
            Err(e) => Err(match classify(&store, &self.config, e) {
                PluginFault::Trap(msg) => PluginFault::Instantiate(msg),
                other => other,
            }),
        }
    }
}

/// Whether an instance that has served `calls` calls and holds `in_use` bytes of its
/// `memory_limit` is kept warm, with `idle` instances kept already: not worn (fewer than
/// [`CALLS_PER_INSTANCE`] calls, at most half its memory limit in use, so a leak in a plugin's
/// heap is recycled before it becomes a fault) and room among the idle ([`IDLE_PER_PLUGIN`]).
pub(super) fn keeps(calls: u32, in_use: usize, memory_limit: usize, idle: usize) -> bool {
    let worn = calls >= CALLS_PER_INSTANCE || in_use > memory_limit / 2;
    !worn && idle < IDLE_PER_PLUGIN
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn a_clean_instance_is_kept_until_worn_or_the_idle_list_is_full() {
        assert!(keeps(1, MIB, 16 * MIB, 0), "fresh");
        assert!(keeps(
            CALLS_PER_INSTANCE - 1,
            8 * MIB,
            16 * MIB,
            IDLE_PER_PLUGIN - 1
        ));
        assert!(
            !keeps(CALLS_PER_INSTANCE, MIB, 16 * MIB, 0),
            "worn by calls"
        );
        assert!(
            !keeps(1, 8 * MIB + 1, 16 * MIB, 0),
            "memory grown past half its limit"
        );
        assert!(
            !keeps(1, MIB, 16 * MIB, IDLE_PER_PLUGIN),
            "enough kept already"
        );
    }
}
