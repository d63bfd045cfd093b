//! `team-ownership`: a campanile routing plugin that sends each alert group to the team that
//! owns it. A label (by default `team`, else `service` looked up in a service → team map) names
//! the team; each team has its receivers; unknown or missing owners go to the default team.
//!
//! Config keys (the plugin's `[plugins.config]` table):
//!
//! | key                  | meaning                                                    |
//! |----------------------|------------------------------------------------------------|
//! | `owner_label`        | label naming the team directly (default `team`)           |
//! | `service_label`      | label looked up in `service.<value>` (default `service`)  |
//! | `service.<name>`     | the team owning service `<name>`                           |
//! | `team.<name>`        | comma-separated receivers of team `<name>`                 |
//! | `default_team`       | the team of groups with no known owner (default `default`)|
//!
//! A team without receivers configured falls back to the route's receiver, with a warning.
//! Critical groups carry `severity=critical`; the title names the team.

use campanile_sdk::{config, export_router, log, Action, Group, Router, Severity};

/// Routes by owning team.
pub struct TeamOwnership;

/// The value of `label` shared by the group's firing alerts (or all, if none fires).
fn shared_label(group: &Group, label: &str) -> Option<String> {
    if let Some(v) = group.label(label).or(group.common_label(label)) {
        return Some(v.to_string());
    }
    let mut values = group.firing().filter_map(|a| a.label(label));
    let first = values.next()?;
    values.all(|v| v == first).then(|| first.to_string())
}

/// The team owning the group, and how it was found.
fn owner(group: &Group) -> (String, &'static str) {
    let owner_label = config::get_or("owner_label", "team");
    if let Some(team) = shared_label(group, &owner_label) {
        return (team, "label");
    }
    let service_label = config::get_or("service_label", "service");
    if let Some(team) =
        shared_label(group, &service_label).and_then(|s| config::get(&format!("service.{s}")))
    {
        return (team, "service");
    }
    (config::get_or("default_team", "default"), "default")
}

impl Router for TeamOwnership {
    fn route(group: &Group) -> Result<Vec<Action>, String> {
        let (mut team, how) = owner(group);
        let mut receivers = receivers_of(&team);
        if receivers.is_empty() && how != "default" {
            log::info!("team {team:?} has no receivers; using the default team");
            team = config::get_or("default_team", "default");
            receivers = receivers_of(&team);
        }
        if receivers.is_empty() {
            log::warn!(
                "team {team:?} has no receivers (config key team.{team}); telling {}",
                group.receiver
            );
            receivers.push(group.receiver.clone());
        }
        let critical = group.highest_severity() == Some(Severity::Critical);
        let title = format!(
            "[{}] {} for team {team}",
            if group.firing().count() > 0 {
                "FIRING"
            } else {
                "RESOLVED"
            },
            group.common_label("alertname").unwrap_or("alerts")
        );
        Ok(receivers
            .into_iter()
            .map(|r| {
                let mut n = Action::notify(r).title(title.clone());
                if critical {
                    n = n.severity(Severity::Critical);
                }
                n.into()
            })
            .collect())
    }
}

fn receivers_of(team: &str) -> Vec<String> {
    config::get(&format!("team.{team}"))
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

export_router!(TeamOwnership);

// The fake host of `campanile_sdk::testing` exists only off wasm32: tests run natively.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use campanile_sdk::testing;

    fn config() {
        testing::set_config(&[
            ("team.db", "db-chat, db-pager"),
            ("team.web", "web-chat"),
            ("team.default", "ops"),
            ("service.postgres", "db"),
        ]);
    }

    fn receivers(actions: &[Action]) -> Vec<&str> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Notify(n) => Some(n.receiver.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_team_label_wins() {
        config();
        let g = testing::group(vec![testing::alert(&[
            ("alertname", "Slow"),
            ("team", "web"),
        ])]);
        let actions = TeamOwnership::route(&g).unwrap();
        assert_eq!(receivers(&actions), ["web-chat"]);
        let Action::Notify(n) = &actions[0] else {
            unreachable!()
        };
        assert_eq!(n.title.as_deref(), Some("[FIRING] Slow for team web"));
        assert_eq!(n.severity, None);
    }

    #[test]
    fn the_service_maps_to_a_team_with_several_receivers() {
        config();
        let g = testing::group(vec![testing::alert(&[
            ("alertname", "Down"),
            ("service", "postgres"),
            ("severity", "critical"),
        ])]);
        let actions = TeamOwnership::route(&g).unwrap();
        assert_eq!(receivers(&actions), ["db-chat", "db-pager"]);
        assert!(actions.iter().all(|a| matches!(a,
            Action::Notify(n) if n.severity == Some(Severity::Critical))));
    }

    #[test]
    fn unknown_or_mixed_owners_go_to_the_default_team() {
        config();
        let unknown = testing::group(vec![testing::alert(&[
            ("alertname", "X"),
            ("team", "ghost"),
        ])]);
        assert_eq!(receivers(&TeamOwnership::route(&unknown).unwrap()), ["ops"]);
        let mixed = testing::group(vec![
            testing::alert(&[("alertname", "X"), ("team", "db")]),
            testing::alert(&[("alertname", "X"), ("team", "web")]),
        ]);
        assert_eq!(receivers(&TeamOwnership::route(&mixed).unwrap()), ["ops"]);
        let none = testing::group(vec![testing::alert(&[("alertname", "X")])]);
        assert_eq!(receivers(&TeamOwnership::route(&none).unwrap()), ["ops"]);
    }

    #[test]
    fn no_receivers_at_all_falls_back_to_the_route() {
        testing::set_config(&[]);
        let g = testing::group(vec![testing::alert(&[("alertname", "X")])]);
        assert_eq!(receivers(&TeamOwnership::route(&g).unwrap()), ["default"]);
        assert_eq!(testing::logs().len(), 1);
    }
}
