//! The HTTP server: one listener and the defences of the edge, with the router behind them.
//!
//! - this module — the accept loop: admission against the connection cap, back-off on accept
//!   errors, and shutdown (connections not serving a request close at once, requests in flight
//!   get the grace period).
//! - `accept` — the back-off and the throttled log lines of accept errors.
//! - `limits` — the connection cap (`server.max_connections`, fitted under the open-file
//!   limit) and the reserve kept for health probes past it.
//! - `conn` — one connection: its phases (head, idle, busy) and their timeouts
//!   (`server.header_read_timeout`, `server.idle_timeout`).
//! - `routes` — authentication first (`api::auth`), then the operator API (`api`), ingest,
//!   probes and metrics, dispatched from the endpoint table in [`crate::http`].

mod accept;
mod conn;
mod limits;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use limits::{Cap, PROBE_RESERVE};

use crate::state::AppState;
use crate::telemetry::RefusedLabels;
use accept::{Backoff, Throttle};
use conn::Mode;
use limits::{Admission, Admit};

/// At most one log line per this period for each kind of trouble at the door (accept errors,
/// connections refused past the cap).
const LOG_PERIOD: Duration = Duration::from_secs(10);

/// Serves until `shutdown` is cancelled, then closes the connections that are not serving a
/// request and waits for the others to finish theirs.
pub async fn serve(listener: TcpListener, state: Arc<AppState>, shutdown: CancellationToken) {
    let cap = Cap::for_config(&state.config());
    log_cap(&cap);
    let admission = Admission::new(cap.connections, state.metrics.http_connections.clone());
    let connections = TaskTracker::new();
    let mut backoff = Backoff::default();
    let mut accept_errors = Throttle::new(LOG_PERIOD);
    let mut refusals = Throttle::new(LOG_PERIOD);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(conn) => {
                if let Some(failures) = backoff.succeeded() {
                    tracing::info!(failures, "accepting connections again");
                }
                conn
            }
            Err(e) => {
                state.metrics.http_accept_errors.inc();
                let wait = backoff.failed();
                if let Some(suppressed) = accept_errors.hit(Instant::now()) {
                    tracing::warn!(
                        error = %e,
                        retry_in_ms = wait.as_millis() as u64,
                        suppressed,
                        open_connections = admission.open(),
                        open_file_limit = cap.open_files,
                        "accept failed; backing off (suppressed: errors since the last such line)"
                    );
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue,
                    _ = shutdown.cancelled() => break,
                }
            }
        };
        let (slot, mode, outcome) = match admission.admit() {
            Admit::Serve(slot) => (slot, Mode::Full, None),
            Admit::ProbesOnly(slot) => (slot, Mode::ProbesOnly, Some("probes_only")),
            Admit::Refuse => {
                drop(stream);
                refused(&state, &mut refusals, "closed", cap.connections);
                continue;
            }
        };
        if let Some(outcome) = outcome {
            refused(&state, &mut refusals, outcome, cap.connections);
        }
        connections.spawn(conn::serve(
            stream,
            peer,
            state.clone(),
            mode,
            slot,
            shutdown.clone(),
        ));
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// Counts a connection accepted past the cap, and says so in the log now and then.
fn refused(state: &AppState, log: &mut Throttle, outcome: &'static str, cap: usize) {
    state
        .metrics
        .http_connections_refused
        .get_or_create(&RefusedLabels { outcome })
        .inc();
    if let Some(suppressed) = log.hit(Instant::now()) {
        tracing::warn!(
            cap,
            reserve = PROBE_RESERVE,
            outcome,
            suppressed,
            "connection cap reached (server.max_connections): new connections get health \
             probes only, then are closed (suppressed: refusals since the last such line)"
        );
    }
}

fn log_cap(cap: &Cap) {
    if cap.clamped() {
        tracing::warn!(
            max_connections = cap.connections,
            configured = cap.configured,
            open_file_limit = cap.open_files,
            reserved = cap.reserved,
            "server.max_connections lowered to fit under the open-file limit (RLIMIT_NOFILE) \
             minus descriptors kept for the store, plugins, receivers and health probes"
        );
    } else {
        tracing::info!(
            max_connections = cap.connections,
            open_file_limit = cap.open_files,
            "connection cap"
        );
    }
}
