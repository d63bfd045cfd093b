//! A receiver's worker: takes notifications from its queue in order, runs at most
//! `concurrency` deliveries at once, and gives each attempt the receiver's rate limit and
//! timeout. Each receiver has its own worker, so a slow or failing one delays only itself.
//!
//! What waits is queued, never dropped: the queue's depth is the
//! `campanile_notification_queue{receiver}` gauge. Once shutdown is signalled a worker starts
//! nothing new: what is still queued stays in the outbox for the next start, and deliveries in
//! flight (tracked in [`Worker::in_flight`], which shutdown waits for within its grace) finish
//! their attempt and clear their outbox entry.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::attempt::Attempts;
use super::{outbox, retry, Notification};
use crate::deliveries::Deliveries;
use crate::store::{Op, Store};
use crate::telemetry::Metrics;

/// Deliveries per receiver that may be finished but not yet cleared from the outbox on disk.
/// A delivery's slot is freed as soon as the receiver has the notification, and the outbox
/// entry's deletion is committed with the store's next transaction: waiting for that fsync
/// with the slot held made every delivery wait for the disk, so a slow disk (a commit of
/// 200 ms) held up pages by as long. A crash repeats at most `concurrency` deliveries in flight
/// plus these.
pub const UNCLEARED_PER_RECEIVER: usize = 64;

/// What a worker needs besides its queue.
pub struct Worker {
    pub name: String,
    pub attempts: Arc<Attempts>,
    pub retry_for: Duration,
    pub concurrency: usize,
    pub queue_gauge: Gauge,
    pub metrics: Arc<Metrics>,
    /// The delivery log (outcomes, attempts, last errors).
    pub deliveries: Arc<Deliveries>,
    pub store: Arc<Store>,
    pub shutdown: CancellationToken,
    /// Every delivery task, so shutdown can wait for those in flight.
    pub in_flight: TaskTracker,
}

impl Worker {
    pub async fn run(self, mut rx: mpsc::UnboundedReceiver<Notification>) {
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let uncleared = Arc::new(Semaphore::new(UNCLEARED_PER_RECEIVER));
        loop {
            // Shutdown first: once it is signalled, nothing more is taken from the queue.
            let n = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => break,
                n = rx.recv() => match n {
                    Some(n) => n,
                    None => break,
                },
            };
            let permit = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            self.queue_gauge.dec();
            let attempts = self.attempts.clone();
            let metrics = self.metrics.clone();
            let deliveries = self.deliveries.clone();
            let shutdown = self.shutdown.clone();
            let store = self.store.clone();
            let retry_for = self.retry_for;
            let uncleared = uncleared.clone();
            self.in_flight.spawn(async move {
                // Each retry's time goes into the outbox entry, not waited for: should it be
                // lost, a restart only retries sooner.
                let keep_schedule = |schedule| {
                    if let Some(id) = n.outbox_id {
                        let entry = outbox::entry(&n.flush, &n.receiver, &n.overrides(), schedule);
                        store.submit(vec![Op::PutOutbox(id, Box::new(entry))]);
                    }
                };
                let finished = retry::deliver(
                    &attempts,
                    &n,
                    retry_for,
                    &metrics,
                    &deliveries,
                    &shutdown,
                    keep_schedule,
                )
                .await;
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
        if self.shutdown.is_cancelled() {
            tracing::info!(
                receiver = %self.name,
                queued = self.queue_gauge.get(),
                "receiver worker stopped for shutdown; queued notifications stay in the outbox"
            );
        } else {
            // Its receiver was changed or removed by a reload, and it has handed on everything
            // queued; deliveries still in flight (being retried) go on until finished with.
            tracing::info!(
                receiver = %self.name,
                "receiver worker drained after a reload; its deliveries in flight finish with the old settings"
            );
        }
    }
}
