//! `POST /api/v2/alerts`: Alertmanager's API v2 body, a JSON array of postable alerts. This is
//! what Prometheus sends to each of its `alerting.alertmanagers`.

use std::borrow::Cow;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use super::validate::{finish, parse_time, AlertError, Draft, LastUrl};
use crate::model::{Alert, Labels};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableAlert<'a> {
    /// `None` when absent or `null`: the schema requires it (422).
    #[serde(default)]
    labels: Option<Labels>,
    #[serde(default)]
    annotations: Labels,
    #[serde(borrow)]
    starts_at: Option<Str<'a>>,
    #[serde(borrow)]
    ends_at: Option<Str<'a>>,
    #[serde(rename = "generatorURL", default, borrow)]
    generator_url: Option<Str<'a>>,
}

/// A string of the body, borrowed unless it holds escapes. (serde borrows a `Cow` field only
/// when it is not inside an `Option`: this is how an optional one borrows.)
#[derive(Deserialize)]
#[serde(transparent)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

/// Decodes the body. A body that is not a JSON array is an error for the whole request; an
/// element that does not decode is an error for that element alone.
///
/// Senders nearly always send well-formed elements, so the body is first read in one pass; only
/// when that fails is it read again element by element (each kept as raw JSON, then decoded on
/// its own), so that one malformed alert does not cost the others.
pub fn decode(
    body: &[u8],
    now: OffsetDateTime,
    resolve_timeout: Duration,
) -> Result<Vec<Result<Alert, AlertError>>, String> {
    let mut urls = LastUrl::default();
    let mut accept = |p: PostableAlert<'_>| -> Result<Alert, AlertError> {
        let draft = Draft {
            labels: p.labels,
            annotations: p.annotations,
            starts_at: parse_time("startsAt", p.starts_at.as_ref().map(|t| &*t.0))?,
            ends_at: parse_time("endsAt", p.ends_at.as_ref().map(|t| &*t.0))?,
            generator_url: p.generator_url.map(|u| u.0).unwrap_or_default(),
        };
        finish(draft, now, resolve_timeout, &mut urls)
    };
    if let Ok(all) = serde_json::from_slice::<Vec<PostableAlert>>(body) {
        return Ok(all.into_iter().map(&mut accept).collect());
    }
    let items: Vec<&RawValue> = serde_json::from_slice(body)
        .map_err(|e| format!("parsing alerts body failed: expected a JSON array of alerts: {e}"))?;
    Ok(items
        .into_iter()
        .map(|raw| {
            let p: PostableAlert = serde_json::from_str(raw.get())
                .map_err(|e| AlertError::Malformed(format!("invalid alert: {e}")))?;
            accept(p)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str) -> Result<Vec<Result<Alert, AlertError>>, String> {
        decode(
            body.as_bytes(),
            OffsetDateTime::now_utc(),
            Duration::from_secs(300),
        )
    }

    #[test]
    fn mixed_batch_keeps_the_good_alerts() {
        let out = run(r#"[{"labels":{"alertname":"Good1"}},{"labels":{}},{"labels":{"alertname":7}},{"labels":{"alertname":"Good2"}}]"#).unwrap();
        assert_eq!(out.len(), 4);
        assert!(out[0].is_ok() && out[3].is_ok());
        assert_eq!(
            out[1].as_ref().unwrap_err(),
            &AlertError::Invalid("at least one label pair required".into())
        );
        assert!(
            matches!(out[2].as_ref().unwrap_err(), AlertError::Malformed(m) if m.starts_with("invalid alert:"))
        );
    }

    #[test]
    fn as_alertmanager_reads_go_clients() {
        // Nulls where Go clients send nil maps and strings; empty label values dropped before
        // the fingerprint (Alertmanager 0.25 stores {alertname="E1", empty=""} as
        // e22a9d43307139ee, the fingerprint of {alertname="E1"}).
        let out = run(r#"[{"labels":{"alertname":"E1","empty":"","gone":null},"annotations":{"a":null},"generatorURL":null},{"labels":{"alertname":"N1"},"annotations":null}]"#).unwrap();
        let e1 = out[0].as_ref().unwrap();
        assert_eq!(e1.labels.to_string(), r#"{alertname="E1"}"#);
        assert_eq!(e1.fingerprint.to_string(), "e22a9d43307139ee");
        assert_eq!(
            e1.annotations.get("a"),
            Some(""),
            "annotations keep empty values"
        );
        assert!(e1.generator_url.is_empty());
        assert!(out[1].as_ref().unwrap().annotations.is_empty());
        // Only empty values: no label left.
        let out = run(r#"[{"labels":{"alertname":""}}]"#).unwrap();
        assert_eq!(
            out[0].as_ref().unwrap_err(),
            &AlertError::Invalid("at least one label pair required".into())
        );
    }

    #[test]
    fn schema_errors_are_their_own_class() {
        let out = run(r#"[{"labels":null},{},{"labels":{"a":"b"},"generatorURL":"not a url"},{"labels":{"a":"b"},"generatorURL":"http://prom:9090/graph?g0.expr=up"}]"#).unwrap();
        let required = AlertError::Schema("labels in body is required".into());
        assert_eq!(out[0].as_ref().unwrap_err(), &required);
        assert_eq!(out[1].as_ref().unwrap_err(), &required);
        assert_eq!(
            out[2].as_ref().unwrap_err(),
            &AlertError::Schema(r#"generatorURL in body must be of type uri: "not a url""#.into())
        );
        assert!(out[3].is_ok());
    }

    #[test]
    fn strings_without_escapes_are_borrowed_from_the_body() {
        let body = r#"[{"startsAt":"2026-11-28T03:55:13Z","generatorURL":"http://prom/graph?g0.expr=up"},{"generatorURL":"http://prom/a\u0062"},{"generatorURL":null}]"#;
        let all: Vec<PostableAlert> = serde_json::from_str(body).unwrap();
        let url = |i: usize| all[i].generator_url.as_ref().map(|u| &u.0);
        assert!(matches!(
            url(0),
            Some(Cow::Borrowed("http://prom/graph?g0.expr=up"))
        ));
        assert!(matches!(
            all[0].starts_at.as_ref().map(|t| &t.0),
            Some(Cow::Borrowed(_))
        ));
        assert!(matches!(url(1), Some(Cow::Owned(u)) if u == "http://prom/ab"));
        assert!(url(2).is_none());
    }

    #[test]
    fn one_malformed_alert_costs_only_itself() {
        // The one-pass read fails on the second element; the others still land, in order.
        let out = run(r#"[{"labels":{"alertname":"A"}},{"labels":{"alertname":"B"},"startsAt":7},{"labels":{"alertname":"C"}}]"#).unwrap();
        let names: Vec<Option<&str>> = out
            .iter()
            .map(|a| a.as_ref().ok().and_then(|a| a.labels.get("alertname")))
            .collect();
        assert_eq!(names, [Some("A"), None, Some("C")]);
    }

    #[test]
    fn malformed_body_is_one_error() {
        assert!(run("{bad")
            .unwrap_err()
            .contains("parsing alerts body failed"));
        assert!(run(r#"{"labels":{}}"#).is_err());
    }

    #[test]
    fn prometheus_style_alert() {
        let out = run(r#"[{"labels":{"alertname":"Up","job":"node"},"annotations":{"summary":"s"},"startsAt":"2026-11-28T03:55:13.855621193Z","endsAt":"2099-01-01T00:00:00Z","generatorURL":"http://prom/graph"}]"#).unwrap();
        let a = out[0].as_ref().unwrap();
        assert!(!a.timeout);
        assert_eq!(a.annotations.get("summary"), Some("s"));
        assert_eq!(&*a.generator_url, "http://prom/graph");
    }
}
