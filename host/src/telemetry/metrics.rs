//! The metrics registry: every metric campanile exports, named `campanile_<name>_<unit>[_total]`.
//! Modules update the public fields where the events happen; `GET /metrics` calls
//! [`Metrics::encode`]. Values that are cheaper to read than to track (the number of live
//! alerts) are refreshed at scrape time by hooks registered with [`Metrics::on_scrape`].

use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::labels::{
    BuildLabels, CommitLabels, FeedLabels, IngestLabels, LeaseChangeLabels, NotifyLabels,
    PluginFaultLabels, PluginLabels, ReceiverLabels, RefusedLabels, ReloadLabels, SlowClientLabels,
};
use crate::store::Commit;

/// Plugin calls take microseconds to a timeout (100 ms by default).
const PLUGIN_BUCKETS: [f64; 11] = [
    0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0,
];

/// Store commits: tens of microseconds without fsync, milliseconds to seconds with it.
const COMMIT_BUCKETS: [f64; 13] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];

type ScrapeHook = Box<dyn Fn() + Send + Sync>;

/// Every metric campanile exports. Cheap to update from any task.
pub struct Metrics {
    registry: Registry,
    on_scrape: Mutex<Vec<ScrapeHook>>,
    pub alerts_received: Family<IngestLabels, Counter>,
    pub alerts_deduplicated: Counter,
    pub alerts_active: Gauge,
    pub groups: Gauge,
    pub plugin_calls: Family<PluginLabels, Counter>,
    pub plugin_faults: Family<PluginFaultLabels, Counter>,
    pub plugin_duration: Family<PluginLabels, Histogram>,
    pub plugin_reloads: Family<ReloadLabels, Counter>,
    /// Configuration reloads, by trigger and outcome (`success`, `failure`).
    pub config_reloads: Family<ReloadLabels, Counter>,
    /// Alertmanager's `config_last_reload_successful`: 1 unless the last reload was refused.
    pub config_last_reload_successful: Gauge,
    /// When the configuration in force was loaded (at start, or by the last reload accepted).
    pub config_last_reload_success_timestamp: Gauge<f64, AtomicU64>,
    /// A hash of the configuration file in force (see [`crate::live::config_hash`]).
    pub config_hash: Gauge,
    pub notifications: Family<NotifyLabels, Counter>,
    pub notification_retries: Family<ReceiverLabels, Counter>,
    pub notification_queue: Family<ReceiverLabels, Gauge>,
    store_commit_duration: Family<CommitLabels, Histogram>,
    store_commit_failures: Counter,
    /// HTTP connections open (served, or kept for health probes past the cap).
    pub http_connections: Gauge,
    pub http_accept_errors: Counter,
    pub http_connections_refused: Family<RefusedLabels, Counter>,
    pub http_slow_clients_closed: Family<SlowClientLabels, Counter>,
    pub cluster_shards_held: Gauge,
    pub cluster_replicas: Gauge,
    pub cluster_database_reachable: Gauge,
    pub cluster_lease_changes: Family<LeaseChangeLabels, Counter>,
    pub cluster_round_duration: Histogram,
    pub cluster_round_failures: Counter,
    pub cluster_feed_records: Family<FeedLabels, Counter>,
    pub cluster_feed_failures: Counter,
    /// When the change feed was last read whole (the others' changes are at most this old).
    pub cluster_feed_last_read: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let m = Metrics {
            registry: Registry::with_prefix("campanile"),
            on_scrape: Mutex::new(Vec::new()),
            alerts_received: Family::default(),
            alerts_deduplicated: Counter::default(),
            alerts_active: Gauge::default(),
            groups: Gauge::default(),
            plugin_calls: Family::default(),
            plugin_faults: Family::default(),
            plugin_duration: Family::new_with_constructor(|| Histogram::new(PLUGIN_BUCKETS)),
            plugin_reloads: Family::default(),
            config_reloads: Family::default(),
            config_last_reload_successful: Gauge::default(),
            config_last_reload_success_timestamp: Gauge::default(),
            config_hash: Gauge::default(),
            notifications: Family::default(),
            notification_retries: Family::default(),
            notification_queue: Family::default(),
            store_commit_duration: Family::new_with_constructor(|| Histogram::new(COMMIT_BUCKETS)),
            store_commit_failures: Counter::default(),
            http_connections: Gauge::default(),
            http_accept_errors: Counter::default(),
            http_connections_refused: Family::default(),
            http_slow_clients_closed: Family::default(),
            cluster_shards_held: Gauge::default(),
            cluster_replicas: Gauge::default(),
            cluster_database_reachable: Gauge::default(),
            cluster_lease_changes: Family::default(),
            cluster_round_duration: Histogram::new(COMMIT_BUCKETS),
            cluster_round_failures: Counter::default(),
            cluster_feed_records: Family::default(),
            cluster_feed_failures: Counter::default(),
            cluster_feed_last_read: Gauge::default(),
        };
        m.register_all()
    }

    fn register_all(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "alerts_received",
            "Alerts received, by endpoint and outcome (accepted, invalid, cache_full, store_failed)",
            self.alerts_received.clone(),
        );
        r.register(
            "alerts_deduplicated",
            "Re-sent alerts merged into one already held",
            self.alerts_deduplicated.clone(),
        );
        r.register(
            "alerts_active",
            "Distinct alerts held (firing, or resolved and within retention)",
            self.alerts_active.clone(),
        );
        r.register("groups", "Aggregation groups", self.groups.clone());
        r.register(
            "plugin_calls",
            "Calls to routing plugins",
            self.plugin_calls.clone(),
        );
        r.register(
            "plugin_faults",
            "Plugin calls that faulted, by kind; the route's receiver was told instead",
            self.plugin_faults.clone(),
        );
        r.register_with_unit(
            "plugin_call_duration",
            "Time to instantiate a plugin and run route",
            Unit::Seconds,
            self.plugin_duration.clone(),
        );
        r.register(
            "plugin_reloads",
            "Plugin reloads, by trigger (api, signal, file) and outcome (reloaded, unchanged, failed); api and signal reload the whole configuration",
            self.plugin_reloads.clone(),
        );
        r.register(
            "config_reloads",
            "Configuration reloads, by trigger (api, signal) and outcome (success, failure)",
            self.config_reloads.clone(),
        );
        r.register(
            "config_last_reload_successful",
            "Whether the last configuration reload attempt was successful",
            self.config_last_reload_successful.clone(),
        );
        r.register_with_unit(
            "config_last_reload_success_timestamp",
            "Timestamp of the last successful configuration reload (or of the start)",
            Unit::Seconds,
            self.config_last_reload_success_timestamp.clone(),
        );
        r.register(
            "config_hash",
            "Hash of the configuration file in force",
            self.config_hash.clone(),
        );
        r.register(
            "notifications",
            "Notifications finished with, by receiver, integration and outcome (sent, failed)",
            self.notifications.clone(),
        );
        r.register(
            "notification_retries",
            "Notification attempts that failed and were retried",
            self.notification_retries.clone(),
        );
        r.register(
            "notification_queue",
            "Notifications waiting for a receiver worker",
            self.notification_queue.clone(),
        );
        r.register_with_unit(
            "store_commit_duration",
            "Time to write one store transaction; durable=\"true\" includes the fsync",
            Unit::Seconds,
            self.store_commit_duration.clone(),
        );
        r.register(
            "store_commit_failures",
            "Store transactions that failed to write",
            self.store_commit_failures.clone(),
        );
        r.register(
            "cluster_shards_held",
            "Shards of the groups whose lease this replica holds (it flushes their groups)",
            self.cluster_shards_held.clone(),
        );
        r.register(
            "cluster_replicas",
            "Live replicas of the cluster, this one included, as the last lease round saw them",
            self.cluster_replicas.clone(),
        );
        r.register(
            "cluster_database_reachable",
            "Whether the last lease round reached the database (0: flushing held shards from memory)",
            self.cluster_database_reachable.clone(),
        );
        r.register(
            "cluster_lease_changes",
            "Shard leases taken (a takeover moves the shard's epoch), released to balance, or found lost",
            self.cluster_lease_changes.clone(),
        );
        r.register_with_unit(
            "cluster_round_duration",
            "Time of one lease round against the database (heartbeat, renew, balance)",
            Unit::Seconds,
            self.cluster_round_duration.clone(),
        );
        r.register(
            "cluster_round_failures",
            "Lease rounds that failed or timed out (the database unreachable, slow or refusing)",
            self.cluster_round_failures.clone(),
        );
        r.register(
            "cluster_feed_records",
            "Records other replicas changed, read from the change feed into this replica's memory",
            self.cluster_feed_records.clone(),
        );
        r.register(
            "cluster_feed_failures",
            "Reads of the change feed that failed (the next one reads the same changes again)",
            self.cluster_feed_failures.clone(),
        );
        r.register_with_unit(
            "cluster_feed_last_read_timestamp",
            "When the change feed was last read: what another replica changed before it is in memory here",
            Unit::Seconds,
            self.cluster_feed_last_read.clone(),
        );
        r.register(
            "http_connections",
            "HTTP connections open, including those kept for health probes past server.max_connections",
            self.http_connections.clone(),
        );
        r.register(
            "http_accept_errors",
            "Failed accepts of HTTP connections (such as too many open files); each backs off",
            self.http_accept_errors.clone(),
        );
        r.register(
            "http_connections_refused",
            "Connections past server.max_connections: served health probes only (probes_only) or closed at once (closed)",
            self.http_connections_refused.clone(),
        );
        r.register(
            "http_slow_clients_closed",
            "Clients cut off by a timeout, by phase: header (header_read_timeout), body (body_read_timeout, 408), idle (idle_timeout)",
            self.http_slow_clients_closed.clone(),
        );
        // Every value of these fixed label sets shows from the start, at 0, so rates and alerts
        // on them work before the first event.
        for outcome in ["probes_only", "closed"] {
            let _ = self
                .http_connections_refused
                .get_or_create(&RefusedLabels { outcome });
        }
        for phase in ["header", "body", "idle"] {
            let _ = self
                .http_slow_clients_closed
                .get_or_create(&SlowClientLabels { phase });
        }
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        r.register("build_info", "Build information (always 1)", build);
        let started = Gauge::<i64>::default();
        started.set(time::OffsetDateTime::now_utc().unix_timestamp());
        r.register_with_unit(
            "start_time",
            "When this process started, in seconds since the Unix epoch",
            Unit::Seconds,
            started,
        );
        self
    }

    /// Records a configuration put in force (at start, or by a reload): Alertmanager's three
    /// configuration metrics.
    pub fn config_loaded(&self, hash: i64) {
        self.config_last_reload_successful.set(1);
        self.config_hash.set(hash);
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9;
        self.config_last_reload_success_timestamp.set(now);
    }

    /// Records one read of the change feed that took in `records` (kind, count).
    pub fn feed_read(&self, records: [(&'static str, usize); 4]) {
        for (kind, n) in records {
            if n > 0 {
                self.cluster_feed_records
                    .get_or_create(&FeedLabels { kind })
                    .inc_by(n as u64);
            }
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9;
        self.cluster_feed_last_read.set(now);
    }

    /// Records one store transaction (the store's commit observer).
    pub fn observe_commit(&self, commit: &Commit) {
        if !commit.ok {
            self.store_commit_failures.inc();
        }
        let durable = if commit.durable { "true" } else { "false" };
        self.store_commit_duration
            .get_or_create(&CommitLabels { durable })
            .observe(commit.elapsed.as_secs_f64());
    }

    /// Runs `hook` before every encoding, to bring gauges up to date. The hook must not hold
    /// an `Arc` of these metrics (that would be a cycle); clone the gauge it sets instead.
    pub fn on_scrape(&self, hook: impl Fn() + Send + Sync + 'static) {
        self.on_scrape
            .lock()
            .expect("scrape hooks lock")
            .push(Box::new(hook));
    }

    /// The exposition of every metric, in the OpenMetrics text format (which Prometheus
    /// scrapes; see the content type in `server/routes.rs`).
    pub fn encode(&self) -> String {
        for hook in self.on_scrape.lock().expect("scrape hooks lock").iter() {
            hook();
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn names_follow_the_convention() {
        let m = Metrics::new();
        m.alerts_received
            .get_or_create(&IngestLabels {
                endpoint: "api_v2",
                outcome: "accepted",
            })
            .inc();
        m.observe_commit(&Commit {
            elapsed: Duration::from_millis(3),
            durable: true,
            ok: true,
        });
        let text = m.encode();
        for line in [
            "campanile_alerts_received_total{endpoint=\"api_v2\",outcome=\"accepted\"} 1",
            "campanile_store_commit_duration_seconds_count{durable=\"true\"} 1",
            "campanile_store_commit_failures_total 0",
            "campanile_http_connections 0",
            "campanile_http_accept_errors_total 0",
            "campanile_http_connections_refused_total{outcome=\"closed\"} 0",
            "campanile_http_slow_clients_closed_total{phase=\"idle\"} 0",
            "campanile_build_info{version=\"",
            "# TYPE campanile_start_time_seconds gauge",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line:?} missing from:\n{text}");
        }
    }

    #[test]
    fn scrape_hooks_run_before_encoding() {
        let m = Metrics::new();
        let active = m.alerts_active.clone();
        m.on_scrape(move || {
            active.set(42);
        });
        assert!(m.encode().contains("campanile_alerts_active 42"));
    }

    #[test]
    fn failed_commits_are_counted() {
        let m = Metrics::new();
        m.observe_commit(&Commit {
            elapsed: Duration::from_micros(50),
            durable: false,
            ok: false,
        });
        let text = m.encode();
        assert!(
            text.contains("campanile_store_commit_failures_total 1"),
            "{text}"
        );
        assert!(
            text.contains("campanile_store_commit_duration_seconds_count{durable=\"false\"} 1"),
            "{text}"
        );
    }
}
