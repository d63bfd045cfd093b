//! The label set of synthetic alert `i`: a pure function of `i`, shaped like a real Prometheus
//! alert (ten labels). It depends on nothing, so the host's micro-benchmarks include this file
//! (`#[path]`) and measure the same label sets as `loadgen` sends.

pub const ALERTNAMES: [&str; 20] = [
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

/// The labels of synthetic alert number `i`, in no particular order (distinct for distinct
/// `i`, via `pod`).
pub fn pairs(i: usize) -> [(&'static str, String); 10] {
    let pick = |values: &[&str], n: usize| values[n % values.len()].to_owned();
    [
        ("alertname", pick(&ALERTNAMES, i)),
        (
            "instance",
            format!(
                "10.{}.{}.{}:9100",
                (i / 65536) % 256,
                (i / 256) % 256,
                i % 256
            ),
        ),
        ("job", pick(&JOBS, i / 7)),
        ("pod", format!("svc-{i:06}-7f9c4d")),
        ("namespace", pick(&NAMESPACES, i / 3)),
        ("team", pick(&TEAMS, i / ALERTNAMES.len())),
        ("severity", pick(&SEVERITIES, i / 11)),
        ("cluster", pick(&CLUSTERS, i / 13)),
        ("env", pick(&ENVS, i / 17)),
        ("prometheus", format!("monitoring/prometheus-{}", i % 2)),
    ]
}
