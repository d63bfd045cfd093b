//! Delivery with retries: exponential backoff with jitter, `Retry-After` honoured, until the
//! receiver's `retry_for` deadline. Permanent failures are not retried.
//!
//! `retry_for` is a deadline counted from the first attempt, and the last attempt is scheduled
//! against it: each wait is the backoff (or `Retry-After`) or the time left, whichever is
//! shorter, so the last attempt is made at the deadline, and a notification is given up only
//! when an attempt fails at or after it. Each retry's earliest time and the first attempt's time
//! are handed to the caller as a [`Schedule`] (the worker writes them to the outbox entry), so
//! after a restart the next attempt still waits for them and the deadline does not move.
//!
//! [`deliver`] decides a notification's fate in exactly two places: where it was sent, and
//! where it failed for good (not retryable, or out of time). Shutdown starts nothing new: no
//! first attempt and no retry begins once it is signalled.

use std::time::Duration;

use rand::Rng;
use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::attempt::Attempts;
use super::{count, Notification};
use crate::clock;
use crate::deliveries::{Deliveries, Delivery, Outcome};
use crate::telemetry::{Metrics, ReceiverLabels};

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The least wait even when `Retry-After` says 0, so a misbehaving endpoint is not hammered.
const MIN_WAIT: Duration = Duration::from_millis(100);

/// Where a delivery stands in its retries, in wall-clock time so it means the same after a
/// restart. Both are `None` until a first attempt has failed and a retry is scheduled.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Schedule {
    /// When the first attempt was made: `retry_for` counts from it.
    pub first_attempt_at: Option<OffsetDateTime>,
    /// The earliest time of the next attempt (from the backoff or `Retry-After`).
    pub not_before: Option<OffsetDateTime>,
}

/// The wait before attempt `attempt + 1`: up to `FIRST_BACKOFF * 2^attempt`, capped, jittered.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = FIRST_BACKOFF
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_BACKOFF);
    let millis =
        rand::rng().random_range(ceiling.as_millis() as u64 / 2..=ceiling.as_millis() as u64);
    Duration::from_millis(millis)
}

/// Delivers `n`, retrying as long as it may help. Returns whether the notification is finished
/// with (sent, or failed for good); `false` when shutdown came first. `scheduled` is told of
/// every retry before its wait begins; the delivery log `log` of every outcome.
pub async fn deliver(
    attempts: &Attempts,
    n: &Notification,
    retry_for: Duration,
    metrics: &Metrics,
    log: &Deliveries,
    shutdown: &CancellationToken,
    mut scheduled: impl FnMut(Schedule),
) -> bool {
    let integration = attempts.integration();
    let id = log.start();
    let record = |outcome, attempts: u32, last_error: Option<String>| {
        let delivery = Delivery {
            at: OffsetDateTime::now_utc(),
            receiver: n.receiver.to_string(),
            integration,
            reason: n.flush.reason.as_str(),
            alerts: n.flush.alerts.len(),
            outcome,
            attempts,
            last_error,
        };
        log.record(&n.flush.key, id, delivery);
    };
    let mut last_error: Option<String> = None;
    // Resumed from the outbox: the wait a retry asked for before the restart, and its deadline.
    let mut wait = n
        .schedule
        .not_before
        .map_or(Duration::ZERO, |at| until(at, retry_for));
    if !wait.is_zero() {
        tracing::info!(
            receiver = %n.receiver,
            group_key = %n.flush.key,
            retry_in_ms = wait.as_millis() as u64,
            "waiting for the retry time set before the restart"
        );
    }
    let mut first_attempt_at = n.schedule.first_attempt_at;
    let mut deadline: Option<Option<Instant>> = None;
    let mut attempt = 0u32;
    loop {
        if !wait.is_zero() {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    tracing::warn!(receiver = %n.receiver, group_key = %n.flush.key, "shutting down with a notification still being retried; the outbox keeps it");
                    return false;
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
        if !attempts.ready(shutdown).await {
            return false;
        }
        // In a cluster: once the group's shard has moved on, its outbox entry is the new
        // holder's to deliver; while a late lease round leaves that open, wait for it (see
        // `group::FlushLease::settled`).
        if let Some(lease) = &n.flush.lease {
            let held = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return false,
                held = lease.settled() => held,
            };
            if !held {
                tracing::info!(receiver = %n.receiver, group_key = %n.flush.key, "delivery left to the shard's new holder");
                return false;
            }
        }
        let first = *first_attempt_at.get_or_insert_with(OffsetDateTime::now_utc);
        // `None`: a budget too large for the clock, never reached.
        let deadline = *deadline.get_or_insert_with(|| {
            Instant::now().checked_add(until(clock::after(first, retry_for), retry_for))
        });
        let err = match attempts.attempt(n).await {
            Ok(()) => {
                count(metrics, n, integration, "sent");
                record(Outcome::Sent, attempt.saturating_add(1), last_error);
                tracing::info!(
                    receiver = %n.receiver,
                    integration,
                    group_key = %n.flush.key,
                    reason = n.flush.reason.as_str(),
                    alerts = n.flush.alerts.len(),
                    attempts = attempt.saturating_add(1),
                    "notification sent"
                );
                return true;
            }
            Err(e) => e,
        };
        let left = deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
        let error = err.to_string();
        if !err.is_retryable() || left.is_zero() {
            count(metrics, n, integration, "failed");
            record(Outcome::Failed, attempt.saturating_add(1), Some(error));
            tracing::error!(
                receiver = %n.receiver,
                integration,
                group_key = %n.flush.key,
                attempts = attempt.saturating_add(1),
                retryable = err.is_retryable(),
                error = %err,
                "notification failed permanently"
            );
            return true;
        }
        wait = match err.retry_after() {
            Some(after) => after.max(MIN_WAIT),
            None => backoff(attempt),
        }
        .min(left);
        scheduled(Schedule {
            first_attempt_at: Some(first),
            not_before: Some(clock::after(OffsetDateTime::now_utc(), wait)),
        });
        record(
            Outcome::Retrying,
            attempt.saturating_add(1),
            Some(error.clone()),
        );
        last_error = Some(error);
        metrics
            .notification_retries
            .get_or_create(&ReceiverLabels {
                receiver: n.receiver.to_string(),
            })
            .inc();
        tracing::warn!(
            receiver = %n.receiver,
            integration,
            group_key = %n.flush.key,
            attempt = attempt.saturating_add(1),
            retry_in_ms = wait.as_millis() as u64,
            last = wait == left,
            error = %err,
            "notification failed; will retry"
        );
        attempt = attempt.saturating_add(1);
    }
}

/// The time from now until `at`: zero once it has passed, and at most `cap`, so a clock set
/// back (or a record written by a wrong one) cannot make a delivery wait past its budget.
fn until(at: OffsetDateTime, cap: Duration) -> Duration {
    clock::until(OffsetDateTime::now_utc(), at).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 0..30 {
            let ceiling = FIRST_BACKOFF
                .saturating_mul(1 << attempt.min(16))
                .min(MAX_BACKOFF);
            let b = backoff(attempt);
            assert!(b <= ceiling && b >= ceiling / 2, "attempt {attempt}: {b:?}");
        }
        assert!(backoff(20) >= MAX_BACKOFF / 2);
    }

    #[test]
    fn waits_until_a_wall_clock_time_are_bounded() {
        let now = OffsetDateTime::now_utc();
        let hour = Duration::from_secs(3600);
        assert_eq!(
            until(now - time::Duration::seconds(5), hour),
            Duration::ZERO
        );
        let soon = until(now + time::Duration::seconds(3), hour);
        assert!(
            soon > Duration::from_secs(2) && soon <= Duration::from_secs(3),
            "{soon:?}"
        );
        assert_eq!(until(now + time::Duration::days(2), hour), hour);
        let far = clock::after(now, Duration::MAX);
        assert_eq!(far.year(), 9999);
        assert!(!until(far, Duration::MAX).is_zero());
        assert_eq!(until(OffsetDateTime::UNIX_EPOCH, hour), Duration::ZERO);
    }
}
