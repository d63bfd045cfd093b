//! The `slack` integration: an incoming webhook with a `text` fallback (what notifications and
//! old clients show) and Block Kit `blocks`: a header, the group, one section per alert.
//!
//! Limits (Slack's documentation): 50 blocks a message, 3000 characters of section text,
//! 150 of header text. Longer texts are cut visibly; alerts past the block budget are counted
//! in a last line.

use std::sync::Arc;

use serde_json::{json, Value};

use super::http::{post_json, set_optional};
use super::integrations::{json, Integration};
use super::render::{self, label_line, AlertView};
use super::{truncate, BoxFuture, Notification, Notifier, NotifyError};
use crate::config::{DeliveryConfig, SlackConfig};

const SECTION_CHARS: usize = 3000;
const HEADER_CHARS: usize = 150;
/// Alerts shown as sections: 50 blocks less the header, the group line, the "more" line and
/// the acknowledgement link.
const MAX_ALERT_SECTIONS: usize = 46;
/// Slack truncates `text` past 40,000 characters; a fallback needs far less.
const FALLBACK_CHARS: usize = 3000;

pub struct Slack {
    client: reqwest::Client,
    config: SlackConfig,
}

impl Slack {
    pub fn new(client: reqwest::Client, config: SlackConfig) -> Self {
        Slack { client, config }
    }

    async fn post(&self, n: &Notification) -> Result<(), NotifyError> {
        let mut body = message(n);
        set_optional(
            &mut body,
            &[
                ("channel", &self.config.channel),
                ("username", &self.config.username),
                ("icon_emoji", &self.config.icon_emoji),
                ("icon_url", &self.config.icon_url),
            ],
        );
        let url = self.config.url.expose();
        post_json(self.client.post(url.clone()), &body, &[url.as_str()]).await
    }
}

impl Notifier for Slack {
    fn integration(&self) -> &'static str {
        "slack"
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.post(n))
    }
}

/// `&`, `<` and `>` are the characters Slack's mrkdwn needs escaped in text.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A link `<url|text>`; characters that would end it early are percent-encoded.
fn link(url: &str, text: &str) -> String {
    let url = url
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace('|', "%7C");
    format!("<{url}|{text}>")
}

fn section(text: &str) -> Value {
    json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate::chars(text, SECTION_CHARS)},
    })
}

fn context(text: &str) -> Value {
    json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate::chars(text, SECTION_CHARS)}],
    })
}

fn alert_text(v: &AlertView) -> String {
    let mut lines = vec![format!(
        "*{}* {}",
        v.status.as_str().to_uppercase(),
        escape(v.headline)
    )];
    if let Some(d) = v.description {
        lines.push(escape(d));
    }
    let links: Vec<String> = [("Runbook", v.runbook), ("Source", v.source)]
        .into_iter()
        .filter_map(|(text, url)| url.map(|u| link(u, text)))
        .collect();
    if !links.is_empty() {
        lines.push(links.join(" · "));
    }
    lines.push(format!("Labels: {}", escape(&label_line(v.labels))));
    lines.join("\n")
}

/// The message without the optional identity keys (`channel`, `username`, icons).
pub fn message(n: &Notification) -> Value {
    let title = render::title(n);
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate::line(&title, HEADER_CHARS), "emoji": true},
    })];
    if !n.flush.group_labels.is_empty() {
        blocks.push(context(&format!(
            "Group: {}",
            escape(&label_line(&n.flush.group_labels))
        )));
    }
    match &n.body {
        Some(body) => blocks.push(section(body)),
        None => {
            let views = render::views(n);
            for v in views.iter().take(MAX_ALERT_SECTIONS) {
                blocks.push(section(&alert_text(v)));
            }
            if views.len() > MAX_ALERT_SECTIONS {
                blocks.push(context(&format!(
                    "… and {} more alerts",
                    views.len() - MAX_ALERT_SECTIONS
                )));
            }
        }
    }
    if let Some(url) = &n.ack_link {
        blocks.push(section(&link(url, "Acknowledge")));
    }
    json!({
        "text": truncate::chars(&title, FALLBACK_CHARS),
        "blocks": blocks,
    })
}

impl Integration for SlackConfig {
    fn notifier(&self, client: &reqwest::Client, _: &DeliveryConfig) -> Arc<dyn Notifier> {
        Arc::new(Slack::new(client.clone(), self.clone()))
    }

    fn render(&self, n: &Notification) -> Vec<u8> {
        json(&message(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AlertStatus;
    use crate::notify::render::tests::{alert, disk_full, notification};

    #[test]
    fn blocks_show_each_alert_with_links() {
        let n = disk_full();
        let m = message(&n);
        assert_eq!(m["text"], "[FIRING:1] DiskFull");
        assert_eq!(m["blocks"][0]["text"]["text"], "[FIRING:1] DiskFull");
        assert_eq!(
            m["blocks"][1]["elements"][0]["text"],
            "Group: alertname=DiskFull"
        );
        assert_eq!(
            m["blocks"][2]["text"]["text"],
            "*FIRING* Disk 95% full on db-1\nOnly 2 GiB left\n<https://runbooks.test/disk|Runbook> · <http://prometheus.test/graph?g0.expr=disk|Source>\nLabels: alertname=DiskFull, instance=db-1, severity=critical"
        );
        assert_eq!(
            m["blocks"][3]["text"]["text"],
            "*RESOLVED* DiskFull\nLabels: alertname=DiskFull, instance=db-2"
        );
    }

    #[test]
    fn stays_within_slack_limits() {
        let long = "x<".repeat(5000);
        let alerts = (0..60)
            .map(|i| {
                alert(
                    AlertStatus::Firing,
                    &[("alertname", "Many"), ("i", &i.to_string())],
                    &[("summary", &long)],
                    "",
                )
            })
            .collect();
        let mut n = notification(alerts);
        n.title = Some("t".repeat(500));
        n.ack_link = Some("https://campanile.test/ack/t".into());
        let m = message(&n);
        let blocks = m["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50, "{} blocks", blocks.len());
        assert_eq!(
            blocks[0]["text"]["text"].as_str().unwrap().chars().count(),
            HEADER_CHARS
        );
        for b in &blocks[2..blocks.len() - 2] {
            let text = b["text"]["text"].as_str().unwrap();
            assert_eq!(text.chars().count(), SECTION_CHARS);
            assert!(text.ends_with(truncate::MARK));
        }
        assert_eq!(
            blocks[blocks.len() - 2]["elements"][0]["text"],
            "… and 14 more alerts"
        );
        assert_eq!(
            blocks.last().unwrap()["text"]["text"],
            "<https://campanile.test/ack/t|Acknowledge>"
        );
    }
}
