//! Label matchers, like Alertmanager's `name="value"`, without regular expressions.

use crate::{Alert, Group, LabelSet};

/// A condition on one label, as in Alertmanager's matchers but without regular expressions.
///
/// As in Alertmanager, a label the alert does not have counts as the empty string: so
/// `Matcher::eq("team", "")` matches alerts *without* a `team` label, and
/// `Matcher::neq("team", "")` those that have one.
///
/// ```
/// use campanile_sdk::{testing, Matcher};
///
/// let alert = testing::alert(&[("alertname", "Down"), ("env", "prod")]);
/// assert!(Matcher::eq("env", "prod").matches(&alert));
/// assert!(Matcher::neq("env", "staging").matches(&alert));
/// assert!(Matcher::one_of("env", &["prod", "staging"]).matches(&alert));
/// assert!(Matcher::eq("team", "").matches(&alert));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    name: String,
    test: Test,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Test {
    Eq(String),
    Neq(String),
    OneOf(Vec<String>),
}

impl Matcher {
    /// Matches when the label `name` equals `value`.
    ///
    /// ```
    /// use campanile_sdk::{testing, Matcher};
    ///
    /// let m = Matcher::eq("severity", "critical");
    /// assert!(m.matches(&testing::alert(&[("severity", "critical")])));
    /// assert!(!m.matches(&testing::alert(&[("severity", "info")])));
    /// ```
    pub fn eq(name: impl Into<String>, value: impl Into<String>) -> Matcher {
        Matcher {
            name: name.into(),
            test: Test::Eq(value.into()),
        }
    }

    /// Matches when the label `name` differs from `value`.
    ///
    /// ```
    /// use campanile_sdk::{testing, Matcher};
    ///
    /// let m = Matcher::neq("env", "dev");
    /// assert!(m.matches(&testing::alert(&[("env", "prod")])));
    /// assert!(m.matches(&testing::alert(&[("alertname", "NoEnv")])));
    /// assert!(!m.matches(&testing::alert(&[("env", "dev")])));
    /// ```
    pub fn neq(name: impl Into<String>, value: impl Into<String>) -> Matcher {
        Matcher {
            name: name.into(),
            test: Test::Neq(value.into()),
        }
    }

    /// Matches when the label `name` equals one of `values`.
    ///
    /// ```
    /// use campanile_sdk::{testing, Matcher};
    ///
    /// let m = Matcher::one_of("severity", &["critical", "page"]);
    /// assert!(m.matches(&testing::alert(&[("severity", "page")])));
    /// assert!(!m.matches(&testing::alert(&[("severity", "warning")])));
    /// ```
    pub fn one_of(name: impl Into<String>, values: &[&str]) -> Matcher {
        Matcher {
            name: name.into(),
            test: Test::OneOf(values.iter().map(|value| value.to_string()).collect()),
        }
    }

    /// Whether the alert's labels satisfy the matcher.
    ///
    /// ```
    /// use campanile_sdk::{testing, Matcher};
    ///
    /// let alert = testing::alert(&[("team", "db")]);
    /// assert!(Matcher::eq("team", "db").matches(&alert));
    /// ```
    pub fn matches(&self, alert: &Alert) -> bool {
        self.matches_labels(&alert.labels)
    }

    /// Whether a label set satisfies the matcher; for instance a group's `group_labels` or
    /// `common_labels`.
    ///
    /// ```
    /// use campanile_sdk::{testing, Matcher};
    ///
    /// let group = testing::group(vec![
    ///     testing::alert(&[("alertname", "Down"), ("team", "db")]),
    ///     testing::alert(&[("alertname", "Slow"), ("team", "db")]),
    /// ]);
    /// assert!(Matcher::eq("team", "db").matches_labels(&group.common_labels));
    /// ```
    pub fn matches_labels(&self, labels: &LabelSet) -> bool {
        let value = labels.get(&self.name).unwrap_or("");
        match &self.test {
            Test::Eq(expected) => value == expected,
            Test::Neq(expected) => value != expected,
            Test::OneOf(expected) => expected.iter().any(|candidate| candidate == value),
        }
    }
}

impl Group {
    /// The group's alerts that satisfy `matcher`.
    ///
    /// ```
    /// use campanile_sdk::{testing, Matcher};
    ///
    /// let group = testing::group(vec![
    ///     testing::alert(&[("alertname", "A"), ("env", "prod")]),
    ///     testing::alert(&[("alertname", "B"), ("env", "dev")]),
    /// ]);
    /// let prod: Vec<_> = group.matching(&Matcher::eq("env", "prod")).filter_map(|a| a.name()).collect();
    /// assert_eq!(prod, ["A"]);
    /// ```
    pub fn matching<'g, 'm>(
        &'g self,
        matcher: &'m Matcher,
    ) -> impl Iterator<Item = &'g Alert> + use<'g, 'm> {
        self.alerts
            .iter()
            .filter(move |alert| matcher.matches(alert))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table every SDK checks its matchers against (`sdk/matcher-cases.json`).
    #[test]
    fn the_shared_cases() {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("../matcher-cases.json")).expect("valid JSON");
        let cases = table["cases"].as_array().expect("a list of cases");
        assert!(cases.len() > 10);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let values: Vec<&str> = case["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let matcher = match case["op"].as_str().unwrap() {
                "=" => Matcher::eq(name, values[0]),
                "!=" => Matcher::neq(name, values[0]),
                "in" => Matcher::one_of(name, &values),
                other => panic!("unknown op {other}"),
            };
            let labels = LabelSet::from_pairs(
                case["labels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str().unwrap())),
            );
            let expected = case["matches"].as_bool().unwrap();
            assert_eq!(matcher.matches_labels(&labels), expected, "{case}");
        }
    }
}
