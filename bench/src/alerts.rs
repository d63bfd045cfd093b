//! Synthetic Prometheus alerts and pre-serialised API v2 request bodies.
//!
//! Label set `i` is a pure function of `i`, so every run (and both servers) see the same alerts:
//! ten labels shaped like a real Prometheus alert, two annotations and a generator URL. Bodies are
//! serialised once before a run so that generating load costs next to nothing.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::{json, Map, Value};

const ALERTNAMES: [&str; 20] = [
    "HighCpuUsage",
    "HighMemoryUsage",
    "DiskWillFillIn4Hours",
    "DiskFull",
    "NodeDown",
    "TargetDown",
    "HighRequestLatency",
    "HighErrorRate",
    "PodCrashLooping",
    "PodNotReady",
    "DeploymentReplicasMismatch",
    "CertificateExpiringSoon",
    "KafkaConsumerLag",
    "PostgresReplicationLag",
    "RedisMemoryHigh",
    "NetworkReceiveErrors",
    "ClockSkewDetected",
    "QueueBacklogGrowing",
    "SLOBurnRateFast",
    "SLOBurnRateSlow",
];
const TEAMS: [&str; 4] = ["payments", "search", "storage", "other"];
const SEVERITIES: [&str; 3] = ["critical", "warning", "info"];
const NAMESPACES: [&str; 8] = [
    "checkout",
    "billing",
    "catalog",
    "indexer",
    "frontend",
    "ingest",
    "objects",
    "monitoring",
];
const JOBS: [&str; 5] = ["node", "kubelet", "api", "postgres", "kafka"];
const CLUSTERS: [&str; 3] = ["eu-west-1", "us-east-1", "ap-south-1"];
const ENVS: [&str; 2] = ["prod", "staging"];

/// The labels of synthetic alert number `i` (distinct for distinct `i`, via `pod`).
pub fn labels(i: usize) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_owned(), Value::String(v));
    };
    put("alertname", ALERTNAMES[i % ALERTNAMES.len()].to_owned());
    put(
        "instance",
        format!(
            "10.{}.{}.{}:9100",
            (i / 65536) % 256,
            (i / 256) % 256,
            i % 256
        ),
    );
    put("job", JOBS[(i / 7) % JOBS.len()].to_owned());
    put("pod", format!("svc-{:06}-7f9c4d", i));
    put(
        "namespace",
        NAMESPACES[(i / 3) % NAMESPACES.len()].to_owned(),
    );
    put(
        "team",
        TEAMS[(i / ALERTNAMES.len()) % TEAMS.len()].to_owned(),
    );
    put(
        "severity",
        SEVERITIES[(i / 11) % SEVERITIES.len()].to_owned(),
    );
    put("cluster", CLUSTERS[(i / 13) % CLUSTERS.len()].to_owned());
    put("env", ENVS[(i / 17) % ENVS.len()].to_owned());
    put("prometheus", format!("monitoring/prometheus-{}", i % 2));
    m
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

/// Request bodies covering label sets `0..label_sets`, `batch` alerts each, starting now and
/// ending after `ends_in` (Prometheus sends now + 4 × its evaluation interval; we use 5 min).
pub fn bodies(label_sets: usize, batch: usize, ends_in: Duration) -> Vec<Bytes> {
    let now = SystemTime::now();
    let starts_at = timestamp(now, Duration::ZERO);
    let ends_at = timestamp(now, ends_in);
    (0..label_sets)
        .step_by(batch.max(1))
        .map(|first| {
            let batch: Vec<Value> = (first..(first + batch).min(label_sets))
                .map(|i| alert(labels(i), &starts_at, &ends_at))
                .collect();
            Bytes::from(serde_json::to_vec(&batch).expect("JSON values serialise"))
        })
        .collect()
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
}
