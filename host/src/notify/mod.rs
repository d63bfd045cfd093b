//! Notification: the [`Notifier`] seam every integration implements, and the receiver workers
//! that queue, rate-limit and retry deliveries so one slow receiver never delays another.
//!
//! - integrations, one per module (`webhook`, `log`, `slack`, `email` …), each implementing
//!   `integrations::Integration` for its type's configuration; `integrations` builds the
//!   notifier of a receiver's kind, by the one list of types in `config`;
//! - texts: `render` (default title and bodies), `payload` (webhook v4 JSON), `model::truncate`
//!   (API limits), `severity` (plugin override or labels), `incident` (pager dedup keys);
//! - delivery: `worker` (queue, concurrency, rate limit, attempt timeout, shutdown), `ratelimit`,
//!   `retry` (backoff, `Retry-After`, the `retry_for` deadline), `outbox` (a notification's
//!   outbox entry, with its retry schedule), `http` (answers sorted into retryable or not,
//!   bodies read with a cap), `smtp` (an SMTP session whose reads are capped);
//! - `secret`: values that never reach a log.

mod attempt;
mod discord;
mod email;
mod http;
mod incident;
pub(crate) mod integrations;
mod log;
mod mattermost;
mod msteams;
mod opsgenie;
mod outbox;
mod pagerduty;
pub mod payload;
mod ratelimit;
pub mod render;
mod retry;
mod severity;
mod slack;
mod smtp;
mod webhook;
mod worker;

pub use outbox::{entry as outbox_entry, schedule as outbox_schedule};
pub use retry::Schedule;

use crate::model::truncate;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use crate::ack::link::AckLinks;
use crate::config::ReceiverConfig;
use crate::deliveries::Deliveries;
use crate::group::GroupFlush;
use crate::model::AlertStatus;
use crate::model::Severity;
use crate::store::{Op, Store};
use crate::supervise::Supervisor;
use crate::telemetry::{Metrics, NotifyLabels, ReceiverLabels};

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
    /// A signed link that acknowledges the group (firing notifications, with `[acks]
    /// signing_key` set). Default texts show it; the webhook payload does not.
    pub ack_link: Option<String>,
    /// The outbox entry that holds this notification until it is finished with.
    pub outbox_id: Option<u64>,
    /// Where its retries stood before a restart (from the outbox entry); default when new.
    pub schedule: Schedule,
}

impl Notification {
    /// The plugin's overrides it carries.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            title: self.title.clone(),
            body: self.body.clone(),
            severity: self.severity,
        }
    }
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
    /// Refused for good without an HTTP status: an SMTP 5xx reply, a message that cannot be
    /// built.
    #[error("{0}")]
    Rejected(String),
}

impl NotifyError {
    /// Connection errors, timeouts, 5xx, 408 and 429 are worth retrying; other 4xx are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            NotifyError::Transport(_) => true,
            NotifyError::Status { status, .. } => {
                *status >= 500 || *status == 408 || *status == 429
            }
            NotifyError::Rejected(_) => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            NotifyError::Status { retry_after, .. } => *retry_after,
            NotifyError::Transport(_) | NotifyError::Rejected(_) => None,
        }
    }
}

/// An integration: something that can deliver a notification once.
pub trait Notifier: Send + Sync {
    /// A short name for logs and metrics (`webhook`, `log`, ...).
    fn integration(&self) -> &'static str;
    fn notify<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), NotifyError>>;
}

struct Queue {
    /// Unbounded: a notification is already durable in the outbox and small (the group is
    /// shared), and a bound would make routing wait on the slowest receiver of a group.
    /// The worker ends once every sender is gone and the queue is drained.
    tx: mpsc::UnboundedSender<Notification>,
    send_resolved: bool,
    /// What the worker was started with: a reload keeps the worker while this is unchanged.
    config: ReceiverConfig,
}

/// What starting a receiver worker takes, shared by every configuration's receivers.
struct Workers {
    client: reqwest::Client,
    metrics: Arc<Metrics>,
    deliveries: Arc<Deliveries>,
    store: Arc<Store>,
    supervisor: Arc<Supervisor>,
    in_flight: TaskTracker,
}

impl Workers {
    fn start(&self, rc: &ReceiverConfig) -> Arc<Queue> {
        let notifier = integrations::notifier(rc, &self.client);
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = worker::Worker {
            name: rc.name.clone(),
            attempts: Arc::new(attempt::Attempts::new(notifier, &rc.delivery)),
            retry_for: rc.delivery.retry_for,
            concurrency: rc.delivery.concurrency,
            queue_gauge: self
                .metrics
                .notification_queue
                .get_or_create(&ReceiverLabels {
                    receiver: rc.name.clone(),
                })
                .clone(),
            metrics: self.metrics.clone(),
            deliveries: self.deliveries.clone(),
            store: self.store.clone(),
            shutdown: self.supervisor.shutdown(),
            in_flight: self.in_flight.clone(),
        };
        self.supervisor.spawn(
            format!("the worker of receiver {:?}", rc.name),
            worker.run(rx),
        );
        Arc::new(Queue {
            tx,
            send_resolved: rc.send_resolved,
            config: rc.clone(),
        })
    }
}

/// Every configured receiver, each with its own queue and worker task.
pub struct Receivers {
    workers: HashMap<String, Arc<Queue>>,
    external_url: Arc<str>,
    ack_links: Option<Arc<AckLinks>>,
    starter: Arc<Workers>,
}

/// What a reload did to the receivers' workers.
#[derive(Debug, Default, serde::Serialize, PartialEq)]
pub struct ReceiverChanges {
    /// Receivers new or changed: a worker with the new settings.
    pub started: Vec<String>,
    /// Receivers removed or changed: their old worker finishes what it was given, then ends.
    pub draining: Vec<String>,
}

impl Receivers {
    pub fn start(
        configs: &[ReceiverConfig],
        external_url: &str,
        ack_links: Option<Arc<AckLinks>>,
        metrics: Arc<Metrics>,
        deliveries: Arc<Deliveries>,
        store: Arc<Store>,
        supervisor: &Arc<Supervisor>,
    ) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(concat!("campanile/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("HTTP client with default TLS roots");
        let starter = Arc::new(Workers {
            client,
            metrics,
            deliveries,
            store,
            supervisor: supervisor.clone(),
            in_flight: TaskTracker::new(),
        });
        let workers = configs
            .iter()
            .map(|rc| (rc.name.clone(), starter.start(rc)))
            .collect();
        Receivers {
            workers,
            external_url: external_url.into(),
            ack_links,
            starter,
        }
    }

    /// The receivers of a reloaded configuration. A receiver whose settings are unchanged keeps
    /// its worker (its queue, rate limit and deliveries in flight); a new or changed one gets a
    /// new worker. The old worker of a changed or removed receiver is not stopped: it delivers
    /// what it was given with the settings it had (queued, in flight, being retried, each
    /// clearing its outbox entry) and ends once the old set of receivers is dropped (when the
    /// last flush routed with the old configuration has queued its notifications) and its
    /// queue is empty. Nothing is lost; shutdown waits for them as for any delivery.
    pub fn reconfigure(
        &self,
        configs: &[ReceiverConfig],
        external_url: &str,
        ack_links: Option<Arc<AckLinks>>,
    ) -> (Receivers, ReceiverChanges) {
        let mut changes = ReceiverChanges::default();
        let mut workers = HashMap::new();
        for rc in configs {
            let queue = match self.workers.get(&rc.name) {
                Some(q) if q.config == *rc => q.clone(),
                _ => {
                    changes.started.push(rc.name.clone());
                    self.starter.start(rc)
                }
            };
            workers.insert(rc.name.clone(), queue);
        }
        for (name, queue) in &self.workers {
            if !workers.get(name).is_some_and(|q| Arc::ptr_eq(q, queue)) {
                changes.draining.push(name.clone());
            }
        }
        changes.started.sort();
        changes.draining.sort();
        let next = Receivers {
            workers,
            external_url: external_url.into(),
            ack_links,
            starter: self.starter.clone(),
        };
        (next, changes)
    }

    /// The deliveries in flight: shutdown closes it and waits for them, within its grace (no
    /// new one starts once shutdown is signalled).
    pub fn in_flight(&self) -> TaskTracker {
        self.starter.in_flight.clone()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.workers.contains_key(name)
    }

    /// Whether `receiver` wants a notification for this flush (`send_resolved`).
    pub fn wants(&self, receiver: &str, flush: &GroupFlush) -> bool {
        self.workers
            .get(receiver)
            .is_some_and(|w| w.send_resolved || flush.status() == AlertStatus::Firing)
    }

    /// Queues the group for a receiver, without waiting: each receiver's worker takes from its
    /// own queue. The outbox entry, if any, is deleted once the delivery is finished with (sent,
    /// or failed for good). `schedule` is where its retries stood (from the outbox after a
    /// restart).
    pub async fn enqueue(
        &self,
        receiver: &str,
        flush: Arc<GroupFlush>,
        overrides: Overrides,
        outbox_id: Option<u64>,
        schedule: Schedule,
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
        let ack_link = match &self.ack_links {
            Some(links) if flush.status() == AlertStatus::Firing => {
                Some(links.link(&flush.key, time::OffsetDateTime::now_utc()))
            }
            _ => None,
        };
        let n = Notification {
            ack_link,
            receiver: receiver.into(),
            flush,
            title: overrides.title,
            body: overrides.body,
            severity: overrides.severity,
            send_resolved: worker.send_resolved,
            external_url: self.external_url.clone(),
            outbox_id,
            schedule,
        };
        let gauge = self
            .starter
            .metrics
            .notification_queue
            .get_or_create(&ReceiverLabels {
                receiver: receiver.to_string(),
            })
            .clone();
        gauge.inc();
        if worker.tx.send(n).is_err() {
            gauge.dec();
            tracing::warn!(receiver, "receiver worker stopped; shutting down");
        }
    }

    fn finished(&self, outbox_id: Option<u64>) {
        if let Some(id) = outbox_id {
            self.starter.store.submit(vec![Op::DeleteOutbox(id)]);
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
