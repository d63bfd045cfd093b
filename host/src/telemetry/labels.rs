//! Label sets of campanile's metrics. Label values that come from a fixed vocabulary are
//! `&'static str`; names from the configuration (receivers, plugins) are `String`s.

use prometheus_client::encoding::EncodeLabelSet;

/// `campanile_alerts_received_total`: which endpoint, and what became of the alerts
/// (`accepted`, `invalid`, `cache_full`, `store_failed`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IngestLabels {
    pub endpoint: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabels {
    pub plugin: String,
}

/// `campanile_plugin_faults_total`: `kind` is the fault's short name (trap, timeout, …).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginFaultLabels {
    pub plugin: String,
    pub kind: &'static str,
}

/// `campanile_plugin_reloads_total` and `campanile_config_reloads_total`: what asked (`api`,
/// `signal`, `file`) and the `outcome` (plugins: `reloaded`, `unchanged`, `failed`;
/// configuration: `success`, `failure`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    pub trigger: &'static str,
    pub outcome: &'static str,
}

/// `campanile_cluster_lease_changes_total`: `change` is `taken`, `released` or `lost`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LeaseChangeLabels {
    pub change: &'static str,
}

/// `campanile_cluster_feed_records_total`: `kind` is `silence`, `ack`, `plugin_state` or
/// `alert`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeedLabels {
    pub kind: &'static str,
}

/// `campanile_notifications_total`: `outcome` is `sent` or `failed` (for good).
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

/// `campanile_http_connections_refused_total`: connections accepted past
/// `server.max_connections`, either served health probes only (`probes_only`) or closed at once
/// (`closed`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    pub outcome: &'static str,
}

/// `campanile_http_slow_clients_closed_total`: which wait ran out — `header` (no complete
/// request head in time), `body` (no complete body in time, answered 408) or `idle` (a
/// keep-alive connection with no next request).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SlowClientLabels {
    pub phase: &'static str,
}

/// `campanile_store_commit_duration_seconds`: `durable` is `"true"` for commits that were
/// fsynced, `"false"` for ones left to a later flush (`store.durability = "deferred"`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct CommitLabels {
    pub durable: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct BuildLabels {
    pub version: &'static str,
}
