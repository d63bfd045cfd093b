//! `type = "pagerduty"`: PagerDuty Events API v2.

use super::delivery::{receiver_keys, Defaults, UNLIMITED};
use super::{ReceiverType, Section};
use crate::config::Secret;
use crate::model::Severity;

/// The Events API v2 endpoint, unless `url` says otherwise.
const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

receiver_keys!(RawPagerDuty {
    url: Option<String>,
    routing_key: Option<String>,
    routing_key_file: Option<String>,
    routing_key_env: Option<String>,
    source: Option<String>,
    severity: Option<String>,
});

/// PagerDuty Events API v2.
#[derive(Debug, Clone, PartialEq)]
pub struct PagerDutyConfig {
    pub url: reqwest::Url,
    pub routing_key: Secret<String>,
    /// The payload's `source`; default: the alerts' common `instance` label, else `campanile`.
    pub source: Option<String>,
    /// Used when neither the plugin nor a `severity` label says.
    pub severity: Severity,
}

impl ReceiverType for RawPagerDuty {
    type Config = PagerDutyConfig;
    const DEFAULTS: Defaults = UNLIMITED;

    fn compile(self, section: &mut Section) -> Option<PagerDutyConfig> {
        let url = section.url("url", self.url.as_deref().unwrap_or(PAGERDUTY_URL));
        let routing_key = section.secret(
            "routing_key",
            self.routing_key,
            self.routing_key_file,
            self.routing_key_env,
        );
        let severity = severity(section, self.severity.as_deref());
        Some(PagerDutyConfig {
            url: url?,
            routing_key: routing_key?,
            source: self.source,
            severity,
        })
    }
}

/// `severity`, `error` unless set.
fn severity(section: &mut Section, text: Option<&str>) -> Severity {
    let Some(s) = text else {
        return Severity::Error;
    };
    Severity::parse(s).unwrap_or_else(|| {
        section.err(
            "severity",
            format!("unknown severity {s:?}: expected critical, error, warning or info"),
        );
        Severity::Error
    })
}
