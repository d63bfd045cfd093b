//! One HTTP/1 connection, watched. hyper serves the requests; this module knows, at every
//! moment, which of three phases the connection is in, and closes it when the phase's time
//! runs out or when the server shuts down:
//!
//! - **head** — waiting for a request head: from the accept for the first request, from its
//!   first byte for later ones. Limited by `server.header_read_timeout` (a slowloris sending
//!   half a request line is cut off here). Closed at once on shutdown.
//! - **idle** — a keep-alive connection between a response and the next request's first byte.
//!   Limited by `server.idle_timeout`. Closed at once on shutdown.
//! - **busy** — a request is being served: from hyper's call of the service until it drops
//!   the response body. No limit here (the body's deadline is `read_body`'s); on shutdown it
//!   gets the grace period, and the connection closes after the response.
//!
//! hyper's own `header_read_timeout` is not used: its timer starts whenever the connection
//! waits for a head, idle time included (`proto/h1/conn.rs`, `poll_read_head`), so it would
//! close idle keep-alive connections after the header timeout and an idle timeout longer than
//! it could not exist. The phases are told apart by watching the socket (bytes read, writes
//! flushed, in [`io`]) and the service (a guard held by the response body), in [`phase`].

mod io;
mod phase;

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::limits::Slot;
use super::routes;
use crate::state::AppState;
use crate::telemetry::SlowClientLabels;
use io::{Tracked, Watched};
use phase::{InFlight, Limits, Track, Verdict};

/// How long a connection in the probe reserve may take to send its request: probes send it at
/// once (kubelet's own default timeout is one second), and the reserve must not stay filled by
/// connections that send nothing.
const PROBE_HEADER_TIMEOUT: Duration = Duration::from_secs(1);

/// What a connection is served.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Every endpoint, with keep-alive.
    Full,
    /// Health probes only, one request, then closed (the reserve past the cap).
    ProbesOnly,
}

/// Serves one accepted connection until it ends, times out, or the server shuts down.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<AppState>,
    mode: Mode,
    slot: Slot,
    shutdown: CancellationToken,
) {
    let _slot = slot;
    let config = state.config();
    let server = &config.server;
    let limits = Limits {
        header: match mode {
            Mode::Full => server.header_read_timeout,
            Mode::ProbesOnly => server.header_read_timeout.min(PROBE_HEADER_TIMEOUT),
        },
        idle: server.idle_timeout,
    };
    let track = Arc::new(Track::new(Instant::now()));
    let io = TokioIo::new(Watched {
        inner: stream,
        track: track.clone(),
    });
    let service_track = track.clone();
    let service_state = state.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let in_flight = InFlight::begin(service_track.clone());
        let state = service_state.clone();
        async move {
            let response = match mode {
                Mode::Full => routes::handle(&state, req).await,
                Mode::ProbesOnly => routes::probes_only(&state, &req),
            };
            Ok::<_, Infallible>(response.map(|body| Tracked {
                body,
                _in_flight: in_flight,
            }))
        }
    });
    let conn = http1::Builder::new()
        .keep_alive(mode == Mode::Full)
        // The phases above time the head; see the module comment.
        .header_read_timeout(None)
        .serve_connection(io, service);
    match watch(conn, &track, limits, &shutdown).await {
        End::Finished(Ok(())) => {}
        End::Finished(Err(e)) => {
            tracing::debug!(%peer, error = %e, "connection ended with an error")
        }
        End::TimedOut(phase) => {
            tracing::debug!(%peer, phase, "connection closed: timed out");
            state
                .metrics
                .http_slow_clients_closed
                .get_or_create(&SlowClientLabels { phase })
                .inc();
        }
        End::ShutDown => tracing::debug!(%peer, "connection closed for shutdown"),
    }
}
enum End {
    Finished(hyper::Result<()>),
    /// Closed by the timeout of this phase (`header`, `idle`).
    TimedOut(&'static str),
    ShutDown,
}

/// Drives `conn` and applies the phase deadlines and shutdown. Every phase change happens
/// while `conn` is polled (its socket reads and writes, its service calls), so looking at the
/// phase right after each poll is enough to keep the timer right.
async fn watch<C>(conn: C, track: &Track, limits: Limits, shutdown: &CancellationToken) -> End
where
    C: GracefulConnection,
{
    let mut conn = pin!(conn);
    let mut cancelled = pin!(shutdown.cancelled());
    let mut timer = pin!(tokio::time::sleep(Duration::ZERO));
    let mut shutting_down = false;
    poll_fn(|cx| loop {
        if let Poll::Ready(result) = conn.as_mut().poll(cx) {
            return Poll::Ready(End::Finished(result));
        }
        if !shutting_down && cancelled.as_mut().poll(cx).is_ready() {
            shutting_down = true;
            // No keep-alive from now on: a busy connection closes after its response.
            conn.as_mut().graceful_shutdown();
            continue;
        }
        match track.verdict(Instant::now(), limits, shutting_down) {
            Verdict::Close(Some(phase)) => return Poll::Ready(End::TimedOut(phase)),
            Verdict::Close(None) => return Poll::Ready(End::ShutDown),
            Verdict::Wait(None) => return Poll::Pending,
            Verdict::Wait(Some(deadline)) => {
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
        }
    })
    .await
}

/// hyper's connection future, as far as [`watch`] needs it (a trait so that the watch can be
/// tested without hyper).
trait GracefulConnection: Future<Output = hyper::Result<()>> {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<S> GracefulConnection for http1::Connection<TokioIo<Watched>, S>
where
    S: hyper::service::HttpService<Incoming, ResBody = Tracked>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        http1::Connection::graceful_shutdown(self)
    }
}

#[cfg(test)]
mod tests {
    use std::task::Context;

    use super::*;

    const LIMITS: Limits = Limits {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    /// A connection whose client never sends anything.
    struct Silent;

    impl Future for Silent {
        type Output = hyper::Result<()>;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<hyper::Result<()>> {
            Poll::Pending
        }
    }

    impl GracefulConnection for Silent {
        fn graceful_shutdown(self: Pin<&mut Self>) {}
    }

    #[tokio::test(start_paused = true)]
    async fn the_watch_closes_at_the_deadline_or_at_shutdown() {
        let shutdown = CancellationToken::new();
        let start = Instant::now();
        let track = Track::new(start);
        let end = watch(Silent, &track, LIMITS, &shutdown).await;
        assert!(matches!(end, End::TimedOut("header")));
        assert_eq!(start.elapsed(), LIMITS.header);

        let track = Track::new(Instant::now());
        track.begin();
        track.end(Instant::now());
        let start = Instant::now();
        assert!(matches!(
            watch(Silent, &track, LIMITS, &shutdown).await,
            End::TimedOut("idle")
        ));
        assert_eq!(start.elapsed(), LIMITS.idle);

        let track = Track::new(Instant::now());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            stop.cancel();
        });
        let start = Instant::now();
        assert!(matches!(
            watch(Silent, &track, LIMITS, &shutdown).await,
            End::ShutDown
        ));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }
}
