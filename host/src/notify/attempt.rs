//! One delivery attempt, with what every attempt gets: first a token from the receiver's rate
//! limit (so retries count too), then the integration's call under the receiver's timeout.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::ratelimit::TokenBucket;
use super::{Notification, Notifier, NotifyError};
use crate::config::DeliveryConfig;

/// Wraps an integration with what every attempt gets: first a token from the rate limit (so
/// retries count too, [`Attempts::ready`]), then the attempt under the timeout.
pub struct Attempts {
    inner: Arc<dyn Notifier>,
    timeout: Duration,
    bucket: Option<TokenBucket>,
}

impl Attempts {
    pub fn new(inner: Arc<dyn Notifier>, delivery: &DeliveryConfig) -> Self {
        Attempts {
            inner,
            timeout: delivery.timeout,
            bucket: delivery.rate_limit.map(TokenBucket::new),
        }
    }

    pub fn integration(&self) -> &'static str {
        self.inner.integration()
    }

    /// Waits for the rate limit's token for one attempt; `false` if shutdown comes first (or
    /// came already), when no attempt may start.
    pub async fn ready(&self, shutdown: &CancellationToken) -> bool {
        if shutdown.is_cancelled() {
            return false;
        }
        let Some(bucket) = &self.bucket else {
            return true;
        };
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => false,
            _ = bucket.acquire() => true,
        }
    }

    /// One attempt, under the timeout; call [`Attempts::ready`] first.
    pub async fn attempt(&self, n: &Notification) -> Result<(), NotifyError> {
        match tokio::time::timeout(self.timeout, self.inner.notify(n)).await {
            Ok(result) => result,
            Err(_) => Err(NotifyError::Transport(format!(
                "no answer within the timeout of {}",
                humantime::format_duration(self.timeout)
            ))),
        }
    }
}
