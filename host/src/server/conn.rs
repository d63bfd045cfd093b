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
//! flushed) and the service (a guard held by the response body).

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::limits::Slot;
use super::respond::Body;
use super::routes;
use crate::app::AppState;
use crate::telemetry::SlowClientLabels;

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
    let server = &state.config.server;
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

/// The time each waiting phase may take.
#[derive(Debug, Clone, Copy)]
struct Limits {
    header: Duration,
    idle: Duration,
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

/// Where a connection is, and since when.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Head { since: Instant },
    Idle { since: Instant },
    Busy,
}

#[derive(Debug)]
struct Activity {
    phase: Phase,
    /// Requests being served (more than one only when a client pipelines).
    in_flight: usize,
    /// Bytes were handed to the socket and not flushed yet: a response is still going out.
    unflushed: bool,
}

/// A connection's phase, updated by its socket and its service.
#[derive(Debug)]
struct Track(Mutex<Activity>);

enum Verdict {
    /// Close now; `Some(phase)` when a timeout did it, `None` for shutdown.
    Close(Option<&'static str>),
    /// Keep serving, until this deadline if there is one.
    Wait(Option<Instant>),
}

impl Track {
    fn new(accepted: Instant) -> Track {
        Track(Mutex::new(Activity {
            phase: Phase::Head { since: accepted },
            in_flight: 0,
            unflushed: false,
        }))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Activity) -> T) -> T {
        // A poisoned lock only means a panic elsewhere; the phase is still meaningful.
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Bytes arrived: the first of a request after an idle spell starts its head's clock.
    fn read(&self, now: Instant) {
        self.with(|a| {
            if let Phase::Idle { .. } = a.phase {
                a.phase = Phase::Head { since: now };
            }
        });
    }

    fn wrote(&self) {
        self.with(|a| a.unflushed = true);
    }

    fn flushed(&self) {
        self.with(|a| a.unflushed = false);
    }

    fn begin(&self) {
        self.with(|a| {
            a.in_flight = a.in_flight.saturating_add(1);
            a.phase = Phase::Busy;
        });
    }

    fn end(&self, now: Instant) {
        self.with(|a| {
            a.in_flight = a.in_flight.saturating_sub(1);
            if a.in_flight == 0 {
                a.phase = Phase::Idle { since: now };
            }
        });
    }

    fn verdict(&self, now: Instant, limits: Limits, shutting_down: bool) -> Verdict {
        self.with(|a| {
            let (since, limit, name) = match a.phase {
                Phase::Busy => return Verdict::Wait(None),
                Phase::Head { since } => (since, limits.header, "header"),
                Phase::Idle { since } => (since, limits.idle, "idle"),
            };
            // A response still going out is let finish, within the phase's limit.
            if shutting_down && !a.unflushed {
                return Verdict::Close(None);
            }
            match since.checked_add(limit) {
                Some(deadline) if now >= deadline => Verdict::Close(Some(name)),
                deadline => Verdict::Wait(deadline),
            }
        })
    }
}

/// Held from the service call until hyper drops the response body (it has all been written):
/// the connection is busy meanwhile.
struct InFlight(Arc<Track>);

impl InFlight {
    fn begin(track: Arc<Track>) -> InFlight {
        track.begin();
        InFlight(track)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end(Instant::now());
    }
}

/// A response body that keeps its request [`InFlight`].
pub struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling the [`Track`] what passes through it.
pub struct Watched {
    inner: TcpStream,
    track: Arc<Track>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.track.read(Instant::now());
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.track.wrote();
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.track.wrote();
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        if let Poll::Ready(Ok(())) = polled {
            self.track.flushed();
        }
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    fn at(start: Instant, secs: u64) -> Instant {
        start
            .checked_add(Duration::from_secs(secs))
            .expect("in range")
    }

    fn deadline(v: Verdict) -> Option<Instant> {
        match v {
            Verdict::Wait(d) => d,
            Verdict::Close(why) => panic!("closed ({why:?}) while it should wait"),
        }
    }

    #[test]
    fn phases_follow_requests_and_responses() {
        let t0 = Instant::now();
        let track = Track::new(t0);
        // First request: the head's clock runs from the accept, whatever arrives.
        track.read(at(t0, 5));
        assert_eq!(deadline(track.verdict(t0, LIMITS, false)), Some(at(t0, 10)));
        assert!(matches!(
            track.verdict(at(t0, 10), LIMITS, false),
            Verdict::Close(Some("header"))
        ));

        track.begin();
        assert_eq!(deadline(track.verdict(at(t0, 100), LIMITS, false)), None);
        assert_eq!(
            deadline(track.verdict(at(t0, 100), LIMITS, true)),
            None,
            "a request in flight gets the grace"
        );
        track.wrote();
        track.end(at(t0, 20));
        assert_eq!(
            deadline(track.verdict(at(t0, 20), LIMITS, false)),
            Some(at(t0, 80))
        );
        assert_eq!(
            deadline(track.verdict(at(t0, 20), LIMITS, true)),
            Some(at(t0, 80)),
            "an unflushed response may go out"
        );
        track.flushed();
        assert!(matches!(
            track.verdict(at(t0, 20), LIMITS, true),
            Verdict::Close(None)
        ));
        assert!(matches!(
            track.verdict(at(t0, 80), LIMITS, false),
            Verdict::Close(Some("idle"))
        ));

        // The next request's head is timed from its first byte.
        track.read(at(t0, 30));
        assert_eq!(
            deadline(track.verdict(at(t0, 30), LIMITS, false)),
            Some(at(t0, 40))
        );
        track.read(at(t0, 35));
        assert_eq!(
            deadline(track.verdict(at(t0, 35), LIMITS, false)),
            Some(at(t0, 40))
        );
    }

    #[test]
    fn pipelined_requests_keep_the_connection_busy_until_the_last() {
        let t0 = Instant::now();
        let track = Track::new(t0);
        track.begin();
        track.begin();
        track.end(at(t0, 1));
        assert_eq!(deadline(track.verdict(at(t0, 1), LIMITS, true)), None);
        track.end(at(t0, 2));
        assert!(matches!(
            track.verdict(at(t0, 2), LIMITS, true),
            Verdict::Close(None)
        ));
    }

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

    #[test]
    fn an_absurd_limit_never_overflows() {
        let t0 = Instant::now();
        let track = Track::new(t0);
        let limits = Limits {
            header: Duration::MAX,
            idle: Duration::MAX,
        };
        assert_eq!(deadline(track.verdict(t0, limits, false)), None);
    }
}
