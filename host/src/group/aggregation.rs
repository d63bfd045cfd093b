//! One aggregation group: its alerts, when it is next due, and what it last notified.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::time::Instant;

use super::{FlushedAlert, GroupFlush, Reason};
use crate::clock;
use crate::model::{AlertStatus, Fingerprint, Labels, SharedAlert};
use crate::route::Route;
use crate::store::{extend_history, NotifiedRecord, SentRecord};

/// What the group told receivers last time (Alertmanager's notification log entry).
#[derive(Debug)]
struct LastNotified {
    firing: HashSet<Fingerprint>,
    resolved: HashSet<Fingerprint>,
    at: OffsetDateTime,
}

#[derive(Debug)]
pub struct AggrGroup {
    pub key: Arc<str>,
    pub route: Arc<Route>,
    pub labels: Labels,
    alerts: HashMap<Fingerprint, SharedAlert>,
    last: Option<LastNotified>,
    /// When the group is next looked at.
    pub next_flush: Instant,
    /// When it was first due, as a new group: after group_wait, or at once for an old alert.
    first_due: Instant,
    /// What the group was sent, oldest first, as its routing plugin sees it.
    history: Vec<SentRecord>,
    /// A wake-up the routing plugin asked for: when, on both clocks.
    pub wake: Option<(Instant, OffsetDateTime)>,
}

impl AggrGroup {
    /// A new group is first due after the route's group_wait.
    pub fn new(key: Arc<str>, route: Arc<Route>, labels: Labels, now: Instant) -> Self {
        let next_flush = clock::deadline(now, route.config.group_wait);
        AggrGroup {
            key,
            route,
            labels,
            alerts: HashMap::new(),
            last: None,
            next_flush,
            first_due: next_flush,
            history: Vec::new(),
            wake: None,
        }
    }

    /// Adds or replaces an alert. As in Alertmanager, an alert that started longer than
    /// group_wait ago makes a never-notified group due at once: there is no point waiting
    /// for company that has had time to arrive.
    pub fn insert(&mut self, alert: SharedAlert, now: Instant, wall: OffsetDateTime) {
        if self.last.is_none() && clock::after(alert.starts_at, self.route.config.group_wait) < wall
        {
            self.next_flush = self.next_flush.min(now);
            self.first_due = self.first_due.min(now);
        }
        self.alerts.insert(alert.fingerprint, alert);
    }

    /// Restores what the group last notified before a restart. The group is then due when its
    /// group_interval after that notification ends (at once if that has passed).
    pub fn restore(&mut self, record: &NotifiedRecord, now: Instant, wall: OffsetDateTime) {
        self.last = Some(LastNotified {
            firing: record.firing.iter().copied().map(Fingerprint).collect(),
            resolved: record.resolved.iter().copied().map(Fingerprint).collect(),
            at: record.at,
        });
        let since = clock::until(record.at, wall);
        self.next_flush =
            clock::deadline(now, self.route.config.group_interval.saturating_sub(since));
        self.history = record.sent.clone();
        self.wake = record
            .wake_at
            .map(|at| (clock::deadline_at(now, wall, at), at));
    }

    /// Forgets what the group notified, as if it never had: taken over in a cluster with no
    /// record in the store, it was never notified by anyone (or its record went when it last
    /// emptied), so its alerts are new to its receivers, and it is due when it was first due
    /// as a new group — at once, if its wait ran out during the failover.
    pub fn forget_notified(&mut self) {
        self.last = None;
        self.history.clear();
        self.wake = None;
        self.next_flush = self.first_due;
    }

    /// Takes in what the routing stage decided for a flush of this group: what it sent, and
    /// the wake-up it asked for, which replaces any pending one.
    pub fn routed(
        &mut self,
        sent: Vec<SentRecord>,
        wake_at: Option<OffsetDateTime>,
        now: Instant,
        wall: OffsetDateTime,
    ) {
        extend_history(&mut self.history, sent);
        self.wake = wake_at.map(|at| (clock::deadline_at(now, wall, at), at));
    }

    /// A due wake-up: the group's firing alerts that are not muted, for the routing plugin to
    /// decide again, or `None` when nothing fires any more. The notification log entry stays
    /// as it was, so the dedup rule and the repeat interval are not disturbed.
    pub fn wake_flush(
        &mut self,
        wall: OffsetDateTime,
        muted: impl Fn(&SharedAlert) -> bool,
    ) -> Option<GroupFlush> {
        self.wake = None;
        let last = self.last.as_ref()?;
        let mut alerts: Vec<FlushedAlert> = self
            .alerts
            .values()
            .filter(|a| a.status_at(wall) == AlertStatus::Firing && !muted(a))
            .map(|a| FlushedAlert {
                alert: a.clone(),
                status: AlertStatus::Firing,
            })
            .collect();
        if alerts.is_empty() {
            return None;
        }
        alerts.sort_by_key(FlushedAlert::order);
        let mut record = NotifiedRecord {
            firing: last.firing.iter().map(|f| f.0).collect(),
            resolved: last.resolved.iter().map(|f| f.0).collect(),
            at: last.at,
            sent: Vec::new(),
            wake_at: None,
        };
        record.firing.sort_unstable();
        record.resolved.sort_unstable();
        Some(GroupFlush {
            key: self.key.clone(),
            route: self.route.clone(),
            group_labels: self.labels.clone(),
            alerts,
            reason: Reason::Wake,
            at: wall,
            record,
            history: self.history.clone(),
            acknowledged: None,
            lease: None,
        })
    }

    /// The group is due on a replica that does not hold its shard: nothing is told (that is
    /// the holder's), alerts resolved more than `told_within` ago are dropped — a live holder
    /// has told them by then, and a dead one's successor resumes from its record, not from this
    /// copy — and the next look is a group_interval on. Without it a group would stay in every
    /// other replica's memory for good.
    pub fn pass(&mut self, now: Instant, wall: OffsetDateTime, told_within: std::time::Duration) {
        self.alerts
            .retain(|_, a| !a.resolved_at(wall) || clock::after(a.end(), told_within) > wall);
        self.next_flush = clock::deadline(now, self.route.config.group_interval);
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// Takes every alert out of the group (a reload files them again).
    pub fn take_alerts(&mut self) -> Vec<SharedAlert> {
        self.alerts.drain().map(|(_, a)| a).collect()
    }

    /// Moves the group under `route`, the route of the same key in a reloaded tree: its alerts
    /// are filed again by the caller; its timers, notification log entry, history and wake-up
    /// stay, so what it told is not told again. When the route now tells someone else by
    /// default (another receiver or plugin), nobody there has heard of the group: as in
    /// Alertmanager, whose notification log is per receiver, its log entry is dropped, so its
    /// firing alerts are told once more, after the route's group_wait at the latest.
    pub fn move_to(&mut self, route: Arc<Route>, now: Instant) {
        let (old, new) = (&self.route.config, &route.config);
        if (&old.receiver, &old.plugin) != (&new.receiver, &new.plugin) {
            self.last = None;
            self.next_flush = self.next_flush.min(clock::deadline(now, new.group_wait));
        }
        self.route = route;
    }

    /// The group's notification log entry, as the store keeps it, if it has notified.
    pub fn notified_record(&self) -> Option<NotifiedRecord> {
        let last = self.last.as_ref()?;
        let mut firing: Vec<u64> = last.firing.iter().map(|f| f.0).collect();
        let mut resolved: Vec<u64> = last.resolved.iter().map(|f| f.0).collect();
        firing.sort_unstable();
        resolved.sort_unstable();
        Some(NotifiedRecord {
            firing,
            resolved,
            at: last.at,
            sent: self.history.clone(),
            wake_at: self.wake.map(|(_, at)| at),
        })
    }

    pub fn alerts(&self) -> impl Iterator<Item = &SharedAlert> {
        self.alerts.values()
    }

    /// The group is due: decide whether and why to notify, drop alerts that were reported
    /// resolved, and schedule the next look after group_interval.
    pub fn flush(&mut self, now: Instant, wall: OffsetDateTime) -> Option<GroupFlush> {
        self.flush_muted(now, wall, |_| false)
    }

    /// [`AggrGroup::flush`] with the mute stage first, as in Alertmanager where muting comes
    /// before the dedup rule: alerts for which `muted` is true are left out of the flush and of
    /// what the group records as notified, so each is told once its mute ends. When every alert
    /// is muted nothing is notified and the record of the last notification stays as it was.
    pub fn flush_muted(
        &mut self,
        now: Instant,
        wall: OffsetDateTime,
        muted: impl Fn(&SharedAlert) -> bool,
    ) -> Option<GroupFlush> {
        let mut alerts: Vec<FlushedAlert> = self
            .alerts
            .values()
            .map(|a| FlushedAlert {
                alert: a.clone(),
                status: a.status_at(wall),
            })
            .collect();
        let gone: Vec<Fingerprint> = alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Resolved)
            .map(|a| a.alert.fingerprint)
            .collect();
        alerts.retain(|a| !muted(&a.alert));
        alerts.sort_by_key(FlushedAlert::order);
        let firing: HashSet<Fingerprint> = alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Firing)
            .map(|a| a.alert.fingerprint)
            .collect();
        let resolved: HashSet<Fingerprint> = alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Resolved)
            .map(|a| a.alert.fingerprint)
            .collect();

        let reason = self.reason(&firing, &resolved, wall);
        self.next_flush = clock::deadline(now, self.route.config.group_interval);
        // Resolved alerts have had their flush; Alertmanager deletes them from the group too.
        for fp in &gone {
            self.alerts.remove(fp);
        }
        if alerts.is_empty() {
            return None;
        }
        let reason = reason?;
        self.last = Some(LastNotified {
            firing,
            resolved,
            at: wall,
        });
        Some(GroupFlush {
            key: self.key.clone(),
            route: self.route.clone(),
            group_labels: self.labels.clone(),
            record: GroupFlush::record_of(&alerts, wall),
            alerts,
            reason,
            at: wall,
            history: self.history.clone(),
            acknowledged: None,
            lease: None,
        })
    }

    /// Alertmanager's dedup rule (`needsUpdate` in its notify pipeline), with the reason named.
    fn reason(
        &self,
        firing: &HashSet<Fingerprint>,
        resolved: &HashSet<Fingerprint>,
        wall: OffsetDateTime,
    ) -> Option<Reason> {
        let Some(last) = &self.last else {
            return (!firing.is_empty()).then_some(Reason::First);
        };
        if !firing.is_subset(&last.firing) {
            Some(Reason::NewAlerts)
        } else if firing.is_empty() {
            (!last.firing.is_empty()).then_some(Reason::AllResolved)
        } else if !resolved.is_subset(&last.resolved) {
            Some(Reason::SomeResolved)
        } else if clock::after(last.at, self.route.config.repeat_interval) <= wall {
            Some(Reason::Repeat)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::Alert;
    use crate::route::RouteTable;
    use std::path::Path;
    use std::time::Duration;

    fn route() -> Arc<Route> {
        let toml = r#"
[[receivers]]
name = "r"
type = "log"
[route]
receiver = "r"
group_by = ["alertname"]
group_wait = "30s"
group_interval = "5m"
repeat_interval = "4h"
"#;
        let t = RouteTable::new(&Config::parse(toml, "t", Path::new(".")).unwrap().route);
        t.get(0).clone()
    }

    fn alert(name: &str, wall: OffsetDateTime, ends: time::Duration) -> SharedAlert {
        let labels = Labels::from_pairs([("alertname", "A"), ("instance", name)]);
        Arc::new(Alert {
            fingerprint: Fingerprint::of(&labels),
            labels,
            annotations: Labels::default(),
            starts_at: wall,
            ends_at: wall + ends,
            timeout: true,
            generator_url: Default::default(),
            updated_at: wall,
            extension: Default::default(),
        })
    }

    #[test]
    fn alertmanager_notification_rules() {
        let t0 = Instant::now();
        let w0 = OffsetDateTime::now_utc();
        let mut g = AggrGroup::new("k".into(), route(), Labels::default(), t0);
        assert_eq!(
            g.next_flush,
            t0 + Duration::from_secs(30),
            "first due after group_wait"
        );
        g.insert(alert("a", w0, time::Duration::hours(1)), t0, w0);

        let f = g.flush(t0, w0).expect("first notification");
        assert_eq!((f.reason, f.alerts.len()), (Reason::First, 1));
        assert_eq!(
            g.next_flush,
            t0 + Duration::from_secs(300),
            "then every group_interval"
        );

        let w1 = w0 + time::Duration::minutes(5);
        assert!(
            g.flush(t0, w1).is_none(),
            "nothing changed: no notification"
        );

        g.insert(alert("b", w1, time::Duration::hours(1)), t0, w1);
        assert_eq!(g.flush(t0, w1).unwrap().reason, Reason::NewAlerts);

        // b resolves: reported once, then dropped from the group.
        g.insert(alert("b", w1, time::Duration::minutes(-1)), t0, w1);
        let f = g.flush(t0, w1).unwrap();
        assert_eq!(f.reason, Reason::SomeResolved);
        assert_eq!(f.alerts[1].status, AlertStatus::Resolved);
        assert!(g.flush(t0, w1).is_none());

        let w2 = w1 + time::Duration::hours(4);
        g.insert(alert("a", w0, time::Duration::hours(5)), t0, w2);
        assert_eq!(g.flush(t0, w2).unwrap().reason, Reason::Repeat);

        g.insert(alert("a", w0, time::Duration::minutes(1)), t0, w2);
        let f = g.flush(t0, w2 + time::Duration::minutes(2)).unwrap();
        assert_eq!(f.reason, Reason::AllResolved);
        assert!(g.is_empty());
    }

    #[test]
    fn old_alert_makes_new_group_due_now() {
        let t0 = Instant::now();
        let w0 = OffsetDateTime::now_utc();
        let mut g = AggrGroup::new("k".into(), route(), Labels::default(), t0);
        g.insert(
            alert(
                "a",
                w0 - time::Duration::minutes(10),
                time::Duration::hours(1),
            ),
            t0,
            w0,
        );
        assert_eq!(g.next_flush, t0);
    }

    #[test]
    fn muted_alerts_are_not_notified_nor_recorded() {
        let t0 = Instant::now();
        let w0 = OffsetDateTime::now_utc();
        let hour = time::Duration::hours(1);
        let mut g = AggrGroup::new("k".into(), route(), Labels::default(), t0);
        let a = alert("a", w0, hour);
        let b = alert("b", w0, hour);
        g.insert(a.clone(), t0, w0);
        g.insert(b.clone(), t0, w0);
        let is_b = |x: &SharedAlert| x.fingerprint == b.fingerprint;

        let f = g.flush_muted(t0, w0, is_b).expect("a is told");
        assert_eq!(f.alerts.len(), 1);
        assert_eq!(f.alerts[0].alert.fingerprint, a.fingerprint);
        // Still muted and nothing else changed: nothing to tell.
        assert!(g.flush_muted(t0, w0, is_b).is_none());
        // Everything muted: nothing told, and the record of the last notification stays.
        assert!(g.flush_muted(t0, w0, |_| true).is_none());
        // The mute ends: b is new to the receivers.
        let f = g.flush(t0, w0).expect("b is told once unmuted");
        assert_eq!((f.reason, f.alerts.len()), (Reason::NewAlerts, 2));
    }

    #[test]
    fn far_future_times_do_not_overflow() {
        // Alertmanager accepts these; one such alert used to stop the dispatcher.
        let far = time::macros::datetime!(9999-12-31 23:59:59 UTC);
        let t0 = Instant::now();
        let w0 = OffsetDateTime::now_utc();
        let labels = Labels::from_pairs([("alertname", "Far")]);
        let far_alert = Arc::new(Alert {
            fingerprint: Fingerprint::of(&labels),
            labels,
            annotations: Labels::default(),
            starts_at: far,
            ends_at: far,
            timeout: false,
            generator_url: Default::default(),
            updated_at: w0,
            extension: Default::default(),
        });
        let mut g = AggrGroup::new("k".into(), route(), Labels::default(), t0);
        g.insert(far_alert.clone(), t0, w0);
        assert_eq!(
            g.next_flush,
            t0 + Duration::from_secs(30),
            "a start in the future is no reason to hurry"
        );
        let f = g.flush(t0, w0).expect("firing until the end of time");
        assert_eq!(f.reason, Reason::First);

        // A record from far in the future (a wrong clock) or a wake-up at the end of time.
        let mut record = f.record.clone();
        record.at = far;
        record.wake_at = Some(far);
        let mut restored = AggrGroup::new("k".into(), route(), Labels::default(), t0);
        restored.restore(&record, t0, w0);
        restored.insert(far_alert, t0, w0);
        assert!(restored.wake.is_some_and(|(at, _)| at > t0));
        restored.routed(Vec::new(), Some(far), t0, w0);
        assert!(
            restored.flush(t0, w0).is_none(),
            "notified at the end of time: its repeat interval saturates"
        );
    }

    #[test]
    fn a_pass_forgets_only_what_its_holder_has_surely_told() {
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        let mut g = AggrGroup::new("k".into(), route(), Labels::default(), now);
        g.insert(alert("firing", wall, time::Duration::hours(1)), now, wall);
        g.insert(
            alert("just-resolved", wall, -time::Duration::seconds(30)),
            now,
            wall,
        );
        g.insert(
            alert("long-resolved", wall, -time::Duration::minutes(30)),
            now,
            wall,
        );
        g.pass(now, wall, Duration::from_secs(5 * 60 + 20));
        let mut left: Vec<&str> = g
            .alerts()
            .map(|a| a.labels.get("instance").unwrap())
            .collect();
        left.sort_unstable();
        assert_eq!(left, ["firing", "just-resolved"]);
        // Nothing told, and looked at again a group_interval on.
        assert!(g.notified_record().is_none());
        assert_eq!(g.next_flush, now + Duration::from_secs(300));
        let later = wall + time::Duration::minutes(6);
        g.pass(now, later, Duration::from_secs(5 * 60 + 20));
        assert_eq!(g.alerts().count(), 1);
    }

    #[test]
    fn a_group_passed_over_and_then_taken_over_is_due_when_it_first_was() {
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        let mut g = AggrGroup::new("k".into(), route(), Labels::default(), now);
        g.insert(alert("a", wall, time::Duration::hours(1)), now, wall);
        let due = g.next_flush;
        assert_eq!(due, now + Duration::from_secs(30));
        // Due on a replica that does not hold it: looked at again a group_interval on.
        g.pass(due, wall, Duration::from_secs(320));
        assert_eq!(g.next_flush, due + Duration::from_secs(300));
        // Taken over with no record: nobody told it, so it is due as it was, not 5 min on.
        g.forget_notified();
        assert_eq!(g.next_flush, due);
    }

    #[test]
    fn only_resolved_alerts_never_notify_a_new_group() {
        let t0 = Instant::now();
        let w0 = OffsetDateTime::now_utc();
        let mut g = AggrGroup::new("k".into(), route(), Labels::default(), t0);
        g.insert(alert("a", w0, time::Duration::minutes(-1)), t0, w0);
        assert!(g.flush(t0, w0).is_none());
        assert!(g.is_empty());
    }
}
