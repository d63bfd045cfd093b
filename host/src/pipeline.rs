//! The notification pipeline, in one place: what happens to a group once it is due.
//!
//! ```text
//! ingest → dedup (cache) → group (dispatcher) ─flush→ route (plugin) → notify (receivers)
//! ```
//!
//! [`Pipeline::handle`] is the order of stages for one flush: ask the route's plugin which
//! receivers to tell (or take the route's receiver when it has none), fall back to the route's
//! receiver on any plugin fault, then queue one notification per receiver.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::Instrument;

use crate::group::GroupFlush;
use crate::notify::Receivers;
use crate::plugin::{Action, PluginFault, PluginRuntime, Severity};
use crate::telemetry::{Metrics, PluginFaultLabels, PluginLabels};

pub struct Pipeline {
    pub plugins: Arc<PluginRuntime>,
    pub receivers: Arc<Receivers>,
    pub metrics: Arc<Metrics>,
}

/// One receiver to tell, with the plugin's overrides.
#[derive(Debug, PartialEq)]
pub struct Delivery {
    pub receiver: String,
    pub title: Option<String>,
    pub body: Option<String>,
    pub severity: Option<Severity>,
}

impl Delivery {
    fn plain(receiver: &str) -> Self {
        Delivery {
            receiver: receiver.to_string(),
            title: None,
            body: None,
            severity: None,
        }
    }
}

impl Pipeline {
    /// Handles flushes as they come; each in its own task so a slow plugin or receiver queue
    /// holds up only its own group.
    pub async fn run(self: Arc<Self>, mut flushes: mpsc::UnboundedReceiver<GroupFlush>) {
        while let Some(flush) = flushes.recv().await {
            tokio::spawn(self.clone().handle(flush));
        }
    }

    pub async fn handle(self: Arc<Self>, flush: GroupFlush) {
        let flush = Arc::new(flush);
        let span = tracing::info_span!(
            "flush",
            group_key = %flush.key,
            route = %flush.route.config.name,
            reason = flush.reason.as_str()
        );
        async {
            let deliveries = self.decide(&flush).await;
            for d in deliveries {
                self.receivers
                    .enqueue(&d.receiver, flush.clone(), d.title, d.body, d.severity)
                    .await;
            }
        }
        .instrument(span)
        .await
    }

    /// Who is told about this flush. Never empty unless the plugin explicitly suppressed it.
    async fn decide(&self, flush: &Arc<GroupFlush>) -> Vec<Delivery> {
        let route = &flush.route.config;
        let Some(plugin) = route.plugin.clone() else {
            return vec![Delivery::plain(&route.receiver)];
        };
        let started = Instant::now();
        let runtime = self.plugins.clone();
        let input = flush.clone();
        let name = plugin.clone();
        let result = tokio::task::spawn_blocking(move || runtime.route(&name, &input))
            .await
            .unwrap_or_else(|e| Err(PluginFault::Trap(format!("host task failed: {e}"))));
        let labels = PluginLabels {
            plugin: plugin.clone(),
        };
        self.metrics.plugin_calls.get_or_create(&labels).inc();
        self.metrics
            .plugin_duration
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());

        match result.and_then(|actions| self.check(actions, &route.receiver)) {
            Ok((deliveries, faults)) => {
                for fault in faults {
                    self.fault(&plugin, &route.receiver, &fault);
                }
                deliveries
            }
            Err(fault) => {
                self.fault(&plugin, &route.receiver, &fault);
                vec![Delivery::plain(&route.receiver)]
            }
        }
    }

    /// Turns actions into deliveries. Unknown receivers are faults: the route's receiver is
    /// told in their place, while the valid actions still stand. An empty decision is a fault
    /// too: a plugin that means to tell nobody says so with `suppress`.
    fn check(
        &self,
        actions: Vec<Action>,
        fallback: &str,
    ) -> Result<(Vec<Delivery>, Vec<PluginFault>), PluginFault> {
        if actions.is_empty() {
            return Err(PluginFault::Error(
                "returned no action (use suppress to tell nobody)".into(),
            ));
        }
        let mut deliveries: Vec<Delivery> = Vec::new();
        let mut faults = Vec::new();
        for action in actions {
            let d = match action {
                Action::Suppress(reason) => {
                    tracing::info!(reason = %reason, "plugin suppressed the notification");
                    continue;
                }
                Action::Notify {
                    receiver,
                    title,
                    body,
                    severity,
                } if self.receivers.contains(&receiver) => Delivery {
                    receiver,
                    title,
                    body,
                    severity,
                },
                Action::Notify { receiver, .. } => {
                    faults.push(PluginFault::UnknownReceiver(receiver));
                    Delivery::plain(fallback)
                }
            };
            if !deliveries.iter().any(|x| x.receiver == d.receiver) {
                deliveries.push(d);
            }
        }
        Ok((deliveries, faults))
    }

    fn fault(&self, plugin: &str, fallback: &str, fault: &PluginFault) {
        self.metrics
            .plugin_faults
            .get_or_create(&PluginFaultLabels {
                plugin: plugin.to_string(),
                kind: fault.kind(),
            })
            .inc();
        tracing::warn!(
            plugin,
            fault = fault.kind(),
            fallback,
            "plugin {plugin} {fault}; notifying the route's receiver {fallback:?} instead"
        );
    }
}
