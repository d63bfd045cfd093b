//! `[ingest]` and `[limits]`: what ingest gives alerts that lack an end, how long it keeps
//! them, how many it holds and queues (beyond which senders get 429), and the plugin that
//! decides alerts' identity.

use std::collections::HashSet;
use std::time::Duration;

use crate::config::check::Ctx;
use crate::config::raw::{RawIngest, RawLimits};
use crate::config::{IngestConfig, LimitsConfig};

pub(super) fn compile_limits(cx: &mut Ctx, raw: &RawLimits) -> LimitsConfig {
    let limits = LimitsConfig {
        max_alerts: raw.max_alerts.unwrap_or(200_000),
        ingest_queue: raw.ingest_queue.unwrap_or(4096),
    };
    if limits.max_alerts == 0 {
        cx.err("limits.max_alerts", "must be at least 1");
    }
    if limits.ingest_queue == 0 {
        cx.err("limits.ingest_queue", "must be at least 1");
    }
    limits
}

pub(super) fn compile_ingest(cx: &mut Ctx, raw: &RawIngest) -> IngestConfig {
    IngestConfig {
        resolve_timeout: cx.duration(
            "ingest.resolve_timeout",
            raw.resolve_timeout.as_deref(),
            Duration::from_secs(300),
        ),
        webhook_resolve_timeout: cx.duration(
            "ingest.webhook_resolve_timeout",
            raw.webhook_resolve_timeout.as_deref(),
            Duration::from_secs(4 * 3600 + 300),
        ),
        retention: cx.duration(
            "ingest.retention",
            raw.retention.as_deref(),
            Duration::from_secs(3600),
        ),
        identity_plugin: raw.identity_plugin.clone(),
    }
}

/// `ingest.identity_plugin` names one of `plugins`.
pub(super) fn check_identity_plugin(cx: &mut Ctx, ingest: &IngestConfig, plugins: &HashSet<&str>) {
    if let Some(p) = &ingest.identity_plugin {
        if !plugins.contains(p.as_str()) {
            cx.err(
                "ingest.identity_plugin",
                format!("no plugin named {p:?} is defined in [[plugins]]"),
            );
        }
    }
}
