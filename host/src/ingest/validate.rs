//! Alertmanager's validation of one alert, with its wording, and the defaults it fills in.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::uri;
use crate::model::matcher::is_valid_label_name;
use crate::model::{Alert, Fingerprint, Labels, ZERO_TIME};

/// Why one alert of a request was refused, in the three classes Alertmanager's API answers
/// differently. Alertmanager refuses the whole request for the first two; campanile refuses
/// only the alert, and answers with the code Alertmanager would have (see `server::routes`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    /// Not the API's JSON types (a label value that is a number, a time that is no time):
    /// Alertmanager's 400 "parsing alerts body … failed".
    #[error("{0}")]
    Malformed(String),
    /// Well-typed but against the API's schema (no `labels`, a `generatorURL` that is not a
    /// URI): Alertmanager's 422.
    #[error("{0}")]
    Schema(String),
    /// Against Alertmanager's rules for an alert (no label, a bad label name, an end before its
    /// start): Alertmanager's 400, the other alerts of the request kept.
    #[error("{0}")]
    Invalid(String),
}

/// An alert as a sender wrote it, before defaults and checks; its generator URL borrowed from
/// the request body where it needs no unescaping.
pub struct Draft<'a> {
    /// `None` when the sender gave no `labels` (or `null`), which the API's schema requires.
    pub labels: Option<Labels>,
    pub annotations: Labels,
    pub starts_at: Option<OffsetDateTime>,
    pub ends_at: Option<OffsetDateTime>,
    pub generator_url: Cow<'a, str>,
}

/// The generator URL of a request's last alert, checked. Prometheus sends a rule's alerts
/// together and they share the rule's URL, so most alerts of a request repeat the one before
/// and need neither the check nor a copy of their own.
#[derive(Default)]
pub struct LastUrl(Option<Arc<str>>);

impl LastUrl {
    /// `url` if it is a URI (or empty), as the shared copy when it repeats the last one.
    fn check(&mut self, url: &str) -> Result<Arc<str>, AlertError> {
        if let Some(last) = self.0.as_ref().filter(|last| ***last == *url) {
            return Ok(last.clone());
        }
        if !url.is_empty() && !uri::is_request_uri(url) {
            return Err(AlertError::Schema(format!(
                "generatorURL in body must be of type uri: {url:?}"
            )));
        }
        let url: Arc<str> = url.into();
        self.0 = Some(url.clone());
        Ok(url)
    }
}

/// Parses an RFC 3339 time; Go's zero time counts as absent.
pub fn parse_time(field: &str, text: Option<&str>) -> Result<Option<OffsetDateTime>, AlertError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let t = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| AlertError::Malformed(format!("invalid {field} {text:?}: {e}")))?;
    Ok((t != ZERO_TIME).then_some(t))
}

/// Checks the API's schema, fills in Alertmanager's defaults (start = now; end = now +
/// `resolve_timeout`, marked as a timeout), drops labels with an empty value (Alertmanager's
/// `removeEmptyLabels`, before the fingerprint), and applies its checks in its order. `urls`
/// is the request's: one per request body.
pub fn finish(
    d: Draft<'_>,
    now: OffsetDateTime,
    resolve_timeout: Duration,
    urls: &mut LastUrl,
) -> Result<Alert, AlertError> {
    let labels = d
        .labels
        .ok_or_else(|| AlertError::Schema("labels in body is required".into()))?;
    let generator_url = urls.check(&d.generator_url)?;
    let labels = if labels.iter().any(|(_, v)| v.is_empty()) {
        Labels::from_pairs(labels.iter().filter(|(_, v)| !v.is_empty()))
    } else {
        labels
    };
    let invalid = |m: String| Err(AlertError::Invalid(m));
    let starts_at = d.starts_at.or(d.ends_at).unwrap_or(now);
    let (ends_at, timeout) = match d.ends_at {
        Some(e) => (e, false),
        None => (crate::clock::after(now, resolve_timeout), true),
    };
    if ends_at < starts_at {
        return invalid("start time must be before end time".into());
    }
    if let Some((name, _)) = labels.iter().find(|(n, _)| !is_valid_label_name(n)) {
        return invalid(format!("invalid label set: invalid name {name:?}"));
    }
    if labels.is_empty() {
        return invalid("at least one label pair required".into());
    }
    if let Some((name, _)) = d.annotations.iter().find(|(n, _)| !is_valid_label_name(n)) {
        return invalid(format!("invalid annotations: invalid name {name:?}"));
    }
    Ok(Alert {
        fingerprint: Fingerprint::of(&labels),
        labels,
        annotations: d.annotations,
        starts_at,
        ends_at,
        timeout,
        generator_url,
        updated_at: now,
        extension: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(labels: &[(&str, &str)]) -> Draft<'static> {
        Draft {
            labels: Some(Labels::from_pairs(labels.iter().copied())),
            annotations: Labels::default(),
            starts_at: None,
            ends_at: None,
            generator_url: Cow::Borrowed(""),
        }
    }

    #[test]
    fn alertmanager_wording() {
        let now = OffsetDateTime::now_utc();
        let r = Duration::from_secs(300);
        assert_eq!(
            finish(draft(&[]), now, r, &mut LastUrl::default()).unwrap_err(),
            AlertError::Invalid("at least one label pair required".into())
        );
        assert_eq!(
            finish(
                draft(&[("région", "x"), ("alertname", "Z")]),
                now,
                r,
                &mut LastUrl::default()
            )
            .unwrap_err()
            .to_string(),
            "invalid label set: invalid name \"région\""
        );
        let mut d = draft(&[("a", "b")]);
        d.starts_at = Some(now);
        d.ends_at = Some(now - time::Duration::days(1));
        assert_eq!(
            finish(d, now, r, &mut LastUrl::default())
                .unwrap_err()
                .to_string(),
            "start time must be before end time"
        );
    }

    #[test]
    fn defaults() {
        let now = OffsetDateTime::now_utc();
        let a = finish(
            draft(&[("a", "b")]),
            now,
            Duration::from_secs(300),
            &mut LastUrl::default(),
        )
        .unwrap();
        assert_eq!(a.starts_at, now);
        assert_eq!(a.ends_at, now + time::Duration::minutes(5));
        assert!(a.timeout);
        assert_eq!(
            parse_time("endsAt", Some("0001-01-01T00:00:00Z")).unwrap(),
            None
        );
        assert!(parse_time("endsAt", Some("yesterday"))
            .unwrap_err()
            .to_string()
            .contains("invalid endsAt"));
    }

    #[test]
    fn a_repeated_generator_url_is_checked_once_and_shared() {
        let now = OffsetDateTime::now_utc();
        let r = Duration::from_secs(300);
        let mut urls = LastUrl::default();
        let with = |url: &str| Draft {
            generator_url: Cow::Owned(url.to_owned()),
            ..draft(&[("a", "b")])
        };
        let first = finish(with("http://prom/graph?g0.expr=up"), now, r, &mut urls).unwrap();
        let again = finish(with("http://prom/graph?g0.expr=up"), now, r, &mut urls).unwrap();
        assert!(Arc::ptr_eq(&first.generator_url, &again.generator_url));
        // An invalid URL is refused each time it comes, and is not remembered as checked.
        for _ in 0..2 {
            let e = finish(with("not a uri"), now, r, &mut urls).unwrap_err();
            assert!(matches!(e, AlertError::Schema(_)), "{e:?}");
        }
        let later = finish(with("http://prom/graph?g0.expr=up"), now, r, &mut urls).unwrap();
        assert!(Arc::ptr_eq(&first.generator_url, &later.generator_url));
    }
}
