//! Notification: the [`Notifier`] seam every integration implements, and the receiver workers
//! that queue, rate-limit and retry deliveries so one slow receiver never delays another.
//!
//! Integrations live one per module (`webhook`, `log`); the JSON every Alertmanager webhook
//! consumer understands is built in `payload`, default texts in `render`.

mod log;
pub mod payload;
pub mod render;
mod retry;
mod webhook;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::config::{ReceiverConfig, ReceiverKind};
use crate::group::GroupFlush;
use crate::model::AlertStatus;
use crate::plugin::Severity;
use crate::store::{Op, Store};
use crate::telemetry::{Metrics, NotifyLabels, ReceiverLabels};

/// Deliveries waiting per receiver before routing waits for room (it never drops).
const QUEUE_CAPACITY: usize = 1024;
/// Deliveries in flight per receiver.
const CONCURRENCY: usize = 4;

/// One group, for one receiver, with the plugin's overrides.
#[derive(Clone, Debug)]
pub struct Notification {
    pub receiver: Arc<str>,
    pub flush: Arc<GroupFlush>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub severity: Option<Severity>,
    /// Whether resolved alerts are included (the receiver's `send_resolved`).
    pub send_resolved: bool,
    pub external_url: Arc<str>,
    /// The outbox entry that holds this notification until it is finished with.
    pub outbox_id: Option<u64>,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A delivery that failed, and whether trying again may help.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Connection refused or reset, timeout, DNS: the endpoint may come back.
    #[error("request failed: {0}")]
    Transport(String),
    /// The endpoint answered with an error status.
    #[error("endpoint answered {status}: {body}")]
    Status {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
}

impl NotifyError {
    /// Connection errors, timeouts, 5xx, 408 and 429 are worth retrying; other 4xx are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            NotifyError::Transport(_) => true,
            NotifyError::Status { status, .. } => {
                *status >= 500 || *status == 408 || *status == 429
            }
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            NotifyError::Status { retry_after, .. } => *retry_after,
            NotifyError::Transport(_) => None,
        }
    }
}

/// An integration: something that can deliver a notification once.
pub trait Notifier: Send + Sync {
    /// A short name for logs and metrics (`webhook`, `log`, ...).
    fn integration(&self) -> &'static str;
    fn notify<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), NotifyError>>;
}

struct Worker {
    queue: mpsc::Sender<Notification>,
    send_resolved: bool,
}

/// Every configured receiver, each with its own queue and worker task.
pub struct Receivers {
    workers: HashMap<String, Worker>,
    store: Arc<Store>,
    external_url: Arc<str>,
    metrics: Arc<Metrics>,
}

impl Receivers {
    pub fn start(
        configs: &[ReceiverConfig],
        external_url: &str,
        metrics: Arc<Metrics>,
        store: Arc<Store>,
        shutdown: CancellationToken,
    ) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(concat!("campanile/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("HTTP client with default TLS roots");
        let mut workers = HashMap::new();
        for rc in configs {
            let (notifier, retry_for): (Arc<dyn Notifier>, Duration) = match &rc.kind {
                ReceiverKind::Webhook {
                    url,
                    timeout,
                    max_alerts,
                    retry_for,
                } => (
                    Arc::new(webhook::Webhook::new(
                        client.clone(),
                        url.clone(),
                        *timeout,
                        *max_alerts,
                    )),
                    *retry_for,
                ),
                ReceiverKind::Log => (Arc::new(log::Log), Duration::ZERO),
            };
            let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
            tokio::spawn(run_worker(
                rc.name.clone(),
                notifier,
                retry_for,
                rx,
                metrics.clone(),
                store.clone(),
                shutdown.clone(),
            ));
            workers.insert(
                rc.name.clone(),
                Worker {
                    queue: tx,
                    send_resolved: rc.send_resolved,
                },
            );
        }
        Receivers {
            workers,
            store,
            external_url: external_url.into(),
            metrics,
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.workers.contains_key(name)
    }

    /// Queues the group for a receiver. Waits for room rather than dropping; skips groups that
    /// only resolved when the receiver does not want resolved notifications.
    /// Whether `receiver` wants a notification for this flush (`send_resolved`).
    pub fn wants(&self, receiver: &str, flush: &GroupFlush) -> bool {
        self.workers
            .get(receiver)
            .is_some_and(|w| w.send_resolved || flush.status() == AlertStatus::Firing)
    }

    /// Queues the group for a receiver. Waits for room rather than dropping. The outbox entry,
    /// if any, is deleted once the delivery is finished with (sent, or failed for good).
    pub async fn enqueue(
        &self,
        receiver: &str,
        flush: Arc<GroupFlush>,
        overrides: Overrides,
        outbox_id: Option<u64>,
    ) {
        let worker = match self.workers.get(receiver) {
            Some(w) if self.wants(receiver, &flush) => w,
            found => {
                if found.is_none() {
                    tracing::error!(receiver, group_key = %flush.key, "no such receiver; dropping its outbox entry");
                }
                self.finished(outbox_id);
                return;
            }
        };
        let n = Notification {
            receiver: receiver.into(),
            flush,
            title: overrides.title,
            body: overrides.body,
            severity: overrides.severity,
            send_resolved: worker.send_resolved,
            external_url: self.external_url.clone(),
            outbox_id,
        };
        let gauge = self
            .metrics
            .notification_queue
            .get_or_create(&ReceiverLabels {
                receiver: receiver.to_string(),
            })
            .clone();
        gauge.inc();
        if worker.queue.send(n).await.is_err() {
            gauge.dec();
            tracing::warn!(receiver, "receiver worker stopped; shutting down");
        }
    }

    fn finished(&self, outbox_id: Option<u64>) {
        if let Some(id) = outbox_id {
            self.store.submit(vec![Op::DeleteOutbox(id)]);
        }
    }
}

/// What a plugin may change about a notification.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    pub title: Option<String>,
    pub body: Option<String>,
    pub severity: Option<Severity>,
}

async fn run_worker(
    name: String,
    notifier: Arc<dyn Notifier>,
    retry_for: Duration,
    mut rx: mpsc::Receiver<Notification>,
    metrics: Arc<Metrics>,
    store: Arc<Store>,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let queue_gauge = metrics
        .notification_queue
        .get_or_create(&ReceiverLabels {
            receiver: name.clone(),
        })
        .clone();
    while let Some(n) = rx.recv().await {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        queue_gauge.dec();
        let notifier = notifier.clone();
        let metrics = metrics.clone();
        let shutdown = shutdown.clone();
        let store = store.clone();
        tokio::spawn(async move {
            let finished =
                retry::deliver(notifier.as_ref(), &n, retry_for, &metrics, &shutdown).await;
            // Interrupted by shutdown: the outbox keeps it, to deliver after the restart. The
            // slot is held until the deletion is durable, so at most `CONCURRENCY` deliveries
            // per receiver can be repeated after a crash.
            if let (true, Some(id)) = (finished, n.outbox_id) {
                if let Err(e) = store.commit(vec![Op::DeleteOutbox(id)]).await {
                    tracing::warn!(error = %e, "could not clear a delivered notification from the outbox");
                }
            }
            drop(permit);
        });
    }
}

fn count(metrics: &Metrics, n: &Notification, integration: &'static str, outcome: &'static str) {
    metrics
        .notifications
        .get_or_create(&NotifyLabels {
            receiver: n.receiver.to_string(),
            integration,
            outcome,
        })
        .inc();
}
