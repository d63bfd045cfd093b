//! The live alert cache: one entry per fingerprint, re-sent alerts merged into it.
//!
//! Entries expire a retention period after the alert resolves ([`ExpiringMap`]); the cache has
//! no size-based eviction at all, so a firing alert is never dropped to make room. Instead, at
//! the configured capacity a *new* alert is refused with [`CacheFull`] (ingest answers 429),
//! while updates to alerts already held are always accepted.
//!
//! Each entry also remembers the end its stored copy has, so that a re-send which only moves
//! the end is written only when the stored end comes near (see [`Upsert::Extended`]); until
//! then it moves the end of the shared alert on in place ([`Alert::extend_to`]), which the
//! groups and inhibition hold too, so the cache is not written either.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::expiring::{ExpiringMap, Write};
use super::sources::Sources;
use crate::clock;
use crate::model::{Alert, Fingerprint, SharedAlert};

/// The cache is at capacity and the alert is new.
#[derive(Debug, thiserror::Error)]
#[error("alert cache is full ({capacity} alerts)")]
pub struct CacheFull {
    pub capacity: u64,
}

/// Outcome of an upsert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// A fingerprint the cache did not hold.
    New,
    /// A re-send of an alert it held, merged into it, that changed what a restart would
    /// restore: the alert's status, start, annotations or source.
    Merged,
    /// A re-send that only moved the end of an alert that fires and still fires (what
    /// Prometheus sends every minute for every firing alert), while the stored copy's end is
    /// less than half the alert's lead ahead (see [`stored_end_is_near`]): it is written, so a
    /// restart never finds a still-firing alert resolved.
    Refreshed,
    /// The same, with the stored copy's end still at least half the alert's lead ahead: the
    /// end of the alert held is moved on in place, and it is held in memory only (unless
    /// [`AlertCache::writes_extensions`]). Lost in a crash, the stored end (still ahead) is
    /// restored, and the sender's next re-send moves it again. The alert returned is the one
    /// already filed, so it need not be filed again.
    Extended,
    /// A re-send identical to the alert held but for the time it was received: the stored
    /// copy needs no write at all.
    Unchanged,
}

impl Upsert {
    /// A re-send folded into an alert already held.
    pub fn is_duplicate(self) -> bool {
        self != Upsert::New
    }

    /// The stored copy must change before the sender hears 2xx: a crash could otherwise lose
    /// the alert, make it look resolved, or restore it otherwise than it was told.
    pub fn writes(self) -> bool {
        matches!(self, Upsert::New | Upsert::Merged | Upsert::Refreshed)
    }
}

/// An alert held, and the end of its stored copy.
#[derive(Clone)]
struct Held {
    alert: SharedAlert,
    /// The end of the last write of this alert (as far as this cache knows): what a restart
    /// would restore.
    stored_end: OffsetDateTime,
}

impl Held {
    /// An alert whose stored copy is as it is.
    fn stored(alert: SharedAlert) -> Held {
        Held {
            stored_end: alert.end(),
            alert,
        }
    }
}

pub struct AlertCache {
    alerts: ExpiringMap<Held>,
    /// The generator URLs of the alerts held, each held once.
    sources: Sources,
    capacity: u64,
    retention: Duration,
    on_expired: Box<dyn Fn(Fingerprint) + Send + Sync>,
    /// When a full cache last swept out expired alerts, on the map's clock
    /// ([`ExpiringMap::now`]).
    swept_full: AtomicU64,
    /// [`Upsert::Extended`] alerts are written too (not waited for): the store is shared with
    /// other replicas, which know of an alert's end only what is stored.
    write_extensions: bool,
}

/// A full cache sweeps out expired alerts before it refuses a new one, at most this often: so a
/// flood of new alerts at capacity costs a walk of the cache per interval, not per alert.
const FULL_SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// How long after its write `held` may expire: `retention` after its end. Set at each write of
/// an entry, which in-place extensions do not make: so it reaches as far as they can move the
/// end before the next write. An extension is made only while the stored end is at least half
/// the new lead ahead, so it ends at most twice the stored end's lead from now. A resolved alert
/// whose sender stopped may so stay up to that lead past its retention; an explicit resolution
/// is written, and keeps the retention exactly.
fn time_to_live(held: &Held, retention: Duration) -> Duration {
    let now = OffsetDateTime::now_utc();
    let reach = clock::until(now, held.alert.end())
        .max(clock::until(now, held.stored_end).saturating_mul(2));
    // At most clock::FAR_FUTURE: an alert that ends in year 9999 stays, without overflow.
    reach.saturating_add(retention).min(clock::FAR_FUTURE)
}

impl AlertCache {
    /// `capacity` bounds the number of distinct alerts; `retention` is how long a resolved
    /// alert stays queryable.
    pub fn new(capacity: u64, retention: Duration) -> Self {
        Self::with_expiry_hook(capacity, retention, |_| {})
    }

    /// As [`AlertCache::new`], calling `on_expired` with each alert that leaves the cache after
    /// its retention (so the durable copy can go too). It is called before any later upsert of
    /// that fingerprint is made, and must not call back into the cache.
    pub fn with_expiry_hook(
        capacity: u64,
        retention: Duration,
        on_expired: impl Fn(Fingerprint) + Send + Sync + 'static,
    ) -> Self {
        AlertCache {
            alerts: ExpiringMap::new(),
            sources: Sources::default(),
            capacity,
            retention,
            on_expired: Box::new(on_expired),
            swept_full: AtomicU64::new(0),
            write_extensions: false,
        }
    }

    /// Has [`Upsert::Extended`] alerts written too: for a store other replicas read alerts from.
    pub fn writing_extensions(mut self) -> Self {
        self.write_extensions = true;
        self
    }

    /// Whether [`Upsert::Extended`] alerts are to be written (without waiting for it).
    pub fn writes_extensions(&self) -> bool {
        self.write_extensions
    }

    /// Whether an upsert of this kind replaced the alert held: the copy it returned is new, so
    /// it must be written to the store and filed (in groups and inhibition) anew. An identical
    /// re-send keeps the alert held, and an extension moves its end in place, unless
    /// extensions are written.
    pub fn replaced(&self, kind: Upsert) -> bool {
        match kind {
            Upsert::Unchanged => false,
            Upsert::Extended => self.write_extensions,
            Upsert::New | Upsert::Merged | Upsert::Refreshed => true,
        }
    }

    /// Inserts `alert`, or merges it into the alert with the same fingerprint (Alertmanager's
    /// rules: see [`Alert::merge`]). Returns the stored alert.
    pub fn upsert(&self, alert: Alert) -> Result<(SharedAlert, Upsert), CacheFull> {
        let fp = alert.fingerprint;
        // The count first: the lookup is only needed at capacity.
        if self.is_full() && self.alerts.get(&fp).is_none() {
            return Err(CacheFull {
                capacity: self.capacity,
            });
        }
        let put = |held: Held| {
            let ttl = time_to_live(&held, self.retention);
            Write::Put(held, ttl)
        };
        Ok(self.alerts.update(fp, |old| {
            let Some(old) = old else {
                let mut alert = alert;
                alert.generator_url = self.sources.intern(alert.generator_url);
                let held = Held::stored(Arc::new(alert));
                let out = (held.alert.clone(), Upsert::New);
                return (put(held), out);
            };
            // The common case under Prometheus: the same alert again. The alert held stays
            // (the stored copy keeps its earlier receipt time).
            if repeats(&old.alert, &alert) {
                return (Write::Keep, (old.alert.clone(), Upsert::Unchanged));
            }
            // Next under Prometheus: the same alert with its end moved on. Far enough from the
            // stored end, it moves the end of the alert held, in place. (Not where extensions
            // are written: the stored end must follow each of them.)
            if !self.write_extensions
                && extends(&old.alert, &alert)
                && !stored_end_is_near(old.stored_end, &alert)
                && old.alert.extend_to(alert.ends_at)
            {
                return (Write::Keep, (old.alert.clone(), Upsert::Extended));
            }
            let mut merged = merge_into(&old.alert, alert);
            // A later end not moved in place above (a later start, an end out of an
            // extension's reach) replaces the alert filed, so is written; where every
            // extension is written, it is not waited for unless near.
            let kind = if !only_refreshes(&old.alert, &merged) {
                Upsert::Merged
            } else if merged.end() == old.alert.end() {
                Upsert::Unchanged
            } else if self.write_extensions && !stored_end_is_near(old.stored_end, &merged) {
                Upsert::Extended
            } else {
                Upsert::Refreshed
            };
            // Unchanged, the alert held stays: the one filed, whose end extensions move.
            if kind == Upsert::Unchanged {
                return (Write::Keep, (old.alert.clone(), kind));
            }
            merged.generator_url = if merged.generator_url == old.alert.generator_url {
                old.alert.generator_url.clone()
            } else {
                self.sources.intern(merged.generator_url)
            };
            let held = Held {
                stored_end: merged.end(),
                alert: Arc::new(merged),
            };
            let out = (held.alert.clone(), kind);
            (put(held), out)
        }))
    }

    /// Concurrent inserts of different new alerts may overshoot the capacity by the number of
    /// requests in flight; nothing is ever evicted.
    fn is_full(&self) -> bool {
        if self.alerts.len() < self.capacity {
            return false;
        }
        // Expired alerts still count until swept: sweep first, unless a sweep was just made.
        let now = self.alerts.now();
        let last = self.swept_full.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= FULL_SWEEP_INTERVAL.as_millis() as u64;
        if due
            && self
                .swept_full
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.run_housekeeping();
        }
        self.alerts.len() >= self.capacity
    }

    pub fn get(&self, fp: &Fingerprint) -> Option<SharedAlert> {
        self.alerts.get(fp).map(|held| held.alert)
    }

    /// Every alert held, in no particular order.
    pub fn snapshot(&self) -> Vec<SharedAlert> {
        let mut all = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0));
        self.alerts.for_each(|held| all.push(held.alert.clone()));
        all
    }

    /// The number of alerts held, counting expired ones until housekeeping removes them.
    pub fn len(&self) -> u64 {
        self.alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes expired alerts now, telling the expiry hook of each, and forgets the generator
    /// URLs no alert holds (the app runs this every few seconds; a full cache runs it before it
    /// refuses a new alert).
    pub fn run_housekeeping(&self) {
        self.alerts.sweep(|fp| (self.on_expired)(fp));
        self.sources.forget_unused();
    }
}

/// Whether `new` is `held` again, received later: same content and times, still firing.
fn repeats(held: &Alert, new: &Alert) -> bool {
    new.ends_at == held.end() && same_but_the_end(held, new)
}

/// Whether `new` is `held` with a later end, received later, both firing: Alertmanager's
/// merge would make it `held` with `new`'s end.
fn extends(held: &Alert, new: &Alert) -> bool {
    new.ends_at > held.end() && !held.resolved_at(new.updated_at) && same_but_the_end(held, new)
}

/// `new` is received later, fires, and has `held`'s content and start.
fn same_but_the_end(held: &Alert, new: &Alert) -> bool {
    new.updated_at >= held.updated_at
        && !new.resolved_at(new.updated_at)
        && new.starts_at == held.starts_at
        && new.timeout == held.timeout
        && new.labels == held.labels
        && new.annotations == held.annotations
        && new.generator_url == held.generator_url
}

/// Whether `new` differs from `old` only in its end (not earlier) and update time, while both
/// fire.
fn only_refreshes(old: &Alert, new: &Alert) -> bool {
    let now = new.updated_at;
    !old.resolved_at(now)
        && !new.resolved_at(now)
        && new.end() >= old.end()
        && new.starts_at == old.starts_at
        && new.timeout == old.timeout
        && new.annotations == old.annotations
        && new.generator_url == old.generator_url
}

/// Whether the stored copy of a firing alert must take the end of its re-send `new`: the
/// stored end is less than half the alert's lead ahead of its receipt (the lead being how far
/// ahead the sender put the end: 4 × `resend_delay` from Prometheus, or the resolve timeout).
/// So after every re-send the stored end is at least half a lead past it — what a restart after
/// a crash restores is still firing unless the sender had been silent that long — and an alert
/// re-sent every minute with a 4-minute lead (Prometheus's defaults) is written at every third
/// re-send; one re-sent faster, more rarely still.
fn stored_end_is_near(stored_end: OffsetDateTime, new: &Alert) -> bool {
    let now = new.updated_at;
    clock::until(now, stored_end) < clock::until(now, new.end()) / 2
}

/// Alertmanager merges only when the new alert overlaps the stored one in time; otherwise the
/// new one replaces it (a fresh occurrence after a resolution).
fn merge_into(old: &Alert, new: Alert) -> Alert {
    let (old_end, new_end) = (old.end(), new.end());
    let overlaps = (new_end > old.starts_at && new_end < old_end)
        || (new.starts_at > old.starts_at && new.starts_at < old_end);
    if overlaps {
        Alert::merge(old, new)
    } else {
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;

    fn alert(name: &str, ends_in: time::Duration) -> Alert {
        let labels = Labels::from_pairs([("alertname", name)]);
        let now = OffsetDateTime::now_utc();
        Alert {
            fingerprint: Fingerprint::of(&labels),
            labels,
            annotations: Labels::default(),
            starts_at: now,
            ends_at: now + ends_in,
            timeout: true,
            generator_url: Default::default(),
            updated_at: now,
            extension: Default::default(),
        }
    }

    #[test]
    fn resend_merges_instead_of_adding() {
        let c = AlertCache::new(10, Duration::from_secs(60));
        let first = alert("A", time::Duration::minutes(5));
        let (_, k1) = c.upsert(first.clone()).unwrap();
        let mut same = first.clone();
        same.updated_at += time::Duration::seconds(1);
        let (stored, k2) = c.upsert(same.clone()).unwrap();
        assert_eq!((k1, k2), (Upsert::New, Upsert::Unchanged));
        assert_eq!(c.len(), 1);
        assert_eq!(
            c.get(&stored.fingerprint).unwrap().labels.get("alertname"),
            Some("A")
        );
        let mut later = same;
        later.updated_at += time::Duration::seconds(1);
        later.ends_at += time::Duration::minutes(1);
        assert_eq!(c.upsert(later).unwrap().1, Upsert::Extended);
    }

    /// `alert` re-sent `after` its first receipt, with the same lead.
    fn resent(alert: &Alert, after: time::Duration) -> Alert {
        let mut again = alert.clone();
        again.updated_at += after;
        again.ends_at += after;
        again
    }

    #[test]
    fn an_end_only_refresh_is_written_once_the_stored_end_is_near() {
        // Prometheus's defaults: re-sent every minute, the end 4 minutes ahead.
        let c = AlertCache::new(10, Duration::from_secs(60));
        let first = alert("A", time::Duration::minutes(4));
        assert_eq!(c.upsert(first.clone()).unwrap().1, Upsert::New);
        let kinds: Vec<Upsert> = (1..=6)
            .map(|m| {
                c.upsert(resent(&first, time::Duration::minutes(m)))
                    .unwrap()
                    .1
            })
            .collect();
        // The stored end (first + 4 min) is 3, then 2 minutes ahead: at least half the lead.
        // At minute 3 it is 1 minute ahead: written (first + 7 min), and so on.
        use Upsert::{Extended, Refreshed};
        assert_eq!(
            kinds,
            [Extended, Extended, Refreshed, Extended, Extended, Refreshed]
        );
    }

    #[test]
    fn an_extension_moves_the_end_of_the_alert_already_filed_in_place() {
        let c = AlertCache::new(10, Duration::from_secs(60));
        let first = alert("A", time::Duration::minutes(4));
        let (filed, kind) = c.upsert(first.clone()).unwrap();
        assert!(c.replaced(kind), "a new alert is filed");
        let later = resent(&first, time::Duration::minutes(1));
        let (held, kind) = c.upsert(later.clone()).unwrap();
        assert_eq!(kind, Upsert::Extended);
        assert!(!c.replaced(kind), "the filed alert already ends later");
        assert!(
            Arc::ptr_eq(&filed, &held),
            "the alert held is the one filed"
        );
        // What the groups and inhibition hold now ends where the re-send says.
        assert_eq!(filed.end(), later.ends_at);
        assert_eq!(filed.ends_at, first.ends_at, "as it was stored");
        // Once the stored end comes near, the re-send is written: a new alert, filed anew.
        let near = resent(&first, time::Duration::minutes(3));
        let (written, kind) = c.upsert(near.clone()).unwrap();
        assert_eq!(kind, Upsert::Refreshed);
        assert!(c.replaced(kind));
        assert!(!Arc::ptr_eq(&filed, &written));
        assert_eq!(written.end(), near.ends_at);
        // A re-send that comes back to an earlier end changes nothing held.
        let (_, kind) = c
            .upsert(resent(&first, time::Duration::minutes(2)))
            .unwrap();
        assert_ne!(kind, Upsert::Extended);
        assert_eq!(c.get(&first.fingerprint).unwrap().end(), near.ends_at);
        // ... and keeps the copy filed, so the next extension still moves its end.
        let further = resent(&first, time::Duration::minutes(4));
        let (held, kind) = c.upsert(further.clone()).unwrap();
        assert_eq!(kind, Upsert::Extended);
        assert!(Arc::ptr_eq(&written, &held));
        assert_eq!(written.end(), further.ends_at);
    }

    #[test]
    fn where_extensions_are_written_each_one_is_filed() {
        let c = AlertCache::new(10, Duration::from_secs(60)).writing_extensions();
        let first = alert("A", time::Duration::minutes(4));
        let (filed, _) = c.upsert(first.clone()).unwrap();
        let (held, kind) = c
            .upsert(resent(&first, time::Duration::minutes(1)))
            .unwrap();
        assert_eq!(kind, Upsert::Extended);
        assert!(c.replaced(kind));
        assert!(!Arc::ptr_eq(&filed, &held));
        assert_eq!(filed.end(), first.ends_at, "the filed alert is not moved");
        assert!(!c.replaced(Upsert::Unchanged));
    }

    #[test]
    fn an_entry_outlives_every_end_its_extensions_can_reach() {
        let retention = Duration::from_secs(60);
        let now = OffsetDateTime::now_utc();
        let alert = Arc::new(alert("A", time::Duration::minutes(4)));
        let held = Held::stored(alert.clone());
        // Extensions are made only while the stored end is at least half the new lead ahead:
        // at most twice the stored end's lead from now, before the next write sets the TTL.
        let reach = Duration::from_secs(8 * 60) + retention;
        let ttl = time_to_live(&held, retention);
        assert!(
            ttl <= reach && ttl + Duration::from_secs(5) > reach,
            "{ttl:?}"
        );
        // An end moved past that reach (by a write) sets the TTL by itself.
        assert!(alert.extend_to(now + time::Duration::minutes(20)));
        let ttl = time_to_live(&held, retention);
        let reach = Duration::from_secs(20 * 60) + retention;
        assert!(
            ttl <= reach && ttl + Duration::from_secs(5) > reach,
            "{ttl:?}"
        );
    }

    #[test]
    fn with_a_shared_store_extensions_are_written_and_counted_as_stored() {
        let c = AlertCache::new(10, Duration::from_secs(60)).writing_extensions();
        assert!(c.writes_extensions());
        let first = alert("A", time::Duration::minutes(4));
        c.upsert(first.clone()).unwrap();
        let kinds: Vec<Upsert> = (1..=3)
            .map(|m| {
                c.upsert(resent(&first, time::Duration::minutes(m)))
                    .unwrap()
                    .1
            })
            .collect();
        // Each extension is written, so the stored end never comes near.
        assert_eq!(kinds, [Upsert::Extended; 3]);
    }

    #[test]
    fn resends_that_change_what_a_restart_restores_are_merges() {
        let c = AlertCache::new(10, Duration::from_secs(60));
        let firing = alert("A", time::Duration::minutes(5));
        c.upsert(firing.clone()).unwrap();
        let mut annotated = firing.clone();
        annotated.annotations = Labels::from_pairs([("summary", "now worse")]);
        annotated.updated_at += time::Duration::seconds(1);
        assert_eq!(c.upsert(annotated.clone()).unwrap().1, Upsert::Merged);
        let mut resolved = annotated;
        resolved.ends_at = resolved.updated_at;
        resolved.timeout = false;
        resolved.updated_at += time::Duration::seconds(1);
        assert_eq!(c.upsert(resolved).unwrap().1, Upsert::Merged);
    }

    #[test]
    fn full_cache_refuses_new_but_accepts_updates() {
        let c = AlertCache::new(2, Duration::from_secs(60));
        c.upsert(alert("A", time::Duration::minutes(5))).unwrap();
        c.upsert(alert("B", time::Duration::minutes(5))).unwrap();
        let err = c
            .upsert(alert("C", time::Duration::minutes(5)))
            .unwrap_err();
        assert_eq!(err.capacity, 2);
        assert!(c.upsert(alert("A", time::Duration::minutes(5))).is_ok());
        assert_eq!(c.len(), 2, "nothing was evicted to make room");
    }

    #[test]
    fn a_full_cache_makes_room_only_from_expired_alerts_and_tells_the_hook() {
        let gone = Arc::new(std::sync::Mutex::new(Vec::new()));
        let told = gone.clone();
        let c = AlertCache::with_expiry_hook(2, Duration::from_millis(30), move |fp| {
            told.lock().unwrap().push(fp)
        });
        let (resolved, _) = c.upsert(alert("A", time::Duration::seconds(-1))).unwrap();
        c.upsert(alert("B", time::Duration::minutes(5))).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        let (new, kind) = c.upsert(alert("C", time::Duration::minutes(5))).unwrap();
        assert_eq!(kind, Upsert::New);
        assert_eq!(*gone.lock().unwrap(), [resolved.fingerprint]);
        assert_eq!(c.len(), 2);
        assert!(c.get(&new.fingerprint).is_some());
        // Full again, with nothing expired: the next new alert is refused, B is kept.
        assert!(c.upsert(alert("D", time::Duration::minutes(5))).is_err());
        assert_eq!(c.snapshot().len(), 2);
    }

    #[test]
    fn alerts_of_one_rule_share_one_generator_url_until_none_is_held() {
        let c = AlertCache::new(10, Duration::from_millis(30));
        let url: Arc<str> = Arc::from("http://prom/graph?g0.expr=up+%3D%3D+0&g0.tab=1");
        let of = |name: &str, ends_in| Alert {
            generator_url: Arc::from(&*url),
            ..alert(name, ends_in)
        };
        let (a, _) = c.upsert(of("A", time::Duration::minutes(5))).unwrap();
        let (b, _) = c.upsert(of("B", time::Duration::seconds(-1))).unwrap();
        assert!(Arc::ptr_eq(&a.generator_url, &b.generator_url));
        // A re-send that changes the alert keeps the copy held.
        let mut annotated = of("A", time::Duration::minutes(5));
        annotated.annotations = Labels::from_pairs([("summary", "worse")]);
        let (a2, kind) = c.upsert(annotated).unwrap();
        assert_eq!(kind, Upsert::Merged);
        assert!(Arc::ptr_eq(&a2.generator_url, &b.generator_url));
        // Once B has expired and A moved to another URL, the first URL is held by no alert.
        let mut moved = of("A", time::Duration::minutes(5));
        moved.generator_url = Arc::from("http://prom/graph?g0.expr=down");
        c.upsert(moved).unwrap();
        drop((a, b, a2));
        std::thread::sleep(Duration::from_millis(60));
        c.run_housekeeping();
        assert_eq!(c.sources.len(), 1);
    }

    #[test]
    fn resolved_alerts_expire_after_retention() {
        let c = AlertCache::new(10, Duration::from_millis(50));
        let (a, _) = c.upsert(alert("A", time::Duration::seconds(-1))).unwrap();
        let (b, _) = c.upsert(alert("B", time::Duration::minutes(5))).unwrap();
        assert!(c.get(&a.fingerprint).is_some());
        std::thread::sleep(Duration::from_millis(120));
        assert!(c.get(&a.fingerprint).is_none(), "resolved alert expired");
        assert!(c.get(&b.fingerprint).is_some(), "firing alert kept");
    }
}
