//! A receiver's worker: takes notifications from its queue in order, runs at most
//! `concurrency` deliveries at once, and gives each attempt the receiver's rate limit and
//! timeout. Each receiver has its own worker, so a slow or failing one delays only itself.
//!
//! What waits is queued, never dropped: the queue's depth is the
//! `campanile_notification_queue{receiver}` gauge.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

use super::ratelimit::TokenBucket;
use super::{retry, BoxFuture, Notification, Notifier, NotifyError};
use crate::config::DeliveryConfig;
use crate::store::{Op, Store};
use crate::telemetry::Metrics;

/// Deliveries per receiver that may be finished but not yet cleared from the outbox on disk.
/// A delivery's slot is freed as soon as the receiver has the notification, and the outbox
/// entry's deletion is committed with the store's next transaction: waiting for that fsync
/// with the slot held made every delivery wait for the disk, so a slow disk (a commit of
/// 200 ms) held up pages by as long. A crash repeats at most `concurrency` deliveries in flight
/// plus these.
pub const UNCLEARED_PER_RECEIVER: usize = 64;

/// Wraps an integration with what every attempt gets: first a token from the rate limit (so
/// retries count too), then the attempt under the timeout.
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

    async fn attempt(&self, n: &Notification) -> Result<(), NotifyError> {
        if let Some(bucket) = &self.bucket {
            bucket.acquire().await;
        }
        match tokio::time::timeout(self.timeout, self.inner.notify(n)).await {
            Ok(result) => result,
            Err(_) => Err(NotifyError::Transport(format!(
                "no answer within the timeout of {}",
                humantime::format_duration(self.timeout)
            ))),
        }
    }
}

impl Notifier for Attempts {
    fn integration(&self) -> &'static str {
        self.inner.integration()
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.attempt(n))
    }
}

/// What a worker needs besides its queue.
pub struct Worker {
    pub name: String,
    pub notifier: Arc<dyn Notifier>,
    pub retry_for: Duration,
    pub concurrency: usize,
    pub queue_gauge: Gauge,
    pub metrics: Arc<Metrics>,
    pub store: Arc<Store>,
    pub shutdown: CancellationToken,
}

impl Worker {
    pub async fn run(self, mut rx: mpsc::UnboundedReceiver<Notification>) {
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let uncleared = Arc::new(Semaphore::new(UNCLEARED_PER_RECEIVER));
        while let Some(n) = rx.recv().await {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            self.queue_gauge.dec();
            let notifier = self.notifier.clone();
            let metrics = self.metrics.clone();
            let shutdown = self.shutdown.clone();
            let store = self.store.clone();
            let retry_for = self.retry_for;
            let uncleared = uncleared.clone();
            tokio::spawn(async move {
                let finished =
                    retry::deliver(notifier.as_ref(), &n, retry_for, &metrics, &shutdown).await;
                // Interrupted by shutdown: the outbox keeps it, to deliver after the restart.
                if let (true, Some(id)) = (finished, n.outbox_id) {
                    // Taken before the slot is freed, so in flight plus uncleared stays bounded.
                    let pending = uncleared
                        .acquire_owned()
                        .await
                        .expect("the semaphore is never closed");
                    drop(permit);
                    if let Err(e) = store.commit(vec![Op::DeleteOutbox(id)]).await {
                        tracing::warn!(error = %e, "could not clear a delivered notification from the outbox");
                    }
                    drop(pending);
                }
            });
        }
        tracing::debug!(receiver = %self.name, "receiver worker stopped");
    }
}
