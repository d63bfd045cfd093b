//! How urgent a notification is: what a plugin may set, a receiver's configuration may fix,
//! and a `severity` label may say. Each integration maps it onto its own scale.

/// From most to least urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Info,
}

impl Severity {
    /// Its name in the plugin contract, the configuration and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// A name as [`Severity::as_str`] gives it, exactly (configuration values, stored records).
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

    /// A `severity` label value, the way alerting rules write it: `critical` or `page`,
    /// `error`, `warning` or `warn`, `info`, in any case and with surrounding spaces. Anything
    /// else is unknown. The SDK's `Severity::from_label` keeps the same rule.
    pub fn from_label(value: &str) -> Option<Severity> {
        match value.trim().to_ascii_lowercase().as_str() {
            "critical" | "page" => Some(Severity::Critical),
            "error" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }

    /// Higher is more urgent.
    pub fn rank(self) -> u8 {
        match self {
            Severity::Critical => 3,
            Severity::Error => 2,
            Severity::Warning => 1,
            Severity::Info => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Severity;

    #[test]
    fn names_and_labels() {
        for s in [
            Severity::Critical,
            Severity::Error,
            Severity::Warning,
            Severity::Info,
        ] {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            assert_eq!(Severity::from_label(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse("Critical"), None, "names are exact");
        assert_eq!(Severity::from_label(" Page "), Some(Severity::Critical));
        assert_eq!(Severity::from_label("WARN"), Some(Severity::Warning));
        assert_eq!(Severity::from_label("debug"), None);
        assert!(Severity::Critical.rank() > Severity::Error.rank());
        assert!(Severity::Warning.rank() > Severity::Info.rank());
    }
}
