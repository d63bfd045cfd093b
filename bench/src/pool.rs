//! The bodies a re-sending load cycles through, and the `endsAt` each re-send carries.
//!
//! The throughput and latency background loads post the batches of a [`Pool`] in turn (in the
//! order of a [`crate::resend::Schedule`]), so after the first round every post re-sends label
//! sets the server holds. `startsAt` is the start of the run for every label set, as Prometheus
//! keeps an alert's `activeAt`. What `endsAt` is depends on the [`Resend`] pattern:
//!
//! - `prometheus`: stamped at each send, `endsAt` = now + [`MOVING_ENDS_IN`] (4 min), patched
//!   into a copy of the body's serialised bytes (fixed-width timestamps, no JSON work: a few µs
//!   of generator CPU per post, included in `loadgen_cpu_s`);
//! - `no-ends`: no `endsAt` field, the same bytes every time (the server sets the end);
//! - `rerender`: once a second [`Refresher`] re-renders every body with `endsAt` = now + 4 min
//!   and swaps the new set in whole;
//! - `static`: the bytes never change, `endsAt` = start of the run + [`STATIC_ENDS_IN`].

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::alerts::{self, timestamp, MOVING_ENDS_IN, STATIC_ENDS_IN, TIMESTAMP_LEN};
use crate::resend::Resend;

/// How often [`Refresher`] moves `endsAt` forward (`--resend=rerender`).
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// A serialised body and where its `endsAt` values sit in it.
struct Template {
    bytes: Vec<u8>,
    /// Offsets of the [`TIMESTAMP_LEN`] bytes of each alert's `endsAt` value.
    ends_at: Vec<usize>,
}

impl Template {
    fn new(range: std::ops::Range<usize>, starts_at: &str, ends_at: Option<&str>) -> Self {
        let alerts = range.len();
        let bytes = alerts::body(range, starts_at, ends_at);
        let Some(ends_at) = ends_at else {
            return Template {
                bytes,
                ends_at: Vec::new(),
            };
        };
        let needle = format!("\"endsAt\":\"{ends_at}\"");
        let offsets: Vec<usize> = bytes
            .windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle.as_bytes())
            .map(|(at, _)| at + needle.len() - 1 - TIMESTAMP_LEN)
            .collect();
        assert_eq!(offsets.len(), alerts, "one endsAt per alert");
        Template {
            bytes,
            ends_at: offsets,
        }
    }

    /// The body with every `endsAt` set to `ends_at` (a [`timestamp`]).
    fn render(&self, ends_at: &str) -> Bytes {
        assert_eq!(ends_at.len(), TIMESTAMP_LEN, "fixed-width timestamp");
        let mut bytes = self.bytes.clone();
        for &at in &self.ends_at {
            bytes[at..at + TIMESTAMP_LEN].copy_from_slice(ends_at.as_bytes());
        }
        Bytes::from(bytes)
    }
}

/// The bodies of a re-sending load: label sets `0..label_sets` in batches, with `startsAt` fixed
/// at the start of the run and an `endsAt` as the [`Resend`] pattern says.
pub struct Pool {
    resend: Resend,
    templates: Vec<Template>,
    /// Alerts in each body.
    alerts: Vec<u64>,
    /// The bodies as sent by every pattern but `prometheus` (which renders each send), replaced
    /// whole by [`Pool::refresh`]; read once per post.
    current: RwLock<Arc<Vec<Bytes>>>,
}

impl Pool {
    /// The bodies of a run that started at `start`.
    pub fn new(label_sets: usize, batch: usize, start: SystemTime, resend: Resend) -> Self {
        let starts_at = timestamp(start, Duration::ZERO);
        let ends_at = match resend {
            Resend::Prometheus | Resend::Rerender => Some(timestamp(start, MOVING_ENDS_IN)),
            Resend::Static => Some(timestamp(start, STATIC_ENDS_IN)),
            Resend::NoEnds => None,
        };
        let (templates, alerts): (Vec<Template>, Vec<u64>) = alerts::batches(0..label_sets, batch)
            .map(|r| {
                let n = r.len() as u64;
                (Template::new(r, &starts_at, ends_at.as_deref()), n)
            })
            .unzip();
        let current = templates
            .iter()
            .map(|t| Bytes::from(t.bytes.clone()))
            .collect();
        Pool {
            resend,
            templates,
            alerts,
            current: RwLock::new(Arc::new(current)),
        }
    }

    /// The bodies of a run starting now.
    pub fn starting_now(label_sets: usize, batch: usize, resend: Resend) -> Self {
        Pool::new(label_sets, batch, SystemTime::now(), resend)
    }

    /// Starts what keeps the bodies current: a [`Refresher`] for `rerender`, nothing otherwise.
    pub fn keep_current(self: &Arc<Self>) -> Option<Refresher> {
        (self.resend == Resend::Rerender).then(|| Refresher::start(self.clone()))
    }

    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    /// Body `k` (modulo the pool's size) as sent now, and how many alerts it holds.
    pub fn get(&self, k: usize) -> (Bytes, u64) {
        self.get_at(k, SystemTime::now())
    }

    /// Body `k` as sent at `now`.
    fn get_at(&self, k: usize, now: SystemTime) -> (Bytes, u64) {
        let k = k % self.len();
        let body = match self.resend {
            Resend::Prometheus => self.templates[k].render(&timestamp(now, MOVING_ENDS_IN)),
            Resend::NoEnds | Resend::Rerender | Resend::Static => {
                self.current.read().expect("body pool lock")[k].clone()
            }
        };
        (body, self.alerts[k])
    }

    /// Re-renders every body with `endsAt` = `now` + 4 min and swaps the new set in.
    pub fn refresh(&self, now: SystemTime) {
        let ends_at = timestamp(now, MOVING_ENDS_IN);
        let bodies: Vec<Bytes> = self.templates.iter().map(|t| t.render(&ends_at)).collect();
        let old = std::mem::replace(
            &mut *self.current.write().expect("body pool lock"),
            Arc::new(bodies),
        );
        drop(old); // Freed after the lock is released, not while the posts wait on it.
    }
}

/// Refreshes a [`Pool`] every [`REFRESH_EVERY`] (on the blocking pool) until dropped.
pub struct Refresher(tokio::task::JoinHandle<()>);

impl Refresher {
    fn start(pool: Arc<Pool>) -> Self {
        Refresher(tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // The first tick is now: the pool is fresh.
            loop {
                tick.tick().await;
                // A few ms of copying: off the runtime's workers, whose posts are being timed.
                let pool = pool.clone();
                let _ = tokio::task::spawn_blocking(move || pool.refresh(SystemTime::now())).await;
            }
        }))
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn alerts_of<'a>(bodies: impl IntoIterator<Item = &'a Bytes>) -> Vec<Value> {
        bodies
            .into_iter()
            .flat_map(|b| serde_json::from_slice::<Vec<Value>>(b).unwrap())
            .collect()
    }

    /// Every body of the pool as sent at `now`.
    fn sent_at(pool: &Pool, now: SystemTime) -> Vec<Value> {
        let bodies: Vec<Bytes> = (0..pool.len()).map(|k| pool.get_at(k, now).0).collect();
        alerts_of(&bodies)
    }

    fn time_of(v: &Value) -> SystemTime {
        humantime::parse_rfc3339(v.as_str().unwrap()).unwrap()
    }

    fn without(v: &Value, field: &str) -> Value {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove(field);
        v
    }

    #[test]
    fn prometheus_re_sends_each_carry_a_fresh_end() {
        let start = SystemTime::now();
        let pool = Pool::new(1_005, 10, start, Resend::Prometheus);
        assert_eq!(pool.len(), 101);
        assert_eq!(pool.get(100).1, 5);
        // Two rounds 3 ms apart: every alert's end moved by those 3 ms, nothing else did.
        let t = start + Duration::from_secs(7);
        let a = sent_at(&pool, t);
        let b = sent_at(&pool, t + Duration::from_millis(3));
        assert_eq!((a.len(), b.len()), (1_005, 1_005));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                time_of(&x["startsAt"]),
                time_of(&a[0]["startsAt"]),
                "startsAt stays"
            );
            assert_eq!(
                time_of(&y["endsAt"])
                    .duration_since(time_of(&x["endsAt"]))
                    .unwrap(),
                Duration::from_millis(3)
            );
            assert_eq!(without(x, "endsAt"), without(y, "endsAt"));
        }
        // endsAt = send time + 4 min, as Prometheus stamps an evaluation.
        let ends = time_of(&a[0]["endsAt"]);
        let sent = t + MOVING_ENDS_IN;
        assert!(sent.duration_since(ends).unwrap() < Duration::from_millis(1));
        assert!(
            start.duration_since(time_of(&a[0]["startsAt"])).unwrap() < Duration::from_millis(1)
        );
    }

    #[test]
    fn no_ends_re_sends_are_identical_and_carry_no_end() {
        let start = SystemTime::now();
        let pool = Pool::new(100, 10, start, Resend::NoEnds);
        let a = sent_at(&pool, start);
        let b = sent_at(&pool, start + Duration::from_secs(5));
        assert_eq!(a, b);
        assert_eq!(a.len(), 100);
        assert!(a.iter().all(|x| x.get("endsAt").is_none()));
    }

    #[test]
    fn rerendered_snapshots_a_second_apart_differ_only_in_ends_at() {
        let start = SystemTime::now();
        let pool = Pool::new(1_005, 10, start, Resend::Rerender);
        let first = sent_at(&pool, start);
        let now = start + Duration::from_secs(7);
        // Between refreshes, re-sends are identical whenever they are sent.
        assert_eq!(sent_at(&pool, now), first);
        pool.refresh(now);
        let a = sent_at(&pool, now);
        pool.refresh(now + Duration::from_secs(1));
        let b = sent_at(&pool, now + Duration::from_millis(1_500));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x["startsAt"], first[0]["startsAt"]);
            assert_eq!(
                time_of(&y["endsAt"])
                    .duration_since(time_of(&x["endsAt"]))
                    .unwrap(),
                Duration::from_secs(1)
            );
            assert_eq!(without(x, "endsAt"), without(y, "endsAt"));
        }
        assert_eq!(
            time_of(&a[0]["endsAt"])
                .duration_since(time_of(&a[0]["startsAt"]))
                .unwrap()
                - Duration::from_secs(7),
            MOVING_ENDS_IN,
            "{}",
            a[0]
        );
    }

    #[test]
    fn static_pool_is_the_old_bodies() {
        let start = SystemTime::now();
        let pool = Pool::new(100, 10, start, Resend::Static);
        let old = alerts_of(&alerts::bodies(100, 10, STATIC_ENDS_IN));
        let strip = |v: &Value| {
            let (s, e) = (time_of(&v["startsAt"]), time_of(&v["endsAt"]));
            assert_eq!(e.duration_since(s).unwrap(), STATIC_ENDS_IN);
            without(&without(v, "startsAt"), "endsAt")
        };
        let later = sent_at(&pool, start + Duration::from_secs(60));
        assert_eq!(later, sent_at(&pool, start), "never changes");
        assert_eq!(later.len(), old.len());
        for (p, o) in later.iter().zip(&old) {
            assert_eq!(strip(p), strip(o));
        }
    }
}
