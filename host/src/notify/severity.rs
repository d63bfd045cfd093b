//! How urgent a notification is: the plugin's override if it set one, else the most urgent
//! `severity` label of the group's alerts (firing ones, or all once none fires). Each
//! integration maps this onto its own scale (PagerDuty's severities, Opsgenie's priorities,
//! chat colours).

use super::Notification;
use crate::model::{AlertStatus, Severity};

/// The plugin's severity, else the highest known `severity` label; `None` if neither says.
pub fn of(n: &Notification) -> Option<Severity> {
    if n.severity.is_some() {
        return n.severity;
    }
    let alerts = &n.flush.alerts;
    let any_firing = alerts.iter().any(|a| a.status == AlertStatus::Firing);
    alerts
        .iter()
        .filter(|a| !any_firing || a.status == AlertStatus::Firing)
        .filter_map(|a| {
            a.alert
                .labels
                .get("severity")
                .and_then(Severity::from_label)
        })
        .max_by_key(|s| s.rank())
}

/// A colour for chat messages: green once resolved, else by severity.
pub fn colour(n: &Notification) -> u32 {
    if n.flush.status() == AlertStatus::Resolved {
        return 0x2E_B8_86;
    }
    match of(n) {
        Some(Severity::Critical) => 0xD0_02_1B,
        Some(Severity::Error) => 0xE8_6A_1A,
        Some(Severity::Warning) => 0xF2_C7_44,
        Some(Severity::Info) => 0x43_9F_E0,
        None => 0xD0_02_1B,
    }
}
