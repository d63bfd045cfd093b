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

use super::{
    AggrGroup, Dispatched, FiringQuery, FlushLease, GroupFlush, Owner, Reconfigure, Routed,
    Takeover,
};
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
    /// In a cluster, who holds which shard; alone, `None` and every group is this replica's.
    owner: Option<Arc<dyn Owner>>,
    /// Shards taken over, at the epoch their groups' records were read under: a group is
    /// flushed only when its shard is held at that epoch.
    ready: HashMap<u32, i64>,
    /// Shards this replica has taken over, with their groups' records.
    takeovers: Option<mpsc::UnboundedReceiver<Takeover>>,
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
            owner: None,
            ready: HashMap::new(),
            takeovers: None,
        }
    }

    /// In a cluster: flushes only the groups whose shard `owner` says this replica holds, once
    /// their records came in on `takeovers`.
    pub fn with_owner(
        mut self,
        owner: Arc<dyn Owner>,
        takeovers: mpsc::UnboundedReceiver<Takeover>,
    ) -> Self {
        self.owner = Some(owner);
        self.takeovers = Some(takeovers);
        self
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
        let mut takeovers = self.takeovers.take();
        loop {
            let next = self.timers.first().map(|(at, _)| *at);
            let next_wake = self.wakes.first().map(|(at, _)| *at);
            tokio::select! {
                biased;
                // First: reloads are rare, and a steady stream of batches must not hold one up.
                Some(r) = next_message(&mut reloads) => self.reconfigure(r),
                // Before batches and timers: a shard taken over resumes from its records.
                Some(t) = next_message(&mut takeovers) => self.take_over(t),
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

    /// Resumes the groups of a shard this replica took over from what they last notified (as
    /// after a restart), and flushes those now due: a group whose wait ran out during the
    /// failover flushes at once.
    fn take_over(&mut self, t: Takeover) {
        let Some(owner) = self.owner.clone() else {
            return;
        };
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        let mut records = t.records;
        let keys: Vec<Arc<str>> = self
            .groups
            .keys()
            .filter(|k| owner.shard(k) == t.shard)
            .cloned()
            .collect();
        for key in keys {
            let Some(group) = self.groups.get_mut(&key) else {
                continue;
            };
            self.timers.remove(&(group.next_flush, key.clone()));
            if let Some((at, _)) = group.wake.take() {
                self.wakes.remove(&(at, key.clone()));
            }
            match records.remove(&*key) {
                Some(record) => group.restore(&record, now, wall),
                // Nobody notified it (or its record went with its last alert): as new.
                None => group.forget_notified(),
            }
            self.timers.insert((group.next_flush, key.clone()));
            if let Some((at, _)) = group.wake {
                self.wakes.insert((at, key));
            }
        }
        // Records of groups whose alerts have not reached this replica yet: taken when the
        // group is made.
        self.history.extend(records);
        self.ready.insert(t.shard, t.epoch);
        self.flush_due();
    }

    /// The lease under which the group with `key` may be flushed now: `Ok(None)` alone,
    /// `Ok(Some)` when this replica holds the group's shard and has taken it over, `Err` with
    /// the shard when it is not this replica's to flush.
    fn lease(&self, key: &str) -> Result<Option<FlushLease>, u32> {
        let Some(owner) = &self.owner else {
            return Ok(None);
        };
        let shard = owner.shard(key);
        match owner.fence(shard) {
            Some(fence) if self.ready.get(&shard) == Some(&fence.epoch) => {
                Ok(Some(FlushLease::new(fence, owner.clone())))
            }
            _ => Err(shard),
        }
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
            // Another replica's wake-up: it is in that replica's record of the group.
            let Ok(lease) = self.lease(&key) else {
                continue;
            };
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
                Some(mut flush) => {
                    flush.lease = lease;
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
        // In a cluster the other groups' records are their holders', read at each takeover.
        if self.owner.is_none() {
            let stale: Vec<Op> = self
                .history
                .drain()
                .map(|(key, _)| Op::DeleteNotified(key))
                .collect();
            self.store.submit(stale);
        }
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
            let lease = match self.lease(&key) {
                Ok(lease) => lease,
                Err(shard) if self.unsettled(shard) => {
                    // This replica's lease, but its round is late: the next round renews it
                    // (at the same epoch, so no takeover resumes the group) or finds it lost.
                    // Looked at again shortly, rather than a group_interval later.
                    self.timers
                        .insert((clock::deadline(now, super::owner::SETTLE_POLL), key));
                    continue;
                }
                Err(_) => {
                    // Another replica's to flush: kept (a takeover resumes it from its
                    // holder's record) without what its holder has told resolved.
                    self.pass(key, now, wall);
                    continue;
                }
            };
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
            let fence = lease.as_ref().map(|l| l.fence.clone());
            if let Some(mut flush) = flushed {
                flush.lease = lease;
                send(&self.flushes, flush);
            }
            if group.is_empty() {
                if let Some((at, _)) = group.wake {
                    self.wakes.remove(&(at, key.clone()));
                }
                self.groups.remove(&key);
                // Under the flush's fence: a replica that lost the shard must not delete
                // the record its new holder keeps.
                let delete = vec![Op::DeleteNotified(key.to_string())];
                match fence {
                    Some(fence) => self.store.submit_fenced(fence, delete),
                    None => self.store.submit(delete),
                }
            } else {
                self.timers.insert((group.next_flush, key));
            }
        }
        self.metrics.groups.set(self.groups.len() as i64);
    }
}

impl<G: Send + Sync + 'static> Dispatcher<G> {
    /// Whether `shard` is this replica's, taken and resumed, but its lease unsettled (see
    /// [`Owner::unsettled`]).
    fn unsettled(&self, shard: u32) -> bool {
        match (&self.owner, self.ready.get(&shard)) {
            (Some(owner), Some(epoch)) => owner.unsettled(shard, *epoch),
            _ => false,
        }
    }

    /// A group due while another replica holds its shard (see [`AggrGroup::pass`]); dropped
    /// from memory once it holds nothing.
    fn pass(&mut self, key: Arc<str>, now: Instant, wall: OffsetDateTime) {
        let (Some(owner), Some(group)) = (&self.owner, self.groups.get_mut(&key)) else {
            return;
        };
        let told_within = group
            .route
            .config
            .group_interval
            .saturating_add(owner.takeover_within());
        group.pass(now, wall, told_within);
        if group.is_empty() {
            if let Some((at, _)) = group.wake {
                self.wakes.remove(&(at, key.clone()));
            }
            self.groups.remove(&key);
        } else {
            self.timers.insert((group.next_flush, key));
        }
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::owner::one_shard::{OneShard, Seen};
    use super::*;
    use crate::config::Config;
    use crate::model::{Alert, Fingerprint, Labels};

    fn dispatcher(
        owner: Arc<OneShard>,
    ) -> (Dispatcher<()>, mpsc::UnboundedReceiver<Dispatched<()>>) {
        let toml = "[[receivers]]\nname = \"a\"\ntype = \"log\"\n[route]\nreceiver = \"a\"\n\
                    group_by = [\"alertname\"]\ngroup_wait = \"0s\"\ngroup_interval = \"5m\"\n";
        let config = Config::parse(toml, "t", Path::new(".")).unwrap();
        let store = Store::scratch();
        let (tx, flushes) = mpsc::unbounded_channel();
        let (_, takeovers) = mpsc::unbounded_channel();
        let mut d = Dispatcher::new(
            Arc::new(RouteTable::new(&config.route)),
            tx,
            Arc::new(Metrics::new()),
            store,
            HashMap::new(),
        )
        .with_owner(owner, takeovers);
        d.take_over(Takeover {
            shard: 0,
            epoch: 7,
            records: HashMap::new(),
        });
        (d, flushes)
    }

    fn firing(name: &str) -> SharedAlert {
        let labels = Labels::from_pairs([("alertname", name)]);
        let wall = OffsetDateTime::now_utc();
        Arc::new(Alert {
            fingerprint: Fingerprint::of(&labels),
            labels,
            annotations: Labels::default(),
            starts_at: wall,
            ends_at: wall + time::Duration::hours(1),
            timeout: false,
            generator_url: Default::default(),
            updated_at: wall,
            extension: Default::default(),
        })
    }

    fn flushed(d: &mut Dispatcher<()>, rx: &mut mpsc::UnboundedReceiver<Dispatched<()>>) -> usize {
        d.flush_due();
        std::iter::from_fn(|| rx.try_recv().ok())
            .filter(|m| matches!(m, Dispatched::Flush(_)))
            .count()
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_due_while_its_lease_round_is_late_flushes_once_the_lease_is_renewed() {
        let owner = Arc::new(OneShard::new(Seen::Late));
        let (mut d, mut rx) = dispatcher(owner.clone());
        d.insert(firing("Late"), Instant::now(), OffsetDateTime::now_utc());
        assert_eq!(flushed(&mut d, &mut rx), 0, "not flushed while unsettled");
        // Renewed at the same epoch: no takeover comes, and the group flushes on its own soon,
        // not a group_interval (5m) later.
        owner.set(Seen::Held);
        tokio::time::advance(super::super::owner::SETTLE_POLL * 2).await;
        assert_eq!(flushed(&mut d, &mut rx), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_due_while_its_lease_is_lost_waits_for_its_holder() {
        let owner = Arc::new(OneShard::new(Seen::Lost));
        let (mut d, mut rx) = dispatcher(owner.clone());
        d.insert(firing("Lost"), Instant::now(), OffsetDateTime::now_utc());
        assert_eq!(flushed(&mut d, &mut rx), 0);
        owner.set(Seen::Held);
        tokio::time::advance(super::super::owner::SETTLE_POLL * 2).await;
        assert_eq!(
            flushed(&mut d, &mut rx),
            0,
            "passed: looked at again a group_interval later"
        );
    }
}
