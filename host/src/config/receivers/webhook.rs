//! `type = "webhook"`: Alertmanager's webhook v4 JSON POSTed to a URL.

use super::delivery::{receiver_keys, Defaults, UNLIMITED};
use super::{ReceiverType, Section};
use crate::config::Secret;

receiver_keys!(RawWebhook {
    url: Option<String>,
    url_file: Option<String>,
    url_env: Option<String>,
    /// Most alerts in one payload; 0 means all (Alertmanager's `max_alerts`).
    max_alerts: Option<usize>,
});

/// POST Alertmanager's webhook v4 JSON to `url`.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    pub url: Secret<reqwest::Url>,
    /// Most alerts in one payload; 0 means all.
    pub max_alerts: usize,
}

impl ReceiverType for RawWebhook {
    type Config = WebhookConfig;
    const DEFAULTS: Defaults = UNLIMITED;

    fn compile(self, section: &mut Section) -> Option<WebhookConfig> {
        let url = section.secret_url(self.url, self.url_file, self.url_env)?;
        Some(WebhookConfig {
            url,
            max_alerts: self.max_alerts.unwrap_or(0),
        })
    }
}
