//! The accept loop's manners under pressure. A failed accept (out of file descriptors, of
//! memory, of buffers) leaves the connection in the backlog, so retrying at once fails again at
//! once: the loop backs off instead (10 ms doubling to 1 s, reset by the next success). Its
//! log lines are throttled to one per period with a count of what was left out, so a storm of
//! errors cannot fill the disk with the same line.

use std::time::Duration;

use tokio::time::Instant;

/// The first wait after a failed accept.
const FIRST_DELAY: Duration = Duration::from_millis(10);
/// The longest wait: how late, at worst, accepting resumes once descriptors are free again.
const MAX_DELAY: Duration = Duration::from_secs(1);

/// How long to wait after failed accepts.
#[derive(Debug, Default)]
pub struct Backoff {
    delay: Option<Duration>,
    failures: u64,
}

impl Backoff {
    /// Records a failure; returns how long to wait before the next accept.
    pub fn failed(&mut self) -> Duration {
        let delay = self
            .delay
            .map_or(FIRST_DELAY, |d| d.saturating_mul(2).min(MAX_DELAY));
        self.delay = Some(delay);
        self.failures = self.failures.saturating_add(1);
        delay
    }

    /// Records a success; returns how many accepts had failed in a row before it, if any.
    pub fn succeeded(&mut self) -> Option<u64> {
        self.delay = None;
        match std::mem::take(&mut self.failures) {
            0 => None,
            n => Some(n),
        }
    }
}

/// Lets one log line through per `period`; counts the ones held back.
#[derive(Debug)]
pub struct Throttle {
    period: Duration,
    last: Option<Instant>,
    held: u64,
}

impl Throttle {
    pub fn new(period: Duration) -> Throttle {
        Throttle {
            period,
            last: None,
            held: 0,
        }
    }

    /// An event at `now`: `Some(n)` if it may be logged, `n` being how many were held back
    /// since the last line; `None` if it is to be held back.
    pub fn hit(&mut self, now: Instant) -> Option<u64> {
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.period);
        if due {
            self.last = Some(now);
            Some(std::mem::take(&mut self.held))
        } else {
            self.held = self.held.saturating_add(1);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_second_and_resets_on_success() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..10).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        assert_eq!(b.succeeded(), Some(10));
        assert_eq!(b.succeeded(), None);
        assert_eq!(b.failed(), FIRST_DELAY);
    }

    #[test]
    fn throttle_lets_one_line_per_period_and_counts_the_rest() {
        let mut t = Throttle::new(Duration::from_secs(10));
        let start = Instant::now();
        let at = |ms: u64| {
            start
                .checked_add(Duration::from_millis(ms))
                .expect("in range")
        };
        assert_eq!(t.hit(at(0)), Some(0));
        assert_eq!(t.hit(at(10)), None);
        assert_eq!(t.hit(at(9_999)), None);
        assert_eq!(t.hit(at(10_000)), Some(2));
        assert_eq!(t.hit(at(30_000)), Some(0));
    }
}
