//! campanile's acknowledgements: `POST /api/v1/groups/ack` with
//! `{"group_key": "...", "by": "...", "comment": "..."}` acknowledges a group that has a firing
//! alert; `DELETE /api/v1/groups/ack` with `{"group_key": "..."}` (or `?group_key=`) withdraws
//! it; `GET /api/v1/groups/acks` lists them. Group keys are listed by
//! `GET /api/v2/alerts/groups` (`groupKey`) and sent in every notification (`groupKey`).

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;
use time::OffsetDateTime;

use super::Query;
use crate::ack::{firing_groups, AckError};
use crate::app::AppState;
use crate::server::{error, json, read_body, Body};

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

pub(super) async fn post(state: &AppState, req: Request<Incoming>) -> Response<Body> {
    let body = match read_body(req, state.config.server.max_body_size).await {
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
    if !firing_groups(&state.cache, &state.routes, now).contains(&request.group_key) {
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

pub(super) async fn delete(
    state: &AppState,
    req: Request<Incoming>,
    query: &Query,
) -> Response<Body> {
    let group_key = match query.one("group_key") {
        Some(key) => key.to_string(),
        None => {
            let body = match read_body(req, state.config.server.max_body_size).await {
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

pub(super) fn list(state: &AppState) -> Response<Body> {
    json(StatusCode::OK, &state.acks.list())
}

fn ack_error(e: &AckError) -> Response<Body> {
    let status = match e {
        AckError::Invalid(_) => StatusCode::BAD_REQUEST,
        AckError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    error(status, e.to_string())
}
