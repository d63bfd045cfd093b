//! Conversions between the host's model and the WIT types, at the plugin boundary only.

use super::bindings::types as wit;
use super::PluginFault;
use crate::group::{GroupFlush, Reason};
use crate::model::{unix_ms, AlertStatus, Labels};

/// How urgent a notification is, as a plugin may set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [
            Severity::Critical,
            Severity::Error,
            Severity::Warning,
            Severity::Info,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A plugin's decision for one receiver.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Notify {
        receiver: String,
        title: Option<String>,
        body: Option<String>,
        severity: Option<Severity>,
    },
    Suppress(String),
    /// Call the plugin again for this group after so many seconds.
    WakeAfter(u32),
}

pub fn pairs(labels: &Labels) -> Vec<wit::Pair> {
    labels
        .iter()
        .map(|(n, v)| wit::Pair {
            name: n.to_string(),
            value: v.to_string(),
        })
        .collect()
}

pub fn group_to_wit(g: &GroupFlush) -> wit::Group {
    let alerts = g
        .alerts
        .iter()
        .map(|fa| {
            let a = &fa.alert;
            let firing = fa.status == AlertStatus::Firing;
            wit::Alert {
                fingerprint: a.fingerprint.to_string(),
                status: if firing {
                    wit::AlertStatus::Firing
                } else {
                    wit::AlertStatus::Resolved
                },
                labels: pairs(&a.labels),
                annotations: pairs(&a.annotations),
                starts_at: unix_ms(a.starts_at),
                // A firing alert's end is only the host's timeout guess unless the sender set it.
                ends_at: (!firing || !a.timeout).then(|| unix_ms(a.ends_at)),
                generator_url: a.generator_url.clone(),
            }
        })
        .collect();
    wit::Group {
        key: g.key.to_string(),
        route: g.route.config.name.clone(),
        receiver: g.route.config.receiver.clone(),
        group_labels: pairs(&g.group_labels),
        common_labels: pairs(&g.common_labels()),
        alerts,
        reason: reason_to_wit(g.reason),
        acknowledged: g.acknowledged.as_ref().map(|a| wit::Acknowledgement {
            by: a.by.clone(),
            comment: a.comment.clone(),
            at: unix_ms(a.at),
        }),
        sent: g
            .history
            .iter()
            .map(|s| wit::Sent {
                receiver: s.receiver.clone(),
                reason: reason_to_wit(Reason::parse(&s.reason).unwrap_or(Reason::Repeat)),
                at: unix_ms(s.at),
            })
            .collect(),
    }
}

fn reason_to_wit(r: Reason) -> wit::NotifyReason {
    match r {
        Reason::First => wit::NotifyReason::First,
        Reason::NewAlerts => wit::NotifyReason::NewAlerts,
        Reason::SomeResolved => wit::NotifyReason::SomeResolved,
        Reason::AllResolved => wit::NotifyReason::AllResolved,
        Reason::Repeat => wit::NotifyReason::Repeat,
        Reason::Wake => wit::NotifyReason::Wake,
    }
}

/// Checks the plugin's output against the output limits and converts it.
pub fn actions_from_wit(
    actions: Vec<wit::Action>,
    max_actions: usize,
    max_bytes: usize,
) -> Result<Vec<Action>, PluginFault> {
    if actions.len() > max_actions {
        return Err(PluginFault::Output(format!(
            "{} actions (at most {max_actions})",
            actions.len()
        )));
    }
    let mut bytes = 0usize;
    let mut out = Vec::with_capacity(actions.len());
    for action in actions {
        let converted = match action {
            wit::Action::Notify(n) => {
                bytes += n.receiver.len()
                    + n.title.as_ref().map_or(0, String::len)
                    + n.body.as_ref().map_or(0, String::len);
                Action::Notify {
                    receiver: n.receiver,
                    title: n.title,
                    body: n.body,
                    severity: n.severity.map(|s| match s {
                        wit::Severity::Critical => Severity::Critical,
                        wit::Severity::Error => Severity::Error,
                        wit::Severity::Warning => Severity::Warning,
                        wit::Severity::Info => Severity::Info,
                    }),
                }
            }
            wit::Action::Suppress(reason) => {
                bytes += reason.len();
                Action::Suppress(reason)
            }
            wit::Action::WakeAfter(secs) => Action::WakeAfter(secs),
        };
        if bytes > max_bytes {
            return Err(PluginFault::Output(format!(
                "more than {max_bytes} bytes of text"
            )));
        }
        out.push(converted);
    }
    Ok(out)
}
