//! Alertmanager label matchers: `name="value"`, `name!="value"`, `name=~"regex"`,
//! `name!~"regex"`. Values may be double-quoted (with backslash escapes) or bare.
//! Regexes are anchored at both ends, as in Alertmanager.

use std::fmt;

use regex::Regex;

use super::{write_go_quoted, Labels};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MatcherError {
    #[error("matcher {0:?} has no operator (=, !=, =~ or !~)")]
    NoOperator(String),
    #[error("matcher {0:?} has an invalid label name")]
    BadName(String),
    #[error("matcher {0:?} has an unterminated quoted value")]
    BadQuote(String),
    #[error("matcher {input:?} has an invalid regex: {reason}")]
    BadRegex { input: String, reason: String },
}

/// In Alertmanager's order (its `MatchType`), which sorting matchers uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Eq,
    NotEq,
    Re,
    NotRe,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::NotEq => "!=",
            Op::Re => "=~",
            Op::NotRe => "!~",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: Op,
    pub value: String,
    regex: Option<Regex>,
}

impl Matcher {
    pub fn parse(input: &str) -> Result<Matcher, MatcherError> {
        let s = input.trim();
        let pos = s
            .find(['=', '!'])
            .ok_or_else(|| MatcherError::NoOperator(input.into()))?;
        let name = s[..pos].trim();
        let rest = &s[pos..];
        let (op, rest) = if let Some(r) = rest.strip_prefix("=~") {
            (Op::Re, r)
        } else if let Some(r) = rest.strip_prefix("!~") {
            (Op::NotRe, r)
        } else if let Some(r) = rest.strip_prefix("!=") {
            (Op::NotEq, r)
        } else if let Some(r) = rest.strip_prefix('=') {
            (Op::Eq, r)
        } else {
            return Err(MatcherError::NoOperator(input.into()));
        };
        if !is_valid_label_name(name) {
            return Err(MatcherError::BadName(input.into()));
        }
        let value = unquote(rest.trim()).ok_or_else(|| MatcherError::BadQuote(input.into()))?;
        Matcher::new(name, op, &value).map_err(|reason| MatcherError::BadRegex {
            input: input.into(),
            reason,
        })
    }

    pub fn new(name: &str, op: Op, value: &str) -> Result<Matcher, String> {
        let regex = match op {
            Op::Re | Op::NotRe => {
                Some(Regex::new(&format!("^(?:{value})$")).map_err(|e| e.to_string())?)
            }
            Op::Eq | Op::NotEq => None,
        };
        Ok(Matcher {
            name: name.into(),
            op,
            value: value.into(),
            regex,
        })
    }

    /// Whether the label set satisfies the matcher; a missing label has the empty value.
    pub fn matches(&self, labels: &Labels) -> bool {
        let v = labels.get(&self.name).unwrap_or("");
        match (self.op, &self.regex) {
            (Op::Eq, _) => v == self.value,
            (Op::NotEq, _) => v != self.value,
            (Op::Re, Some(re)) => re.is_match(v),
            (Op::NotRe, Some(re)) => !re.is_match(v),
            _ => unreachable!("regex matchers always carry a regex"),
        }
    }
}

/// Formats as Alertmanager does in route keys: `name="value"` with the value quoted as Go's
/// `%q`.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        f.write_str(self.op.as_str())?;
        write_go_quoted(f, &self.value)
    }
}

/// Sorts matchers as Alertmanager sorts a route's (`labels.Matchers`): by name, then value,
/// then operator. A route key lists them in this order, whatever the configuration's.
pub fn sort(matchers: &mut [Matcher]) {
    matchers.sort_by(|a, b| (&a.name, &a.value, a.op).cmp(&(&b.name, &b.value, b.op)));
}

/// Prometheus' legacy label name rule, which Alertmanager 0.25 enforces.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A matcher's value as Alertmanager reads it: a leading `"` asks for a closing one (the last
/// character, and the only unescaped `"`); in quoted and bare values alike, `\n` is a line feed,
/// `\"` a quote and `\\` a backslash, while a backslash before anything else — or at the end — is
/// kept as a literal backslash (so `"10\.0\..*"` stays a regex of literal dots).
fn unquote(v: &str) -> Option<String> {
    let (raw, quoted) = match v.strip_prefix('"') {
        Some(rest) => (rest, true),
        None => (v, false),
    };
    let mut out = String::with_capacity(raw.len());
    let mut closed = !quoted;
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, e @ ('"' | '\\'))) => out.push(e),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '"' if quoted && !closed && i + 1 == raw.len() => closed = true,
            '"' => return None,
            other => out.push(other),
        }
    }
    closed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels::from_pairs([("severity", "critical"), ("team", "db")])
    }

    #[test]
    fn parses_and_matches_all_operators() {
        let l = labels();
        assert!(Matcher::parse(r#"team="db""#).unwrap().matches(&l));
        assert!(Matcher::parse("team=db").unwrap().matches(&l));
        assert!(!Matcher::parse(r#"team!="db""#).unwrap().matches(&l));
        assert!(Matcher::parse(r#"severity=~"critical|page""#)
            .unwrap()
            .matches(&l));
        assert!(
            !Matcher::parse(r#"severity=~"crit""#).unwrap().matches(&l),
            "anchored"
        );
        assert!(Matcher::parse(r#"severity!~"warn.*""#).unwrap().matches(&l));
        assert!(Matcher::parse(r#"missing="""#).unwrap().matches(&l));
    }

    #[test]
    fn escapes_in_quoted_values() {
        let m = Matcher::parse(r#"a="say \"hi\"""#).unwrap();
        assert_eq!(m.value, r#"say "hi""#);
        assert_eq!(m.to_string(), r#"a="say \"hi\"""#);
    }

    /// Alertmanager's `ParseMatcher` rules, case by case.
    #[test]
    fn escapes_as_alertmanager_reads_them() {
        let value = |m: &str| Matcher::parse(m).map(|m| m.value);
        // A backslash before anything but n, " or \ is kept: regexes keep their escapes.
        assert_eq!(
            value(r#"i=~"10\.0\.1[0-9]\..*""#).unwrap(),
            r"10\.0\.1[0-9]\..*"
        );
        assert_eq!(value(r#"a="x\ty""#).unwrap(), r"x\ty", "no tab escape");
        assert_eq!(value(r#"a="x\ny""#).unwrap(), "x\ny");
        assert_eq!(value(r#"a="x\\y""#).unwrap(), r"x\y");
        // Bare values are unescaped too, and a lone trailing backslash is literal.
        assert_eq!(value(r"a=x\.y").unwrap(), r"x\.y");
        assert_eq!(value(r"a=x\ny").unwrap(), "x\ny");
        assert_eq!(value(r"a=x\").unwrap(), r"x\");
        // An unescaped quote anywhere but closing a quoted value is an error.
        assert!(value(r#"a=x"y"#).is_err());
        assert!(value(r#"a="x"y""#).is_err());
        assert!(value(r#"a="x"#).is_err());
        assert_eq!(value(r#"a="""#).unwrap(), "");
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            Matcher::parse("team"),
            Err(MatcherError::NoOperator(_))
        ));
        assert!(matches!(
            Matcher::parse("1x=a"),
            Err(MatcherError::BadName(_))
        ));
        assert!(matches!(
            Matcher::parse(r#"a="b"#),
            Err(MatcherError::BadQuote(_))
        ));
        assert!(matches!(
            Matcher::parse(r#"a=~"(""#),
            Err(MatcherError::BadRegex { .. })
        ));
    }
}
