//! From a receiver's configuration to its [`Notifier`]: one place that knows every type.

use std::sync::Arc;

use super::discord::Discord;
use super::email::Email;
use super::log::Log;
use super::mattermost::Mattermost;
use super::msteams::MsTeams;
use super::opsgenie::Opsgenie;
use super::pagerduty::PagerDuty;
use super::slack::Slack;
use super::webhook::Webhook;
use super::Notifier;
use crate::config::{ReceiverConfig, ReceiverKind};

/// The notifier for `rc`; HTTP integrations share `client`.
pub fn notifier(rc: &ReceiverConfig, client: &reqwest::Client) -> Arc<dyn Notifier> {
    let c = client.clone();
    match &rc.kind {
        ReceiverKind::Webhook { url, max_alerts } => {
            Arc::new(Webhook::new(c, url.clone(), *max_alerts))
        }
        ReceiverKind::Log => Arc::new(Log),
        ReceiverKind::Slack(s) => Arc::new(Slack::new(c, s.clone())),
        ReceiverKind::Mattermost(m) => Arc::new(Mattermost::new(c, m.clone())),
        ReceiverKind::Discord(d) => Arc::new(Discord::new(c, d.clone())),
        ReceiverKind::MsTeams(t) => Arc::new(MsTeams::new(c, t.clone())),
        ReceiverKind::PagerDuty(p) => Arc::new(PagerDuty::new(c, p.clone())),
        ReceiverKind::Opsgenie(o) => Arc::new(Opsgenie::new(c, o.clone())),
        ReceiverKind::Email(e) => Arc::new(Email::new(e.clone(), rc.delivery.timeout)),
    }
}
