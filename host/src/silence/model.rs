//! One silence: its matchers, its time window and state, and Alertmanager's rules for what is
//! a valid silence and which changes keep its id.

use std::fmt;

use time::OffsetDateTime;

use super::SilenceError;
use crate::model::matcher::{is_valid_label_name, Matcher, Op};
use crate::model::Labels;
use crate::store::{StoredMatcher, StoredSilence};

/// Where a silence is in its life, at a given instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SilenceState {
    /// Mutes now.
    Active,
    /// Starts later.
    Pending,
    /// Ended; kept for the retention period so it can be looked at and re-created.
    Expired,
}

impl SilenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Active => "active",
            SilenceState::Pending => "pending",
            SilenceState::Expired => "expired",
        }
    }
}

/// One matcher of a silence, in the API's terms (`isRegex`, `isEqual`), compiled.
#[derive(Clone, Debug)]
pub struct SilenceMatcher {
    matcher: Matcher,
    /// For `=~` and `!~`: a literal every value the regex matches starts with (empty if none is
    /// known), checked before the regex, which costs far more than a comparison.
    prefix: Box<str>,
}

impl SilenceMatcher {
    /// Checks the name and compiles the regex, as Alertmanager does before storing a silence.
    pub fn new(
        name: &str,
        value: &str,
        is_regex: bool,
        is_equal: bool,
    ) -> Result<SilenceMatcher, SilenceError> {
        if !is_valid_label_name(name) {
            return Err(SilenceError::Invalid(format!(
                "invalid label name {name:?}"
            )));
        }
        let op = match (is_regex, is_equal) {
            (false, true) => Op::Eq,
            (false, false) => Op::NotEq,
            (true, true) => Op::Re,
            (true, false) => Op::NotRe,
        };
        let matcher = Matcher::new(name, op, value).map_err(|e| {
            SilenceError::Invalid(format!("invalid regular expression {value:?}: {e}"))
        })?;
        let prefix = match op {
            Op::Re | Op::NotRe => literal_prefix(value),
            Op::Eq | Op::NotEq => String::new(),
        };
        Ok(SilenceMatcher {
            matcher,
            prefix: prefix.into(),
        })
    }

    pub fn name(&self) -> &str {
        &self.matcher.name
    }

    pub fn value(&self) -> &str {
        &self.matcher.value
    }

    pub fn is_regex(&self) -> bool {
        matches!(self.matcher.op, Op::Re | Op::NotRe)
    }

    pub fn is_equal(&self) -> bool {
        matches!(self.matcher.op, Op::Eq | Op::Re)
    }

    /// For `=~`: a literal every value it matches starts with, if one is known.
    pub fn required_prefix(&self) -> Option<&str> {
        (self.matcher.op == Op::Re && !self.prefix.is_empty()).then_some(&*self.prefix)
    }

    pub fn op(&self) -> Op {
        self.matcher.op
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        if !self.prefix.is_empty() {
            let value = labels.get(self.name()).unwrap_or("");
            if !value.starts_with(&*self.prefix) {
                // The regex cannot match.
                return self.matcher.op == Op::NotRe;
            }
        }
        self.matcher.matches(labels)
    }

    /// Alertmanager's `matchesEmpty`: only `=` and `=~` can match an absent label.
    fn matches_empty(&self) -> bool {
        matches!(self.matcher.op, Op::Eq | Op::Re) && self.matcher.matches(&Labels::default())
    }
}

/// A literal that every string the (anchored) regex `pattern` matches starts with: its leading
/// plain characters, up to the first that is not one, less a last one that a quantifier makes
/// optional. Conservative: empty for any alternation, and it stops at every other escape,
/// class, group, flag or anchor.
fn literal_prefix(pattern: &str) -> String {
    if pattern.contains('|') {
        return String::new();
    }
    let mut prefix = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let literal = match c {
            '\\' => match chars.peek() {
                Some(&escaped @ ('.' | '-' | '/')) => {
                    chars.next();
                    escaped
                }
                _ => break,
            },
            c if c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | ':' | '/' | '=' | ',' | '@') =>
            {
                c
            }
            _ => break,
        };
        if matches!(chars.peek(), Some('*' | '?' | '{')) {
            break;
        }
        prefix.push(literal);
    }
    prefix
}

impl PartialEq for SilenceMatcher {
    fn eq(&self, other: &Self) -> bool {
        (self.name(), self.op(), self.value()) == (other.name(), other.op(), other.value())
    }
}

/// `name="value"`, `name=~"value"`…, as amtool prints matchers.
impl fmt::Display for SilenceMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.matcher, f)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Silence {
    /// A UUID (version 4), given by campanile.
    pub id: String,
    pub matchers: Vec<SilenceMatcher>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub created_by: String,
    pub comment: String,
}

impl Silence {
    /// Alertmanager's `getState`: pending before the start, expired after the end.
    pub fn state_at(&self, now: OffsetDateTime) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now > self.ends_at {
            SilenceState::Expired
        } else {
            SilenceState::Active
        }
    }

    /// Whether every matcher matches `labels` (a missing label has the empty value).
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }

    /// Alertmanager's `validateSilence`.
    pub fn validate(&self) -> Result<(), SilenceError> {
        if self.matchers.is_empty() {
            return Err(SilenceError::Invalid(
                "at least one matcher required".into(),
            ));
        }
        if self.matchers.iter().all(SilenceMatcher::matches_empty) {
            return Err(SilenceError::Invalid(
                "at least one matcher must not match the empty string".into(),
            ));
        }
        if self.ends_at < self.starts_at {
            return Err(SilenceError::Invalid(
                "end time must not be before start time".into(),
            ));
        }
        Ok(())
    }

    /// Alertmanager's `canUpdate`: whether `new` may replace this silence under the same id
    /// without rewriting history. Otherwise the old one is expired and `new` gets a new id.
    pub fn can_update_to(&self, new: &Silence, now: OffsetDateTime) -> bool {
        if self.matchers != new.matchers {
            return false;
        }
        match self.state_at(now) {
            SilenceState::Active => {
                new.starts_at.unix_timestamp() == self.starts_at.unix_timestamp()
                    && new.ends_at >= now
            }
            SilenceState::Pending => new.starts_at >= now,
            SilenceState::Expired => false,
        }
    }

    /// This silence ended at `now` (a pending one never starts), as Alertmanager's `expire`.
    pub fn expired_at(&self, now: OffsetDateTime) -> Silence {
        let mut s = self.clone();
        match self.state_at(now) {
            SilenceState::Expired => return s,
            SilenceState::Active => s.ends_at = now,
            SilenceState::Pending => {
                s.starts_at = now;
                s.ends_at = now;
            }
        }
        s.updated_at = now;
        s
    }
}

impl From<&Silence> for StoredSilence {
    fn from(s: &Silence) -> Self {
        StoredSilence {
            id: s.id.clone(),
            matchers: s
                .matchers
                .iter()
                .map(|m| StoredMatcher {
                    name: m.name().to_string(),
                    value: m.value().to_string(),
                    is_regex: m.is_regex(),
                    is_equal: m.is_equal(),
                })
                .collect(),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            updated_at: s.updated_at,
            created_by: s.created_by.clone(),
            comment: s.comment.clone(),
        }
    }
}

impl TryFrom<StoredSilence> for Silence {
    type Error = SilenceError;

    fn try_from(s: StoredSilence) -> Result<Self, SilenceError> {
        let matchers = s
            .matchers
            .iter()
            .map(|m| SilenceMatcher::new(&m.name, &m.value, m.is_regex, m.is_equal))
            .collect::<Result<_, _>>()?;
        Ok(Silence {
            id: s.id,
            matchers,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            updated_at: s.updated_at,
            created_by: s.created_by,
            comment: s.comment,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

    fn m(name: &str, value: &str, is_regex: bool, is_equal: bool) -> SilenceMatcher {
        SilenceMatcher::new(name, value, is_regex, is_equal).unwrap()
    }

    fn silence(matchers: Vec<SilenceMatcher>, start_min: i64, end_min: i64) -> Silence {
        Silence {
            id: "id".into(),
            matchers,
            starts_at: T0 + time::Duration::minutes(start_min),
            ends_at: T0 + time::Duration::minutes(end_min),
            updated_at: T0,
            created_by: "me".into(),
            comment: "".into(),
        }
    }

    #[test]
    fn all_four_operators_match_like_alertmanager() {
        let l = Labels::from_pairs([("alertname", "DiskFull"), ("team", "db")]);
        assert!(m("team", "db", false, true).matches(&l));
        assert!(!m("team", "db", false, false).matches(&l));
        assert!(m("alertname", "Disk.*", true, true).matches(&l));
        assert!(!m("alertname", "Disk", true, true).matches(&l), "anchored");
        assert!(m("team", "web|app", true, false).matches(&l));
        assert!(m("missing", "", false, true).matches(&l));
        assert_eq!(m("a", "b", true, false).to_string(), r#"a!~"b""#);
    }

    #[test]
    fn regex_prefixes_are_only_what_every_match_starts_with() {
        for (pattern, prefix) in [
            (r"svc-012.*", "svc-012"),
            (r"10\.0\.7\.1[0-9]:9100", "10.0.7.1"),
            ("abc*", "ab"),
            ("abc?d", "ab"),
            ("ab{0,2}", "a"),
            ("ab+", "ab"),
            ("a|b", ""),
            ("(?i)abc", ""),
            (r"\d+", ""),
            (".*x", ""),
            ("^x", ""),
            ("héllo", "h"),
        ] {
            assert_eq!(literal_prefix(pattern), prefix, "{pattern}");
        }
        let l = Labels::from_pairs([("pod", "svc-0123"), ("empty", "")]);
        assert!(m("pod", "svc-01.*", true, true).matches(&l));
        assert!(!m("pod", "svc-02.*", true, true).matches(&l));
        assert!(m("pod", "svc-02.*", true, false).matches(&l));
        assert!(!m("pod", "svc-01.*", true, false).matches(&l));
        assert!(!m("missing", "x.*", true, true).matches(&l));
        assert!(m("missing", "x.*", true, false).matches(&l));
        assert!(!m("empty", "x.*", true, true).matches(&l));
        // With or without the prefix check, the same answer.
        let patterns = [
            "svc-01.*",
            "svc-0123",
            "svc-?",
            "s+vc.*",
            r"svc\-0.2.",
            "x{0}svc.*",
        ];
        let values = [
            "", "svc", "svc-0123", "svc-01", "ssvc-0", "vc-0123", "svc-0.23",
        ];
        for (pattern, value) in patterns
            .iter()
            .flat_map(|p| values.iter().map(move |v| (p, v)))
        {
            let l = Labels::from_pairs([("pod", *value)]);
            for op in [Op::Re, Op::NotRe] {
                let plain = Matcher::new("pod", op, pattern).unwrap();
                let checked = m("pod", pattern, true, op == Op::Re);
                assert_eq!(checked.matches(&l), plain.matches(&l), "{pattern} {value}");
            }
        }
    }

    #[test]
    fn states_follow_the_window() {
        let s = silence(vec![m("a", "b", false, true)], 10, 20);
        assert_eq!(s.state_at(T0), SilenceState::Pending);
        assert_eq!(
            s.state_at(T0 + time::Duration::minutes(15)),
            SilenceState::Active
        );
        assert_eq!(
            s.state_at(T0 + time::Duration::minutes(21)),
            SilenceState::Expired
        );
        let expired = s.expired_at(T0);
        assert_eq!(expired.starts_at, T0, "a pending silence never starts");
        assert_eq!(
            expired.state_at(T0 + time::Duration::seconds(1)),
            SilenceState::Expired
        );
    }

    #[test]
    fn validation_rules() {
        assert!(silence(vec![], 0, 10).validate().is_err());
        let empty_only = silence(
            vec![m("a", "", false, true), m("b", ".*", true, true)],
            0,
            10,
        );
        assert!(empty_only.validate().is_err());
        assert!(silence(vec![m("a", "x", false, true)], 10, 0)
            .validate()
            .is_err());
        assert!(SilenceMatcher::new("1a", "x", false, true).is_err());
        assert!(SilenceMatcher::new("a", "(", true, true).is_err());
        assert!(silence(vec![m("a", "", false, false)], 0, 10)
            .validate()
            .is_ok());
    }

    #[test]
    fn updates_that_keep_history_keep_the_id() {
        let active = silence(vec![m("a", "b", false, true)], -10, 10);
        let longer = silence(vec![m("a", "b", false, true)], -10, 60);
        assert!(active.can_update_to(&longer, T0));
        let moved_start = silence(vec![m("a", "b", false, true)], -5, 60);
        assert!(!active.can_update_to(&moved_start, T0));
        let other_matchers = silence(vec![m("a", "c", false, true)], -10, 60);
        assert!(!active.can_update_to(&other_matchers, T0));
        let pending = silence(vec![m("a", "b", false, true)], 10, 20);
        assert!(pending.can_update_to(&silence(vec![m("a", "b", false, true)], 5, 30), T0));
        assert!(!pending.can_update_to(&silence(vec![m("a", "b", false, true)], -5, 30), T0));
        let expired = silence(vec![m("a", "b", false, true)], -20, -10);
        assert!(!expired.can_update_to(&longer, T0));
    }
}
