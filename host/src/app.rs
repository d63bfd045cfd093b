//! Builds a running campanile from a configuration: open the store and reload what it holds,
//! load plugins, start receivers, the dispatcher and the routing pipeline, then serve HTTP
//! until shutdown. What is built from the configuration is the first [`Generation`]; reloads
//! (`crate::reload`) replace it.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ack::link::AckLinks;
use crate::ack::Acks;
use crate::cluster::{Leases, Membership, Replicated, StateSync, SyncError};
use crate::config::{Config, StoreBackend};
use crate::decisions::Decisions;
use crate::dedup::AlertCache;
use crate::deliveries::Deliveries;
use crate::group::{Dispatcher, FiringGroups};
use crate::ingest::{Identity, Ingestor};
use crate::inhibit::Inhibitor;
use crate::live::{config_hash, Generation, Live};
use crate::model::{Alert, Fingerprint, SharedAlert};
use crate::mute::MuteStage;
use crate::notify::Receivers;
use crate::pipeline::Pipeline;
use crate::plugin::{LoadError, PluginRuntime, PluginState};
use crate::reload::{ConfigSource, Reloader};
use crate::route::RouteTable;
use crate::silence::Silences;
use crate::state::AppState;
use crate::store::{Op, Store, StoreError, StoredAlert};
use crate::supervise::Supervisor;
use crate::telemetry::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Plugin(#[from] LoadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("[cluster]: {0}")]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

/// A started instance: its address, and the token that stops it.
pub struct Running {
    pub addr: std::net::SocketAddr,
    pub shutdown: CancellationToken,
    pub server: tokio::task::JoinHandle<()>,
    pub store: Arc<Store>,
    pub supervisor: Arc<Supervisor>,
    /// Deliveries in flight, which shutdown waits for (see [`Receivers::in_flight`]).
    pub deliveries: TaskTracker,
    /// In a cluster: the lease rounds, ended last.
    pub membership: Option<Membership>,
}

/// With `[cluster]`: this replica's leases, joined in the store's database.
async fn join_cluster(config: &Config) -> Result<Option<Arc<Leases>>, StartError> {
    let (Some(cluster), StoreBackend::Postgres(pg)) = (&config.cluster, &config.store.backend)
    else {
        return Ok(None);
    };
    let leases = Leases::connect(pg, cluster.clone()).await?;
    tracing::info!(
        replica = %cluster.replica,
        shards = cluster.shards,
        lease_ttl = ?cluster.lease_ttl,
        "joined the cluster"
    );
    Ok(Some(Arc::new(leases)))
}

/// Why a running instance stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// SIGTERM or SIGINT.
    Signal,
    /// A long-lived task died (see `supervise`); the process should exit non-zero.
    Failed(String),
}

/// Starts every task and begins serving. Returns once the store is loaded, plugins are
/// compiled and the listener is bound: from then on the instance is ready. `config` and `text`
/// were loaded from `source` ([`ConfigSource::load`]), which reloads read again.
pub async fn start(
    source: ConfigSource,
    config: Config,
    text: &str,
) -> Result<Running, StartError> {
    let config = Arc::new(config);
    let metrics = Arc::new(Metrics::new());
    let hash = config_hash(text);
    metrics.config_loaded(hash);
    let shutdown = CancellationToken::new();
    let supervisor = Supervisor::new(shutdown.clone());

    // A replica takes its place in the change feed before the store loads its snapshot, so
    // that nothing committed between the two is missed (`cluster::sync`).
    let replica = config.cluster.as_ref().map(|c| c.replica.clone());
    let state_sync = match (&replica, &config.store.backend) {
        (Some(replica), StoreBackend::Postgres(pg)) => Some(StateSync::connect(pg, replica).await?),
        _ => None,
    };
    let store_config = config.store.clone();
    let observed = metrics.clone();
    let (store, snapshot) = tokio::task::spawn_blocking(move || {
        Store::open_replica(
            &store_config,
            replica.as_deref(),
            Box::new(move |c| observed.observe_commit(c)),
        )
    })
    .await
    .expect("store opening task")?;
    supervisor.watch("the store writer", store.writer_stopped());

    let plugin_configs = config.plugins.clone();
    let plugin_state = Arc::new(PluginState::new(store.clone(), snapshot.state));
    let cache_dir = config.store.plugin_cache_dir();
    let (state_for_load, dir_for_load) = (plugin_state.clone(), cache_dir.clone());
    let plugins = tokio::task::spawn_blocking(move || {
        PluginRuntime::load(&plugin_configs, state_for_load, dir_for_load.as_deref())
    })
    .await
    .expect("plugin loading task")?;

    let ack_links = AckLinks::new(&config.acks, &config.server.external_url).map(Arc::new);
    let delivery_log = Arc::new(Deliveries::default());
    let receivers = Arc::new(Receivers::start(
        &config.receivers,
        &config.server.external_url,
        ack_links.clone(),
        metrics.clone(),
        delivery_log.clone(),
        store.clone(),
        &supervisor,
    ));
    let deliveries = receivers.in_flight();
    let routes = Arc::new(RouteTable::new(&config.route));
    let expired = store.clone();
    let cache = AlertCache::with_expiry_hook(
        config.limits.max_alerts,
        config.ingest.retention,
        move |fp| expired.submit(vec![Op::DeleteAlert(fp.0)]),
    );
    // Other replicas know an alert's end only from the shared store.
    let cache = Arc::new(match config.cluster {
        Some(_) => cache.writing_extensions(),
        None => cache,
    });
    let (active, held) = (metrics.alerts_active.clone(), Arc::downgrade(&cache));
    metrics.on_scrape(move || {
        if let Some(cache) = held.upgrade() {
            active.set(cache.len() as i64);
        }
    });
    let restored = restore_alerts(&cache, &store, snapshot.alerts, config.ingest.retention);
    let restored_count = restored.len();
    let silences = Arc::new(Silences::new(store.clone(), snapshot.silences));
    let mute = Arc::new(MuteStage::new(
        Arc::new(Inhibitor::new(&config.inhibit_rules)),
        silences.clone(),
    ));
    let acks = Arc::new(Acks::new(store.clone(), snapshot.acks));

    let (batch_tx, batch_rx) = mpsc::channel(config.limits.ingest_queue);
    let (flush_tx, flush_rx) = mpsc::unbounded_channel();
    let (routed_tx, routed_rx) = mpsc::unbounded_channel();
    let (reload_tx, reload_rx) = mpsc::unbounded_channel();
    let decisions = Arc::new(Decisions::default());
    let (firing, firing_rx) = FiringGroups::channel();
    let mut dispatcher = Dispatcher::<Generation>::new(
        routes.clone(),
        flush_tx,
        metrics.clone(),
        store.clone(),
        snapshot.notified.into_iter().collect(),
    )
    .with_mute(mute.clone())
    .with_reloads(reload_rx)
    .with_queries(firing_rx);
    let cluster = join_cluster(&config).await?;
    let (replay_tx, mut replay_rx) = mpsc::unbounded_channel::<crate::cluster::Replay>();
    let mut membership = None;
    if let Some(leases) = &cluster {
        let (takeover_tx, takeover_rx) = mpsc::unbounded_channel();
        dispatcher = dispatcher.with_owner(leases.clone(), takeover_rx);
        let leave = CancellationToken::new();
        let rounds = supervisor.spawn(
            "the cluster's leases",
            crate::cluster::run(
                leases.clone(),
                takeover_tx,
                replay_tx,
                metrics.clone(),
                shutdown.clone(),
                leave.clone(),
            ),
        );
        membership = Some(Membership::new(leave, rounds));
    }
    dispatcher.restore(restored);
    supervisor.spawn(
        "the dispatcher",
        dispatcher.run(batch_rx, routed_rx, shutdown.clone()),
    );
    supervisor.spawn(
        "the alert cache housekeeping",
        housekeeping(cache.clone(), shutdown.clone()),
    );
    if let Some(state_sync) = state_sync {
        let to = Replicated {
            silences: silences.clone(),
            acks: acks.clone(),
            plugin_state: plugin_state.clone(),
            alerts: cache.clone(),
            dispatcher: batch_tx.clone(),
            retention: config.ingest.retention,
        };
        supervisor.spawn(
            "the change feed",
            state_sync.run(to, metrics.clone(), shutdown.clone()),
        );
    }
    let plugins = Arc::new(plugins);
    let live = Arc::new(Live::new(Arc::new(Generation {
        config: config.clone(),
        routes: routes.clone(),
        receivers: receivers.clone(),
        plugins: plugins.clone(),
        ack_links,
        hash,
    })));
    let pipeline = Arc::new(Pipeline {
        plugins: plugins.clone(),
        receivers,
        metrics: metrics.clone(),
        store: store.clone(),
        acks: acks.clone(),
        routed: routed_tx,
        decisions: decisions.clone(),
    });
    if cluster.is_none() {
        pipeline.replay_outbox(snapshot.outbox, &routes, None).await;
    } else {
        // In a cluster the outbox is replayed shard by shard, as each is taken over.
        let (replayer, routes) = (pipeline.clone(), routes.clone());
        supervisor.spawn("the cluster's outbox replay", async move {
            while let Some((entries, lease)) = replay_rx.recv().await {
                replayer.replay_outbox(entries, &routes, Some(lease)).await;
            }
        });
    }
    supervisor.spawn("the routing pipeline", pipeline.run(flush_rx));

    let listen_error = |source| StartError::Listen {
        addr: config.server.listen.to_string(),
        source,
    };
    let listener = TcpListener::bind(config.server.listen)
        .await
        .map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    let mut ingestor = Ingestor::new(cache.clone(), store.clone(), batch_tx, metrics.clone());
    if let Some(plugin) = &config.ingest.identity_plugin {
        // The plugins in force, whichever reload put them there (`ingest.identity_plugin`
        // itself needs a restart to change).
        let held = live.clone();
        ingestor = ingestor.with_identity(Identity {
            plugins: Arc::new(move || held.current().plugins.clone()),
            plugin: plugin.clone(),
        });
    }
    let reloader = Reloader {
        source,
        live: live.clone(),
        dispatcher: reload_tx,
        plugin_state,
        plugin_cache_dir: cache_dir,
        metrics: metrics.clone(),
        one_at_a_time: tokio::sync::Mutex::new(()),
    };
    let state = Arc::new(AppState {
        live,
        ingestor,
        cache,
        metrics,
        silences,
        mute,
        acks,
        firing,
        decisions,
        deliveries: delivery_log,
        reloader,
        started: time::OffsetDateTime::now_utc(),
        supervisor: supervisor.clone(),
        cluster,
    });
    supervisor.spawn(
        "the silence, inhibition and acknowledgement housekeeping",
        operator_housekeeping(state.clone(), shutdown.clone()),
    );
    supervisor.spawn(
        "the SIGHUP handler",
        reload_on_sighup(state.clone(), shutdown.clone()),
    );
    supervisor.spawn(
        "the plugin file watcher",
        watch_plugin_files(state.clone(), shutdown.clone()),
    );
    let server = supervisor.spawn(
        "the HTTP server",
        crate::server::serve(listener, state, shutdown.clone()),
    );
    tracing::info!(
        %addr,
        receivers = config.receivers.len(),
        plugins = config.plugins.len(),
        restored_alerts = restored_count,
        store = %config.store.path.display(),
        "campanile is ready"
    );
    Ok(Running {
        addr,
        shutdown,
        server,
        store,
        supervisor,
        deliveries,
        membership,
    })
}

/// Puts the stored alerts back in the cache; ones past their retention are deleted instead.
pub(crate) fn restore_alerts(
    cache: &AlertCache,
    store: &Store,
    stored: Vec<(u64, StoredAlert)>,
    retention: Duration,
) -> Vec<SharedAlert> {
    let now = time::OffsetDateTime::now_utc();
    let mut restored = Vec::with_capacity(stored.len());
    let mut gone = Vec::new();
    for (fingerprint, s) in stored {
        let mut alert = Alert::from(s);
        // Stored under its fingerprint, which an identity plugin may have chosen.
        alert.fingerprint = Fingerprint(fingerprint);
        if crate::clock::after(alert.end(), retention) < now {
            gone.push(Op::DeleteAlert(alert.fingerprint.0));
            continue;
        }
        match cache.upsert(alert) {
            Ok((a, _)) => restored.push(a),
            Err(full) => tracing::error!("restoring alerts: {full}; raise limits.max_alerts"),
        }
    }
    store.submit(gone);
    restored
}

/// Expires resolved alerts on time even when no traffic makes the cache do it.
async fn housekeeping(cache: Arc<AlertCache>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = tick.tick() => cache.run_housekeeping(),
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Forgets silences past their retention, drops resolved inhibiting alerts, and clears the
/// acknowledgements of groups that have resolved.
async fn operator_housekeeping(state: Arc<AppState>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let now = time::OffsetDateTime::now_utc();
        state.silences.gc(now);
        state.mute.inhibitor().gc(now);
        if !state.acks.is_empty() {
            match state.firing.at(now).await {
                Ok(firing) => {
                    state.acks.clear_resolved(&firing);
                }
                // The dispatcher has stopped: shutdown (or its failure) is under way.
                Err(_) => continue,
            }
        }
    }
}

/// SIGHUP reloads the whole configuration, as it does Alertmanager's.
async fn reload_on_sighup(state: Arc<AppState>, shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot install a SIGHUP handler; reload with POST /-/reload");
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => { let _ = state.reloader.reload("signal").await; }
            _ = shutdown.cancelled() => return,
        }
    }
}

/// How often plugin files are checked for a new version.
const PLUGIN_WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Reloads the plugins when one of their files is replaced (its size or modification time
/// changes). Polling a handful of files is cheap and works on every filesystem and volume. The
/// files are those of the configuration in force, which a reload may change.
async fn watch_plugin_files(state: Arc<AppState>, shutdown: CancellationToken) {
    let stamp = |files: &[std::path::PathBuf]| -> Vec<Option<(std::time::SystemTime, u64)>> {
        files
            .iter()
            .map(|f| {
                std::fs::metadata(f)
                    .ok()
                    .and_then(|m| Some((m.modified().ok()?, m.len())))
            })
            .collect()
    };
    let mut files = state.plugins().files();
    files.sort();
    let mut seen = stamp(&files);
    let mut tick = tokio::time::interval(PLUGIN_WATCH_INTERVAL);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let mut in_force = state.plugins().files();
        in_force.sort();
        if in_force != files {
            // A reload changed the set: it loaded them as they are now.
            seen = stamp(&in_force);
            files = in_force;
            continue;
        }
        let now = stamp(&files);
        if now != seen {
            seen = now;
            let _ = state.reloader.reload_plugins("file").await;
        }
    }
}

/// How long a stopping replica waits to give its leases back (one statement, unless the
/// database is out of reach: then the others take them after the TTL).
const LEAVE_WITHIN: Duration = Duration::from_secs(5);

/// Waits for SIGTERM or SIGINT (or a long-lived task's death), stops accepting and starting
/// deliveries, gives open requests and deliveries in flight `grace` to end, and closes the
/// store (writing anything deferred).
pub async fn run_until_signal(running: Running, grace: Duration) -> Stopped {
    tokio::select! {
        _ = wait_for_signal() => tracing::info!("shutting down"),
        _ = running.shutdown.cancelled() => {}
    }
    running.shutdown.cancel();
    // Open requests and deliveries in flight share the grace; no new delivery starts, and one
    // that finishes within it clears its outbox entry before the store closes.
    running.deliveries.close();
    let drained = async {
        let _ = running.server.await;
        running.deliveries.wait().await;
    };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            deliveries_in_flight = running.deliveries.len(),
            "open requests or deliveries did not finish in time; the outbox keeps those deliveries"
        );
    }
    let store = running.store.clone();
    let _ = tokio::task::spawn_blocking(move || store.close()).await;
    // Only now, with every record written: the next holders read them as they take over.
    if let Some(membership) = running.membership {
        membership.leave(LEAVE_WITHIN).await;
    }
    tracing::info!("stopped");
    match running.supervisor.failed() {
        Some(task) => Stopped::Failed(task.to_string()),
        None => Stopped::Signal,
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
