//! The `severity-router` example in each language it is written in (Rust, Python, TypeScript),
//! side by side: `cargo bench -p campanile --bench plugin_languages`.
//!
//! For each build found in `$CAMPANILE_PLUGIN_DIR` (else `target/wasm32-wasip2/plugin/`; built
//! by `scripts/build-plugins.sh` and `scripts/build-sdk-plugins.sh`), first printed once:
//!
//! - `compile`: loading it with no compile cache (compile and link), and `cached`: loading it
//!   again from a warm on-disk cache, as a restart does;
//! - `first call`: the first `route` of a 10-alert group, which instantiates the component;
//! - `RSS plugin` / `RSS instance`: what the process's resident memory grew by with the plugin
//!   loaded, and with its first instance warm;
//!
//! then, by criterion, `route_<language>`: one `route` call of a 10-alert group on a warm
//! instance, as the service makes it (the same group as `hot_paths`' `plugin_route`).
//!
//! `BENCH_PLUGIN=FILE.wasm` measures that component instead (as `custom`),
//! `BENCH_MEMORY_LIMIT` sets the plugins' `memory_limit` (default 16MiB), and
//! `BENCH_GROUP_SIZE` the alerts in the group (default 10, at least 1).

#[path = "shared/flush.rs"]
mod flush;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use time::OffsetDateTime;

use campanile::config::Config;
use campanile::group::GroupFlush;
use campanile::ingest::api_v2;
use campanile::plugin::{PluginRuntime, PluginState};
use campanile::route::RouteTable;

/// The allocator the `campanile` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LANGUAGES: [(&str, &str); 3] = [
    ("rust", "severity_router"),
    ("python", "py_severity_router"),
    ("typescript", "ts_severity_router"),
];

fn plugin_dir() -> PathBuf {
    std::env::var_os("CAMPANILE_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/plugin")
        })
}

fn config(plugin: &Path) -> Config {
    let toml = format!(
        "[[receivers]]\nname = \"hook\"\ntype = \"log\"\n\
         [[plugins]]\nname = \"router\"\npath = '{}'\nmemory_limit = \"{}\"\n[plugins.config]\npager = \"hook\"\nchat = \"hook\"\n\
         [route]\nreceiver = \"hook\"\ngroup_by = [\"alertname\"]\nplugin = \"router\"\n",
        plugin.display(),
        std::env::var("BENCH_MEMORY_LIMIT").unwrap_or_else(|_| "16MiB".into()),
    );
    Config::parse(&toml, "bench", Path::new(".")).unwrap()
}

/// Ten alerts of ten labels, two annotations and a URL each, in one due group: `hot_paths`'
/// `plugin_route` group. `BENCH_GROUP_SIZE` sets another number of alerts (0 measures what a
/// call costs before the plugin reads anything).
fn ten_alert_group(config: &Config) -> GroupFlush {
    let now = OffsetDateTime::now_utc();
    let size: usize = std::env::var("BENCH_GROUP_SIZE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10)
        .max(1);
    let alerts: Vec<serde_json::Value> = (0..size)
        .map(|i| {
            serde_json::json!({
                "labels": {
                    "alertname": "HighRequestLatency", "cluster": "eu-west-1", "env": "production",
                    "instance": format!("10.0.0.{i}:9100"), "job": "node", "namespace": "payments",
                    "pod": format!("api-{i:05}"), "prometheus": "monitoring/k8s", "service": "api",
                    "severity": if i % 3 == 0 { "critical" } else { "warning" },
                },
                "annotations": {"summary": "p99 latency above 500ms", "runbook_url": "https://runbooks.example/latency"},
                "generatorURL": "http://prometheus:9090/graph?g0.expr=latency",
            })
        })
        .collect();
    let body = serde_json::to_vec(&alerts).unwrap();
    let decoded: Vec<_> = api_v2::decode(&body, now, Duration::from_secs(300))
        .unwrap()
        .into_iter()
        .map(|a| Arc::new(a.unwrap()))
        .collect();
    flush::firing(&RouteTable::new(&config.route), &decoded, now)
}

/// The process's resident memory, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn load(config: &Config, cache: Option<&Path>) -> (PluginRuntime, Duration) {
    let started = Instant::now();
    let runtime =
        PluginRuntime::load(&config.plugins, Arc::new(PluginState::in_memory()), cache).unwrap();
    (runtime, started.elapsed())
}

fn languages(c: &mut Criterion) {
    const MIB: f64 = (1 << 20) as f64;
    // `BENCH_PLUGIN=FILE.wasm` measures that component alone, as `custom`: your own plugin.
    let custom = std::env::var_os("BENCH_PLUGIN").map(PathBuf::from);
    let builds: Vec<(&str, PathBuf)> = match custom {
        Some(path) => vec![("custom", path)],
        None => LANGUAGES
            .iter()
            .map(|(language, file)| (*language, plugin_dir().join(format!("{file}.wasm"))))
            .collect(),
    };
    for (language, wasm) in builds {
        if !wasm.is_file() {
            eprintln!("{language}: skipped, {} is missing", wasm.display());
            continue;
        }
        let config = config(&wasm);
        let group = ten_alert_group(&config);

        let before = rss();
        let (runtime, compile) = load(&config, None);
        let loaded = rss();
        let started = Instant::now();
        runtime.route("router", &group).unwrap();
        let first_call = started.elapsed();
        let warm = rss();

        let cache = std::env::temp_dir().join(format!("campanile-bench-cache-{language}"));
        let _ = std::fs::remove_dir_all(&cache);
        drop(load(&config, Some(&cache)));
        let (_, cached) = load(&config, Some(&cache));
        let _ = std::fs::remove_dir_all(&cache);

        eprintln!(
            "{language}: {} bytes; compile {:.0} ms, cached {:.0} ms; first call {:.2} ms; \
             RSS plugin {:.1} MiB, instance {:.1} MiB",
            std::fs::metadata(&wasm).map(|m| m.len()).unwrap_or(0),
            compile.as_secs_f64() * 1e3,
            cached.as_secs_f64() * 1e3,
            first_call.as_secs_f64() * 1e3,
            loaded.saturating_sub(before) as f64 / MIB,
            warm.saturating_sub(loaded) as f64 / MIB,
        );
        c.bench_function(&format!("route_{language}"), |b| {
            b.iter(|| runtime.route("router", black_box(&group)).unwrap())
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = languages
}
criterion_main!(benches);
