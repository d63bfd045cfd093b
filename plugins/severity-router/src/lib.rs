//! `severity-router`: a campanile routing plugin that picks the receiver from the most urgent
//! `severity` label of the group.
//!
//! | highest severity             | receiver: config key |
//! |------------------------------|----------------------|
//! | `critical`, `page`, `error`  | `pager`              |
//! | `warning`                    | `chat`               |
//! | `info`                       | `email`              |
//! | missing or unknown           | `default`            |
//!
//! Only firing alerts count, unless none fires any more: then all alerts count. A key that is
//! not set (or set to an empty string) falls back to the group's own receiver; for `pager`,
//! `chat` and `email` this is logged as a warning. The notification's severity is overridden
//! with the severity routed on (`page` counts as critical).

use campanile_sdk::{config, export_router, log, Action, Group, Router, Severity};

/// Routes a group by the highest severity among its alerts.
pub struct SeverityRouter;

/// The config key naming the receiver for `severity`, or for groups without a known severity.
fn receiver_key(severity: Option<Severity>) -> &'static str {
    match severity {
        Some(Severity::Critical | Severity::Error) => "pager",
        Some(Severity::Warning) => "chat",
        Some(Severity::Info) => "email",
        None => "default",
    }
}

impl Router for SeverityRouter {
    fn route(group: &Group) -> Result<Vec<Action>, String> {
        let severity = group.highest_severity();
        let key = receiver_key(severity);
        let receiver = match config::get(key).filter(|receiver| !receiver.trim().is_empty()) {
            Some(receiver) => receiver,
            None => {
                let routed_on = severity.map_or("no known severity", Severity::as_str);
                let message = format!(
                    "config key `{key}` is not set: sending group {} ({routed_on}) to the route's receiver `{}`",
                    group.key, group.receiver
                );
                if severity.is_some() {
                    log::warn(&message);
                } else {
                    log::debug(&message);
                }
                group.receiver.clone()
            }
        };
        let mut notify = Action::notify(receiver);
        if let Some(severity) = severity {
            notify = notify.severity(severity);
        }
        Ok(vec![notify.into()])
    }
}

export_router!(SeverityRouter);

// The fake host of `campanile_sdk::testing` exists only off wasm32: tests run natively.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use campanile_sdk::log::Level;
    use campanile_sdk::{testing, Alert, Notify, NotifyReason};

    const CONFIG: &[(&str, &str)] = &[
        ("pager", "oncall-pager"),
        ("chat", "team-chat"),
        ("email", "team-mail"),
        ("default", "catch-all"),
    ];

    fn alert(name: &str, severity: &str) -> Alert {
        testing::alert(&[("alertname", name), ("severity", severity)])
    }

    fn route(alerts: Vec<Alert>) -> Notify {
        let actions = SeverityRouter::route(&testing::group(alerts)).expect("route failed");
        match <[Action; 1]>::try_from(actions) {
            Ok([Action::Notify(notify)]) => notify,
            other => panic!("expected a single notify, got {other:?}"),
        }
    }

    fn assert_routed(notify: &Notify, receiver: &str, severity: Option<Severity>) {
        assert_eq!(notify.receiver, receiver);
        assert_eq!(notify.severity, severity);
        assert_eq!((&notify.title, &notify.body), (&None, &None));
    }

    #[test]
    fn each_severity_goes_to_its_receiver() {
        testing::set_config(CONFIG);
        let cases = [
            ("critical", "oncall-pager", Severity::Critical),
            ("page", "oncall-pager", Severity::Critical),
            ("error", "oncall-pager", Severity::Error),
            ("warning", "team-chat", Severity::Warning),
            ("info", "team-mail", Severity::Info),
        ];
        for (label, receiver, severity) in cases {
            let notify = route(vec![alert("A", label)]);
            assert_routed(&notify, receiver, Some(severity));
        }
        assert!(testing::logs().is_empty());
    }

    #[test]
    fn severity_labels_ignore_case() {
        testing::set_config(CONFIG);
        assert_routed(
            &route(vec![alert("A", "PAGE")]),
            "oncall-pager",
            Some(Severity::Critical),
        );
        assert_routed(
            &route(vec![alert("A", "Warning")]),
            "team-chat",
            Some(Severity::Warning),
        );
    }

    #[test]
    fn the_most_urgent_firing_alert_wins() {
        testing::set_config(CONFIG);
        let notify = route(vec![
            alert("A", "info"),
            alert("B", "error"),
            alert("C", "warning"),
            testing::alert(&[("alertname", "D")]),
            alert("E", "bogus"),
        ]);
        assert_routed(&notify, "oncall-pager", Some(Severity::Error));
    }

    #[test]
    fn resolved_alerts_count_only_when_nothing_fires() {
        testing::set_config(CONFIG);
        let resolved_critical =
            testing::resolved_alert(&[("alertname", "R"), ("severity", "critical")]);

        let notify = route(vec![alert("A", "info"), resolved_critical.clone()]);
        assert_routed(&notify, "team-mail", Some(Severity::Info));

        let resolved_info = testing::resolved_alert(&[("alertname", "S"), ("severity", "info")]);
        let mut group = testing::group(vec![resolved_info, resolved_critical]);
        group.reason = NotifyReason::AllResolved;
        let actions = SeverityRouter::route(&group).unwrap();
        assert_eq!(
            actions,
            vec![Action::notify("oncall-pager")
                .severity(Severity::Critical)
                .into()]
        );
    }

    #[test]
    fn unknown_severity_goes_to_default_without_override() {
        testing::set_config(CONFIG);
        assert_routed(&route(vec![alert("A", "urgent")]), "catch-all", None);
        assert_routed(
            &route(vec![testing::alert(&[("alertname", "A")])]),
            "catch-all",
            None,
        );
        assert!(testing::logs().is_empty());
    }

    #[test]
    fn unknown_severity_without_default_goes_to_the_group_receiver() {
        testing::set_config(&[("pager", "oncall-pager")]);
        assert_routed(&route(vec![alert("A", "urgent")]), "default", None);
        assert!(testing::logs()
            .iter()
            .all(|(level, _)| *level < Level::Warn));
    }

    #[test]
    fn missing_receiver_key_falls_back_to_the_group_receiver_with_a_warning() {
        testing::set_config(&[("chat", "team-chat"), ("default", "catch-all")]);
        let mut group = testing::group(vec![alert("A", "critical")]);
        group.receiver = "route-receiver".to_string();

        let actions = SeverityRouter::route(&group).unwrap();

        assert_eq!(
            actions,
            vec![Action::notify("route-receiver")
                .severity(Severity::Critical)
                .into()]
        );
        let logs = testing::logs();
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(logs[0].0, Level::Warn);
        assert!(logs[0].1.contains("`pager`"), "{logs:?}");
    }

    #[test]
    fn empty_receiver_counts_as_missing() {
        testing::set_config(&[("email", "")]);
        assert_routed(
            &route(vec![alert("A", "info")]),
            "default",
            Some(Severity::Info),
        );
        assert_eq!(testing::logs()[0].0, Level::Warn);
    }

    #[test]
    fn an_empty_group_goes_to_default() {
        testing::set_config(CONFIG);
        assert_routed(&route(vec![]), "catch-all", None);
    }
}
