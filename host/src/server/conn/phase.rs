//! A connection's phase (head, idle, busy) and since when, as its socket and its service
//! report them, and what the phase says to do now: wait (until when) or close.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The time each waiting phase may take.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub header: Duration,
    pub idle: Duration,
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
pub(super) struct Track(Mutex<Activity>);

pub(super) enum Verdict {
    /// Close now; `Some(phase)` when a timeout did it, `None` for shutdown.
    Close(Option<&'static str>),
    /// Keep serving, until this deadline if there is one.
    Wait(Option<Instant>),
}

impl Track {
    pub(super) fn new(accepted: Instant) -> Track {
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
    pub(super) fn read(&self, now: Instant) {
        self.with(|a| {
            if let Phase::Idle { .. } = a.phase {
                a.phase = Phase::Head { since: now };
            }
        });
    }

    pub(super) fn wrote(&self) {
        self.with(|a| a.unflushed = true);
    }

    pub(super) fn flushed(&self) {
        self.with(|a| a.unflushed = false);
    }

    pub(super) fn begin(&self) {
        self.with(|a| {
            a.in_flight = a.in_flight.saturating_add(1);
            a.phase = Phase::Busy;
        });
    }

    pub(super) fn end(&self, now: Instant) {
        self.with(|a| {
            a.in_flight = a.in_flight.saturating_sub(1);
            if a.in_flight == 0 {
                a.phase = Phase::Idle { since: now };
            }
        });
    }

    pub(super) fn verdict(&self, now: Instant, limits: Limits, shutting_down: bool) -> Verdict {
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
pub(super) struct InFlight(Arc<Track>);

impl InFlight {
    pub(super) fn begin(track: Arc<Track>) -> InFlight {
        track.begin();
        InFlight(track)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end(Instant::now());
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
