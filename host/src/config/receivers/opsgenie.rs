//! `type = "opsgenie"`: Opsgenie Alert API v2.

use super::delivery::{receiver_keys, Defaults, UNLIMITED};
use super::{ReceiverType, Section};
use crate::config::Secret;

/// The Alert API v2 endpoint, unless `url` says otherwise.
const OPSGENIE_URL: &str = "https://api.opsgenie.com/v2/alerts";

receiver_keys!(RawOpsgenie {
    url: Option<String>,
    api_key: Option<String>,
    api_key_file: Option<String>,
    api_key_env: Option<String>,
    priority: Option<String>,
    source: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
});

/// Opsgenie Alert API v2.
#[derive(Debug, Clone, PartialEq)]
pub struct OpsgenieConfig {
    /// The alerts endpoint; closing posts to `{url}/{alias}/close`.
    pub url: reqwest::Url,
    pub api_key: Secret<String>,
    /// `P1`..`P5`, used when neither the plugin nor a `severity` label says.
    pub priority: String,
    pub source: String,
    pub tags: Vec<String>,
}

impl ReceiverType for RawOpsgenie {
    type Config = OpsgenieConfig;
    const DEFAULTS: Defaults = UNLIMITED;

    fn compile(self, section: &mut Section) -> Option<OpsgenieConfig> {
        let url = section.url("url", self.url.as_deref().unwrap_or(OPSGENIE_URL));
        let api_key = section.secret("api_key", self.api_key, self.api_key_file, self.api_key_env);
        let priority = self.priority.unwrap_or_else(|| "P3".to_string());
        if !matches!(priority.as_str(), "P1" | "P2" | "P3" | "P4" | "P5") {
            section.err(
                "priority",
                format!("unknown priority {priority:?}: expected P1, P2, P3, P4 or P5"),
            );
        }
        Some(OpsgenieConfig {
            url: url?,
            api_key: api_key?,
            priority,
            source: self.source.unwrap_or_else(|| "campanile".to_string()),
            tags: self.tags,
        })
    }
}
