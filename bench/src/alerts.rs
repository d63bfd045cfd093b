//! Synthetic Prometheus alerts and pre-serialised API v2 request bodies.
//!
//! Label set `i` is a pure function of `i`, so every run (and both servers) see the same alerts:
//! ten labels shaped like a real Prometheus alert, two annotations and a generator URL. Bodies are
//! serialised once before a run so that generating load costs next to nothing.
//!
//! # What the re-sends look like
//!
//! The throughput and latency background loads cycle through a [`Pool`] of bodies, so almost every
//! post re-sends label sets the server already holds. Prometheus re-sends a firing alert with the
//! same `startsAt` and an `endsAt` of evaluation time + 4 × the resend interval, so the server
//! sees the end move forward. The pool does the same by default: `startsAt` is the start of the
//! run for every label set, and once a second [`Refresher`] rewrites the bodies with
//! `endsAt` = now + [`MOVING_ENDS_IN`] (4 min), swapping the new set in whole. It patches the
//! fixed-width timestamps into the serialised bytes (a copy of the bodies, no JSON work), so this
//! costs a few milliseconds of generator CPU per second. With `--static-ends` the bodies never
//! change: every re-send carries the `endsAt` of the start of the run + [`STATIC_ENDS_IN`]
//! (5 min), as this generator did before.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::{json, Map, Value};

/// The labels of synthetic alert number `i` (distinct for distinct `i`, via `pod`).
pub fn labels(i: usize) -> Map<String, Value> {
    crate::labels::pairs(i)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v)))
        .collect()
}

/// One API v2 alert object with these labels, as Prometheus sends it.
fn alert(labels: Map<String, Value>, starts_at: &str, ends_at: &str) -> Value {
    let name = labels["alertname"].as_str().unwrap_or_default().to_owned();
    let instance = labels["instance"].as_str().unwrap_or_default().to_owned();
    json!({
        "labels": labels,
        "annotations": {
            "summary": format!("{name} on {instance}"),
            "runbook_url": format!("https://runbooks.example/{}", name.to_lowercase()),
        },
        "generatorURL": format!(
            "http://prometheus-0.monitoring:9090/graph?g0.expr=up%7Binstance%3D%22{instance}%22%7D&g0.tab=1"
        ),
        "startsAt": starts_at,
        "endsAt": ends_at,
    })
}

/// RFC 3339 text of `now + offset` (milliseconds).
fn timestamp(now: SystemTime, offset: Duration) -> String {
    humantime::format_rfc3339_millis(now + offset).to_string()
}

/// Length of a [`timestamp`]: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
const TIMESTAMP_LEN: usize = 24;

/// `endsAt` - now of the moving re-sends: 4 × Prometheus' default resend delay of 1 min.
pub const MOVING_ENDS_IN: Duration = Duration::from_secs(4 * 60);
/// `endsAt` - start of the run with `--static-ends` (the old behaviour).
pub const STATIC_ENDS_IN: Duration = Duration::from_secs(5 * 60);
/// How often [`Refresher`] moves `endsAt` forward.
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// The batches of label sets `0..label_sets`, `batch` alerts each: `(first, end)` ranges.
fn batches(label_sets: usize, batch: usize) -> impl Iterator<Item = (usize, usize)> {
    let batch = batch.max(1);
    (0..label_sets)
        .step_by(batch)
        .map(move |first| (first, (first + batch).min(label_sets)))
}

/// The serialised body of label sets `first..end`.
fn body(first: usize, end: usize, starts_at: &str, ends_at: &str) -> Vec<u8> {
    let batch: Vec<Value> = (first..end)
        .map(|i| alert(labels(i), starts_at, ends_at))
        .collect();
    serde_json::to_vec(&batch).expect("JSON values serialise")
}

/// Request bodies covering label sets `0..label_sets`, `batch` alerts each, starting now and
/// ending after `ends_in`. Never re-rendered: for loads that send each body once.
pub fn bodies(label_sets: usize, batch: usize, ends_in: Duration) -> Vec<Bytes> {
    let now = SystemTime::now();
    let starts_at = timestamp(now, Duration::ZERO);
    let ends_at = timestamp(now, ends_in);
    batches(label_sets, batch)
        .map(|(first, end)| Bytes::from(body(first, end, &starts_at, &ends_at)))
        .collect()
}

/// A serialised body and where its `endsAt` values sit in it.
struct Template {
    bytes: Vec<u8>,
    /// Offsets of the [`TIMESTAMP_LEN`] bytes of each alert's `endsAt` value.
    ends_at: Vec<usize>,
}

impl Template {
    fn new(first: usize, end: usize, starts_at: &str, ends_at: &str) -> Self {
        let bytes = body(first, end, starts_at, ends_at);
        let needle = format!("\"endsAt\":\"{ends_at}\"");
        let offsets: Vec<usize> = bytes
            .windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle.as_bytes())
            .map(|(at, _)| at + needle.len() - 1 - TIMESTAMP_LEN)
            .collect();
        assert_eq!(offsets.len(), end - first, "one endsAt per alert");
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

/// The bodies a re-sending load cycles through: label sets `0..label_sets` in batches, with
/// `startsAt` fixed at the start of the run and an `endsAt` that [`Pool::refresh`] moves.
pub struct Pool {
    templates: Vec<Template>,
    /// Alerts in each body.
    alerts: Vec<u64>,
    ends_in: Duration,
    /// The current bodies, replaced whole by [`Pool::refresh`]; read once per post.
    current: RwLock<Arc<Vec<Bytes>>>,
}

impl Pool {
    /// Bodies starting at `start` and ending at `start + ends_in` until the first refresh.
    pub fn new(label_sets: usize, batch: usize, start: SystemTime, ends_in: Duration) -> Self {
        let starts_at = timestamp(start, Duration::ZERO);
        let ends_at = timestamp(start, ends_in);
        let (templates, alerts): (Vec<Template>, Vec<u64>) = batches(label_sets, batch)
            .map(|(first, end)| {
                (
                    Template::new(first, end, &starts_at, &ends_at),
                    (end - first) as u64,
                )
            })
            .unzip();
        let current = templates
            .iter()
            .map(|t| Bytes::from(t.bytes.clone()))
            .collect();
        Pool {
            templates,
            alerts,
            ends_in,
            current: RwLock::new(Arc::new(current)),
        }
    }

    /// The pool of a re-sending load: moving ends (refresh it, see [`Refresher`]) or, with
    /// `static_ends`, the old fixed ones.
    pub fn for_resends(label_sets: usize, batch: usize, static_ends: bool) -> Self {
        let ends_in = if static_ends {
            STATIC_ENDS_IN
        } else {
            MOVING_ENDS_IN
        };
        Pool::new(label_sets, batch, SystemTime::now(), ends_in)
    }

    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    /// Body `k` (modulo the pool's size) as it is now, and how many alerts it holds.
    pub fn get(&self, k: usize) -> (Bytes, u64) {
        let k = k % self.len();
        let body = self.current.read().expect("body pool lock")[k].clone();
        (body, self.alerts[k])
    }

    /// All current bodies.
    #[cfg(test)]
    pub fn snapshot(&self) -> Arc<Vec<Bytes>> {
        self.current.read().expect("body pool lock").clone()
    }

    /// Re-renders every body with `endsAt` = `now + ends_in` and swaps the new set in.
    pub fn refresh(&self, now: SystemTime) {
        let ends_at = timestamp(now, self.ends_in);
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
    pub fn start(pool: Arc<Pool>) -> Self {
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

/// The body of latency probe `n`: one fresh alert, `alertname="LatencyProbe"`, `probe="<n>"`.
pub fn probe_body(n: u64) -> Bytes {
    let now = SystemTime::now();
    let body = json!([{
        "labels": {
            "alertname": "LatencyProbe",
            "probe": n.to_string(),
            "severity": "critical",
            "job": "bench",
            "instance": "loadgen",
        },
        "annotations": { "summary": format!("latency probe {n}") },
        "generatorURL": "http://loadgen/probe",
        "startsAt": timestamp(now, Duration::ZERO),
        "endsAt": timestamp(now, Duration::from_secs(300)),
    }]);
    Bytes::from(serde_json::to_vec(&body).expect("JSON values serialise"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn label_sets_are_distinct_and_have_ten_labels() {
        let sets: HashSet<String> = (0..10_000)
            .map(|i| {
                let l = labels(i);
                assert_eq!(l.len(), 10);
                serde_json::to_string(&l).unwrap()
            })
            .collect();
        assert_eq!(sets.len(), 10_000);
    }

    #[test]
    fn bodies_cover_every_label_set_once() {
        let bodies = bodies(1_000, 10, Duration::from_secs(300));
        assert_eq!(bodies.len(), 100);
        let alerts: Vec<Value> = bodies
            .iter()
            .flat_map(|b| serde_json::from_slice::<Vec<Value>>(b).unwrap())
            .collect();
        assert_eq!(alerts.len(), 1_000);
        assert_eq!(alerts[999]["labels"]["pod"], "svc-000999-7f9c4d");
        assert!(alerts[0]["endsAt"].as_str().unwrap().ends_with('Z'));
    }

    fn alerts_of(bodies: &[Bytes]) -> Vec<Value> {
        bodies
            .iter()
            .flat_map(|b| serde_json::from_slice::<Vec<Value>>(b).unwrap())
            .collect()
    }

    fn time_of(v: &Value) -> SystemTime {
        humantime::parse_rfc3339(v.as_str().unwrap()).unwrap()
    }

    #[test]
    fn refreshed_snapshots_a_second_apart_differ_only_in_ends_at() {
        let start = SystemTime::now();
        let pool = Pool::new(1_005, 10, start, MOVING_ENDS_IN);
        assert_eq!(pool.len(), 101);
        assert_eq!(pool.get(100).1, 5);
        // Before any refresh the pool is what `bodies` would serialise.
        let first = alerts_of(&pool.snapshot());
        assert_eq!(first.len(), 1_005);
        let started = time_of(&first[0]["startsAt"]);
        assert!(start.duration_since(started).unwrap() < Duration::from_millis(1));

        let now = start + Duration::from_secs(7);
        pool.refresh(now);
        let a = alerts_of(&pool.snapshot());
        pool.refresh(now + Duration::from_secs(1));
        let b = alerts_of(&pool.snapshot());
        assert_eq!(a.len(), 1_005);
        assert_eq!(b.len(), 1_005);
        for (x, y) in a.iter().zip(&b) {
            // Same startsAt as at the start of the run, endsAt one second further on.
            assert_eq!(x["startsAt"], first[0]["startsAt"]);
            assert_eq!(
                time_of(&y["endsAt"])
                    .duration_since(time_of(&x["endsAt"]))
                    .unwrap(),
                Duration::from_secs(1)
            );
            let (mut x, mut y) = (x.clone(), y.clone());
            x.as_object_mut().unwrap().remove("endsAt");
            y.as_object_mut().unwrap().remove("endsAt");
            assert_eq!(x, y);
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
        let pool = Pool::for_resends(100, 10, true);
        let old = bodies(100, 10, STATIC_ENDS_IN);
        // Same bytes but (perhaps) for the millisecond the two were made in.
        let strip = |b: &Bytes| {
            let mut v: Vec<Value> = serde_json::from_slice(b).unwrap();
            for a in &mut v {
                let a = a.as_object_mut().unwrap();
                let (s, e) = (time_of(&a["startsAt"]), time_of(&a["endsAt"]));
                assert_eq!(e.duration_since(s).unwrap(), STATIC_ENDS_IN);
                a.remove("startsAt");
                a.remove("endsAt");
            }
            v
        };
        let snap = pool.snapshot();
        assert_eq!(snap.len(), old.len());
        for (p, o) in snap.iter().zip(&old) {
            assert_eq!(strip(p), strip(o));
        }
    }
}
