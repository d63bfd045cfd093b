//! The dispatcher: one task that owns every aggregation group. Ingest hands it batches of
//! deduplicated alerts; it files each under the groups of the routes it matches, and when a
//! group's timer is due it flushes the group to the routing stage.
//!
//! One owner means no locks on groups and a single timer wheel (an ordered set of deadlines).
//! Wake-ups a routing plugin asks for (`wake-after`) are a second set of deadlines; the routing
//! stage tells the dispatcher what it decided for each flush through [`Routed`]. A reload
//! hands it a new route table ([`Reconfigure`]), under which it files every alert it holds
//! again (see `refile`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{AggrGroup, Dispatched, FiringQuery, GroupFlush, Reconfigure, Routed};
use crate::clock;
use crate::model::SharedAlert;
use crate::mute::MuteStage;
use crate::route::RouteTable;
use crate::store::{NotifiedRecord, Op, Store};
use crate::telemetry::Metrics;

/// The dispatcher; `G` is what reloads hand on to the routing stage (see [`Dispatched`]).
pub struct Dispatcher<G = ()> {
    pub(super) routes: Arc<RouteTable>,
    pub(super) groups: HashMap<Arc<str>, AggrGroup>,
    pub(super) timers: BTreeSet<(Instant, Arc<str>)>,
    /// Pending wake-ups, by when they are due.
    pub(super) wakes: BTreeSet<(Instant, Arc<str>)>,
    flushes: mpsc::UnboundedSender<Dispatched<G>>,
    pub(super) metrics: Arc<Metrics>,
    store: Arc<Store>,
    /// What groups had notified before a restart, or before a reload took their route away,
    /// taken by each group when it is re-created.
    pub(super) history: HashMap<String, NotifiedRecord>,
    /// Silences and inhibition, applied as each group is flushed.
    pub(super) mute: Option<Arc<MuteStage>>,
    /// New route tables from reloads.
    reloads: Option<mpsc::UnboundedReceiver<Reconfigure<G>>>,
    /// Questions about which groups fire.
    queries: Option<mpsc::UnboundedReceiver<FiringQuery>>,
}

impl<G: Send + Sync + 'static> Dispatcher<G> {
    pub fn new(
        routes: Arc<RouteTable>,
        flushes: mpsc::UnboundedSender<Dispatched<G>>,
        metrics: Arc<Metrics>,
        store: Arc<Store>,
        history: HashMap<String, NotifiedRecord>,
    ) -> Self {
        Dispatcher {
            routes,
            groups: HashMap::new(),
            timers: BTreeSet::new(),
            wakes: BTreeSet::new(),
            flushes,
            metrics,
            store,
            history,
            mute: None,
            reloads: None,
            queries: None,
        }
    }

    /// Takes new route tables from `reloads` while it runs.
    pub fn with_reloads(mut self, reloads: mpsc::UnboundedReceiver<Reconfigure<G>>) -> Self {
        self.reloads = Some(reloads);
        self
    }

    /// Answers [`FiringGroups`] questions.
    pub fn with_queries(mut self, queries: mpsc::UnboundedReceiver<FiringQuery>) -> Self {
        self.queries = Some(queries);
        self
    }

    /// The keys of the groups with an alert firing at `at`.
    pub fn firing(&self, at: OffsetDateTime) -> HashSet<String> {
        self.groups
            .iter()
            .filter(|(_, g)| g.alerts().any(|a| !a.resolved_at(at)))
            .map(|(key, _)| key.to_string())
            .collect()
    }

    /// Applies `mute` to every flush, and tells it of every alert filed.
    pub fn with_mute(mut self, mute: Arc<MuteStage>) -> Self {
        self.mute = Some(mute);
        self
    }

    /// Runs until `shutdown` is cancelled and the ingest channel is drained. `routed` brings
    /// back what the routing stage decided for each flush.
    pub async fn run(
        mut self,
        mut batches: mpsc::Receiver<Vec<SharedAlert>>,
        mut routed: mpsc::UnboundedReceiver<Routed>,
        shutdown: CancellationToken,
    ) {
        let mut reloads = self.reloads.take();
        let mut queries = self.queries.take();
        loop {
            let next = self.timers.first().map(|(at, _)| *at);
            let next_wake = self.wakes.first().map(|(at, _)| *at);
            tokio::select! {
                biased;
                // First: reloads are rare, and a steady stream of batches must not hold one up.
                Some(r) = next_message(&mut reloads) => self.reconfigure(r),
                batch = batches.recv() => match batch {
                    Some(batch) => {
                        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
                        for alert in batch {
                            self.insert(alert, now, wall);
                        }
                        // A group already due (group_wait 0) flushes now, not a timer tick
                        // later; and a steady stream of batches cannot starve the timers.
                        self.flush_due();
                    }
                    None => return,
                },
                // After batches, so a question sees every batch sent before it.
                Some(q) = next_message(&mut queries) => {
                    let _ = q.reply.send(self.firing(q.at));
                }
                Some(r) = routed.recv() => self.routed(r),
                _ = sleep_until(next) => self.flush_due(),
                _ = sleep_until(next_wake) => self.wake_due(),
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Takes in a reload: every alert filed again under the new table, the new inhibition
    /// rules told of them before they mute anything, then the routing stage told (before any
    /// flush from the new table), and groups now due flushed.
    fn reconfigure(&mut self, r: Reconfigure<G>) {
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        let refiled = self.refile(r.routes, now, wall);
        if let Some(mute) = &self.mute {
            for group in self.groups.values() {
                for alert in group.alerts() {
                    r.inhibitor.observe(alert, wall);
                }
            }
            mute.replace_inhibitor(r.inhibitor);
        }
        let _ = self.flushes.send(Dispatched::Reconfigured(r.generation));
        self.flush_due();
        let _ = r.done.send(refiled);
    }

    fn routed(&mut self, r: Routed) {
        let Some(group) = self.groups.get_mut(&r.key) else {
            return;
        };
        if let Some((at, _)) = group.wake.take() {
            self.wakes.remove(&(at, r.key.clone()));
        }
        group.routed(r.sent, r.wake_at, Instant::now(), OffsetDateTime::now_utc());
        if let Some((at, _)) = group.wake {
            self.wakes.insert((at, r.key));
        }
    }

    fn wake_due(&mut self) {
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        while let Some((at, key)) = self.wakes.first().cloned() {
            if at > now {
                break;
            }
            self.wakes.pop_first();
            let Some(group) = self.groups.get_mut(&key) else {
                continue;
            };
            let route = &group.route.config;
            if let Some(why) = crate::model::time_interval::route_muted(
                &route.mute_time_intervals,
                &route.active_time_intervals,
                wall,
            ) {
                // Not dropped: looked at again a group_interval later, until the mute ends.
                tracing::debug!(group_key = %key, "wake-up postponed, route muted: {why}");
                let interval = route.group_interval;
                let at = clock::deadline(now, interval);
                group.wake = Some((at, clock::after(wall, interval)));
                self.wakes.insert((at, key));
                continue;
            }
            let flushed = match &self.mute {
                Some(mute) => group.wake_flush(wall, |a| mute.mutes(a, wall)),
                None => group.wake_flush(wall, |_| false),
            };
            match flushed {
                Some(flush) => {
                    send(&self.flushes, flush);
                }
                None => tracing::debug!(group_key = %key, "wake-up dropped: nothing fires"),
            }
        }
    }

    /// Files the alerts reloaded at start, before `run`. Notification history of groups that no
    /// longer have alerts is dropped from the store.
    pub fn restore(&mut self, alerts: Vec<SharedAlert>) {
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        for alert in alerts {
            self.insert(alert, now, wall);
        }
        let stale: Vec<Op> = self
            .history
            .drain()
            .map(|(key, _)| Op::DeleteNotified(key))
            .collect();
        self.store.submit(stale);
    }

    pub(super) fn insert(&mut self, alert: SharedAlert, now: Instant, wall: OffsetDateTime) {
        if let Some(mute) = &self.mute {
            mute.observe(&alert, wall);
        }
        for route_id in self.routes.matching(&alert.labels) {
            let route = self.routes.get(route_id);
            let labels = route.group_labels(&alert.labels);
            let key: Arc<str> = route.group_key(&labels).into();
            let group = self.groups.entry(key.clone()).or_insert_with(|| {
                let mut g = AggrGroup::new(key.clone(), route.clone(), labels, now);
                if let Some(record) = self.history.remove(&*key) {
                    g.restore(&record, now, wall);
                }
                self.timers.insert((g.next_flush, key.clone()));
                if let Some((at, _)) = g.wake {
                    self.wakes.insert((at, key.clone()));
                }
                g
            });
            let before = group.next_flush;
            group.insert(alert.clone(), now, wall);
            if group.next_flush != before {
                self.timers.remove(&(before, key.clone()));
                self.timers.insert((group.next_flush, key));
            }
        }
        self.metrics.groups.set(self.groups.len() as i64);
    }

    pub(super) fn flush_due(&mut self) {
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        while let Some((at, key)) = self.timers.first().cloned() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            let Some(group) = self.groups.get_mut(&key) else {
                continue;
            };
            let route = &group.route.config;
            let time_muted = crate::model::time_interval::route_muted(
                &route.mute_time_intervals,
                &route.active_time_intervals,
                wall,
            );
            let flushed = match (&time_muted, &self.mute) {
                (Some(why), _) => {
                    tracing::debug!(group_key = %key, route = %route.name, "route muted: {why}");
                    group.flush_muted(now, wall, |_| true)
                }
                (None, Some(mute)) => group.flush_muted(now, wall, |a| mute.mutes(a, wall)),
                (None, None) => group.flush(now, wall),
            };
            if let Some(flush) = flushed {
                send(&self.flushes, flush);
            }
            if group.is_empty() {
                if let Some((at, _)) = group.wake {
                    self.wakes.remove(&(at, key.clone()));
                }
                self.groups.remove(&key);
                self.store.submit(vec![Op::DeleteNotified(key.to_string())]);
            } else {
                self.timers.insert((group.next_flush, key));
            }
        }
        self.metrics.groups.set(self.groups.len() as i64);
    }
}

/// Hands a flush to the routing stage. The receiving end lives as long as the app; if it is
/// gone we are shutting down.
fn send<G>(flushes: &mpsc::UnboundedSender<Dispatched<G>>, flush: GroupFlush) {
    let _ = flushes.send(Dispatched::Flush(flush));
}

async fn next_message<G>(rx: &mut Option<mpsc::UnboundedReceiver<G>>) -> Option<G> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
