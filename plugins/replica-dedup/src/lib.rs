//! `replica-dedup`: a campanile plugin that folds the same alert sent by several replicas of an
//! HA Prometheus pair into one alert, by leaving the replica labels out of the alert's identity.
//!
//! Name it as the host's `ingest.identity_plugin`. Its `identity` drops the labels listed in the
//! config key `drop` (comma-separated; default `replica,prometheus_replica`); the alert keeps
//! all its labels. As a routing plugin (on a route) it passes every group to the route's
//! receiver unchanged, so it can be used for identity alone.

use campanile_sdk::{config, export_router, Action, Group, LabelSet, Router};

/// Drops replica labels from alert identity.
pub struct ReplicaDedup;

/// The labels to leave out of the identity.
fn dropped() -> Vec<String> {
    config::get("drop")
        .unwrap_or_else(|| "replica,prometheus_replica".to_string())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl Router for ReplicaDedup {
    fn route(group: &Group) -> Result<Vec<Action>, String> {
        Ok(vec![Action::notify(group.receiver.clone()).into()])
    }

    fn identity(labels: &LabelSet) -> Option<LabelSet> {
        let drop = dropped();
        let dropped = |name: &str| drop.iter().any(|d| d == name);
        if !labels.names().any(dropped) {
            return None;
        }
        Some(labels.filtered(|name, _| !dropped(name)))
    }
}

export_router!(ReplicaDedup);

// The fake host of `campanile_sdk::testing` exists only off wasm32: tests run natively.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use campanile_sdk::testing;

    #[test]
    fn replicas_share_an_identity() {
        let a = testing::labels(&[("alertname", "Down"), ("replica", "a")]);
        let b = testing::labels(&[("alertname", "Down"), ("replica", "b")]);
        assert_eq!(ReplicaDedup::identity(&a), ReplicaDedup::identity(&b));
        assert_eq!(
            ReplicaDedup::identity(&a),
            Some(testing::labels(&[("alertname", "Down")]))
        );
        let plain = testing::labels(&[("alertname", "Down")]);
        assert_eq!(ReplicaDedup::identity(&plain), None, "nothing to drop");
    }

    #[test]
    fn the_dropped_labels_are_configurable() {
        testing::set_config(&[("drop", "pod, node")]);
        let a = testing::labels(&[("alertname", "Down"), ("pod", "p1"), ("replica", "a")]);
        assert_eq!(
            ReplicaDedup::identity(&a),
            Some(testing::labels(&[("alertname", "Down"), ("replica", "a")]))
        );
    }

    #[test]
    fn routes_to_the_route_receiver() {
        let group = testing::group(vec![testing::alert(&[("alertname", "Down")])]);
        assert_eq!(
            ReplicaDedup::route(&group).unwrap(),
            vec![Action::notify("default").into()]
        );
    }
}
