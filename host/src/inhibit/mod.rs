//! Inhibition, with Alertmanager's semantics: while an alert matching a rule's
//! `source_matchers` fires, alerts matching its `target_matchers` that have the same values for
//! the rule's `equal` labels are muted. An alert that matches both sides of a rule is never
//! inhibited by another alert that also matches both sides (so a rule cannot make two alerts
//! inhibit each other).
//!
//! The [`Inhibitor`] keeps, per rule, the alerts that match its source side, indexed by their
//! `equal` label values, so a check costs one lookup per rule rather than a scan of every alert.
//! It learns of alerts as the dispatcher files them ([`Inhibitor::observe`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use time::OffsetDateTime;

use crate::config::InhibitRuleConfig;
use crate::model::{Fingerprint, Labels, SharedAlert};

/// Source alerts of one rule: by their `equal` label values, then by fingerprint.
type Sources = HashMap<Vec<String>, BTreeMap<Fingerprint, SharedAlert>>;

struct Rule {
    config: InhibitRuleConfig,
    sources: RwLock<Sources>,
}

impl Rule {
    /// The values of the `equal` labels; a missing label has the empty value.
    fn key(&self, labels: &Labels) -> Vec<String> {
        self.config
            .equal
            .iter()
            .map(|n| labels.get(n).unwrap_or("").to_string())
            .collect()
    }

    fn is_source(&self, labels: &Labels) -> bool {
        self.config
            .source_matchers
            .iter()
            .all(|m| m.matches(labels))
    }

    fn is_target(&self, labels: &Labels) -> bool {
        self.config
            .target_matchers
            .iter()
            .all(|m| m.matches(labels))
    }
}

pub struct Inhibitor {
    rules: Vec<Rule>,
}

impl Inhibitor {
    pub fn new(rules: &[InhibitRuleConfig]) -> Inhibitor {
        Inhibitor {
            rules: rules
                .iter()
                .map(|config| Rule {
                    config: config.clone(),
                    sources: RwLock::new(HashMap::new()),
                })
                .collect(),
        }
    }

    /// Takes note of a new or updated alert: it becomes (or stays) a source of the rules whose
    /// source side it matches, until it resolves.
    pub fn observe(&self, alert: &SharedAlert, now: OffsetDateTime) {
        for rule in &self.rules {
            if !rule.is_source(&alert.labels) {
                continue;
            }
            let key = rule.key(&alert.labels);
            let mut sources = rule.sources.write().expect("inhibit lock");
            if alert.resolved_at(now) {
                if let Some(bucket) = sources.get_mut(&key) {
                    bucket.remove(&alert.fingerprint);
                    if bucket.is_empty() {
                        sources.remove(&key);
                    }
                }
            } else {
                sources
                    .entry(key)
                    .or_default()
                    .insert(alert.fingerprint, alert.clone());
            }
        }
    }

    /// The fingerprint of a firing alert that inhibits an alert with these labels, if any
    /// (Alertmanager's `Inhibitor.Mutes`).
    pub fn inhibited_by(&self, labels: &Labels, now: OffsetDateTime) -> Option<Fingerprint> {
        for rule in &self.rules {
            if !rule.is_target(labels) {
                continue;
            }
            let two_sided = rule.is_source(labels);
            let sources = rule.sources.read().expect("inhibit lock");
            let Some(bucket) = sources.get(&rule.key(labels)) else {
                continue;
            };
            let source = bucket
                .values()
                .find(|a| !a.resolved_at(now) && (!two_sided || !rule.is_target(&a.labels)));
            if let Some(a) = source {
                return Some(a.fingerprint);
            }
        }
        None
    }

    /// Drops sources that have resolved (by their end passing, with no update to say so).
    pub fn gc(&self, now: OffsetDateTime) {
        for rule in &self.rules {
            let mut sources = rule.sources.write().expect("inhibit lock");
            sources.retain(|_, bucket| {
                bucket.retain(|_, a| !a.resolved_at(now));
                !bucket.is_empty()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Alert;
    use crate::model::Matcher;
    use std::sync::Arc;

    fn rule(source: &[&str], target: &[&str], equal: &[&str]) -> InhibitRuleConfig {
        let parse = |ms: &[&str]| ms.iter().map(|m| Matcher::parse(m).unwrap()).collect();
        InhibitRuleConfig {
            source_matchers: parse(source),
            target_matchers: parse(target),
            equal: equal.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn alert(pairs: &[(&str, &str)], now: OffsetDateTime, ends_in: time::Duration) -> SharedAlert {
        let labels = Labels::from_pairs(pairs.iter().copied());
        Arc::new(Alert {
            fingerprint: Fingerprint::of(&labels),
            labels,
            annotations: Labels::default(),
            starts_at: now,
            ends_at: now + ends_in,
            timeout: false,
            generator_url: Default::default(),
            updated_at: now,
            extension: Default::default(),
        })
    }

    #[test]
    fn critical_inhibits_warnings_with_equal_labels_until_it_resolves() {
        let now = OffsetDateTime::now_utc();
        let hour = time::Duration::hours(1);
        let inhibitor = Inhibitor::new(&[rule(
            &[r#"severity="critical""#],
            &[r#"severity="warning""#],
            &["cluster"],
        )]);
        let critical = alert(&[("severity", "critical"), ("cluster", "a")], now, hour);
        inhibitor.observe(&critical, now);
        let warning_a = Labels::from_pairs([("severity", "warning"), ("cluster", "a")]);
        let warning_b = Labels::from_pairs([("severity", "warning"), ("cluster", "b")]);
        assert_eq!(
            inhibitor.inhibited_by(&warning_a, now),
            Some(critical.fingerprint)
        );
        assert_eq!(
            inhibitor.inhibited_by(&warning_b, now),
            None,
            "equal differs"
        );
        assert_eq!(
            inhibitor.inhibited_by(&critical.labels, now),
            None,
            "not a target"
        );

        // Resolved by its end passing, then by an update saying so.
        assert_eq!(inhibitor.inhibited_by(&warning_a, now + 2 * hour), None);
        let resolved = alert(
            &[("severity", "critical"), ("cluster", "a")],
            now,
            time::Duration::minutes(-1),
        );
        inhibitor.observe(&resolved, now);
        assert_eq!(inhibitor.inhibited_by(&warning_a, now), None);
    }

    #[test]
    fn two_sided_matches_do_not_inhibit_each_other() {
        let now = OffsetDateTime::now_utc();
        let hour = time::Duration::hours(1);
        let inhibitor = Inhibitor::new(&[rule(&["team=db"], &["team=db"], &["zone"])]);
        let a = alert(&[("alertname", "A"), ("team", "db")], now, hour);
        inhibitor.observe(&a, now);
        let b = Labels::from_pairs([("alertname", "B"), ("team", "db")]);
        assert_eq!(inhibitor.inhibited_by(&b, now), None);
        inhibitor.gc(now + 2 * hour);
        assert!(inhibitor.rules[0].sources.read().unwrap().is_empty());
    }

    #[test]
    fn a_label_missing_on_both_sides_is_equal() {
        let now = OffsetDateTime::now_utc();
        let inhibitor = Inhibitor::new(&[rule(&["severity=page"], &["severity=info"], &["zone"])]);
        let page = alert(&[("severity", "page")], now, time::Duration::hours(1));
        inhibitor.observe(&page, now);
        let info = Labels::from_pairs([("severity", "info")]);
        assert_eq!(inhibitor.inhibited_by(&info, now), Some(page.fingerprint));
        let info_zoned = Labels::from_pairs([("severity", "info"), ("zone", "z1")]);
        assert_eq!(inhibitor.inhibited_by(&info_zoned, now), None);
    }
}
