//! campanile's acknowledgements: `POST /api/v1/groups/ack` with
//! `{"group_key": "...", "by": "...", "comment": "..."}` acknowledges a group that has a firing
//! alert; `DELETE /api/v1/groups/ack` with `{"group_key": "..."}` (or `?group_key=`) withdraws
//! it; `GET /api/v1/groups/acks` lists them. Group keys are listed by
//! `GET /api/v2/alerts/groups` (`groupKey`) and sent in every notification (`groupKey`).
//!
//! Signed links (`/ack/<token>`, see [`crate::ack::link`]): `GET` answers a small page naming
//! the group with a button, and acknowledges nothing (link previewers fetch it); `POST`, with
//! an optional `comment` form field, acknowledges the group as `by = "link"`. A token that is
//! tampered with, signed with another key or expired gets 403.

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;
use time::OffsetDateTime;

use super::Query;
use crate::ack::AckError;
use crate::http::body::read_body;
use crate::http::respond::{error, html, json, Body};
use crate::notify::render::escape_html;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckRequest {
    group_key: String,
    by: String,
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnackRequest {
    group_key: String,
}

pub(crate) async fn post(state: &AppState, req: Request<Incoming>) -> Response<Body> {
    let body = match read_body(state, req).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let request: AckRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("invalid acknowledgement: {e}"),
            )
        }
    };
    let now = OffsetDateTime::now_utc();
    let fires = match state.firing.fires(&request.group_key, now).await {
        Ok(fires) => fires,
        Err(gone) => return error(StatusCode::SERVICE_UNAVAILABLE, gone.to_string()),
    };
    if !fires {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no group {:?} with a firing alert (see groupKey in GET /api/v2/alerts/groups)",
                request.group_key
            ),
        );
    }
    match state
        .acks
        .ack(&request.group_key, &request.by, &request.comment, now)
        .await
    {
        Ok(ack) => {
            tracing::info!(group_key = %ack.group_key, by = %ack.by, "group acknowledged");
            json(StatusCode::OK, &ack)
        }
        Err(e) => ack_error(&e),
    }
}

pub(crate) async fn delete(
    state: &AppState,
    req: Request<Incoming>,
    query: &Query,
) -> Response<Body> {
    let group_key = match query.one("group_key") {
        Some(key) => key.to_string(),
        None => {
            let body = match read_body(state, req).await {
                Ok(b) => b,
                Err(resp) => return resp,
            };
            match serde_json::from_slice::<UnackRequest>(&body) {
                Ok(r) => r.group_key,
                Err(e) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("expected {{\"group_key\": \"...\"}} or ?group_key=: {e}"),
                    )
                }
            }
        }
    };
    match state.acks.unack(&group_key).await {
        Ok(Some(ack)) => {
            tracing::info!(group_key = %ack.group_key, "acknowledgement withdrawn");
            json(StatusCode::OK, &ack)
        }
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("group {group_key:?} is not acknowledged"),
        ),
        Err(e) => ack_error(&e),
    }
}

pub(crate) fn list(state: &AppState) -> Response<Body> {
    json(StatusCode::OK, &state.acks.list())
}

fn ack_error(e: &AckError) -> Response<Body> {
    let status = match e {
        AckError::Invalid(_) => StatusCode::BAD_REQUEST,
        AckError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    error(status, e.to_string())
}

/// `GET /ack/<token>`: what the link acknowledges, and a button that does it.
pub(crate) async fn link_page(state: &AppState, token: &str) -> Response<Body> {
    let group_key = match verify_link(state, token) {
        Ok(k) => k,
        Err(refused) => return *refused,
    };
    let now = OffsetDateTime::now_utc();
    let mut body = format!(
        "<p>Alert group <code>{}</code></p>\n",
        escape_html(&group_key)
    );
    if let Some(ack) = state.acks.get(&group_key) {
        body.push_str(&format!(
            "<p>Already acknowledged by {} at {}.</p>\n",
            escape_html(&ack.by),
            ack.at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        ));
    }
    if !state.firing.fires(&group_key, now).await.unwrap_or(false) {
        body.push_str(
            "<p>This group has no firing alert any more: there is nothing to acknowledge.</p>\n",
        );
        return html(StatusCode::OK, page("Acknowledge alert group", &body));
    }
    body.push_str(concat!(
        "<form method=\"post\">\n",
        "<p><label>Comment (optional) <input name=\"comment\" size=\"40\"></label></p>\n",
        "<p><button type=\"submit\">Acknowledge</button></p>\n",
        "</form>\n"
    ));
    html(StatusCode::OK, page("Acknowledge alert group", &body))
}

/// `POST /ack/<token>`: acknowledges the group the token names, `by = "link"`.
pub(crate) async fn link_post(
    state: &AppState,
    token: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    let group_key = match verify_link(state, token) {
        Ok(k) => k,
        Err(refused) => return *refused,
    };
    let form = match read_body(state, req).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let comment = form_urlencoded::parse(&form)
        .find(|(k, _)| k == "comment")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let fires = match state.firing.fires(&group_key, now).await {
        Ok(fires) => fires,
        Err(gone) => return error(StatusCode::SERVICE_UNAVAILABLE, gone.to_string()),
    };
    if !fires {
        return html(
            StatusCode::NOT_FOUND,
            page(
                "Not acknowledged",
                &format!(
                    "<p>Alert group <code>{}</code> has no firing alert any more.</p>\n",
                    escape_html(&group_key)
                ),
            ),
        );
    }
    match state.acks.ack(&group_key, "link", &comment, now).await {
        Ok(ack) => {
            tracing::info!(group_key = %ack.group_key, by = %ack.by, "group acknowledged by link");
            html(
                StatusCode::OK,
                page(
                    "Acknowledged",
                    &format!(
                        "<p>Alert group <code>{}</code> is acknowledged.</p>\n",
                        escape_html(&group_key)
                    ),
                ),
            )
        }
        Err(e) => ack_error(&e),
    }
}

/// The group key of a valid link, or the page refusing it.
fn verify_link(state: &AppState, token: &str) -> Result<String, Box<Response<Body>>> {
    let Some(links) = state.ack_links() else {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            "acknowledgement links are not enabled ([acks] signing_key)".into(),
        )));
    };
    links.verify(token, OffsetDateTime::now_utc()).map_err(|e| {
        tracing::info!(error = %e, "acknowledgement link refused");
        Box::new(html(
            StatusCode::FORBIDDEN,
            page(
                "Link refused",
                &format!("<p>{}</p>\n", escape_html(&e.to_string())),
            ),
        ))
    })
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\"><title>{0} – campanile</title></head>\n<body style=\"font-family: sans-serif\">\n<h1>{0}</h1>\n{body}</body></html>\n",
        escape_html(title)
    )
}
