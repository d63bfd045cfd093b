//! Conversions between the host's model and the WIT types, at the plugin boundary only.

use super::bindings::types as wit;
use super::PluginFault;
use crate::group::{GroupFlush, Reason};
use crate::model::{unix_ms, AlertStatus, Labels, Severity};

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

/// A label set in the contract's packed form: the host's own layout, flattened.
pub fn label_set(labels: &Labels) -> wit::LabelSet {
    let (text, ends) = labels.packed();
    wit::LabelSet {
        text: text.to_owned(),
        ends: ends
            .iter()
            .flat_map(|&(name, value)| [name, value])
            .collect(),
    }
}

/// Unpacks a label set a plugin returned, checking it is well formed: two ends per pair,
/// never going backwards, within the text and on character boundaries. Names need not be
/// sorted or unique; the result is (a later duplicate wins).
pub fn labels_from_wit(set: &wit::LabelSet) -> Result<Labels, String> {
    if !set.ends.len().is_multiple_of(2) {
        return Err(format!(
            "label set has {} ends; it needs two per label",
            set.ends.len()
        ));
    }
    let mut start = 0usize;
    let mut strings = Vec::with_capacity(set.ends.len());
    for &end in &set.ends {
        let end = end as usize;
        let Some(s) = set.text.get(start..end) else {
            return Err(format!(
                "label set end {end} does not follow {start} within its {} bytes of text \
                 on a character boundary",
                set.text.len()
            ));
        };
        strings.push(s);
        start = end;
    }
    Ok(Labels::from_pairs(
        strings.chunks_exact(2).map(|pair| (pair[0], pair[1])),
    ))
}

pub fn group_to_wit(g: &GroupFlush) -> wit::Group {
    let alerts = g
        .alerts
        .iter()
        .map(|fa| {
            let a = &fa.alert;
            let firing = fa.status == AlertStatus::Firing;
            wit::Alert {
                fingerprint: a.fingerprint.0,
                status: if firing {
                    wit::AlertStatus::Firing
                } else {
                    wit::AlertStatus::Resolved
                },
                labels: label_set(&a.labels),
                annotations: label_set(&a.annotations),
                starts_at: unix_ms(a.starts_at),
                // A firing alert's end is only the host's timeout guess unless the sender set it.
                ends_at: (!firing || !a.timeout).then(|| unix_ms(a.end())),
                generator_url: a.generator_url.to_string(),
            }
        })
        .collect();
    wit::Group {
        key: g.key.to_string(),
        route: g.route.config.name.clone(),
        receiver: g.route.config.receiver.clone(),
        group_labels: label_set(&g.group_labels),
        common_labels: label_set(&g.common_labels()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_set_goes_over_in_the_contract_layout_and_comes_back() {
        let labels = Labels::from_pairs([("team", "db"), ("alertname", "Down"), ("é", "")]);
        let set = label_set(&labels);
        assert_eq!(set.text, "alertnameDownteamdbé");
        assert_eq!(set.ends, [9, 13, 17, 19, 21, 21]);
        assert_eq!(labels_from_wit(&set).unwrap(), labels);
        assert_eq!(
            labels_from_wit(&label_set(&Labels::default())).unwrap(),
            Labels::default()
        );
    }

    #[test]
    fn a_returned_set_need_not_be_sorted_and_a_later_twin_wins() {
        let set = wit::LabelSet {
            text: "bxaybz".into(),
            ends: vec![1, 2, 3, 4, 5, 6],
        };
        assert_eq!(
            labels_from_wit(&set).unwrap(),
            Labels::from_pairs([("a", "y"), ("b", "z")])
        );
    }

    #[test]
    fn a_malformed_returned_set_is_refused_with_the_reason() {
        let refused = |text: &str, ends: &[u32]| {
            labels_from_wit(&wit::LabelSet {
                text: text.into(),
                ends: ends.to_vec(),
            })
            .unwrap_err()
        };
        assert!(refused("ab", &[1]).contains("two per label"));
        assert!(refused("ab", &[1, 3]).contains("end 3"));
        assert!(refused("abcd", &[3, 1]).contains("end 1 does not follow 3"));
        // 'é' is two bytes: an end inside it is not a character boundary.
        assert!(refused("éa", &[1, 3]).contains("character boundary"));
    }
}
