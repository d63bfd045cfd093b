//! The `msteams` integration: an Adaptive Card posted to a Teams workflow webhook ("Post to a
//! channel when a webhook request is received"), the successor of Office 365 connectors.
//!
//! Teams refuses messages over 28 KB, so the body text is kept under 20 KB.

use std::sync::Arc;

use serde_json::{json, Value};

use super::http::post_json;
use super::integrations::{json, Integration};
use super::{render, severity, truncate, BoxFuture, Notification, Notifier, NotifyError};
use crate::config::{DeliveryConfig, MsTeamsConfig};
use crate::model::AlertStatus;
use crate::model::Severity;

const TITLE_CHARS: usize = 500;
const BODY_BYTES: usize = 20 * 1024;

pub struct MsTeams {
    client: reqwest::Client,
    config: MsTeamsConfig,
}

impl MsTeams {
    pub fn new(client: reqwest::Client, config: MsTeamsConfig) -> Self {
        MsTeams { client, config }
    }

    async fn post(&self, n: &Notification) -> Result<(), NotifyError> {
        let url = self.config.url.expose();
        post_json(self.client.post(url.clone()), &message(n), &[url.as_str()]).await
    }
}

impl Notifier for MsTeams {
    fn integration(&self) -> &'static str {
        "msteams"
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.post(n))
    }
}

/// An Adaptive Card colour name.
fn colour(n: &Notification) -> &'static str {
    if n.flush.status() == AlertStatus::Resolved {
        return "Good";
    }
    match severity::of(n) {
        Some(Severity::Warning) => "Warning",
        Some(Severity::Info) => "Accent",
        _ => "Attention",
    }
}

/// The workflow message: one Adaptive Card with the title, the body, and buttons to the first
/// alert's source and runbook.
pub fn message(n: &Notification) -> Value {
    let views = render::views(n);
    let mut actions = Vec::new();
    if let Some(url) = views.iter().find_map(|v| v.source) {
        actions.push(json!({"type": "Action.OpenUrl", "title": "Source", "url": url}));
    }
    if let Some(url) = views.iter().find_map(|v| v.runbook) {
        actions.push(json!({"type": "Action.OpenUrl", "title": "Runbook", "url": url}));
    }
    let card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": [
            {
                "type": "TextBlock",
                "text": truncate::line(&render::title(n), TITLE_CHARS),
                "weight": "Bolder",
                "size": "Large",
                "color": colour(n),
                "wrap": true,
            },
            {
                "type": "TextBlock",
                "text": truncate::bytes(&render::markdown_body(n, "\n\n"), BODY_BYTES),
                "wrap": true,
            },
        ],
        "actions": actions,
    });
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

impl Integration for MsTeamsConfig {
    fn notifier(&self, client: &reqwest::Client, _: &DeliveryConfig) -> Arc<dyn Notifier> {
        Arc::new(MsTeams::new(client.clone(), self.clone()))
    }

    fn render(&self, n: &Notification) -> Vec<u8> {
        json(&message(n))
    }
}
