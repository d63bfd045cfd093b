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
    /// The memory it held after its first call: what the plugin needs to run, against which
    /// [`keeps`] measures growth.
    pub(super) settled: Option<usize>,
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
    pub(super) fn checkin(&self, mut warm: Warm) {
        let mut idle = self.idle.lock().expect("idle instances lock");
        let in_use = warm.store.data().limiter.in_use;
        let settled = *warm.settled.get_or_insert(in_use);
        let memory = Memory {
            settled,
            in_use,
            limit: self.config.memory_limit,
        };
        if keeps(warm.calls, memory, idle.len()) {
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
                settled: None,
            }),
            Err(e) => Err(match classify(&store, &self.config, e) {
                PluginFault::Trap(msg) => PluginFault::Instantiate(msg),
                other => other,
            }),
        }
    }
}

/// An instance's linear memory, in bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Memory {
    /// What it held after its first call: the plugin's own size (a Rust plugin's 1–2 MiB, an
    /// interpreter's heap of 10 MiB or more).
    pub settled: usize,
    /// What it holds now.
    pub in_use: usize,
    /// The plugin's `memory_limit`.
    pub limit: usize,
}

impl Memory {
    /// Whether the instance has grown past half the room it had after its first call: a leak
    /// in a plugin's heap is recycled before it becomes a fault, while a large plugin that
    /// does not grow (a Python or JavaScript one, most of whose memory is its interpreter) is
    /// kept however close its size is to the limit.
    fn grown(self) -> bool {
        let room = self.limit.saturating_sub(self.settled);
        self.in_use > self.settled + room / 2
    }
}

/// Whether an instance that has served `calls` calls with `memory` is kept warm, with `idle`
/// instances kept already: not worn (fewer than [`CALLS_PER_INSTANCE`] calls, not grown past
/// half its room, see [`Memory::grown`]) and room among the idle ([`IDLE_PER_PLUGIN`]).
pub(super) fn keeps(calls: u32, memory: Memory, idle: usize) -> bool {
    let worn = calls >= CALLS_PER_INSTANCE || memory.grown();
    !worn && idle < IDLE_PER_PLUGIN
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    fn memory(settled: usize, in_use: usize) -> Memory {
        Memory {
            settled,
            in_use,
            limit: 16 * MIB,
        }
    }

    #[test]
    fn a_clean_instance_is_kept_until_worn_or_the_idle_list_is_full() {
        assert!(keeps(1, memory(MIB, MIB), 0), "fresh");
        assert!(keeps(
            CALLS_PER_INSTANCE - 1,
            memory(MIB, 8 * MIB),
            IDLE_PER_PLUGIN - 1
        ));
        assert!(
            !keeps(CALLS_PER_INSTANCE, memory(MIB, MIB), 0),
            "worn by calls"
        );
        assert!(
            !keeps(1, memory(MIB, MIB), IDLE_PER_PLUGIN),
            "enough kept already"
        );
    }

    #[test]
    fn memory_counts_growth_past_half_the_room_left_after_the_first_call() {
        // A 1 MiB plugin under 16 MiB has 15 MiB of room: recycled past 8.5 MiB.
        assert!(keeps(2, memory(MIB, 8 * MIB + MIB / 2), 0));
        assert!(!keeps(2, memory(MIB, 8 * MIB + MIB / 2 + 1), 0), "grown");
        // An interpreter that settles at 12 MiB is kept at 12 MiB (past half the limit), and
        // recycled only once it grows past 14 MiB.
        assert!(
            keeps(500, memory(12 * MIB, 12 * MIB), 0),
            "large but steady"
        );
        assert!(keeps(2, memory(12 * MIB, 14 * MIB), 0));
        assert!(!keeps(2, memory(12 * MIB, 14 * MIB + 1), 0), "grown");
        // One that settled at the limit has no room: any growth recycles it.
        assert!(keeps(2, memory(16 * MIB, 16 * MIB), 0));
    }

    /// The pool of a real component: the `hostile` test plugin, which misbehaves on request
    /// (`tests/plugins/hostile`), built by `scripts/build-plugins.sh`.
    mod with_a_component {
        use std::collections::BTreeMap;
        use std::path::PathBuf;
        use std::sync::Arc;
        use std::time::Duration;

        use crate::config::PluginConfig;
        use crate::group::GroupFlush;
        use crate::model::Labels;
        use crate::notify::render::tests::{disk_full, notification};
        use crate::plugin::{Action, PluginFault, PluginRuntime, PluginState, CALLS_PER_INSTANCE};

        const MIB: usize = 1 << 20;

        fn hostile() -> PathBuf {
            let dir = std::env::var_os("CAMPANILE_PLUGIN_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/plugin")
                });
            let path = dir.join("hostile_plugin.wasm");
            assert!(
                path.is_file(),
                "{} is missing: run scripts/build-plugins.sh first",
                path.display()
            );
            path
        }

        /// A runtime with one plugin, `hostile`, in `mode`.
        fn runtime(mode: &str, memory_limit: usize) -> PluginRuntime {
            let config = PluginConfig {
                name: "hostile".into(),
                path: hostile(),
                timeout: Duration::from_secs(5),
                memory_limit,
                max_output: 64 * 1024,
                config: BTreeMap::from([("mode".to_string(), mode.to_string())]),
            };
            PluginRuntime::load(&[config], Arc::new(PluginState::in_memory()), None)
                .expect("the hostile plugin loads")
        }

        fn group() -> GroupFlush {
            (*notification(disk_full().flush.alerts.clone()).flush).clone()
        }

        /// The idle instances of the plugin, with the calls each has served.
        fn idle(runtime: &PluginRuntime) -> Vec<u32> {
            let plugin = runtime.plugin("hostile").unwrap();
            let idle = plugin.idle.lock().unwrap();
            idle.iter().map(|w| w.calls).collect()
        }

        fn identity(runtime: &PluginRuntime) {
            let labels = Labels::from_pairs([("alertname", "A")]);
            let identity = runtime.identity("hostile", &labels);
            assert!(matches!(identity, Ok(None)), "{identity:?}");
        }

        #[test]
        fn a_clean_call_checks_its_instance_back_in_for_the_next() {
            let runtime = runtime("ok", 16 * MIB);
            assert_eq!(
                idle(&runtime),
                Vec::<u32>::new(),
                "none before the first call"
            );
            identity(&runtime);
            assert_eq!(idle(&runtime), [1]);
            identity(&runtime);
            runtime.route("hostile", &group()).expect("ok mode routes");
            assert_eq!(idle(&runtime), [3], "one instance served all three calls");
        }

        #[test]
        fn a_faulted_instance_is_dropped_and_the_next_call_gets_a_fresh_one() {
            let runtime = runtime("trap", 16 * MIB);
            identity(&runtime);
            identity(&runtime);
            assert_eq!(idle(&runtime), [2]);
            let fault = runtime.route("hostile", &group()).unwrap_err();
            assert!(matches!(fault, PluginFault::Trap(_)), "{fault:?}");
            assert_eq!(idle(&runtime), Vec::<u32>::new(), "the trapped one is gone");
            identity(&runtime);
            assert_eq!(idle(&runtime), [1], "a fresh instance");
        }

        #[test]
        fn a_worn_instance_is_replaced_after_its_calls() {
            let runtime = runtime("ok", 16 * MIB);
            for _ in 1..CALLS_PER_INSTANCE {
                identity(&runtime);
            }
            assert_eq!(idle(&runtime), [CALLS_PER_INSTANCE - 1]);
            identity(&runtime);
            assert_eq!(
                idle(&runtime),
                Vec::<u32>::new(),
                "worn out after its last call"
            );
            identity(&runtime);
            assert_eq!(idle(&runtime), [1]);
        }

        #[test]
        fn an_instance_grown_past_half_its_room_is_recycled_before_it_faults() {
            // `leak` keeps 2 MiB per call in the instance's heap and says how many calls'
            // worth it holds. Under 8 MiB an instance holds about 3 MiB after its first call,
            // leaving 5 MiB of room: past 3 + 2.5 MiB it is let go.
            let runtime = runtime("leak", 8 * MIB);
            let titles: Vec<String> = (0..6)
                .map(|_| {
                    let actions = runtime.route("hostile", &group()).expect("no fault");
                    match &actions[..] {
                        [Action::Notify { title, .. }] => title.clone().unwrap_or_default(),
                        other => panic!("{other:?}"),
                    }
                })
                .collect();
            // After its third call an instance holds about 7 MiB, so it is let go and the
            // fourth call starts afresh; kept, it would hit the cap at its fourth call.
            assert_eq!(
                titles,
                ["leak 1", "leak 2", "leak 3", "leak 1", "leak 2", "leak 3"]
            );
        }
    }
}
