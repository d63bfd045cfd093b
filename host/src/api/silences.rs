//! Silences in Alertmanager's API v2: `GET|POST /api/v2/silences`,
//! `GET|DELETE /api/v2/silence/{id}`, with its JSON shapes (`postableSilence`,
//! `gettableSilence`), its filter and its order, so `amtool silence` works unchanged.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{v2_error, Query};
use crate::app::AppState;
use crate::notify::payload::go_time;
use crate::route::Matcher;
use crate::server::{json, read_body, Body};
use crate::silence::{NewSilence, Silence, SilenceError, SilenceMatcher, SilenceState};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiMatcher {
    name: String,
    value: String,
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: Option<String>,
    matchers: Vec<ApiMatcher>,
    #[serde(with = "time::serde::rfc3339")]
    starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    ends_at: OffsetDateTime,
    created_by: String,
    comment: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableSilence {
    id: String,
    status: SilenceStatus,
    #[serde(serialize_with = "go_time")]
    updated_at: OffsetDateTime,
    matchers: Vec<ApiMatcher>,
    #[serde(serialize_with = "go_time")]
    starts_at: OffsetDateTime,
    #[serde(serialize_with = "go_time")]
    ends_at: OffsetDateTime,
    created_by: String,
    comment: String,
}

#[derive(Serialize)]
struct SilenceStatus {
    state: &'static str,
}

#[derive(Serialize)]
struct PostResponse {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

fn gettable(s: &Silence, now: OffsetDateTime) -> GettableSilence {
    GettableSilence {
        id: s.id.clone(),
        status: SilenceStatus {
            state: s.state_at(now).as_str(),
        },
        updated_at: s.updated_at,
        matchers: s
            .matchers
            .iter()
            .map(|m| ApiMatcher {
                name: m.name().to_string(),
                value: m.value().to_string(),
                is_regex: m.is_regex(),
                is_equal: m.is_equal(),
            })
            .collect(),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        created_by: s.created_by.clone(),
        comment: s.comment.clone(),
    }
}

/// Alertmanager's `CheckSilenceMatchesFilterLabels`: every filter matcher must be one of the
/// silence's matchers (same name, operator and value).
fn matches_filter(s: &Silence, filter: &[Matcher]) -> bool {
    filter.iter().all(|f| {
        s.matchers
            .iter()
            .any(|m| m.name() == f.name && m.op() == f.op && m.value() == f.value)
    })
}

/// `GET /api/v2/silences`: active ones first (soonest to end first), then pending (soonest to
/// start first), then expired (most recently ended first).
pub(super) fn list(state: &AppState, query: &Query) -> Response<Body> {
    let filter = match query.matchers() {
        Ok(f) => f,
        Err(e) => return v2_error(StatusCode::BAD_REQUEST, e),
    };
    let now = OffsetDateTime::now_utc();
    let mut silences: Vec<Silence> = state
        .silences
        .list()
        .into_iter()
        .filter(|s| matches_filter(s, &filter))
        .collect();
    silences.sort_by(|a, b| {
        let (sa, sb) = (a.state_at(now), b.state_at(now));
        sa.cmp(&sb).then_with(|| match sa {
            SilenceState::Active => a.ends_at.cmp(&b.ends_at),
            SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
            SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
        })
    });
    let out: Vec<GettableSilence> = silences.iter().map(|s| gettable(s, now)).collect();
    json(StatusCode::OK, &out)
}

pub(super) fn get(state: &AppState, id: &str) -> Response<Body> {
    match state.silences.get(id) {
        Some(s) => json(StatusCode::OK, &gettable(&s, OffsetDateTime::now_utc())),
        None => v2_error(StatusCode::NOT_FOUND, "silence not found"),
    }
}

/// `DELETE /api/v2/silence/{id}` expires the silence.
pub(super) async fn delete(state: &AppState, id: &str) -> Response<Body> {
    match state.silences.expire(id, OffsetDateTime::now_utc()).await {
        Ok(()) => {
            tracing::info!(silence = %id, "silence expired");
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::OK;
            r
        }
        Err(e) => silence_error(&e),
    }
}

/// `POST /api/v2/silences` creates a silence, or updates the one its `id` names.
pub(super) async fn post(state: &AppState, req: Request<Incoming>) -> Response<Body> {
    let body = match read_body(state, req).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let new = match decode(&body) {
        Ok(new) => new,
        Err(message) => return v2_error(StatusCode::BAD_REQUEST, message),
    };
    let created_by = new.created_by.clone();
    match state.silences.set(new, OffsetDateTime::now_utc()).await {
        Ok(id) => {
            tracing::info!(silence = %id, created_by = %created_by, "silence set");
            json(StatusCode::OK, &PostResponse { silence_id: id })
        }
        Err(e) => silence_error(&e),
    }
}

/// Reads a posted silence: its JSON, then each matcher checked and compiled. The silence as a
/// whole (its times, its matchers together) is checked by [`Silences::set`].
///
/// [`Silences::set`]: crate::silence::Silences::set
/// Every error is the client's: its message goes in a 400.
pub(crate) fn decode(body: &[u8]) -> Result<NewSilence, String> {
    let posted: PostableSilence =
        serde_json::from_slice(body).map_err(|e| format!("invalid silence: {e}"))?;
    let matchers = posted
        .matchers
        .iter()
        .map(|m| SilenceMatcher::new(&m.name, &m.value, m.is_regex, m.is_equal))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    Ok(NewSilence {
        id: posted.id.filter(|id| !id.is_empty()),
        matchers,
        starts_at: posted.starts_at,
        ends_at: posted.ends_at,
        created_by: posted.created_by,
        comment: posted.comment,
    })
}

fn silence_error(e: &SilenceError) -> Response<Body> {
    let status = match e {
        SilenceError::NotFound => StatusCode::NOT_FOUND,
        SilenceError::Invalid(_) => StatusCode::BAD_REQUEST,
        SilenceError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    v2_error(status, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_refuses_bad_json_and_bad_matchers_with_the_api_wording() {
        let body = |matcher: &str| {
            format!(
                r#"{{"matchers":[{matcher}],"startsAt":"2026-06-01T12:00:00Z","endsAt":"2026-06-01T14:00:00Z","createdBy":"ops","comment":"c"}}"#
            )
        };
        let ok =
            decode(body(r#"{"name":"team","value":"db|web","isRegex":true}"#).as_bytes()).unwrap();
        assert!(ok.matchers[0].is_regex() && ok.matchers[0].is_equal());
        assert!(ok.id.is_none());
        assert!(decode(b"{bad")
            .unwrap_err()
            .starts_with("invalid silence: "));
        let bad_regex = decode(body(r#"{"name":"a","value":"(","isRegex":true}"#).as_bytes());
        assert!(bad_regex
            .unwrap_err()
            .starts_with("silence invalid: invalid regular expression"));
        let bad_name = decode(body(r#"{"name":"1a","value":"x","isRegex":false}"#).as_bytes());
        assert!(bad_name.unwrap_err().contains("invalid label name"));
    }
}
