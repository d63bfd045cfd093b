//! `type = "discord"`: a Discord channel webhook.

use super::delivery::{receiver_keys, Defaults, RateLimit};
use super::{ReceiverType, Section};
use crate::config::Secret;

receiver_keys!(RawDiscord {
    url: Option<String>,
    url_file: Option<String>,
    url_env: Option<String>,
    username: Option<String>,
    avatar_url: Option<String>,
});

/// A Discord channel webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscordConfig {
    pub url: Secret<reqwest::Url>,
    pub username: Option<String>,
    pub avatar_url: Option<String>,
}

impl ReceiverType for RawDiscord {
    type Config = DiscordConfig;
    /// Discord allows about 30 messages a minute per channel.
    const DEFAULTS: Defaults = Defaults {
        send_resolved: true,
        rate_limit: Some(RateLimit {
            per_second: 0.5,
            burst: 5,
        }),
    };

    fn compile(self, section: &mut Section) -> Option<DiscordConfig> {
        let url = section.secret_url(self.url, self.url_file, self.url_env)?;
        Some(DiscordConfig {
            url,
            username: self.username,
            avatar_url: self.avatar_url,
        })
    }
}
