//! `type = "msteams"`: a Microsoft Teams workflow webhook.

use super::delivery::{receiver_keys, Defaults, CHAT};
use super::{ReceiverType, Section};
use crate::config::Secret;

receiver_keys!(RawMsTeams {
    url: Option<String>,
    url_file: Option<String>,
    url_env: Option<String>,
});

/// A Microsoft Teams workflow ("Post to a channel when a webhook request is received").
#[derive(Debug, Clone, PartialEq)]
pub struct MsTeamsConfig {
    pub url: Secret<reqwest::Url>,
}

impl ReceiverType for RawMsTeams {
    type Config = MsTeamsConfig;
    /// A chat's rate limit, with resolved groups told.
    const DEFAULTS: Defaults = Defaults {
        send_resolved: true,
        ..CHAT
    };

    fn compile(self, section: &mut Section) -> Option<MsTeamsConfig> {
        let url = section.secret_url(self.url, self.url_file, self.url_env)?;
        Some(MsTeamsConfig { url })
    }
}
