//! `type = "mattermost"`: a Mattermost incoming webhook.

use super::delivery::{receiver_keys, Defaults, CHAT};
use super::{ReceiverType, Section};
use crate::config::Secret;

receiver_keys!(RawMattermost {
    url: Option<String>,
    url_file: Option<String>,
    url_env: Option<String>,
    channel: Option<String>,
    username: Option<String>,
    icon_url: Option<String>,
});

/// A Mattermost incoming webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct MattermostConfig {
    pub url: Secret<reqwest::Url>,
    pub channel: Option<String>,
    pub username: Option<String>,
    pub icon_url: Option<String>,
}

impl ReceiverType for RawMattermost {
    type Config = MattermostConfig;
    const DEFAULTS: Defaults = CHAT;

    fn compile(self, section: &mut Section) -> Option<MattermostConfig> {
        let url = section.secret_url(self.url, self.url_file, self.url_env)?;
        Some(MattermostConfig {
            url,
            channel: self.channel,
            username: self.username,
            icon_url: self.icon_url,
        })
    }
}
