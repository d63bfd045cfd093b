//! A reload's new routing tree, taken in by the dispatcher: every alert it holds is filed again
//! under the new tree, as Alertmanager rebuilds its dispatcher on a reload.
//!
//! The invariant: **a reload loses no alert and tells nobody twice.** A group whose key still
//! exists keeps its timers, its notification log entry, its history and its wake-up (and its
//! acknowledgement, kept by group key elsewhere), so its next flush follows the dedup rule as if
//! nothing happened; only its alerts are filed again (some may have moved to another route).
//! A key that is new (a new route, a changed `group_by` or matchers) is a new group: as in
//! Alertmanager, whose notification log is keyed by group key, it is told its firing alerts
//! once, after its group_wait (at once for alerts older than that). A group whose key is gone
//! leaves its log entry in memory (while an alert it told of is held), so a reload that brings
//! the key back (a revert) does not tell it again either.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{AggrGroup, Dispatcher};
use crate::inhibit::Inhibitor;
use crate::model::{Fingerprint, SharedAlert};
use crate::route::RouteTable;

/// A reload, for the dispatcher: the new tree and inhibition rules, what to hand on to the
/// routing stage with them, and where to say how the groups were filed.
pub struct Reconfigure<G> {
    pub routes: Arc<RouteTable>,
    /// The new rules, told of every alert held before they mute anything.
    pub inhibitor: Arc<Inhibitor>,
    pub generation: Arc<G>,
    pub done: oneshot::Sender<Refiled>,
}

/// How a reload filed the groups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Refiled {
    /// Groups whose key still exists, with their state.
    pub kept: usize,
    /// Groups with a key that is new.
    pub formed: usize,
    /// Groups whose key no longer exists.
    pub gone: usize,
    /// Distinct alerts filed again.
    pub alerts: usize,
}

impl<G: Send + Sync + 'static> Dispatcher<G> {
    /// Files every alert held again under `routes` (see the module docs).
    pub(super) fn refile(
        &mut self,
        routes: Arc<RouteTable>,
        now: Instant,
        wall: OffsetDateTime,
    ) -> Refiled {
        let mut old = std::mem::take(&mut self.groups);
        self.timers.clear();
        self.wakes.clear();
        let mut alerts: HashMap<Fingerprint, SharedAlert> = HashMap::new();
        for group in old.values_mut() {
            for alert in group.take_alerts() {
                match alerts.entry(alert.fingerprint) {
                    Entry::Vacant(e) => {
                        e.insert(alert);
                    }
                    Entry::Occupied(mut e) if e.get().updated_at < alert.updated_at => {
                        e.insert(alert);
                    }
                    Entry::Occupied(_) => {}
                }
            }
        }
        self.routes = routes;
        let held: HashSet<Fingerprint> = alerts.keys().copied().collect();
        let mut refiled = Refiled {
            alerts: alerts.len(),
            ..Refiled::default()
        };
        for alert in alerts.into_values() {
            for route_id in self.routes.matching(&alert.labels) {
                let route = self.routes.get(route_id).clone();
                let labels = route.group_labels(&alert.labels);
                let key: Arc<str> = route.group_key(&labels).into();
                let group = match self.groups.entry(key.clone()) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        let group = match old.remove(&key) {
                            Some(mut kept) => {
                                refiled.kept += 1;
                                kept.move_to(route, now);
                                kept
                            }
                            None => {
                                refiled.formed += 1;
                                let mut g = AggrGroup::new(key.clone(), route, labels, now);
                                if let Some(record) = self.history.remove(&*key) {
                                    g.restore(&record, now, wall);
                                }
                                g
                            }
                        };
                        e.insert(group)
                    }
                };
                group.insert(alert.clone(), now, wall);
            }
        }
        for (key, group) in old {
            refiled.gone += 1;
            if let Some(record) = group.notified_record() {
                self.history.insert(key.to_string(), record);
            }
        }
        // A log entry of a gone group matters while an alert it told of still fires; the rest
        // go, so reloads that keep changing keys do not pile them up.
        self.history.retain(|_, record| {
            record
                .firing
                .iter()
                .any(|f| held.contains(&Fingerprint(*f)))
        });
        for (key, group) in &self.groups {
            self.timers.insert((group.next_flush, key.clone()));
            if let Some((at, _)) = group.wake {
                self.wakes.insert((at, key.clone()));
            }
        }
        self.metrics.groups.set(self.groups.len() as i64);
        refiled
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Dispatched, FiringGroups, GroupFlush, Reason};
    use super::*;
    use crate::config::Config;
    use crate::model::{Alert, Labels};
    use crate::store::Store;
    use crate::telemetry::Metrics;
    use std::path::Path;
    use tokio::sync::mpsc;

    fn table(group_by: &str, receiver: &str, routes: &str) -> Arc<RouteTable> {
        let toml = format!(
            r#"
[[receivers]]
name = "a"
type = "log"
[[receivers]]
name = "b"
type = "log"
[route]
receiver = "{receiver}"
group_by = {group_by}
group_wait = "30s"
group_interval = "5m"
repeat_interval = "4h"
{routes}
"#
        );
        let config = Config::parse(&toml, "t", Path::new(".")).unwrap();
        Arc::new(RouteTable::new(&config.route))
    }

    fn alert(name: &str, team: &str, wall: OffsetDateTime) -> SharedAlert {
        let labels = Labels::from_pairs([("alertname", name), ("team", team)]);
        Arc::new(Alert {
            fingerprint: Fingerprint::of(&labels),
            labels,
            annotations: Labels::default(),
            // Older than group_wait: a new group is due at once.
            starts_at: wall - time::Duration::minutes(10),
            ends_at: wall + time::Duration::hours(1),
            timeout: true,
            generator_url: Default::default(),
            updated_at: wall,
            extension: Default::default(),
        })
    }

    struct Fixture {
        dispatcher: Dispatcher<()>,
        flushes: mpsc::UnboundedReceiver<Dispatched<()>>,
        now: Instant,
        wall: OffsetDateTime,
    }

    fn fixture(routes: Arc<RouteTable>) -> Fixture {
        let store = Store::scratch();
        let (tx, flushes) = mpsc::unbounded_channel();
        Fixture {
            dispatcher: Dispatcher::new(
                routes,
                tx,
                Arc::new(Metrics::new()),
                store,
                HashMap::new(),
            ),
            flushes,
            now: Instant::now(),
            wall: OffsetDateTime::now_utc(),
        }
    }

    impl Fixture {
        fn file(&mut self, alerts: &[SharedAlert]) {
            for a in alerts {
                self.dispatcher.insert(a.clone(), self.now, self.wall);
            }
        }

        /// Flushes what is due and returns the flushes sent.
        fn flushed(&mut self) -> Vec<GroupFlush> {
            self.dispatcher.flush_due();
            let mut out = Vec::new();
            while let Ok(d) = self.flushes.try_recv() {
                if let Dispatched::Flush(f) = d {
                    out.push(f);
                }
            }
            out.sort_by(|a, b| a.key.cmp(&b.key));
            out
        }

        fn keys(&self) -> Vec<String> {
            let mut keys: Vec<String> = self
                .dispatcher
                .groups
                .keys()
                .map(|k| k.to_string())
                .collect();
            keys.sort();
            keys
        }
    }

    /// Acknowledgements ask the dispatcher which groups fire (`FiringGroups`): a group with a
    /// firing alert does, one whose alerts have all ended does not, at the instant asked.
    #[tokio::test]
    async fn the_dispatcher_answers_which_groups_fire() {
        let mut f = fixture(table(r#"["alertname"]"#, "a", ""));
        let firing = alert("Firing", "db", f.wall);
        let mut ended = (*alert("Ended", "db", f.wall)).clone();
        ended.ends_at = f.wall + time::Duration::minutes(1);
        f.file(&[firing, Arc::new(ended)]);
        let keys = f.keys();
        assert_eq!(keys.len(), 2);
        let now = f.dispatcher.firing(f.wall);
        assert_eq!(now.len(), 2, "both fire now: {now:?}");
        let later = f.dispatcher.firing(f.wall + time::Duration::minutes(2));
        assert_eq!(later.len(), 1, "{later:?}");
        assert!(later.iter().all(|k| k.contains("Firing")), "{later:?}");

        // Through the handle, as the API asks: answered by the running dispatcher.
        let (handle, rx) = FiringGroups::channel();
        let (_batches_tx, batches) = mpsc::channel(1);
        let (_routed_tx, routed) = mpsc::unbounded_channel();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let running = tokio::spawn(f.dispatcher.with_queries(rx).run(
            batches,
            routed,
            shutdown.clone(),
        ));
        let key = keys.iter().find(|k| k.contains("Firing")).unwrap();
        assert!(handle.fires(key, f.wall).await.unwrap());
        assert!(!handle
            .fires("{}:{alertname=\"Nope\"}", f.wall)
            .await
            .unwrap());
        shutdown.cancel();
        running.await.unwrap();
        assert!(
            handle.at(f.wall).await.is_err(),
            "gone once the dispatcher stops"
        );
    }

    #[tokio::test]
    async fn a_group_whose_key_remains_keeps_its_state_and_tells_nothing_again() {
        let mut f = fixture(table(r#"["alertname"]"#, "a", ""));
        let (x, y) = (alert("X", "db", f.wall), alert("X", "web", f.wall));
        f.file(&[x.clone(), y.clone()]);
        assert_eq!(f.flushed().len(), 1, "told once");

        // The same tree, reloaded: the same key.
        let refiled = f
            .dispatcher
            .refile(table(r#"["alertname"]"#, "a", ""), f.now, f.wall);
        assert_eq!(
            refiled,
            Refiled {
                kept: 1,
                formed: 0,
                gone: 0,
                alerts: 2
            }
        );
        assert!(f.flushed().is_empty(), "nothing due, nothing told twice");
        let group = f.dispatcher.groups.values().next().unwrap();
        assert_eq!(group.alerts().count(), 2, "its alerts are still there");
        // A later flush follows the dedup rule: nothing new, nothing told.
        let later = f.now + std::time::Duration::from_secs(301);
        let g = f.dispatcher.groups.values_mut().next().unwrap();
        assert!(g.flush(later, f.wall).is_none());
    }

    #[tokio::test]
    async fn a_changed_group_by_forms_new_groups_told_once() {
        let mut f = fixture(table(r#"["alertname"]"#, "a", ""));
        let (x, y) = (alert("X", "db", f.wall), alert("X", "web", f.wall));
        f.file(&[x.clone(), y.clone()]);
        assert_eq!(f.flushed().len(), 1);

        let refiled =
            f.dispatcher
                .refile(table(r#"["alertname", "team"]"#, "a", ""), f.now, f.wall);
        assert_eq!((refiled.kept, refiled.formed, refiled.gone), (0, 2, 1));
        assert_eq!(
            f.keys(),
            [
                r#"{}:{alertname="X", team="db"}"#,
                r#"{}:{alertname="X", team="web"}"#
            ]
        );
        let told = f.flushed();
        assert_eq!(told.len(), 2, "each new group is told once");
        assert!(told
            .iter()
            .all(|t| t.reason == Reason::First && t.alerts.len() == 1));
        assert!(f.flushed().is_empty(), "and not again");
        assert_eq!(
            f.dispatcher.history.len(),
            1,
            "the old group's log entry is kept"
        );

        // Back to the old grouping: the old key's log entry comes back, nothing is told.
        let refiled = f
            .dispatcher
            .refile(table(r#"["alertname"]"#, "a", ""), f.now, f.wall);
        assert_eq!((refiled.kept, refiled.formed, refiled.gone), (0, 1, 2));
        assert_eq!(
            f.dispatcher.history.len(),
            2,
            "taken back; the split ones kept"
        );
        let later = f.now + std::time::Duration::from_secs(301);
        let g = f.dispatcher.groups.values_mut().next().unwrap();
        assert!(
            g.flush(later, f.wall).is_none(),
            "the reverted group remembers what it told"
        );
    }

    #[tokio::test]
    async fn alerts_move_to_a_new_route_and_none_is_lost() {
        let mut f = fixture(table(r#"["alertname"]"#, "a", ""));
        let (x, y) = (alert("X", "db", f.wall), alert("X", "web", f.wall));
        f.file(&[x.clone(), y.clone()]);
        assert_eq!(f.flushed().len(), 1);

        let db = "[[route.routes]]\nmatchers = ['team=\"db\"']\nreceiver = \"b\"\n";
        let refiled = f
            .dispatcher
            .refile(table(r#"["alertname"]"#, "a", db), f.now, f.wall);
        assert_eq!((refiled.kept, refiled.formed, refiled.gone), (1, 1, 0));
        let told = f.flushed();
        assert_eq!(told.len(), 1, "only the new route's group is told");
        assert_eq!(told[0].route.config.receiver, "b");
        assert_eq!(told[0].alerts.len(), 1);
        assert_eq!(told[0].alerts[0].alert.fingerprint, x.fingerprint);
        let held: usize = f
            .dispatcher
            .groups
            .values()
            .map(|g| g.alerts().count())
            .sum();
        assert_eq!(held, 2, "every alert is held");
    }

    #[tokio::test]
    async fn a_route_telling_another_receiver_tells_it_once() {
        let mut f = fixture(table(r#"["alertname"]"#, "a", ""));
        f.file(&[alert("X", "db", f.wall)]);
        assert_eq!(f.flushed().len(), 1);

        let refiled = f
            .dispatcher
            .refile(table(r#"["alertname"]"#, "b", ""), f.now, f.wall);
        assert_eq!(refiled.kept, 1);
        // Its alert is older than group_wait: told at once, as a new group would be.
        let told = f.flushed();
        assert_eq!(told.len(), 1, "the new receiver is told");
        assert_eq!(
            (told[0].reason, told[0].route.config.receiver.as_str()),
            (Reason::First, "b")
        );
        let later = f.now + std::time::Duration::from_secs(301);
        let g = f.dispatcher.groups.values_mut().next().unwrap();
        assert!(g.flush(later, f.wall).is_none(), "once");
    }
}
