//! `campanile plugin test`: routes recorded alerts through a plugin without running the
//! service. The alerts (Alertmanager API v2 JSON, or a webhook v4 message) are grouped by the
//! configuration's routing tree as the service would group them, and each group of a route that
//! uses the plugin is routed once, as a first notification, and its answer is decided by the
//! service's own rule ([`crate::answer::decide`]): the same receivers told, the same faults
//! and fallbacks. Nothing is sent and nothing is stored; plugin state lives in memory for the
//! run.

use std::collections::BTreeMap;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::answer::{self, Outcome};
use crate::config::Config;
use crate::group::{FlushedAlert, GroupFlush, Reason};
use crate::ingest::{api_v2, webhook_v4};
use crate::plugin::{LoadError, PluginRuntime, PluginState};
use crate::route::RouteTable;

#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("alerts file: {0}")]
    Alerts(String),
}

/// One group and what the plugin decided for it.
#[derive(Debug)]
pub struct GroupDecision {
    pub key: String,
    pub route: String,
    pub firing: usize,
    pub resolved: usize,
    /// What the service would do with the plugin's answer.
    pub outcome: Outcome,
}

/// Everything a dry run found.
#[derive(Debug)]
pub struct DryRun {
    pub groups: Vec<GroupDecision>,
    /// Alerts of the file that did not decode, with why.
    pub invalid: Vec<String>,
}

impl DryRun {
    /// Whether any decision faulted, so that the service would have fallen back.
    pub fn faulted(&self) -> bool {
        self.groups.iter().any(|g| !g.outcome.faults.is_empty())
    }
}

/// Routes `alerts` (file contents) through plugin `plugin` of `config`. With
/// `check_receivers`, a receiver the configuration does not define is a fault, as in the
/// service.
pub fn run(
    config: &Config,
    plugin: &str,
    alerts: &[u8],
    check_receivers: bool,
) -> Result<DryRun, DryRunError> {
    let now = OffsetDateTime::now_utc();
    let decoded = if alerts.trim_ascii_start().starts_with(b"[") {
        api_v2::decode(alerts, now, config.ingest.resolve_timeout)
    } else {
        webhook_v4::decode(alerts, now, config.ingest.webhook_resolve_timeout)
    }
    .map_err(DryRunError::Alerts)?;

    let runtime = PluginRuntime::load(&config.plugins, Arc::new(PluginState::in_memory()), None)?;
    let routes = RouteTable::new(&config.route);
    let mut groups: BTreeMap<String, GroupFlush> = BTreeMap::new();
    let mut invalid = Vec::new();
    for (index, alert) in decoded.into_iter().enumerate() {
        let alert = match alert {
            Ok(a) => Arc::new(a),
            Err(e) => {
                invalid.push(format!("alert {index}: {e}"));
                continue;
            }
        };
        for id in routes.matching(&alert.labels) {
            let route = routes.get(id);
            if route.config.plugin.as_deref() != Some(plugin) {
                continue;
            }
            let labels = route.group_labels(&alert.labels);
            let key = route.group_key(&labels);
            let flush = groups.entry(key.clone()).or_insert_with(|| GroupFlush {
                key: key.into(),
                route: route.clone(),
                group_labels: labels,
                alerts: Vec::new(),
                reason: Reason::First,
                at: now,
                record: GroupFlush::record_of(&[], now),
                history: Vec::new(),
                acknowledged: None,
                lease: None,
            });
            flush.alerts.push(FlushedAlert {
                alert: alert.clone(),
                status: alert.status_at(now),
            });
        }
    }
    let decisions = groups
        .into_values()
        .map(|mut flush| {
            flush.alerts.sort_by_key(FlushedAlert::order);
            let firing = flush.firing_count();
            let route_receiver = &flush.route.config.receiver;
            let outcome = answer::decide(runtime.route(plugin, &flush), route_receiver, |r| {
                !check_receivers || config.receivers.iter().any(|known| known.name == r)
            });
            GroupDecision {
                key: flush.key.to_string(),
                route: flush.route.config.name.clone(),
                firing,
                resolved: flush.alerts.len() - firing,
                outcome,
            }
        })
        .collect();
    Ok(DryRun {
        groups: decisions,
        invalid,
    })
}
