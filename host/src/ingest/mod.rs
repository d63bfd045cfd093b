//! Ingest: the HTTP data plane that receives alerts — Alertmanager's API v2 (`api_v2`, what
//! Prometheus sends) and Alertmanager's webhook payload v4 (`webhook_v4`, what Alertmanager
//! sends). Both decode into [`Alert`]s, validated one by one with Alertmanager's rules, so a
//! bad alert is reported without losing the good ones beside it.

pub mod api_v2;
mod uri;
mod validate;

pub use validate::AlertError;
pub mod webhook_v4;

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::dedup::AlertCache;
use crate::model::{Alert, Fingerprint, SharedAlert};
use crate::plugin::PluginRuntime;
use crate::store::{Op, Store, StoreError, StoredAlert};
use crate::telemetry::{IngestLabels, Metrics, PluginFaultLabels};

/// One alert of a request that was not accepted.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejected {
    /// Position of the alert in the request.
    pub index: usize,
    pub error: String,
}

/// What became of a request's alerts.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    pub accepted: usize,
    pub rejected: usize,
    pub errors: Vec<Rejected>,
    /// Some alerts were refused for lack of room: the sender should retry (429).
    #[serde(skip)]
    pub full: bool,
    /// The worst class of the alerts refused as invalid (which decides 400 or 422).
    #[serde(skip)]
    pub worst: Option<Invalidity>,
}

/// Alertmanager's classes of invalid alerts, in the order its API checks them: the first
/// class any alert of a request falls in gives the request's status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Invalidity {
    /// Not the API's JSON types (400).
    Malformed,
    /// Against the API's schema (422).
    Schema,
    /// Against Alertmanager's rules for an alert (400).
    Invalid,
}

impl AlertError {
    pub fn class(&self) -> Invalidity {
        match self {
            AlertError::Malformed(_) => Invalidity::Malformed,
            AlertError::Schema(_) => Invalidity::Schema,
            AlertError::Invalid(_) => Invalidity::Invalid,
        }
    }
}

/// Why a whole request was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the ingest queue is full ({0} batches waiting); retry later")]
    QueueFull(usize),
    #[error("campanile is shutting down")]
    ShuttingDown,
    /// A bug in campanile; the sender should retry.
    #[error("internal error: {0}")]
    Internal(String),
    #[error("alerts could not be stored durably; retry later: {0}")]
    Store(#[from] StoreError),
}

/// Admits decoded alerts: dedup in the cache, then hand-off to the dispatcher.
pub struct Ingestor {
    cache: Arc<AlertCache>,
    store: Arc<Store>,
    to_dispatcher: mpsc::Sender<Vec<SharedAlert>>,
    metrics: Arc<Metrics>,
    identity: Option<Identity>,
}

/// The plugin that decides which labels identify an alert (`ingest.identity_plugin`).
#[derive(Clone)]
pub struct Identity {
    /// The plugins in force (a reload may replace them).
    pub plugins: Arc<dyn Fn() -> Arc<PluginRuntime> + Send + Sync>,
    pub plugin: String,
}

impl Identity {
    /// Gives each alert the fingerprint of the labels the plugin says identify it. A plugin
    /// fault keeps the alert's own fingerprint (all labels): the alert is never lost, at worst
    /// not folded with its twin.
    fn apply(
        &self,
        plugins: &PluginRuntime,
        alerts: &mut [Result<Alert, AlertError>],
        metrics: &Metrics,
    ) {
        for alert in alerts.iter_mut().flatten() {
            match plugins.identity(&self.plugin, &alert.labels) {
                Ok(Some(identity)) => alert.fingerprint = Fingerprint::of(&identity),
                Ok(None) => {}
                Err(fault) => {
                    metrics
                        .plugin_faults
                        .get_or_create(&PluginFaultLabels {
                            plugin: self.plugin.clone(),
                            kind: fault.kind(),
                        })
                        .inc();
                    tracing::warn!(
                        plugin = %self.plugin,
                        fault = fault.kind(),
                        "identity plugin {} {fault}; keeping the alert's own fingerprint",
                        self.plugin
                    );
                }
            }
        }
    }
}

impl Ingestor {
    pub fn new(
        cache: Arc<AlertCache>,
        store: Arc<Store>,
        to_dispatcher: mpsc::Sender<Vec<SharedAlert>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Ingestor {
            cache,
            store,
            to_dispatcher,
            metrics,
            identity: None,
        }
    }

    /// Fingerprints alerts by what `identity` says identifies them.
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Admits every valid alert. `alerts` holds, per position, an alert or why it is invalid.
    /// Room in the dispatcher queue is reserved first, so a full queue refuses the whole
    /// request before anything is half-done. Returns once the accepted alerts are durable (as
    /// the store's durability setting promises): only then may the sender be told 2xx; the
    /// dispatcher has them meanwhile. A request of nothing but re-sends that only extend firing
    /// alerts whose stored end is still well ahead
    /// ([`Upsert::Extended`](crate::dedup::cache::Upsert::Extended)) writes nothing.
    pub async fn admit(
        &self,
        endpoint: &'static str,
        mut alerts: Vec<Result<Alert, AlertError>>,
    ) -> Result<Outcome, IngestError> {
        let permit = self.to_dispatcher.try_reserve().map_err(|e| match e {
            mpsc::error::TrySendError::Full(()) => {
                self.count(endpoint, "queue_full", alerts.len());
                IngestError::QueueFull(self.to_dispatcher.max_capacity())
            }
            mpsc::error::TrySendError::Closed(()) => IngestError::ShuttingDown,
        })?;
        if let Some(identity) = &self.identity {
            // Plugin calls are synchronous: `call` runs them without holding up other tasks.
            let (identity, metrics) = (identity.clone(), self.metrics.clone());
            let plugins = (identity.plugins)();
            let runtime = plugins.clone();
            alerts = plugins
                .call(move || {
                    identity.apply(&runtime, &mut alerts, &metrics);
                    alerts
                })
                .await
                .map_err(IngestError::Internal)?;
        }
        let mut outcome = Outcome::default();
        let mut batch = Vec::with_capacity(alerts.len());
        // While writes are failing, a re-send may be of an alert whose write has not been made
        // yet: then everything is written and waited for, so no 2xx comes before the disk has it.
        let store_failing = self.store.is_failing();
        // Whether the request holds anything a crash must not lose (see `Upsert`).
        let mut must_wait = store_failing;
        // Writes for what the store does not hold as it is now.
        let mut ops = Vec::with_capacity(alerts.len());
        for (index, alert) in alerts.into_iter().enumerate() {
            let error = match alert {
                Err(e) => {
                    self.count(endpoint, "invalid", 1);
                    let class = e.class();
                    outcome.worst = Some(outcome.worst.map_or(class, |w| w.min(class)));
                    e.to_string()
                }
                Ok(alert) => match self.cache.upsert(alert) {
                    Ok((stored, kind)) => {
                        if kind.is_duplicate() {
                            self.metrics.alerts_deduplicated.inc();
                        }
                        must_wait |= kind.writes();
                        outcome.accepted += 1;
                        // An unchanged re-send is filed already, as it is, in store and groups;
                        // an extension moved in place is stored far enough ahead as it is.
                        let replaced = self.cache.replaced(kind);
                        if replaced || store_failing {
                            let record = StoredAlert::from(stored.as_ref());
                            ops.push(Op::PutAlert(stored.fingerprint.0, record));
                        }
                        if replaced {
                            batch.push(stored);
                        }
                        continue;
                    }
                    Err(full) => {
                        self.count(endpoint, "cache_full", 1);
                        outcome.full = true;
                        full.to_string()
                    }
                },
            };
            outcome.rejected += 1;
            outcome.errors.push(Rejected { index, error });
        }
        self.metrics.alerts_active.set(self.cache.len() as i64);
        if ops.is_empty() {
            // Nothing to write; what must be filed still goes to the groups and the mute
            // stage, so an alert resolves (and stops inhibiting) when its latest end passes,
            // as in Alertmanager, whatever end is stored.
            if !batch.is_empty() {
                permit.send(batch);
            }
            self.count(endpoint, "accepted", outcome.accepted);
            return Ok(outcome);
        }
        if !must_wait {
            // Only writes a crash could not lose anything by (while writes fail, re-sends):
            // made with the next transaction, not waited for.
            self.store.submit(ops);
            permit.send(batch);
            self.count(endpoint, "accepted", outcome.accepted);
            return Ok(outcome);
        }
        // The writes are queued before the alerts reach the dispatcher (so they precede any
        // notification record), but grouping starts while the disk works: a page does not
        // wait for an fsync. Should the commit fail, the sender hears 5xx and sends again; the
        // store's writer keeps these writes and makes them with its next attempt, and until
        // one succeeds re-sends wait for it too (`store_failing`).
        let durable = self.store.start_commit(ops);
        if !batch.is_empty() {
            permit.send(batch);
        }
        if let Err(e) = durable.await {
            self.count(endpoint, "store_failed", outcome.accepted);
            return Err(e.into());
        }
        self.count(endpoint, "accepted", outcome.accepted);
        Ok(outcome)
    }

    fn count(&self, endpoint: &'static str, outcome: &'static str, n: usize) {
        if n > 0 {
            self.metrics
                .alerts_received
                .get_or_create(&IngestLabels { endpoint, outcome })
                .inc_by(n as u64);
        }
    }
}
