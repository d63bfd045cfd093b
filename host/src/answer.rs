//! What a routing plugin's answer means: who is told, what is a fault, when the plugin is
//! called again. One rule, used by the service (`pipeline`) and by `campanile plugin test`
//! (`dry_run`), so what a plugin author sees in a dry run is what production does.
//!
//! The rule, in order:
//! - A fault of the call (trap, timeout, memory, error, oversized output…) tells the route's
//!   receiver, as it is.
//! - An empty answer is a fault too: a plugin that means to tell nobody says so with `suppress`
//!   (its reason is logged), so a bug that forgets to answer never silences a page.
//! - `notify` of a receiver the configuration does not define is a fault for that action
//!   alone: the route's receiver is told in its place, the other actions stand.
//! - A receiver named twice is told once, with the first action's texts and severity.
//! - `wake-after` asks for another call for this group after so many seconds, at least 1 and
//!   at most 30 days; the last one given counts.
//! - `suppress` and `wake-after` alone tell nobody now.

use crate::notify::Overrides;
use crate::plugin::{Action, PluginFault};

/// Longest wake-up a plugin may ask for.
pub const MAX_WAKE_SECS: u32 = 30 * 24 * 3600;

/// What an answer decided.
#[derive(Debug, Default)]
pub struct Outcome {
    pub deliveries: Vec<Delivery>,
    /// Seconds until the plugin wants to be called again.
    pub wake_after: Option<u32>,
    /// The plugin's answer, one line per action, for the decision log.
    pub actions: Vec<String>,
    /// The reasons of its `suppress` actions.
    pub suppressed: Vec<String>,
    pub faults: Vec<PluginFault>,
    /// Set when the route's receiver was told in the plugin's place.
    pub fallback: Option<String>,
}

/// One receiver to tell, with the plugin's overrides.
#[derive(Debug, PartialEq)]
pub struct Delivery {
    pub receiver: String,
    pub overrides: Overrides,
}

impl Delivery {
    pub fn plain(receiver: &str) -> Self {
        Delivery {
            receiver: receiver.to_string(),
            overrides: Overrides::default(),
        }
    }
}

impl Outcome {
    /// The route's own receiver, as it is: a route without a plugin.
    pub fn plain(receiver: &str) -> Self {
        Outcome {
            deliveries: vec![Delivery::plain(receiver)],
            ..Outcome::default()
        }
    }
}

/// Applies the rule (see the module docs) to a plugin's `answer`. `route_receiver` is told on a
/// fault; `known` says whether the configuration defines a receiver.
pub fn decide(
    answer: Result<Vec<Action>, PluginFault>,
    route_receiver: &str,
    known: impl Fn(&str) -> bool,
) -> Outcome {
    let actions = match answer {
        Ok(actions) if actions.is_empty() => Err(PluginFault::Error(
            "returned no action (use suppress to tell nobody)".into(),
        )),
        other => other,
    };
    let actions = match actions {
        Ok(actions) => actions,
        Err(fault) => {
            return Outcome {
                faults: vec![fault],
                fallback: Some(route_receiver.to_string()),
                ..Outcome::plain(route_receiver)
            }
        }
    };
    let mut outcome = Outcome {
        actions: actions.iter().map(describe).collect(),
        ..Outcome::default()
    };
    for action in actions {
        let delivery = match action {
            Action::Suppress(reason) => {
                outcome.suppressed.push(reason);
                continue;
            }
            Action::WakeAfter(secs) => {
                outcome.wake_after = Some(secs.clamp(1, MAX_WAKE_SECS));
                continue;
            }
            Action::Notify {
                receiver,
                title,
                body,
                severity,
            } if known(&receiver) => Delivery {
                receiver,
                overrides: Overrides {
                    title,
                    body,
                    severity,
                },
            },
            Action::Notify { receiver, .. } => {
                outcome.faults.push(PluginFault::UnknownReceiver(receiver));
                outcome.fallback = Some(route_receiver.to_string());
                Delivery::plain(route_receiver)
            }
        };
        if !outcome
            .deliveries
            .iter()
            .any(|d| d.receiver == delivery.receiver)
        {
            outcome.deliveries.push(delivery);
        }
    }
    outcome
}

/// One action as the decision log and the dry run show it.
pub fn describe(action: &Action) -> String {
    match action {
        Action::Notify {
            receiver,
            title,
            body,
            severity,
        } => {
            let mut s = format!("notify {receiver}");
            if let Some(sev) = severity {
                s.push_str(&format!(" severity={}", sev.as_str()));
            }
            if let Some(t) = title {
                s.push_str(&format!(" title={t:?}"));
            }
            if let Some(b) = body {
                s.push_str(&format!(" body={} chars", b.chars().count()));
            }
            s
        }
        Action::Suppress(reason) => format!("suppress: {reason}"),
        Action::WakeAfter(secs) => format!("wake-after {secs}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;

    fn notify(receiver: &str) -> Action {
        Action::Notify {
            receiver: receiver.into(),
            title: None,
            body: None,
            severity: None,
        }
    }

    /// Who is told, the fault kinds, the fallback and the wake-up of `answer`.
    type Seen = (Vec<String>, Vec<&'static str>, Option<String>, Option<u32>);

    type Answer = Result<Vec<Action>, PluginFault>;

    fn seen(answer: Answer) -> Seen {
        let o = decide(answer, "route", |r| ["pager", "chat", "route"].contains(&r));
        (
            o.deliveries.into_iter().map(|d| d.receiver).collect(),
            o.faults.iter().map(PluginFault::kind).collect(),
            o.fallback,
            o.wake_after,
        )
    }

    /// The shared table of answers: the service and the dry run both decide through
    /// [`decide`], so each row is what both do.
    #[test]
    fn the_rule() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let route = Some("route".to_string());
        let cases: Vec<(&str, Answer, Seen)> = vec![
            (
                "one receiver",
                Ok(vec![notify("pager")]),
                (s(&["pager"]), vec![], None, None),
            ),
            (
                "two receivers, in order",
                Ok(vec![notify("chat"), notify("pager")]),
                (s(&["chat", "pager"]), vec![], None, None),
            ),
            (
                "empty: a fault, the route's receiver",
                Ok(vec![]),
                (s(&["route"]), vec!["error"], route.clone(), None),
            ),
            (
                "a trap: the route's receiver",
                Err(PluginFault::Trap("unreachable".into())),
                (s(&["route"]), vec!["trap"], route.clone(), None),
            ),
            (
                "suppress only: nobody, no fault",
                Ok(vec![Action::Suppress("maintenance".into())]),
                (s(&[]), vec![], None, None),
            ),
            (
                "wake-after only: nobody now",
                Ok(vec![Action::WakeAfter(60)]),
                (s(&[]), vec![], None, Some(60)),
            ),
            (
                "unknown receiver: the route's in its place, the rest stands",
                Ok(vec![notify("nope"), notify("chat")]),
                (
                    s(&["route", "chat"]),
                    vec!["unknown_receiver"],
                    route.clone(),
                    None,
                ),
            ),
            (
                "two unknown: the route's once",
                Ok(vec![notify("nope"), notify("gone")]),
                (
                    s(&["route"]),
                    vec!["unknown_receiver", "unknown_receiver"],
                    route.clone(),
                    None,
                ),
            ),
            (
                "duplicates: told once",
                Ok(vec![notify("pager"), notify("pager"), notify("chat")]),
                (s(&["pager", "chat"]), vec![], None, None),
            ),
            (
                "wake-after 0 is 1 s",
                Ok(vec![notify("pager"), Action::WakeAfter(0)]),
                (s(&["pager"]), vec![], None, Some(1)),
            ),
            (
                "wake-after past 30 days is 30 days; the last counts",
                Ok(vec![Action::WakeAfter(5), Action::WakeAfter(u32::MAX)]),
                (s(&[]), vec![], None, Some(MAX_WAKE_SECS)),
            ),
        ];
        for (what, answer, want) in cases {
            assert_eq!(seen(answer), want, "{what}");
        }
    }

    #[test]
    fn the_first_of_duplicates_keeps_its_texts() {
        let first = Action::Notify {
            receiver: "pager".into(),
            title: Some("first".into()),
            body: None,
            severity: Some(Severity::Critical),
        };
        let o = decide(Ok(vec![first, notify("pager")]), "route", |_| true);
        assert_eq!(o.deliveries.len(), 1);
        assert_eq!(o.deliveries[0].overrides.title.as_deref(), Some("first"));
        assert_eq!(
            o.actions,
            [
                "notify pager severity=critical title=\"first\"",
                "notify pager"
            ]
        );
    }
}
