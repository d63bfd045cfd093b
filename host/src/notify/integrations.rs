//! From a receiver's configuration to its [`Notifier`]: each integration module implements
//! [`Integration`] for its type's typed configuration, and the dispatch over
//! [`ReceiverKind`] is expanded from the one list of receiver types
//! (`crate::config::receiver_types!`), so nothing here names a type.

use std::sync::Arc;

use super::{Notification, Notifier};
use crate::config::{DeliveryConfig, ReceiverConfig, ReceiverKind};

/// The runtime half of a receiver type, implemented by its typed configuration.
pub(crate) trait Integration {
    /// The notifier that delivers for this configuration; HTTP integrations share `client`.
    fn notifier(&self, client: &reqwest::Client, delivery: &DeliveryConfig) -> Arc<dyn Notifier>;

    /// What the notifier would send for `n`, built but not sent: the request body (the whole
    /// message, for e-mail; the log line, for `log`). The service never calls it; the fuzz
    /// targets check that every flush renders for every type (see `crate::fuzzing`).
    fn render(&self, n: &Notification) -> Vec<u8>;
}

/// `integration(kind)`: the [`Integration`] of each [`ReceiverKind`] variant.
macro_rules! integration_of {
    ($($type:tt in $module:ident => $variant:ident($raw:ident, $config:ident),)*) => {
        fn integration(kind: &ReceiverKind) -> &dyn Integration {
            match kind {
                $(ReceiverKind::$variant(config) => config,)*
            }
        }
    };
}
crate::config::receiver_types!(integration_of);

/// The notifier for `rc`; HTTP integrations share `client`.
pub fn notifier(rc: &ReceiverConfig, client: &reqwest::Client) -> Arc<dyn Notifier> {
    integration(&rc.kind).notifier(client, &rc.delivery)
}

/// What `rc`'s notifier would send for `n`, built but not sent (see [`Integration::render`]).
pub(crate) fn render(rc: &ReceiverConfig, n: &Notification) -> Vec<u8> {
    integration(&rc.kind).render(n)
}

/// A JSON body as bytes, for [`Integration::render`].
pub(super) fn json(v: &serde_json::Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::notify::render::tests::disk_full;

    /// One receiver of each type, named after it.
    const EVERY_TYPE: &str = r#"
[[receivers]]
name = "webhook"
type = "webhook"
url = "http://127.0.0.1:1/hook"
[[receivers]]
name = "log"
type = "log"
[[receivers]]
name = "slack"
type = "slack"
url = "https://hooks.slack.test/T/B/x"
[[receivers]]
name = "mattermost"
type = "mattermost"
url = "https://mattermost.test/hooks/x"
[[receivers]]
name = "discord"
type = "discord"
url = "https://discord.test/api/webhooks/1/x"
[[receivers]]
name = "msteams"
type = "msteams"
url = "https://teams.test/workflows/x"
[[receivers]]
name = "pagerduty"
type = "pagerduty"
routing_key = "key"
[[receivers]]
name = "opsgenie"
type = "opsgenie"
api_key = "key"
[[receivers]]
name = "email"
type = "email"
host = "smtp.test"
from = "campanile@campanile.test"
to = ["ops@campanile.test"]

[route]
receiver = "log"
"#;

    #[test]
    fn each_kind_gets_its_own_notifier_and_renders() {
        let config = Config::parse(EVERY_TYPE, "test.toml", Path::new(".")).unwrap();
        let client = reqwest::Client::new();
        let n = disk_full();
        for rc in &config.receivers {
            assert_eq!(notifier(rc, &client).integration(), rc.name);
            assert!(!render(rc, &n).is_empty(), "{} renders a body", rc.name);
        }
        assert_eq!(config.receivers.len(), 9);
    }
}
