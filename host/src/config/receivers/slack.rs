//! `type = "slack"`: a Slack incoming webhook.

use super::delivery::{receiver_keys, Defaults, CHAT};
use super::{ReceiverType, Section};
use crate::config::Secret;

receiver_keys!(RawSlack {
    url: Option<String>,
    url_file: Option<String>,
    url_env: Option<String>,
    channel: Option<String>,
    username: Option<String>,
    icon_emoji: Option<String>,
    icon_url: Option<String>,
});

/// A Slack incoming webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackConfig {
    pub url: Secret<reqwest::Url>,
    /// Honoured by legacy webhooks only; app webhooks post where they were created for.
    pub channel: Option<String>,
    pub username: Option<String>,
    pub icon_emoji: Option<String>,
    pub icon_url: Option<String>,
}

impl ReceiverType for RawSlack {
    type Config = SlackConfig;
    const DEFAULTS: Defaults = CHAT;

    fn compile(self, section: &mut Section) -> Option<SlackConfig> {
        let url = section.secret_url(self.url, self.url_file, self.url_env)?;
        Some(SlackConfig {
            url,
            channel: self.channel,
            username: self.username,
            icon_emoji: self.icon_emoji,
            icon_url: self.icon_url,
        })
    }
}
