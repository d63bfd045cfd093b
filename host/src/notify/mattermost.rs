//! The `mattermost` integration: an incoming webhook with a Slack-compatible body. Mattermost
//! renders `text` as Markdown and ignores Block Kit, so the whole message is in `text`.
//! Mattermost posts hold at most 16383 characters; longer texts are cut visibly.

use std::sync::Arc;

use serde_json::{json, Value};

use super::http::{post_json, set_optional};
use super::integrations::{json, Integration};
use super::render;
use super::{truncate, BoxFuture, Notification, Notifier, NotifyError};
use crate::config::{DeliveryConfig, MattermostConfig};

const TEXT_CHARS: usize = 16383;

pub struct Mattermost {
    client: reqwest::Client,
    config: MattermostConfig,
}

impl Mattermost {
    pub fn new(client: reqwest::Client, config: MattermostConfig) -> Self {
        Mattermost { client, config }
    }

    async fn post(&self, n: &Notification) -> Result<(), NotifyError> {
        let mut body = message(n);
        set_optional(
            &mut body,
            &[
                ("channel", &self.config.channel),
                ("username", &self.config.username),
                ("icon_url", &self.config.icon_url),
            ],
        );
        let url = self.config.url.expose();
        post_json(self.client.post(url.clone()), &body, &[url.as_str()]).await
    }
}

impl Notifier for Mattermost {
    fn integration(&self) -> &'static str {
        "mattermost"
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.post(n))
    }
}

/// `{"text": "#### title\n\nbody"}`.
pub fn message(n: &Notification) -> Value {
    let text = format!(
        "#### {}\n\n{}",
        truncate::line(&render::title(n), 1000),
        render::markdown_body(n, "\n")
    );
    json!({ "text": truncate::chars(&text, TEXT_CHARS) })
}

impl Integration for MattermostConfig {
    fn notifier(&self, client: &reqwest::Client, _: &DeliveryConfig) -> Arc<dyn Notifier> {
        Arc::new(Mattermost::new(client.clone(), self.clone()))
    }

    fn render(&self, n: &Notification) -> Vec<u8> {
        json(&message(n))
    }
}
