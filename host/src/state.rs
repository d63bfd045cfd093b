//! What request handlers share: the running instance's parts, and the configuration in force
//! (through [`Live`], which a reload replaces). A leaf of the HTTP edge: `server/` and `api/`
//! read it, `app` builds it; it knows neither.

use std::sync::Arc;

use crate::ack::link::AckLinks;
use crate::ack::Acks;
use crate::cluster::Leases;
use crate::config::Config;
use crate::decisions::Decisions;
use crate::dedup::AlertCache;
use crate::deliveries::Deliveries;
use crate::group::FiringGroups;
use crate::ingest::Ingestor;
use crate::live::Live;
use crate::mute::MuteStage;
use crate::plugin::PluginRuntime;
use crate::reload::Reloader;
use crate::route::RouteTable;
use crate::silence::Silences;
use crate::supervise::Supervisor;
use crate::telemetry::Metrics;

/// What request handlers share. The configuration and what is built from it (routes,
/// receivers, plugins, acknowledgement links) is the generation in force ([`Live`]): read it
/// through the accessors, once per request, since a reload may replace it at any time.
pub struct AppState {
    pub live: Arc<Live>,
    pub ingestor: Ingestor,
    pub cache: Arc<AlertCache>,
    pub metrics: Arc<Metrics>,
    pub silences: Arc<Silences>,
    /// Silences and inhibition (what `GET /api/v2/alerts` reports as `silencedBy`, `inhibitedBy`).
    pub mute: Arc<MuteStage>,
    pub acks: Arc<Acks>,
    /// Which groups fire, as the dispatcher knows them.
    pub firing: FiringGroups,
    /// Every group's recent routing decisions.
    pub decisions: Arc<Decisions>,
    /// Every group's recent deliveries, and every receiver's last error.
    pub deliveries: Arc<Deliveries>,
    /// Reloads the configuration (`POST /-/reload`, SIGHUP) and the plugin files.
    pub reloader: Reloader,
    /// When this instance started (`uptime` in `GET /api/v2/status`).
    pub started: time::OffsetDateTime,
    /// The long-lived tasks; `/-/healthy` reports whether they all live.
    pub supervisor: Arc<Supervisor>,
    /// In a cluster, this replica's leases (the status's peers; readiness).
    pub cluster: Option<Arc<Leases>>,
}

impl AppState {
    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.live.current().config.clone()
    }

    /// The routing tree in force.
    pub fn routes(&self) -> Arc<RouteTable> {
        self.live.current().routes.clone()
    }

    /// The routing plugins in force.
    pub fn plugins(&self) -> Arc<PluginRuntime> {
        self.live.current().plugins.clone()
    }

    /// Signed acknowledgement links, when `[acks] signing_key` is set.
    pub fn ack_links(&self) -> Option<Arc<AckLinks>> {
        self.live.current().ack_links.clone()
    }
}
