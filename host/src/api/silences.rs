//! Silences in Alertmanager's API v2: `GET|POST /api/v2/silences`,
//! `GET|DELETE /api/v2/silence/{id}`, with its JSON shapes (`postableSilence`,
//! `gettableSilence`), its filter and its order, so `amtool silence` works unchanged.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{v2_error, Query};
use crate::http::body::read_body;
use crate::http::respond::{json, Body};
use crate::model::api_time;
use crate::model::Matcher;
use crate::silence::{NewSilence, Silence, SilenceError, SilenceMatcher, SilenceState};
use crate::state::AppState;

/// A posted silence as sent. Every field the API's schema requires is optional here so that
/// its absence is a 422 naming it, as Alertmanager answers, not a 400 from the JSON decoder.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    matchers: Option<Vec<PostableMatcher>>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableMatcher {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    is_regex: Option<bool>,
    #[serde(default)]
    is_equal: Option<bool>,
}

/// Why a posted silence was refused, in the classes Alertmanager answers differently.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not JSON of the API's types: 400.
    Malformed(String),
    /// Against the API's schema (a required field missing, no matchers): 422, with
    /// go-openapi's error code (602 required, 612 too few items) in the body as Alertmanager's.
    Schema { code: u16, message: String },
    /// Against Alertmanager's rules for a silence (a bad matcher): 400.
    Invalid(String),
}

impl Refused {
    fn response(self) -> Response<Body> {
        match self {
            Refused::Malformed(m) | Refused::Invalid(m) => v2_error(StatusCode::BAD_REQUEST, m),
            Refused::Schema { code, message } => schema_error(code, message),
        }
    }

    fn required(field: &str) -> Refused {
        Refused::Schema {
            code: 602,
            message: format!("{field} in body is required"),
        }
    }
}

/// go-openapi's answer to a request against the API's schema: 422 with `{code, message}`.
fn schema_error(code: u16, message: String) -> Response<Body> {
    #[derive(Serialize)]
    struct SchemaError {
        code: u16,
        message: String,
    }
    json(
        StatusCode::UNPROCESSABLE_ENTITY,
        &SchemaError { code, message },
    )
}

/// The schema's `uuid` format (go-openapi's `IsUUID`): 32 hex digits in groups of 8-4-4-4-12,
/// the hyphens between them optional.
fn is_uuid(s: &str) -> bool {
    let mut rest = s;
    for (i, len) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 {
            rest = rest.strip_prefix('-').unwrap_or(rest);
        }
        match rest.get(..len) {
            Some(group) if group.bytes().all(|b| b.is_ascii_hexdigit()) => rest = &rest[len..],
            _ => return false,
        }
    }
    rest.is_empty()
}

/// A silence ID in a path that is not a UUID: Alertmanager's 422.
fn bad_path_id(id: &str) -> Response<Body> {
    schema_error(
        601,
        format!("silenceID in path must be of type uuid: {id:?}"),
    )
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ApiMatcher {
    name: String,
    value: String,
    is_regex: bool,
    is_equal: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableSilence {
    id: String,
    status: SilenceStatus,
    #[serde(serialize_with = "api_time")]
    updated_at: OffsetDateTime,
    matchers: Vec<ApiMatcher>,
    #[serde(serialize_with = "api_time")]
    starts_at: OffsetDateTime,
    #[serde(serialize_with = "api_time")]
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
pub(crate) fn list(state: &AppState, query: &Query) -> Response<Body> {
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

pub(crate) fn get(state: &AppState, id: &str) -> Response<Body> {
    if !is_uuid(id) {
        return bad_path_id(id);
    }
    match state.silences.get(id) {
        Some(s) => json(StatusCode::OK, &gettable(&s, OffsetDateTime::now_utc())),
        None => v2_error(StatusCode::NOT_FOUND, "silence not found"),
    }
}

/// `DELETE /api/v2/silence/{id}` expires the silence. An unknown ID is a 404 (Alertmanager
/// answers 500, which reads as campanile failing; see the README's choices).
pub(crate) async fn delete(state: &AppState, id: &str) -> Response<Body> {
    if !is_uuid(id) {
        return bad_path_id(id);
    }
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
pub(crate) async fn post(state: &AppState, req: Request<Incoming>) -> Response<Body> {
    let body = match read_body(state, req).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let new = match decode(&body) {
        Ok(new) => new,
        Err(refused) => return refused.response(),
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

/// Reads a posted silence: its JSON, the fields the schema requires in the order
/// Alertmanager checks them (comment, createdBy, endsAt, matchers — each one's isRegex, name,
/// value —, startsAt), then each matcher checked and compiled. The silence as a whole (its
/// times, its matchers together) is checked by [`Silences::set`].
///
/// [`Silences::set`]: crate::silence::Silences::set
pub(crate) fn decode(body: &[u8]) -> Result<NewSilence, Refused> {
    let posted: PostableSilence = serde_json::from_slice(body)
        .map_err(|e| Refused::Malformed(format!("invalid silence: {e}")))?;
    let comment = posted.comment.ok_or_else(|| Refused::required("comment"))?;
    let created_by = posted
        .created_by
        .ok_or_else(|| Refused::required("createdBy"))?;
    let ends_at = posted.ends_at.ok_or_else(|| Refused::required("endsAt"))?;
    let posted_matchers = posted
        .matchers
        .ok_or_else(|| Refused::required("matchers"))?;
    if posted_matchers.is_empty() {
        return Err(Refused::Schema {
            code: 612,
            message: "matchers in body should have at least 1 items".into(),
        });
    }
    let mut required = Vec::with_capacity(posted_matchers.len());
    for (i, m) in posted_matchers.into_iter().enumerate() {
        let field = |f: &str| format!("matchers.{i}.{f}");
        let is_regex = m
            .is_regex
            .ok_or_else(|| Refused::required(&field("isRegex")))?;
        let name = m.name.ok_or_else(|| Refused::required(&field("name")))?;
        let value = m.value.ok_or_else(|| Refused::required(&field("value")))?;
        required.push((name, value, is_regex, m.is_equal.unwrap_or(true)));
    }
    let starts_at = posted
        .starts_at
        .ok_or_else(|| Refused::required("startsAt"))?;
    let time = |field: &str, text: &str| {
        OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| Refused::Malformed(format!("invalid silence: {field} {text:?}: {e}")))
    };
    let (starts_at, ends_at) = (time("startsAt", &starts_at)?, time("endsAt", &ends_at)?);
    let matchers = required
        .iter()
        .map(|(name, value, is_regex, is_equal)| {
            SilenceMatcher::new(name, value, *is_regex, *is_equal)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Refused::Invalid(e.to_string()))?;
    Ok(NewSilence {
        id: posted.id.filter(|id| !id.is_empty()),
        matchers,
        starts_at,
        ends_at,
        created_by,
        comment,
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

    fn message(r: Refused) -> String {
        match r {
            Refused::Malformed(m) | Refused::Invalid(m) => m,
            Refused::Schema { message, .. } => message,
        }
    }

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
        assert!(
            matches!(decode(b"{bad"), Err(Refused::Malformed(m)) if m.starts_with("invalid silence: "))
        );
        let bad_regex = decode(body(r#"{"name":"a","value":"(","isRegex":true}"#).as_bytes());
        assert!(
            matches!(bad_regex, Err(Refused::Invalid(m)) if m.starts_with("silence invalid: invalid regular expression"))
        );
        let bad_name = decode(body(r#"{"name":"1a","value":"x","isRegex":false}"#).as_bytes());
        assert!(message(bad_name.unwrap_err()).contains("invalid label name"));
    }

    #[test]
    fn decode_answers_schema_errors_as_alertmanager() {
        // Alertmanager 0.25's 422 messages, in its order of checks.
        let cases = [
            (
                r#"{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"2026-06-01T12:00:00Z","endsAt":"2026-06-01T14:00:00Z"}"#,
                602,
                "comment in body is required",
            ),
            (
                r#"{"comment":null,"createdBy":"ops"}"#,
                602,
                "comment in body is required",
            ),
            (r#"{"comment":"c"}"#, 602, "createdBy in body is required"),
            (
                r#"{"comment":"c","createdBy":"o"}"#,
                602,
                "endsAt in body is required",
            ),
            (
                r#"{"comment":"c","createdBy":"o","endsAt":"2026-06-01T14:00:00Z"}"#,
                602,
                "matchers in body is required",
            ),
            (
                r#"{"comment":"c","createdBy":"o","endsAt":"2026-06-01T14:00:00Z","matchers":[]}"#,
                612,
                "matchers in body should have at least 1 items",
            ),
            (
                r#"{"comment":"c","createdBy":"o","endsAt":"2026-06-01T14:00:00Z","matchers":[{"name":"a","value":"b"}]}"#,
                602,
                "matchers.0.isRegex in body is required",
            ),
            (
                r#"{"comment":"c","createdBy":"o","endsAt":"2026-06-01T14:00:00Z","matchers":[{"name":"a","value":"b","isRegex":true},{"isRegex":false,"value":"x"}]}"#,
                602,
                "matchers.1.name in body is required",
            ),
            (
                r#"{"comment":"c","createdBy":"o","endsAt":"2026-06-01T14:00:00Z","matchers":[{"name":"a","value":"b","isRegex":true}]}"#,
                602,
                "startsAt in body is required",
            ),
        ];
        for (body, want_code, want) in cases {
            match decode(body.as_bytes()) {
                Err(Refused::Schema { code, message }) => {
                    assert_eq!((code, message.as_str()), (want_code, want), "{body}")
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        // An empty comment or author is not missing.
        let empty = r#"{"comment":"","createdBy":"","endsAt":"2026-06-01T14:00:00Z","startsAt":"2026-06-01T12:00:00Z","matchers":[{"name":"a","value":"b","isRegex":false}]}"#;
        assert!(decode(empty.as_bytes()).is_ok());
    }

    #[test]
    fn silence_ids_in_paths_are_uuids() {
        for id in [
            "6c7e8a4e-6a7e-4d4b-9a3b-1c2d3e4f5a6b",
            "6C7E8A4E6A7E4D4B9A3B1C2D3E4F5A6B",
            "6c7e8a4e6a7e-4d4b-9a3b1c2d3e4f5a6b",
        ] {
            assert!(is_uuid(id), "{id}");
        }
        for id in [
            "",
            "not-a-uuid",
            "6c7e8a4e-6a7e-4d4b-9a3b-1c2d3e4f5a6",
            "6c7e8a4e--6a7e-4d4b-9a3b-1c2d3e4f5a6b",
            "6c7e8a4e-6a7e-4d4b-9a3b-1c2d3e4f5a6bb",
            "g c7e8a4e-6a7e-4d4b-9a3b-1c2d3e4f5a6b",
        ] {
            assert!(!is_uuid(id), "{id}");
        }
    }
}
