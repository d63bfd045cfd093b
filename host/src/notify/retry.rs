//! Delivery with retries: exponential backoff with jitter, `Retry-After` honoured, until the
//! receiver's `retry_for` budget is spent. Permanent failures are not retried.
//!
//! [`deliver`] decides a notification's fate in exactly two places: where it was sent, and
//! where it failed for good (not retryable, or out of time).

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{count, Notification, Notifier};
use crate::telemetry::{Metrics, ReceiverLabels};

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The least wait even when `Retry-After` says 0, so a misbehaving endpoint is not hammered.
const MIN_WAIT: Duration = Duration::from_millis(100);

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
/// with (sent, or failed for good); `false` when shutdown interrupted it.
pub async fn deliver(
    notifier: &dyn Notifier,
    n: &Notification,
    retry_for: Duration,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> bool {
    let integration = notifier.integration();
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        let err = match notifier.notify(n).await {
            Ok(()) => {
                count(metrics, n, integration, "sent");
                tracing::info!(
                    receiver = %n.receiver,
                    integration,
                    group_key = %n.flush.key,
                    reason = n.flush.reason.as_str(),
                    alerts = n.flush.alerts.len(),
                    attempts = attempt + 1,
                    "notification sent"
                );
                return true;
            }
            Err(e) => e,
        };
        let wait = match err.retry_after() {
            Some(after) => after.max(MIN_WAIT),
            None => backoff(attempt),
        };
        let out_of_time = started.elapsed().saturating_add(wait) > retry_for;
        if !err.is_retryable() || out_of_time {
            count(metrics, n, integration, "failed");
            tracing::error!(
                receiver = %n.receiver,
                integration,
                group_key = %n.flush.key,
                attempts = attempt + 1,
                retryable = err.is_retryable(),
                error = %err,
                "notification failed permanently"
            );
            return true;
        }
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
            attempt = attempt + 1,
            retry_in_ms = wait.as_millis() as u64,
            error = %err,
            "notification failed; will retry"
        );
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => {
                tracing::warn!(receiver = %n.receiver, group_key = %n.flush.key, "shutting down with a notification still being retried");
                return false;
            }
        }
        attempt += 1;
    }
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
}
