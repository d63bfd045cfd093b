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
use super::{render, Notification, Notifier};
use crate::config::{ReceiverConfig, ReceiverKind};
use crate::model::AlertStatus;

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

/// What `rc`'s notifier would send for `n`, built but not sent: the request body (the whole
/// message, for e-mail; the log line, for `log`). The service never calls it; the fuzz
/// targets check that every flush renders for every type (see `crate::fuzzing`).
pub(crate) fn render(rc: &ReceiverConfig, n: &Notification) -> Vec<u8> {
    let json = |v: &serde_json::Value| v.to_string().into_bytes();
    match &rc.kind {
        ReceiverKind::Webhook { max_alerts, .. } => {
            serde_json::to_vec(&super::payload::webhook_message(n, *max_alerts))
                .expect("notification bodies serialise")
        }
        ReceiverKind::Log => format!("{}\n{}", render::title(n), render::text_body(n)).into_bytes(),
        ReceiverKind::Slack(_) => json(&super::slack::message(n)),
        ReceiverKind::Mattermost(_) => json(&super::mattermost::message(n)),
        ReceiverKind::Discord(_) => json(&super::discord::message(n)),
        ReceiverKind::MsTeams(_) => json(&super::msteams::message(n)),
        ReceiverKind::PagerDuty(p) => json(&super::pagerduty::event(n, p)),
        ReceiverKind::Opsgenie(o) => match n.flush.status() {
            AlertStatus::Firing => json(&super::opsgenie::create(n, o)),
            AlertStatus::Resolved => {
                let alias = super::incident::key(n);
                let url = super::opsgenie::close_url(&o.url, &alias);
                let mut out = json(&super::opsgenie::close(n, o));
                out.extend_from_slice(url.as_str().as_bytes());
                out
            }
        },
        ReceiverKind::Email(e) => super::email::message(n, &e.from, &e.to, &e.cc)
            .map(|m| m.formatted())
            .unwrap_or_default(),
    }
}
