//! Secrets (routing keys, passwords, webhook URLs that carry a token): held in a [`Secret`]
//! whose `Debug` and `Display` print `<redacted>`, so a secret cannot reach a log line or an
//! error message by accident. The value is read with [`Secret::expose`], at the one place that
//! sends it.

use std::fmt;

/// What a secret prints as.
pub const REDACTED: &str = "<redacted>";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The value, for the request that needs it. Never log it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// `text` with every occurrence of each of `secrets` replaced by `<redacted>`: for text that
/// came from elsewhere (an endpoint's error body) and may echo what was sent.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        if out.contains(*s) {
            out = out.replace(*s, REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("hunter2-routing-key".to_string());
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&s)), "Some(<redacted>)");
        assert_eq!(s.expose(), "hunter2-routing-key");
    }

    #[test]
    fn scrubs_echoed_secrets() {
        assert_eq!(
            scrub("bad key hunter2 in hunter2", &["hunter2", ""]),
            "bad key <redacted> in <redacted>"
        );
        assert_eq!(scrub("nothing here", &["hunter2"]), "nothing here");
    }
}
