//! The plugin runtime: compiles routing plugins once, pre-instantiates them, and runs each
//! call to `route` in a small store with a deadline (epoch interruption) and a memory cap. A
//! call either returns the plugin's actions or a [`PluginFault`]; it never panics the host and
//! never blocks it past the deadline.
//!
//! Instances are reused: one that ended its call cleanly goes back to its plugin's idle list
//! (at most [`IDLE_PER_PLUGIN`]) for the next call, which then pays only for the call itself,
//! not for instantiating a component and its WASI imports. An instance that faulted (trap,
//! deadline, memory cap) is dropped, as is one that has served [`CALLS_PER_INSTANCE`] calls or
//! has grown past half the room its memory limit left it after its first call, so a leak in a
//! plugin's heap never turns into a fault, while a plugin whose interpreter alone fills most of
//! the limit (Python, JavaScript) stays warm. Plugins must therefore keep nothing between calls in their own globals (the SDK
//! says so): what must outlive a call goes to the host's plugin state.

pub(crate) mod bindings;
pub(crate) mod convert;
mod fault;
mod host;
mod link;
mod pool;
mod state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Cache, CacheConfig, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::PluginConfig;
use crate::group::GroupFlush;
use crate::model::Labels;
use bindings::{Router, RouterPre};
use host::CallState;

pub use convert::Action;
pub use fault::PluginFault;
use fault::{classify, panic_message};
pub use pool::{LoadedPlugin, CALLS_PER_INSTANCE, IDLE_PER_PLUGIN};
pub use state::{PluginState, StateError};

/// The WIT world this host implements (`wit/router.wit`); components built against another
/// version do not link.
pub const CONTRACT: &str = "campanile:router@0.3.0";

/// How often the epoch advances; deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Most actions one call may return.
const MAX_ACTIONS: usize = 256;

/// Plugin calls that may run at once: the pooling allocator keeps this many instance slots
/// ready, so instantiation reuses memory instead of mapping it anew. Callers wait for a slot
/// ([`PluginRuntime::slot`]) rather than fail.
pub const CALL_SLOTS: u32 = 32;

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("plugin {plugin:?}: cannot read {path}: {source}")]
    Read {
        plugin: String,
        path: String,
        source: std::io::Error,
    },
    #[error("plugin {plugin:?}: {path} is not a valid component: {reason}")]
    Compile {
        plugin: String,
        path: String,
        reason: String,
    },
    /// `advice` says which import is wrong and how to rebuild ([`link::advice`]).
    #[error(
        "plugin {plugin:?}: does not fit the {CONTRACT} contract this host speaks: \
         {reason}{advice}"
    )]
    Link {
        plugin: String,
        reason: String,
        advice: String,
    },
    #[error("cannot start the plugin engine: {0}")]
    Engine(String),
}

/// All plugins of a configuration, sharing one engine. The set of loaded plugins can be swapped
/// by [`PluginRuntime::reload`]; a call holds the version it started with until it ends.
pub struct PluginRuntime {
    engine: Engine,
    linker: Linker<CallState>,
    plugins: RwLock<HashMap<String, Arc<LoadedPlugin>>>,
    state: Arc<PluginState>,
    /// One reload at a time (API, SIGHUP and the file watcher may ask together).
    reloading: Mutex<()>,
    /// Free instance slots of the pool.
    slots: Arc<tokio::sync::Semaphore>,
}

/// What a reload did.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Reload {
    /// Plugins whose file changed and that now run the new version.
    pub reloaded: Vec<Reloaded>,
    /// Plugins whose file is as it was.
    pub unchanged: Vec<String>,
}

/// One plugin swapped by a reload.
#[derive(Debug, Serialize, PartialEq)]
pub struct Reloaded {
    pub plugin: String,
    pub from: String,
    pub to: String,
}

impl PluginRuntime {
    /// Compiles every configured plugin. Fails on the first plugin that does not load.
    /// With `cache_dir`, compiled code is kept there (keyed by the engine's settings and
    /// version, and the plugin's bytes), so a restart does not compile again.
    pub fn load(
        configs: &[PluginConfig],
        state: Arc<PluginState>,
        cache_dir: Option<&Path>,
    ) -> Result<Self, LoadError> {
        let mut cfg = wasmtime::Config::new();
        cfg.wasm_component_model(true);
        cfg.epoch_interruption(true);
        // Plugins are called synchronously: no store needs the component model's concurrency
        // machinery, and leaving it out makes every store cheaper.
        cfg.concurrency_support(false);
        // For plugin authors finding where a call's time goes: `perf record` then names the
        // plugin's own functions (README, "Profiling a plugin").
        if std::env::var_os("CAMPANILE_PLUGIN_PERFMAP").is_some_and(|v| v == "1") {
            cfg.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let largest_memory = configs
            .iter()
            .map(|c| c.memory_limit)
            .max()
            .unwrap_or(16 << 20);
        cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool(
            largest_memory,
            configs.len(),
        )));
        if let Some(dir) = cache_dir {
            let mut cache = CacheConfig::new();
            cache.with_directory(dir);
            match Cache::new(cache) {
                Ok(cache) => {
                    cfg.cache(Some(cache));
                }
                // A cache is an optimisation: without it plugins compile at every start.
                Err(e) => tracing::warn!(
                    dir = %dir.display(),
                    "plugin compile cache unavailable: {e:#}"
                ),
            }
        }
        let engine = Engine::new(&cfg).map_err(|e| LoadError::Engine(e.to_string()))?;
        start_epoch_ticker(&engine);

        let mut linker: Linker<CallState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| LoadError::Engine(e.to_string()))?;
        Router::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)
            .map_err(|e| LoadError::Engine(e.to_string()))?;

        let mut plugins = HashMap::new();
        for config in configs {
            let bytes = read(config)?;
            let plugin = load_one(&engine, &linker, config, &bytes)?;
            plugins.insert(config.name.clone(), Arc::new(plugin));
        }
        Ok(PluginRuntime {
            engine,
            linker,
            plugins: RwLock::new(plugins),
            state,
            reloading: Mutex::new(()),
            slots: Arc::new(tokio::sync::Semaphore::new(CALL_SLOTS as usize)),
        })
    }

    /// Runs `call`, a synchronous plugin call ([`PluginRuntime::route`],
    /// [`PluginRuntime::identity`]), from async code: it waits for a free call slot, then runs
    /// the call without holding up the runtime's other tasks. A panic in the host's side of the
    /// call is returned as its message, so the caller can fall back as for any fault.
    ///
    /// On the multi-threaded runtime (the server) the call runs on this thread with
    /// `block_in_place`, which hands this worker's other tasks to another thread: the group
    /// does not travel to a blocking thread and back, two thread wake-ups that cost about
    /// 150 µs per notification on a busy 2-vCPU machine (BENCHMARKS.md). Elsewhere (a
    /// current-thread runtime in tests) it runs on a blocking thread.
    pub async fn call<T, F>(&self, call: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the slot semaphore is never closed");
        let guarded = move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call));
            drop(slot);
            result.map_err(|panic| panic_message(&*panic))
        };
        match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(guarded),
            _ => tokio::task::spawn_blocking(guarded)
                .await
                .unwrap_or_else(|e| Err(e.to_string())),
        }
    }

    fn loaded(&self) -> HashMap<String, Arc<LoadedPlugin>> {
        self.plugins.read().expect("plugins lock").clone()
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.loaded().into_keys().collect();
        names.sort();
        names
    }

    /// The files the plugins were loaded from.
    pub fn files(&self) -> Vec<PathBuf> {
        self.loaded()
            .values()
            .map(|p| p.config.path.clone())
            .collect()
    }

    /// The version (file digest) of plugin `name`.
    pub fn version(&self, name: &str) -> Option<String> {
        self.plugins
            .read()
            .expect("plugins lock")
            .get(name)
            .map(|p| p.version.clone())
    }

    /// Reads every plugin's file again and swaps in each one that changed, all at once: if any
    /// changed file fails to read, compile or link, nothing is swapped and the error says which
    /// plugin and why. Calls in flight finish on the version they started with. Synchronous
    /// (compiling takes a while); run it on a blocking thread.
    pub fn reload(&self) -> Result<Reload, LoadError> {
        let _one_at_a_time = self.reloading.lock().expect("reload lock");
        let mut next = self.loaded();
        let mut report = Reload::default();
        let mut names: Vec<String> = next.keys().cloned().collect();
        names.sort();
        for name in names {
            let old = next[&name].clone();
            let bytes = read(&old.config)?;
            if digest(&bytes) == old.version {
                report.unchanged.push(name);
                continue;
            }
            let new = load_one(&self.engine, &self.linker, &old.config, &bytes)?;
            report.reloaded.push(Reloaded {
                plugin: name.clone(),
                from: old.version.clone(),
                to: new.version.clone(),
            });
            next.insert(name, Arc::new(new));
        }
        if !report.reloaded.is_empty() {
            let old = std::mem::replace(&mut *self.plugins.write().expect("plugins lock"), next);
            // Free the replaced versions' warm instances now, not when their last call ends.
            for plugin in old.values() {
                plugin.idle.lock().expect("idle instances lock").clear();
            }
        }
        Ok(report)
    }

    /// Calls plugin `name` with the group, synchronously; run it on a blocking thread.
    pub fn route(&self, name: &str, group: &GroupFlush) -> Result<Vec<Action>, PluginFault> {
        let plugin = self.plugin(name)?;
        let mut warm = plugin.checkout(&self.engine, &self.state)?;
        let input = convert::group_to_wit(group);
        let returned = match warm.router.call_route(&mut warm.store, &input) {
            Ok(returned) => {
                plugin.checkin(warm);
                returned
            }
            // A trapped instance cannot be entered again: it is dropped here.
            Err(e) => return Err(classify(&warm.store, &plugin.config, e)),
        };
        match returned {
            Ok(actions) => {
                convert::actions_from_wit(actions, MAX_ACTIONS, plugin.config.max_output)
            }
            Err(message) => Err(PluginFault::Error(crate::model::truncate::bytes(
                &message, 1024,
            ))),
        }
    }

    /// Asks plugin `name` which labels identify an alert with `labels`; `None` means all of
    /// them. Synchronous; run it on a blocking thread.
    pub fn identity(&self, name: &str, labels: &Labels) -> Result<Option<Labels>, PluginFault> {
        let plugin = self.plugin(name)?;
        let mut warm = plugin.checkout(&self.engine, &self.state)?;
        let input = convert::label_set(labels);
        let returned = match warm.router.call_identity(&mut warm.store, &input) {
            Ok(returned) => {
                plugin.checkin(warm);
                returned
            }
            Err(e) => return Err(classify(&warm.store, &plugin.config, e)),
        };
        let Some(set) = returned else {
            return Ok(None);
        };
        // The offsets count too: a flood of empty labels is small text but a large set.
        let bytes = set.text.len() + 4 * set.ends.len();
        if bytes > plugin.config.max_output {
            return Err(PluginFault::Output(format!("identity of {bytes} bytes")));
        }
        convert::labels_from_wit(&set)
            .map(Some)
            .map_err(|e| PluginFault::Output(format!("identity: {e}")))
    }

    /// The loaded version of plugin `name`.
    fn plugin(&self, name: &str) -> Result<Arc<LoadedPlugin>, PluginFault> {
        self.plugins
            .read()
            .expect("plugins lock")
            .get(name)
            .cloned()
            .ok_or(PluginFault::Missing)
    }
}

/// The instance pool: room for [`CALL_SLOTS`] instances in calls plus the idle instances of
/// `plugins` plugins (twice over: during a reload the old version's idle instances live until
/// its last call ends), each with room for the core instances, memories and tables a Rust
/// `wasm32-wasip2` component has, and memories up to the largest plugin's memory limit.
fn pool(largest_memory: usize, plugins: usize) -> PoolingAllocationConfig {
    let instances = CALL_SLOTS + (2 * IDLE_PER_PLUGIN * plugins) as u32;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .max_core_instances_per_component(16)
        .total_core_instances(instances * 16)
        .max_memories_per_component(4)
        .total_memories(instances * 4)
        .max_tables_per_component(8)
        .total_tables(instances * 8)
        .total_stacks(instances)
        .max_memory_size(largest_memory);
    pool
}

/// What `campanile plugin check` reports about a component that links.
#[derive(Debug)]
pub struct Inspection {
    pub version: String,
    pub bytes: usize,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// Compiles `config.path` and links it against the contract this host speaks, as loading it
/// would; lists its imports and exports.
pub fn inspect(config: &PluginConfig) -> Result<Inspection, LoadError> {
    let runtime = PluginRuntime::load(
        std::slice::from_ref(config),
        Arc::new(PluginState::in_memory()),
        None,
    )?;
    let bytes = read(config)?;
    let component = Component::new(&runtime.engine, &bytes).map_err(|e| LoadError::Compile {
        plugin: config.name.clone(),
        path: config.path.display().to_string(),
        reason: format!("{e:#}"),
    })?;
    let ty = component.component_type();
    Ok(Inspection {
        version: digest(&bytes),
        bytes: bytes.len(),
        imports: ty
            .imports(&runtime.engine)
            .map(|(n, _)| n.to_string())
            .collect(),
        exports: ty
            .exports(&runtime.engine)
            .map(|(n, _)| n.to_string())
            .collect(),
    })
}

/// Reads a plugin's file.
fn read(config: &PluginConfig) -> Result<Vec<u8>, LoadError> {
    std::fs::read(&config.path).map_err(|source| LoadError::Read {
        plugin: config.name.clone(),
        path: config.path.display().to_string(),
        source,
    })
}

/// The first 12 hex digits of the SHA-256 of a plugin's bytes: its version.
fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn load_one(
    engine: &Engine,
    linker: &Linker<CallState>,
    config: &PluginConfig,
    bytes: &[u8],
) -> Result<LoadedPlugin, LoadError> {
    let path = config.path.display().to_string();
    let started = Instant::now();
    let component = Component::new(engine, bytes).map_err(|e| LoadError::Compile {
        plugin: config.name.clone(),
        path: path.clone(),
        reason: format!("{e:#}"),
    })?;
    let link = |e: wasmtime::Error| {
        let reason = format!("{e:#}");
        LoadError::Link {
            plugin: config.name.clone(),
            advice: link::advice(&reason),
            reason,
        }
    };
    let pre = RouterPre::new(linker.instantiate_pre(&component).map_err(link)?).map_err(link)?;
    let version = digest(bytes);
    tracing::info!(
        plugin = %config.name,
        path = %path,
        bytes = bytes.len(),
        %version,
        compile_ms = started.elapsed().as_millis() as u64,
        "plugin loaded"
    );
    Ok(LoadedPlugin {
        config: Arc::new(config.clone()),
        version,
        pre,
        idle: Mutex::new(Vec::new()),
    })
}

/// Advances the engine's epoch from a background thread; every store's deadline counts these
/// ticks. The thread holds only a weak handle and ends with the engine.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    thread::Builder::new()
        .name("campanile-epoch".into())
        .spawn(move || loop {
            thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        })
        .expect("spawn the epoch thread");
}
