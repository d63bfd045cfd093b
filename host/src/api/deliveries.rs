//! What became of notifications (see [`crate::deliveries`]): `GET /api/v1/groups/deliveries`
//! a group's recent deliveries, `GET /api/v1/receivers` every receiver with its type and last
//! error. Queue depths and outcome counts are in `/metrics`, the one place they are counted.

use hyper::{Response, StatusCode};
use serde::Serialize;

use super::Query;
use crate::deliveries::LastError;
use crate::http::respond::{error, json, Body};
use crate::state::AppState;

/// `GET /api/v1/groups/deliveries?group_key=...`: the group's deliveries, oldest first.
pub(crate) fn of_group(state: &AppState, query: &Query) -> Response<Body> {
    match query.one("group_key") {
        Some(key) => json(StatusCode::OK, &state.deliveries.of(key)),
        None => error(
            StatusCode::BAD_REQUEST,
            "give the group as ?group_key=... (groupKey in GET /api/v2/alerts/groups)".into(),
        ),
    }
}

#[derive(Serialize)]
struct Receiver {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    last_error: Option<LastError>,
}

/// `GET /api/v1/receivers`: the receivers in force, in configuration order.
pub(crate) fn receivers(state: &AppState) -> Response<Body> {
    let config = state.config();
    let out: Vec<Receiver> = config
        .receivers
        .iter()
        .map(|r| Receiver {
            name: r.name.clone(),
            kind: r.kind.type_name(),
            last_error: state.deliveries.last_error(&r.name),
        })
        .collect();
    json(StatusCode::OK, &out)
}
