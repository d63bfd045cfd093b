//! The decision log: for every routing decision, what was decided and why — the plugin and its
//! version, the reason the group was due, the actions returned, how long the call took, and the
//! fault and fallback if the plugin failed. Kept per group (the most recent
//! [`PER_GROUP`]) for up to [`MAX_GROUPS`] groups, in memory, and served by
//! `GET /api/v1/groups/decisions?group_key=...`, so an operator can answer "why did this page
//! me" and "why did nobody get paged" without reading logs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use moka::sync::Cache;
use serde::Serialize;
use time::OffsetDateTime;

use crate::model::go_time;

/// Decisions kept per group.
pub const PER_GROUP: usize = 20;
/// Groups whose decisions are kept; the least recently routed are forgotten first.
pub const MAX_GROUPS: u64 = 10_000;

/// One routing decision.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Decision {
    #[serde(serialize_with = "go_time")]
    pub at: OffsetDateTime,
    pub route: String,
    pub reason: &'static str,
    /// The plugin asked, if the route has one.
    pub plugin: Option<String>,
    /// The first 12 hex digits of the SHA-256 of the plugin's .wasm file.
    pub plugin_version: Option<String>,
    /// What the plugin returned, one line per action.
    pub actions: Vec<String>,
    /// The receivers told, after faults and `send_resolved`.
    pub receivers: Vec<String>,
    /// Seconds until the plugin asked to be called again.
    pub wake_after: Option<u32>,
    pub duration_us: u64,
    /// Why the plugin's answer was not used (in full or in part).
    pub faults: Vec<String>,
    /// The route's receiver, when it was told in the plugin's place.
    pub fallback: Option<String>,
    /// Set when the host decided without the plugin (an acknowledged group's wake-up).
    pub note: Option<String>,
}

/// The decision log of every group.
pub struct Decisions {
    groups: Cache<String, Arc<Mutex<VecDeque<Decision>>>>,
}

impl Default for Decisions {
    fn default() -> Self {
        Decisions {
            groups: Cache::new(MAX_GROUPS),
        }
    }
}

impl Decisions {
    pub fn record(&self, group_key: &str, decision: Decision) {
        let log = self
            .groups
            .get_with(group_key.to_string(), Default::default);
        let mut log = log.lock().expect("decision log lock");
        if log.len() == PER_GROUP {
            log.pop_front();
        }
        log.push_back(decision);
    }

    /// The group's decisions, oldest first.
    pub fn of(&self, group_key: &str) -> Vec<Decision> {
        self.groups
            .get(group_key)
            .map(|log| {
                log.lock()
                    .expect("decision log lock")
                    .iter()
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(n: u32) -> Decision {
        Decision {
            at: OffsetDateTime::UNIX_EPOCH,
            route: "root".into(),
            reason: "first",
            plugin: None,
            plugin_version: None,
            actions: vec![],
            receivers: vec![format!("r{n}")],
            wake_after: None,
            duration_us: 0,
            faults: vec![],
            fallback: None,
            note: None,
        }
    }

    #[test]
    fn keeps_the_most_recent_per_group() {
        let d = Decisions::default();
        for n in 0..(PER_GROUP as u32 + 5) {
            d.record("g", decision(n));
        }
        d.record("h", decision(99));
        let g = d.of("g");
        assert_eq!(g.len(), PER_GROUP);
        assert_eq!(g[0].receivers, ["r5"]);
        assert_eq!(d.of("h")[0].receivers, ["r99"]);
        assert!(d.of("nope").is_empty());
    }
}
