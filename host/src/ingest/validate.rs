//! Alertmanager's validation of one alert, with its wording, and the defaults it fills in.

use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::model::{Alert, Fingerprint, Labels, ZERO_TIME};
use crate::route::matcher::is_valid_label_name;

/// An alert as a sender wrote it, before defaults and checks.
pub struct Draft {
    pub labels: Labels,
    pub annotations: Labels,
    pub starts_at: Option<OffsetDateTime>,
    pub ends_at: Option<OffsetDateTime>,
    pub generator_url: String,
}

/// Parses an RFC 3339 time; Go's zero time counts as absent.
pub fn parse_time(field: &str, text: Option<&str>) -> Result<Option<OffsetDateTime>, String> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let t = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("invalid {field} {text:?}: {e}"))?;
    Ok((t != ZERO_TIME).then_some(t))
}

/// Fills in Alertmanager's defaults (start = now; end = now + `resolve_timeout`, marked as a
/// timeout) and applies its checks in its order.
pub fn finish(d: Draft, now: OffsetDateTime, resolve_timeout: Duration) -> Result<Alert, String> {
    let starts_at = d.starts_at.or(d.ends_at).unwrap_or(now);
    let (ends_at, timeout) = match d.ends_at {
        Some(e) => (e, false),
        None => (crate::clock::after(now, resolve_timeout), true),
    };
    if ends_at < starts_at {
        return Err("start time must be before end time".into());
    }
    if let Some((name, _)) = d.labels.iter().find(|(n, _)| !is_valid_label_name(n)) {
        return Err(format!("invalid label set: invalid name {name:?}"));
    }
    if d.labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    if let Some((name, _)) = d.annotations.iter().find(|(n, _)| !is_valid_label_name(n)) {
        return Err(format!("invalid annotations: invalid name {name:?}"));
    }
    Ok(Alert {
        fingerprint: Fingerprint::of(&d.labels),
        labels: d.labels,
        annotations: d.annotations,
        starts_at,
        ends_at,
        timeout,
        generator_url: d.generator_url,
        updated_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(labels: &[(&str, &str)]) -> Draft {
        Draft {
            labels: Labels::from_pairs(labels.iter().copied()),
            annotations: Labels::default(),
            starts_at: None,
            ends_at: None,
            generator_url: String::new(),
        }
    }

    #[test]
    fn alertmanager_wording() {
        let now = OffsetDateTime::now_utc();
        let r = Duration::from_secs(300);
        assert_eq!(
            finish(draft(&[]), now, r).unwrap_err(),
            "at least one label pair required"
        );
        assert_eq!(
            finish(draft(&[("région", "x"), ("alertname", "Z")]), now, r).unwrap_err(),
            "invalid label set: invalid name \"région\""
        );
        let mut d = draft(&[("a", "b")]);
        d.starts_at = Some(now);
        d.ends_at = Some(now - time::Duration::days(1));
        assert_eq!(
            finish(d, now, r).unwrap_err(),
            "start time must be before end time"
        );
    }

    #[test]
    fn defaults() {
        let now = OffsetDateTime::now_utc();
        let a = finish(draft(&[("a", "b")]), now, Duration::from_secs(300)).unwrap();
        assert_eq!(a.starts_at, now);
        assert_eq!(a.ends_at, now + time::Duration::minutes(5));
        assert!(a.timeout);
        assert_eq!(
            parse_time("endsAt", Some("0001-01-01T00:00:00Z")).unwrap(),
            None
        );
        assert!(parse_time("endsAt", Some("yesterday"))
            .unwrap_err()
            .contains("invalid endsAt"));
    }
}
