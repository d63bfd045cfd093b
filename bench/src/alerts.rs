//! Synthetic Prometheus alerts and pre-serialised API v2 request bodies.
//!
//! Label set `i` is a pure function of `i`, so every run (and both servers) see the same alerts:
//! ten labels shaped like a real Prometheus alert, two annotations and a generator URL (its
//! rule's, as Prometheus sends it: one per alert name). Bodies are serialised before a run, so
//! that generating load costs next to nothing; the re-sending loads keep them as templates whose
//! `endsAt` is patched in place ([`crate::pool`]).

use std::ops::Range;
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

/// One API v2 alert object with these labels, as Prometheus sends it (`ends_at: None`: no
/// `endsAt` field, the server sets the end).
fn alert(labels: Map<String, Value>, starts_at: &str, ends_at: Option<&str>) -> Value {
    let name = labels["alertname"].as_str().unwrap_or_default().to_owned();
    let instance = labels["instance"].as_str().unwrap_or_default().to_owned();
    let mut alert = json!({
        "labels": labels,
        "annotations": {
            "summary": format!("{name} on {instance}"),
            "runbook_url": format!("https://runbooks.example/{}", name.to_lowercase()),
        },
        // Prometheus links to the rule's expression: the same URL for every alert of a rule.
        "generatorURL": format!(
            "http://prometheus-0.monitoring:9090/graph?g0.expr=rule%3A{}%3Aratio5m+%3E+0.9&g0.tab=1",
            name.to_lowercase()
        ),
        "startsAt": starts_at,
    });
    if let (Some(ends_at), Some(fields)) = (ends_at, alert.as_object_mut()) {
        fields.insert("endsAt".to_owned(), Value::String(ends_at.to_owned()));
    }
    alert
}

/// RFC 3339 text of `now + offset` (milliseconds).
pub fn timestamp(now: SystemTime, offset: Duration) -> String {
    humantime::format_rfc3339_millis(now + offset).to_string()
}

/// Length of a [`timestamp`]: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub const TIMESTAMP_LEN: usize = 24;

/// `endsAt` - send time of Prometheus's re-sends: 4 × its default resend delay of 1 min.
pub const MOVING_ENDS_IN: Duration = Duration::from_secs(4 * 60);
/// `endsAt` - start of the run of `--resend=static` (the old `--static-ends`).
pub const STATIC_ENDS_IN: Duration = Duration::from_secs(5 * 60);

/// The batches of label sets `range`, `batch` alerts each (the last may be short).
pub fn batches(range: Range<usize>, batch: usize) -> impl Iterator<Item = Range<usize>> {
    let (batch, end) = (batch.max(1), range.end);
    range
        .step_by(batch)
        .map(move |first| first..(first + batch).min(end))
}

/// The serialised body of label sets `range`.
pub fn body(range: Range<usize>, starts_at: &str, ends_at: Option<&str>) -> Vec<u8> {
    let batch: Vec<Value> = range
        .map(|i| alert(labels(i), starts_at, ends_at))
        .collect();
    serde_json::to_vec(&batch).expect("JSON values serialise")
}

/// Request bodies covering label sets `range`, `batch` alerts each, starting now and ending after
/// `ends_in`. Never re-rendered: for loads that send each body once.
pub fn bodies_of(range: Range<usize>, batch: usize, ends_in: Duration) -> Vec<Bytes> {
    let now = SystemTime::now();
    let starts_at = timestamp(now, Duration::ZERO);
    let ends_at = timestamp(now, ends_in);
    batches(range, batch)
        .map(|r| Bytes::from(body(r, &starts_at, Some(&ends_at))))
        .collect()
}

/// [`bodies_of`] label sets `0..label_sets`.
pub fn bodies(label_sets: usize, batch: usize, ends_in: Duration) -> Vec<Bytes> {
    bodies_of(0..label_sets, batch, ends_in)
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

    #[test]
    fn batches_cut_any_range() {
        let b: Vec<Range<usize>> = batches(100..230, 64).collect();
        assert_eq!(b, [100..164, 164..228, 228..230]);
        assert_eq!(batches(0..0, 10).count(), 0);
    }

    #[test]
    fn an_alert_without_an_end_has_no_ends_at_field() {
        let body: Vec<Value> =
            serde_json::from_slice(&body(0..2, "2026-01-01T00:00:00.000Z", None)).unwrap();
        assert_eq!(body.len(), 2);
        assert!(body.iter().all(|a| a.get("endsAt").is_none()), "{body:?}");
        assert_eq!(body[1]["startsAt"], "2026-01-01T00:00:00.000Z");
    }
}
