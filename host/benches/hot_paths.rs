//! Micro-benchmarks of campanile's hot paths: `cargo bench -p campanile --bench hot_paths`.
//!
//! - `fingerprint`: Alertmanager's fingerprint of a 10-label set;
//! - `ingest_parse`: decoding an API v2 body of 10 alerts;
//! - `dedup_upsert`: an identical re-send of an alert the cache holds (settled by a read);
//! - `dedup_refresh`: a re-send that moves the alert's end, as Prometheus's do (a merge);
//! - `group_flush`: filing 10 alerts in a group and flushing it (dedup rule, sort);
//! - `plugin_route`: a call of the `severity-router` plugin routing a 10-alert group (on a warm
//!   instance, as in service; built by `scripts/build-plugins.sh`; skipped with a note if it is
//!   missing); `plugin_route_empty_group`: the same call with no alerts, its fixed cost;
//! - `silence_match_50k_alerts`: the silences of each of 50,000 alerts among 500 silences of
//!   the shapes `scripts/bench-silences.sh` creates (what `GET /api/v2/alerts` asks per alert);
//!   `silence_scan_50k_alerts`: the same by checking every silence, as campanile did before;
//! - `cache_snapshot_50k_alerts`: taking every alert the cache holds, as `GET /api/v2/alerts`
//!   does first (one pass over the cache's sharded tables), beside `vec_clone_50k_alerts`, the
//!   same handles copied out of a plain `Vec`: the floor of any such pass.
//!
//! Numbers come from here (and the load benchmark), never from timed test assertions.

#[path = "shared/flush.rs"]
mod flush;
#[path = "../../bench/src/labels.rs"]
mod synthetic;

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use time::OffsetDateTime;

use campanile::config::Config;
use campanile::dedup::AlertCache;
use campanile::group::{AggrGroup, GroupFlush};
use campanile::ingest::api_v2;
use campanile::model::{Fingerprint, Labels};
use campanile::plugin::{PluginRuntime, PluginState};
use campanile::route::RouteTable;
use campanile::silence::{SilenceState, Silences};
use campanile::store::{Store, StoredMatcher, StoredSilence};

/// The allocator the `campanile` binary uses, so allocation costs what it costs in service.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn labels(i: usize) -> Labels {
    Labels::from_pairs([
        ("alertname", "HighRequestLatency".to_string()),
        ("cluster", "eu-west-1".to_string()),
        ("env", "production".to_string()),
        ("instance", format!("10.0.{}.{}:9100", i / 250, i % 250)),
        ("job", "node".to_string()),
        ("namespace", "payments".to_string()),
        ("pod", format!("api-{i:05}")),
        ("prometheus", "monitoring/k8s".to_string()),
        ("service", "api".to_string()),
        (
            "severity",
            if i.is_multiple_of(3) {
                "critical"
            } else {
                "warning"
            }
            .to_string(),
        ),
    ])
}

fn body(n: usize) -> Vec<u8> {
    let alerts: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "labels": labels(i).iter().map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<std::collections::BTreeMap<_, _>>(),
                "annotations": {"summary": "p99 latency above 500ms", "runbook_url": "https://runbooks.example/latency"},
                "generatorURL": "http://prometheus:9090/graph?g0.expr=latency",
            })
        })
        .collect();
    serde_json::to_vec(&alerts).unwrap()
}

fn config(plugin: Option<&Path>) -> Config {
    let plugin_toml = plugin
        .map(|p| format!("[[plugins]]\nname = \"router\"\npath = '{}'\n[plugins.config]\npager = \"hook\"\nchat = \"hook\"\n", p.display()))
        .unwrap_or_default();
    let toml = format!(
        "[[receivers]]\nname = \"hook\"\ntype = \"log\"\n{plugin_toml}\n[route]\nreceiver = \"hook\"\ngroup_by = [\"alertname\"]\n{}",
        if plugin.is_some() { "plugin = \"router\"\n" } else { "" }
    );
    Config::parse(&toml, "bench", Path::new(".")).unwrap()
}

fn bench(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let l = labels(7);
    c.bench_function("fingerprint", |b| b.iter(|| Fingerprint::of(black_box(&l))));

    let ten = body(10);
    c.bench_function("ingest_parse", |b| {
        b.iter(|| api_v2::decode(black_box(&ten), now, Duration::from_secs(300)).unwrap())
    });

    let cache = AlertCache::new(100_000, Duration::from_secs(3600));
    let alerts: Vec<_> = api_v2::decode(&body(1000), now, Duration::from_secs(300))
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for a in &alerts {
        cache.upsert(a.clone()).unwrap();
    }
    let mut i = 0;
    c.bench_function("dedup_upsert", |b| {
        b.iter(|| {
            i = (i + 1) % alerts.len();
            cache.upsert(black_box(alerts[i].clone())).unwrap()
        })
    });

    // The same, with the end moved forward each time, as Prometheus re-sends: a real merge.
    let mut later = time::Duration::ZERO;
    c.bench_function("dedup_refresh", |b| {
        b.iter(|| {
            i = (i + 1) % alerts.len();
            later += time::Duration::milliseconds(1);
            let mut alert = alerts[i].clone();
            alert.ends_at += later;
            cache.upsert(black_box(alert)).unwrap()
        })
    });

    let routes = RouteTable::new(&config(None).route);
    let route = routes.get(0).clone();
    let shared: Vec<_> = alerts[..10].iter().cloned().map(Arc::new).collect();
    c.bench_function("group_flush", |b| {
        b.iter(|| {
            let start = tokio::time::Instant::now();
            let labels = route.group_labels(&shared[0].labels);
            let key: Arc<str> = route.group_key(&labels).into();
            let mut g = AggrGroup::new(key, route.clone(), labels, start);
            for a in &shared {
                g.insert(a.clone(), start, now);
            }
            g.flush(start, now)
        })
    });

    let wasm = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-wasip2/plugin/severity_router.wasm");
    if !wasm.is_file() {
        eprintln!(
            "plugin_route skipped: {} is missing (run scripts/build-plugins.sh)",
            wasm.display()
        );
        return;
    }
    let config = config(Some(&wasm));
    let runtime =
        PluginRuntime::load(&config.plugins, Arc::new(PluginState::in_memory()), None).unwrap();
    let flush = flush::firing(&RouteTable::new(&config.route), &shared, now);
    c.bench_function("plugin_route", |b| {
        b.iter(|| runtime.route("router", black_box(&flush)).unwrap())
    });
    // The same call with no alerts in the group: the fixed cost of a call, so that the
    // difference to `plugin_route` is what ten alerts cost to pass in.
    let empty = GroupFlush {
        alerts: Vec::new(),
        record: GroupFlush::record_of(&[], now),
        ..flush
    };
    c.bench_function("plugin_route_empty_group", |b| {
        b.iter(|| runtime.route("router", black_box(&empty)).unwrap())
    });
}

/// Label set `i` of the silence benchmark: `loadgen`'s synthetic alert `i`.
fn alert_labels(i: usize) -> Labels {
    Labels::from_pairs(synthetic::pairs(i))
}

/// Silence `k` over `alerts` alerts, as `loadgen silences` creates it (bench/src/silences.rs).
fn bench_silence(k: usize, alerts: usize, now: OffsetDateTime) -> StoredSilence {
    let m = |name: &str, value: String, is_regex: bool, is_equal: bool| StoredMatcher {
        name: name.into(),
        value,
        is_regex,
        is_equal,
    };
    let labels = alert_labels(k.wrapping_mul(7919) % alerts);
    let label = |name: &str| labels.get(name).unwrap_or_default().to_string();
    let block = k % 196;
    let matchers = match k % 10 {
        0..=3 => vec![m("instance", label("instance"), false, true)],
        4 => vec![
            m("alertname", label("alertname"), false, true),
            m("instance", label("instance"), false, true),
        ],
        5 => vec![
            m("alertname", label("alertname"), false, true),
            m("namespace", label("namespace"), false, true),
        ],
        6 => vec![m("pod", label("pod"), false, true)],
        7 => vec![m(
            "instance",
            format!(r"10\.0\.{block}\.1[0-9]:9100"),
            true,
            true,
        )],
        8 => vec![
            m("alertname", label("alertname"), false, true),
            m("instance", format!(r"10\.0\.{block}\..*"), true, true),
            m("env", "prod".into(), false, false),
        ],
        _ => vec![
            m("pod", format!("svc-0{:02}.*", k % 50), true, true),
            m("severity", "info|warning".into(), true, true),
            m("team", "payments|search".into(), true, false),
        ],
    };
    StoredSilence {
        id: format!("{k:08x}-0000-4000-8000-000000000000"),
        matchers,
        starts_at: now - time::Duration::minutes(1),
        ends_at: now + time::Duration::hours(1),
        updated_at: now,
        created_by: "bench".into(),
        comment: String::new(),
    }
}

fn silences(c: &mut Criterion) {
    const ALERTS: usize = 50_000;
    let now = OffsetDateTime::now_utc();
    let stored = (0..500).map(|k| bench_silence(k, ALERTS, now)).collect();
    let silences = Silences::new(Arc::new(Store::in_memory()), stored);
    let alerts: Vec<Labels> = (0..ALERTS).map(alert_labels).collect();
    let mut group = c.benchmark_group("silences");
    group.sample_size(10);
    group.bench_function("silence_match_50k_alerts", |b| {
        b.iter(|| {
            alerts
                .iter()
                .map(|l| silences.silenced_by(black_box(l), now).len())
                .sum::<usize>()
        })
    });
    // The same question answered by checking every silence, as before the index.
    let all = silences.list();
    group.bench_function("silence_scan_50k_alerts", |b| {
        b.iter(|| {
            alerts
                .iter()
                .map(|l| {
                    all.iter()
                        .filter(|s| {
                            s.state_at(now) == SilenceState::Active && s.matches(black_box(l))
                        })
                        .count()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

fn listing(c: &mut Criterion) {
    const ALERTS: usize = 50_000;
    let now = OffsetDateTime::now_utc();
    let cache = AlertCache::new(100_000, Duration::from_secs(3600));
    for a in api_v2::decode(&body(ALERTS), now, Duration::from_secs(300)).unwrap() {
        cache.upsert(a.unwrap()).unwrap();
    }
    let held = cache.snapshot();
    assert_eq!(held.len(), ALERTS, "every alert is held");
    let mut group = c.benchmark_group("listing");
    group.sample_size(10);
    group.bench_function("cache_snapshot_50k_alerts", |b| {
        b.iter(|| black_box(&cache).snapshot().len())
    });
    group.bench_function("vec_clone_50k_alerts", |b| {
        b.iter(|| black_box(&held).to_vec().len())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench, silences, listing
}
criterion_main!(benches);
