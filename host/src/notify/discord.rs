//! The `discord` integration: a channel webhook with `content` (what push notifications show)
//! and one embed holding the title, the Markdown body and a colour by severity. Mentions in
//! alert text (`@everyone`) are disabled with `allowed_mentions`.
//!
//! Limits (Discord's documentation): content 2000 characters, embed title 256, description
//! 4096, 6000 for all of an embed.

use std::sync::Arc;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use super::http::post_json;
use super::integrations::{json, Integration};
use super::{render, severity, truncate, BoxFuture, Notification, Notifier, NotifyError};
use crate::config::{DeliveryConfig, DiscordConfig};

const CONTENT_CHARS: usize = 2000;
const TITLE_CHARS: usize = 256;
const DESCRIPTION_CHARS: usize = 4096;

pub struct Discord {
    client: reqwest::Client,
    config: DiscordConfig,
}

impl Discord {
    pub fn new(client: reqwest::Client, config: DiscordConfig) -> Self {
        Discord { client, config }
    }

    async fn post(&self, n: &Notification) -> Result<(), NotifyError> {
        let mut body = message(n);
        if let Some(u) = &self.config.username {
            body["username"] = json!(u);
        }
        if let Some(a) = &self.config.avatar_url {
            body["avatar_url"] = json!(a);
        }
        let url = self.config.url.expose();
        post_json(self.client.post(url.clone()), &body, &[url.as_str()]).await
    }
}

impl Notifier for Discord {
    fn integration(&self) -> &'static str {
        "discord"
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.post(n))
    }
}

/// The message without the optional `username` and `avatar_url`.
pub fn message(n: &Notification) -> Value {
    let title = render::title(n);
    json!({
        "content": truncate::chars(&title, CONTENT_CHARS),
        "embeds": [{
            "title": truncate::line(&title, TITLE_CHARS),
            "description": truncate::chars(&render::markdown_body(n, "\n"), DESCRIPTION_CHARS),
            "color": severity::colour(n),
            "timestamp": n.flush.at.format(&Rfc3339).unwrap_or_default(),
        }],
        "allowed_mentions": {"parse": []},
    })
}

impl Integration for DiscordConfig {
    fn notifier(&self, client: &reqwest::Client, _: &DeliveryConfig) -> Arc<dyn Notifier> {
        Arc::new(Discord::new(client.clone(), self.clone()))
    }

    fn render(&self, n: &Notification) -> Vec<u8> {
        json(&message(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::tests::disk_full;

    #[test]
    fn embed_within_limits() {
        let mut n = disk_full();
        n.title = Some("T".repeat(3000));
        n.body = Some("B".repeat(9000));
        let m = message(&n);
        assert_eq!(
            m["content"].as_str().unwrap().chars().count(),
            CONTENT_CHARS
        );
        let embed = &m["embeds"][0];
        assert_eq!(
            embed["title"].as_str().unwrap().chars().count(),
            TITLE_CHARS
        );
        assert_eq!(
            embed["description"].as_str().unwrap().chars().count(),
            DESCRIPTION_CHARS
        );
        assert_eq!(embed["color"], 0xD0021B);
        assert_eq!(embed["timestamp"], "2026-03-01T10:00:30Z");
    }
}
