//! Builds a running campanile from a configuration: load plugins, start receivers, the
//! dispatcher and the routing pipeline, then serve HTTP until shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::dedup::AlertCache;
use crate::group::Dispatcher;
use crate::ingest::Ingestor;
use crate::notify::Receivers;
use crate::pipeline::Pipeline;
use crate::plugin::{LoadError, PluginRuntime};
use crate::route::RouteTable;
use crate::telemetry::Metrics;

/// What request handlers share.
pub struct AppState {
    pub config: Arc<Config>,
    pub ingestor: Ingestor,
    pub cache: Arc<AlertCache>,
    pub routes: Arc<RouteTable>,
    pub metrics: Arc<Metrics>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Plugin(#[from] LoadError),
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
}

/// Starts every task and begins serving. Returns once the listener is bound and plugins are
/// compiled: from then on the instance is ready.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let config = Arc::new(config);
    let metrics = Arc::new(Metrics::new());
    let shutdown = CancellationToken::new();

    let plugin_configs = config.plugins.clone();
    let plugins = tokio::task::spawn_blocking(move || PluginRuntime::load(&plugin_configs))
        .await
        .expect("plugin loading task")?;
    let plugins = Arc::new(plugins);

    let receivers = Arc::new(Receivers::start(
        &config.receivers,
        &config.server.external_url,
        metrics.clone(),
        shutdown.clone(),
    ));
    let routes = Arc::new(RouteTable::new(&config.route));
    let cache = Arc::new(AlertCache::new(
        config.limits.max_alerts,
        config.ingest.retention,
    ));

    let (batch_tx, batch_rx) = mpsc::channel(config.limits.ingest_queue);
    let (flush_tx, flush_rx) = mpsc::unbounded_channel();
    let dispatcher = Dispatcher::new(routes.clone(), flush_tx, metrics.clone());
    tokio::spawn(dispatcher.run(batch_rx, shutdown.clone()));
    let pipeline = Arc::new(Pipeline {
        plugins,
        receivers,
        metrics: metrics.clone(),
    });
    tokio::spawn(pipeline.run(flush_rx));

    let listener = TcpListener::bind(config.server.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.server.listen.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.server.listen.to_string(),
        source,
    })?;
    let state = Arc::new(AppState {
        config: config.clone(),
        ingestor: Ingestor::new(cache.clone(), batch_tx, metrics.clone()),
        cache,
        routes,
        metrics,
    });
    let server = tokio::spawn(crate::server::serve(listener, state, shutdown.clone()));
    tracing::info!(%addr, routes = config.route.routes.len() + 1, receivers = config.receivers.len(), plugins = config.plugins.len(), "campanile is ready");
    Ok(Running {
        addr,
        shutdown,
        server,
    })
}

/// Waits for SIGTERM or SIGINT, then stops accepting and gives open requests `grace` to end.
pub async fn run_until_signal(running: Running, grace: Duration) {
    wait_for_signal().await;
    tracing::info!("shutting down");
    running.shutdown.cancel();
    if tokio::time::timeout(grace, running.server).await.is_err() {
        tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            "open requests did not finish in time"
        );
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
