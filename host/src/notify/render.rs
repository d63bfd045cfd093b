//! Default texts for notifications, used when a plugin does not override them. Modelled on
//! Alertmanager's default templates, so operators see what they are used to.
//!
//! [`views`] is what every format shows of an alert; the plain-text and Markdown renderings
//! live here, the formats only one integration uses (Slack's mrkdwn, e-mail HTML) beside it.

use std::fmt::Write;

use super::Notification;
use crate::model::{AlertStatus, Labels};

/// What a notification shows of one alert.
#[derive(Clone, Copy, Debug)]
pub struct AlertView<'a> {
    pub status: AlertStatus,
    /// The `summary` annotation, else `description`, else the alert name.
    pub headline: &'a str,
    /// The `description` annotation when it is not already the headline.
    pub description: Option<&'a str>,
    pub labels: &'a Labels,
    pub runbook: Option<&'a str>,
    /// The generator URL (the expression in Prometheus), when the sender gave one.
    pub source: Option<&'a str>,
}

/// The alerts a notification shows: all of them, less the resolved ones when the receiver
/// does not want resolved notifications.
pub fn views(n: &Notification) -> Vec<AlertView<'_>> {
    n.flush
        .alerts
        .iter()
        .filter(|a| n.send_resolved || a.status == AlertStatus::Firing)
        .map(|a| {
            let alert = &a.alert;
            let headline = alert
                .annotations
                .get("summary")
                .or_else(|| alert.annotations.get("description"))
                .or_else(|| alert.labels.get("alertname"))
                .unwrap_or("(no summary)");
            AlertView {
                status: a.status,
                headline,
                description: alert
                    .annotations
                    .get("description")
                    .filter(|d| *d != headline),
                labels: &alert.labels,
                runbook: alert
                    .annotations
                    .get("runbook_url")
                    .filter(|r| !r.is_empty()),
                source: Some(&*alert.generator_url).filter(|s| !s.is_empty()),
            }
        })
        .collect()
}

/// The plugin's title, else the default one.
pub fn title(n: &Notification) -> String {
    n.title.clone().unwrap_or_else(|| default_title(n))
}

/// The plugin's body, else the default plain-text one.
pub fn text_body(n: &Notification) -> String {
    n.body.clone().unwrap_or_else(|| default_body(n))
}

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
    for v in views(n) {
        let _ = writeln!(body, "[{}] {}", v.status.as_str(), v.headline);
        if let Some(d) = v.description {
            let _ = writeln!(body, "  {d}");
        }
        let _ = writeln!(body, "  labels: {}", v.labels);
        if let Some(r) = v.runbook {
            let _ = writeln!(body, "  runbook: {r}");
        }
        if let Some(s) = v.source {
            let _ = writeln!(body, "  source: {s}");
        }
    }
    if let Some(link) = &n.ack_link {
        let _ = writeln!(body, "\nAcknowledge: {link}");
    }
    body
}

/// `alertname=DiskFull, cluster=eu1`: labels on one line, without quotes.
pub fn label_line(labels: &Labels) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The plugin's body, else a Markdown one (Discord, Mattermost, Teams): the group labels,
/// then one paragraph per alert. Lines within a paragraph are joined by `line_break` (Teams
/// needs a blank line where Markdown elsewhere takes a newline).
pub fn markdown_body(n: &Notification, line_break: &str) -> String {
    if let Some(body) = &n.body {
        return body.clone();
    }
    let mut paragraphs = Vec::new();
    if !n.flush.group_labels.is_empty() {
        paragraphs.push(format!("Group: {}", label_line(&n.flush.group_labels)));
    }
    for v in views(n) {
        let mut lines = vec![format!(
            "**{}** {}",
            v.status.as_str().to_uppercase(),
            v.headline
        )];
        if let Some(d) = v.description {
            lines.push(d.to_string());
        }
        let links: Vec<String> = [("Runbook", v.runbook), ("Source", v.source)]
            .into_iter()
            .filter_map(|(text, url)| url.map(|u| format!("[{text}]({})", markdown_url(u))))
            .collect();
        if !links.is_empty() {
            lines.push(links.join(" · "));
        }
        lines.push(format!("Labels: {}", label_line(v.labels)));
        paragraphs.push(lines.join(line_break));
    }
    if let Some(link) = &n.ack_link {
        paragraphs.push(format!("[Acknowledge]({})", markdown_url(link)));
    }
    paragraphs.join("\n\n")
}

/// Text made safe for HTML content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A URL that cannot end a Markdown link early.
fn markdown_url(url: &str) -> String {
    url.replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use time::macros::datetime;

    use super::*;
    use crate::config::{GroupBy, RouteConfig};
    use crate::group::{FlushedAlert, GroupFlush, Reason};
    use crate::model::{Alert, Fingerprint};
    use crate::route::{Route, RouteTable};

    fn route() -> Arc<Route> {
        let config = RouteConfig {
            name: "root".into(),
            key: "{}".into(),
            matchers: Vec::new(),
            receiver: "rx".into(),
            plugin: None,
            group_by: GroupBy::Labels(vec!["alertname".into()]),
            group_wait: std::time::Duration::from_secs(30),
            group_interval: std::time::Duration::from_secs(300),
            repeat_interval: std::time::Duration::from_secs(3600),
            continue_matching: false,
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
            routes: Vec::new(),
        };
        RouteTable::new(&config).get(0).clone()
    }

    /// An alert for tests: `labels` and `annotations` as pairs.
    pub fn alert(
        status: AlertStatus,
        labels: &[(&str, &str)],
        annotations: &[(&str, &str)],
        generator_url: &str,
    ) -> FlushedAlert {
        let labels = Labels::from_pairs(labels.iter().copied());
        FlushedAlert {
            alert: Arc::new(Alert {
                fingerprint: Fingerprint::of(&labels),
                labels,
                annotations: Labels::from_pairs(annotations.iter().copied()),
                starts_at: datetime!(2026-03-01 10:00 UTC),
                ends_at: datetime!(2026-03-01 11:00 UTC),
                timeout: false,
                generator_url: generator_url.into(),
                updated_at: datetime!(2026-03-01 10:00 UTC),
                extension: Default::default(),
            }),
            status,
        }
    }

    /// A notification for tests, for receiver `rx`, grouped by `alertname`.
    pub fn notification(alerts: Vec<FlushedAlert>) -> Notification {
        let group_labels = Labels::from_pairs(
            alerts[0]
                .alert
                .labels
                .get("alertname")
                .map(|a| ("alertname", a)),
        );
        Notification {
            receiver: "rx".into(),
            flush: Arc::new(GroupFlush {
                key: "{}:{alertname=\"DiskFull\"}".into(),
                route: route(),
                group_labels,
                record: GroupFlush::record_of(&alerts, datetime!(2026-03-01 10:00:30 UTC)),
                alerts,
                reason: Reason::First,
                at: datetime!(2026-03-01 10:00:30 UTC),
                history: Vec::new(),
                acknowledged: None,
                lease: None,
            }),
            title: None,
            body: None,
            severity: None,
            send_resolved: true,
            external_url: "http://campanile.test".into(),
            ack_link: None,
            outbox_id: None,
            schedule: Default::default(),
        }
    }

    pub fn disk_full() -> Notification {
        notification(vec![
            alert(
                AlertStatus::Firing,
                &[
                    ("alertname", "DiskFull"),
                    ("instance", "db-1"),
                    ("severity", "critical"),
                ],
                &[
                    ("summary", "Disk 95% full on db-1"),
                    ("description", "Only 2 GiB left"),
                    ("runbook_url", "https://runbooks.test/disk"),
                ],
                "http://prometheus.test/graph?g0.expr=disk",
            ),
            alert(
                AlertStatus::Resolved,
                &[("alertname", "DiskFull"), ("instance", "db-2")],
                &[],
                "",
            ),
        ])
    }

    #[test]
    fn default_texts() {
        let n = disk_full();
        assert_eq!(default_title(&n), "[FIRING:1] DiskFull");
        assert_eq!(
            default_body(&n),
            "[firing] Disk 95% full on db-1\n  Only 2 GiB left\n  labels: {alertname=\"DiskFull\", instance=\"db-1\", severity=\"critical\"}\n  runbook: https://runbooks.test/disk\n  source: http://prometheus.test/graph?g0.expr=disk\n[resolved] DiskFull\n  labels: {alertname=\"DiskFull\", instance=\"db-2\"}\n"
        );
    }

    #[test]
    fn default_texts_carry_the_ack_link() {
        let mut n = disk_full();
        n.ack_link = Some("https://campanile.test/ack/abc.def".into());
        assert!(default_body(&n).ends_with("\nAcknowledge: https://campanile.test/ack/abc.def\n"));
        assert!(markdown_body(&n, "\n")
            .ends_with("\n\n[Acknowledge](https://campanile.test/ack/abc.def)"));
    }

    #[test]
    fn markdown_has_links_and_skips_resolved_when_unwanted() {
        let mut n = disk_full();
        n.send_resolved = false;
        assert_eq!(
            markdown_body(&n, "\n"),
            "Group: alertname=DiskFull\n\n**FIRING** Disk 95% full on db-1\nOnly 2 GiB left\n[Runbook](https://runbooks.test/disk) · [Source](http://prometheus.test/graph?g0.expr=disk)\nLabels: alertname=DiskFull, instance=db-1, severity=critical"
        );
        n.body = Some("custom".into());
        assert_eq!(markdown_body(&n, "\n"), "custom");
    }
}
