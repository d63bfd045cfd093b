//! The notification pipeline, in one place: what happens to a group once it is due.
//!
//! ```text
//! ingest → dedup (cache) → group (dispatcher) → mute ─flush→ route (plugin) → notify (receivers)
//! ```
//!
//! The first stage, **mute** ([`crate::mute::MuteStage`]: inhibition, then silences, as
//! Alertmanager's `Muter`s), runs as the group flushes, because the group holds Alertmanager's
//! dedup rule and in Alertmanager muting comes before it: muted alerts are removed from the
//! flush and do not count as notified (so each is told as soon as its mute ends), and a flush
//! with no alert left is not sent here at all — it notifies nobody.
//!
//! [`Pipeline::handle`] is the order of the stages after that: ask the route's plugin which
//! receivers to tell (or take the route's receiver when it has none), fall back to the route's
//! receiver on any plugin fault, record the notification log entry and one outbox entry per
//! receiver in one transaction, and queue one notification per receiver without waiting for
//! that transaction to reach the disk (an fsync would add milliseconds to every page). A
//! notification leaves the outbox when its receiver is finished with it, so a restart delivers
//! what was decided but not yet delivered. A crash before the transaction is durable loses
//! neither the alerts (they were durable before the sender heard 2xx) nor the notification:
//! with no log entry for the flush, the restarted group is due again and decides again, at
//! worst telling someone twice, never not at all.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::Instrument;

use time::OffsetDateTime;

use crate::ack::Acks;
use crate::answer::{self, Delivery, Outcome};
use crate::clock;
use crate::decisions::{Decision, Decisions};
use crate::group::{Dispatched, FlushLease, FlushedAlert, GroupFlush, Reason, Routed};
use crate::live::Generation;
use crate::model::{AlertStatus, Severity};
use crate::notify::{outbox_entry, outbox_schedule, Overrides, Receivers, Schedule};
use crate::plugin::{PluginFault, PluginRuntime};
use crate::route::RouteTable;
use crate::store::{extend_history, Op, OutboxEntry, SentRecord, Store, StoreError};
use crate::telemetry::{Metrics, PluginFaultLabels, PluginLabels};

pub struct Pipeline {
    pub plugins: Arc<PluginRuntime>,
    pub receivers: Arc<Receivers>,
    pub metrics: Arc<Metrics>,
    pub store: Arc<Store>,
    /// Acknowledgements, for the group record and to stop wake-ups.
    pub acks: Arc<Acks>,
    /// Back to the dispatcher: what was decided for each flush.
    pub routed: mpsc::UnboundedSender<Routed>,
    pub decisions: Arc<Decisions>,
}

impl Pipeline {
    /// Handles flushes as they come; each in its own task so a slow plugin or receiver queue
    /// holds up only its own group. A reload's configuration comes in order with the flushes:
    /// the flushes after it are routed with its plugins and receivers, those before it (maybe
    /// still being routed) with the old ones.
    pub async fn run(
        self: Arc<Self>,
        mut flushes: mpsc::UnboundedReceiver<Dispatched<Generation>>,
    ) {
        let mut current = self;
        while let Some(next) = flushes.recv().await {
            match next {
                Dispatched::Flush(flush) => {
                    tokio::spawn(current.clone().handle(flush));
                }
                Dispatched::Reconfigured(generation) => {
                    current = Arc::new(current.with_generation(&generation));
                }
            }
        }
    }

    /// The same stage with a reloaded configuration's plugins and receivers.
    fn with_generation(&self, generation: &Generation) -> Pipeline {
        Pipeline {
            plugins: generation.plugins.clone(),
            receivers: generation.receivers.clone(),
            metrics: self.metrics.clone(),
            store: self.store.clone(),
            acks: self.acks.clone(),
            routed: self.routed.clone(),
            decisions: self.decisions.clone(),
        }
    }

    pub async fn handle(self: Arc<Self>, mut flush: GroupFlush) {
        flush.acknowledged = self.acks.get(&flush.key);
        let flush = Arc::new(flush);
        let span = tracing::info_span!(
            "flush",
            group_key = %flush.key,
            route = %flush.route.config.name,
            reason = flush.reason.as_str()
        );
        async {
            if flush.reason == Reason::Wake {
                if let Some(ack) = &flush.acknowledged {
                    tracing::info!(by = %ack.by, "wake-up dropped: the group is acknowledged");
                    let mut decision = self.decision(&flush, &Outcome::default(), 0);
                    decision.note = Some(format!("wake-up dropped: acknowledged by {}", ack.by));
                    self.decisions.record(&flush.key, decision);
                    self.tell_dispatcher(&flush, Vec::new(), None);
                    return;
                }
            }
            let started = Instant::now();
            let mut outcome = self.decide(&flush).await;
            outcome
                .deliveries
                .retain(|d| self.receivers.wants(&d.receiver, &flush));
            let decision = self.decision(&flush, &outcome, started.elapsed().as_micros() as u64);
            self.decisions.record(&flush.key, decision);
            let Outcome {
                deliveries,
                wake_after,
                ..
            } = outcome;
            let wake_at =
                wake_after.map(|s| clock::shift(flush.at, time::Duration::seconds(s.into())));
            let sent: Vec<SentRecord> = deliveries
                .iter()
                .map(|d| SentRecord {
                    receiver: d.receiver.clone(),
                    reason: flush.reason.as_str().to_string(),
                    at: flush.at,
                })
                .collect();
            let Some(ids) = self.record(&flush, &deliveries, &sent, wake_at).await else {
                return;
            };
            self.tell_dispatcher(&flush, sent, wake_at);
            for (d, id) in deliveries.into_iter().zip(ids) {
                self.receivers
                    .enqueue(
                        &d.receiver,
                        flush.clone(),
                        d.overrides,
                        id,
                        Schedule::default(),
                    )
                    .await;
            }
        }
        .instrument(span)
        .await
    }

    /// The decision log entry for a flush.
    fn decision(&self, flush: &GroupFlush, outcome: &Outcome, duration_us: u64) -> Decision {
        let plugin = flush.route.config.plugin.clone();
        Decision {
            at: flush.at,
            route: flush.route.config.name.clone(),
            reason: flush.reason.as_str(),
            plugin_version: plugin.as_deref().and_then(|p| self.plugins.version(p)),
            plugin,
            actions: outcome.actions.clone(),
            receivers: outcome
                .deliveries
                .iter()
                .map(|d| d.receiver.clone())
                .collect(),
            wake_after: outcome.wake_after,
            duration_us,
            faults: outcome.faults.iter().map(|f| f.to_string()).collect(),
            fallback: outcome.fallback.clone(),
            note: None,
        }
    }

    fn tell_dispatcher(
        &self,
        flush: &GroupFlush,
        sent: Vec<SentRecord>,
        wake_at: Option<OffsetDateTime>,
    ) {
        // The dispatcher lives as long as the app; if it is gone we are shutting down.
        let _ = self.routed.send(Routed {
            key: flush.key.clone(),
            sent,
            wake_at,
        });
    }

    /// Writes the notification log entry (with the group's history and wake-up) and the
    /// outbox entries in one transaction. Alone, without waiting for it (see the module docs):
    /// if the store fails, the writer logs it and the notifications still go out — telling
    /// people beats keeping records. In a cluster, under the flush's lease, waiting for it:
    /// `None` when the lease has moved on (the new holder flushes the group; nothing is sent
    /// here); a store that fails otherwise does not stop the notifications while this replica
    /// still holds the lease, since nobody else may flush the group until it runs out.
    async fn record(
        &self,
        flush: &GroupFlush,
        deliveries: &[Delivery],
        sent: &[SentRecord],
        wake_at: Option<OffsetDateTime>,
    ) -> Option<Vec<Option<u64>>> {
        let mut record = flush.record.clone();
        record.sent = flush.history.clone();
        extend_history(&mut record.sent, sent.iter().cloned());
        record.wake_at = wake_at;
        let mut ops = vec![Op::PutNotified(flush.key.to_string(), record)];
        let mut ids = Vec::with_capacity(deliveries.len());
        for d in deliveries {
            let id = self.store.next_outbox_id();
            let entry = outbox_entry(flush, &d.receiver, &d.overrides, Schedule::default());
            ops.push(Op::PutOutbox(id, Box::new(entry)));
            ids.push(Some(id));
        }
        let Some(lease) = &flush.lease else {
            self.store.submit(ops);
            return Some(ids);
        };
        match self.store.commit_fenced(lease.fence.clone(), ops).await {
            Ok(()) => Some(ids),
            Err(e @ StoreError::Fenced { .. }) => {
                tracing::info!(error = %e, "flush dropped: another replica holds the group's shard now");
                None
            }
            Err(e) if lease.holds() => {
                tracing::warn!(error = %e, "the flush could not be recorded; sending it anyway under this replica's lease");
                Some(vec![None; ids.len()])
            }
            Err(e) => {
                tracing::warn!(error = %e, "flush dropped: not recorded, and the lease ran out meanwhile");
                None
            }
        }
    }

    /// Re-queues what the outbox held at start: decided before the restart, not yet delivered.
    /// A delivery that was being retried keeps its schedule: its next attempt waits for the
    /// time it was given, and its `retry_for` deadline still counts from its first attempt.
    /// In a cluster, `lease` is the shard's the entries belong to, taken over from another
    /// replica (or from this one before a restart).
    pub async fn replay_outbox(
        &self,
        entries: Vec<(u64, OutboxEntry)>,
        routes: &RouteTable,
        lease: Option<FlushLease>,
    ) {
        if !entries.is_empty() {
            tracing::info!(
                notifications = entries.len(),
                "delivering notifications left in the outbox"
            );
        }
        for (id, e) in entries {
            let schedule = outbox_schedule(&e);
            let route = routes
                .by_name(&e.route)
                .unwrap_or_else(|| routes.get(0))
                .clone();
            let alerts: Vec<FlushedAlert> = e
                .alerts
                .into_iter()
                .map(|(a, firing)| FlushedAlert {
                    alert: Arc::new(a.into()),
                    status: if firing {
                        AlertStatus::Firing
                    } else {
                        AlertStatus::Resolved
                    },
                })
                .collect();
            let flush = GroupFlush {
                key: e.group_key.into(),
                route,
                group_labels: e.group_labels,
                record: GroupFlush::record_of(&alerts, e.at),
                alerts,
                reason: Reason::parse(&e.reason).unwrap_or(Reason::Repeat),
                at: e.at,
                history: Vec::new(),
                acknowledged: None,
                lease: lease.clone(),
            };
            let overrides = Overrides {
                title: e.title,
                body: e.body,
                severity: e.severity.as_deref().and_then(Severity::parse),
            };
            self.receivers
                .enqueue(&e.receiver, Arc::new(flush), overrides, Some(id), schedule)
                .await;
        }
    }

    /// Who is told about this flush. Never empty unless the plugin explicitly suppressed it
    /// or only asked to be woken later.
    async fn decide(&self, flush: &Arc<GroupFlush>) -> Outcome {
        let route = &flush.route.config;
        let Some(plugin) = route.plugin.clone() else {
            return Outcome::plain(&route.receiver);
        };
        let started = Instant::now();
        let runtime = self.plugins.clone();
        let input = flush.clone();
        let name = plugin.clone();
        let result = self
            .plugins
            .call(move || runtime.route(&name, &input))
            .await
            .unwrap_or_else(|panic| Err(PluginFault::Trap(format!("host panicked: {panic}"))));
        let labels = PluginLabels {
            plugin: plugin.clone(),
        };
        self.metrics.plugin_calls.get_or_create(&labels).inc();
        self.metrics
            .plugin_duration
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());

        let outcome = answer::decide(result, &route.receiver, |r| self.receivers.contains(r));
        for fault in &outcome.faults {
            self.fault(&plugin, &route.receiver, fault);
        }
        for reason in &outcome.suppressed {
            tracing::info!(reason = %reason, "plugin suppressed the notification");
        }
        outcome
    }

    fn fault(&self, plugin: &str, fallback: &str, fault: &PluginFault) {
        self.metrics
            .plugin_faults
            .get_or_create(&PluginFaultLabels {
                plugin: plugin.to_string(),
                kind: fault.kind(),
            })
            .inc();
        tracing::warn!(
            plugin,
            fault = fault.kind(),
            fallback,
            "plugin {plugin} {fault}; notifying the route's receiver {fallback:?} instead"
        );
    }
}
