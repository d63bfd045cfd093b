//! Default texts for notifications, used when a plugin does not override them. Modelled on
//! Alertmanager's default templates, so operators see what they are used to.

use std::fmt::Write;

use super::Notification;
use crate::model::AlertStatus;

/// `[FIRING:2] PostgresDown eu1` — status, firing count, then the group label values.
pub fn default_title(n: &Notification) -> String {
    let flush = &n.flush;
    let mut title = match flush.status() {
        AlertStatus::Firing => format!("[FIRING:{}]", flush.firing_count()),
        AlertStatus::Resolved => "[RESOLVED]".to_string(),
    };
    for (_, value) in flush.group_labels.iter() {
        title.push(' ');
        title.push_str(value);
    }
    title
}

/// One paragraph per alert: status, summary or description, labels, runbook and source links.
pub fn default_body(n: &Notification) -> String {
    let mut body = String::new();
    for a in &n.flush.alerts {
        if a.status == AlertStatus::Resolved && !n.send_resolved {
            continue;
        }
        let alert = &a.alert;
        let text = alert
            .annotations
            .get("summary")
            .or_else(|| alert.annotations.get("description"))
            .or_else(|| alert.labels.get("alertname"))
            .unwrap_or("(no summary)");
        let _ = writeln!(body, "[{}] {}", a.status.as_str(), text);
        if let Some(d) = alert.annotations.get("description").filter(|d| *d != text) {
            let _ = writeln!(body, "  {d}");
        }
        let _ = writeln!(body, "  labels: {}", alert.labels);
        if let Some(r) = alert.annotations.get("runbook_url") {
            let _ = writeln!(body, "  runbook: {r}");
        }
        if !alert.generator_url.is_empty() {
            let _ = writeln!(body, "  source: {}", alert.generator_url);
        }
    }
    body
}
