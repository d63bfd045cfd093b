//! Time arithmetic that cannot overflow or panic.
//!
//! Times reach campanile from outside: a sender may write `endsAt: 9999-12-31T23:59:59Z` (which
//! Alertmanager accepts), a stored record holds whatever was accepted, a config any duration.
//! `OffsetDateTime + Duration` panics past year 9999 and `Instant + Duration` past the
//! monotonic clock's range, so one such alert used to stop the dispatcher, and the restart
//! after it. Every sum and difference of instants and durations in the host goes through
//! these functions instead (the crate denies `clippy::arithmetic_side_effects` on them, see
//! `lib.rs`): wall-clock times saturate at the ends of the representable range, monotonic
//! deadlines at [`FAR_FUTURE`] from now.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

/// The furthest a monotonic deadline is set: about 30 years, as tokio's own "far future".
/// Nothing campanile waits for is further away than that in practice; a far-future alert
/// end simply never comes due while the process runs.
pub const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `d` as a signed duration, saturating (a `std` duration can be longer than `time`'s).
fn signed(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// `d` after `t`, or the last representable instant (9999-12-31T23:59:59.999999999Z).
pub fn after(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    t.saturating_add(signed(d))
}

/// `d` after `t`, or `None` when that is past the representable range.
pub fn checked_after(t: OffsetDateTime, d: Duration) -> Option<OffsetDateTime> {
    t.checked_add(signed(d))
}

/// `t` shifted by a signed duration, saturating.
pub fn shift(t: OffsetDateTime, d: time::Duration) -> OffsetDateTime {
    t.saturating_add(d)
}

/// How long from `from` until `to`: zero if `to` is not later.
pub fn until(from: OffsetDateTime, to: OffsetDateTime) -> Duration {
    between(from, to).try_into().unwrap_or(Duration::ZERO)
}

/// How long from `earlier` to `later`, signed (negative if `later` is earlier). This cannot
/// overflow: a `time::Duration` holds the difference of any two representable times.
#[allow(clippy::arithmetic_side_effects)]
fn between(earlier: OffsetDateTime, later: OffsetDateTime) -> time::Duration {
    later - earlier
}

/// The monotonic instant `d` after `now`, at most [`FAR_FUTURE`] away.
pub fn deadline(now: Instant, d: Duration) -> Instant {
    let d = d.min(FAR_FUTURE);
    now.checked_add(d).unwrap_or(now)
}

/// The monotonic instant at which the wall-clock time `at` comes, seen from `now`/`wall`
/// (at once if it has passed, at most [`FAR_FUTURE`] away).
pub fn deadline_at(now: Instant, wall: OffsetDateTime, at: OffsetDateTime) -> Instant {
    deadline(now, until(wall, at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const LAST: OffsetDateTime = datetime!(9999-12-31 23:59:59.999_999_999 UTC);
    const FIRST: OffsetDateTime = datetime!(-9999-01-01 0:00 UTC);

    #[test]
    fn wall_clock_sums_saturate() {
        let far = datetime!(9999-12-31 23:59:59 UTC);
        assert_eq!(after(far, Duration::from_secs(120 * 3600)), LAST);
        assert_eq!(after(far, Duration::MAX), LAST);
        assert_eq!(checked_after(far, Duration::from_secs(1)), None);
        assert_eq!(
            checked_after(far, Duration::from_millis(999)),
            Some(datetime!(9999-12-31 23:59:59.999 UTC))
        );
        assert_eq!(
            shift(far, time::Duration::days(2)),
            LAST,
            "signed shifts saturate too"
        );
        assert_eq!(shift(FIRST, time::Duration::days(-2)), FIRST);
    }

    #[test]
    fn differences_are_clamped_at_zero() {
        let a = datetime!(2026-01-01 0:00 UTC);
        let b = datetime!(2026-01-01 0:01 UTC);
        assert_eq!(until(a, b), Duration::from_secs(60));
        assert_eq!(until(b, a), Duration::ZERO);
        assert_eq!(between(b, a), time::Duration::minutes(-1));
        // The widest difference there is fits.
        assert!(until(FIRST, LAST) > Duration::from_secs(86_400 * 365 * 19_000));
    }

    #[test]
    fn monotonic_deadlines_stop_at_the_far_future() {
        let now = Instant::now();
        assert_eq!(deadline(now, Duration::MAX), now + FAR_FUTURE);
        assert_eq!(
            deadline(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        let wall = datetime!(2026-01-01 0:00 UTC);
        assert_eq!(deadline_at(now, wall, LAST), now + FAR_FUTURE);
        assert_eq!(
            deadline_at(now, wall, FIRST),
            now,
            "a past time is due at once"
        );
    }
}
