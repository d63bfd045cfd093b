//! Telemetry: the metrics registry (`campanile_<name>_<unit>[_total]`) and log set-up.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IngestLabels {
    pub endpoint: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabels {
    pub plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginFaultLabels {
    pub plugin: String,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotifyLabels {
    pub receiver: String,
    pub integration: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReceiverLabels {
    pub receiver: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// Every metric campanile exports. Cheap to update from any task.
pub struct Metrics {
    registry: Registry,
    pub alerts_received: Family<IngestLabels, Counter>,
    pub alerts_deduplicated: Counter,
    pub alerts_active: Gauge,
    pub groups: Gauge,
    pub plugin_calls: Family<PluginLabels, Counter>,
    pub plugin_faults: Family<PluginFaultLabels, Counter>,
    pub plugin_duration: Family<PluginLabels, Histogram>,
    pub notifications: Family<NotifyLabels, Counter>,
    pub notification_retries: Family<ReceiverLabels, Counter>,
    pub notification_queue: Family<ReceiverLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("campanile");
        let m = Metrics {
            alerts_received: Family::default(),
            alerts_deduplicated: Counter::default(),
            alerts_active: Gauge::default(),
            groups: Gauge::default(),
            plugin_calls: Family::default(),
            plugin_faults: Family::default(),
            plugin_duration: Family::new_with_constructor(|| {
                Histogram::new([
                    0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0,
                ])
            }),
            notifications: Family::default(),
            notification_retries: Family::default(),
            notification_queue: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "alerts_received",
            "Alerts received, by endpoint and outcome",
            m.alerts_received.clone(),
        );
        registry.register(
            "alerts_deduplicated",
            "Re-sent alerts merged into one already held",
            m.alerts_deduplicated.clone(),
        );
        registry.register(
            "alerts_active",
            "Distinct alerts held in the cache",
            m.alerts_active.clone(),
        );
        registry.register("groups", "Aggregation groups", m.groups.clone());
        registry.register(
            "plugin_calls",
            "Calls to routing plugins",
            m.plugin_calls.clone(),
        );
        registry.register(
            "plugin_faults",
            "Plugin calls that faulted, by kind",
            m.plugin_faults.clone(),
        );
        registry.register_with_unit(
            "plugin_call_duration",
            "Time to instantiate a plugin and run route",
            prometheus_client::registry::Unit::Seconds,
            m.plugin_duration.clone(),
        );
        registry.register(
            "notifications",
            "Notification attempts by receiver and outcome",
            m.notifications.clone(),
        );
        registry.register(
            "notification_retries",
            "Notification attempts that were retried",
            m.notification_retries.clone(),
        );
        registry.register(
            "notification_queue",
            "Notifications waiting per receiver",
            m.notification_queue.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "Build information", build);
        Metrics { registry, ..m }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber: filter from `RUST_LOG` (default `info`), logs to stderr.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
