//! Request bodies: read whole, within `server.max_body_size` (413) and
//! `server.body_read_timeout` (408), so a client dripping a body cannot hold a request open.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::CONTENT_LENGTH;
use hyper::{Request, Response, StatusCode};

use super::respond::{closing, error, Body};
use crate::state::AppState;
use crate::telemetry::SlowClientLabels;

/// Reads the whole body, refusing with 413 past `server.max_body_size` bytes and with 408
/// (closing the connection, whose unread rest is not worth waiting for) when it has not
/// arrived within `server.body_read_timeout` of the request head.
pub(crate) async fn read_body(
    state: &AppState,
    req: Request<Incoming>,
) -> Result<Bytes, Response<Body>> {
    let config = state.config();
    let server = &config.server;
    let limit = server.max_body_size;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than the {limit}-byte limit (server.max_body_size)"),
        )
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let reading = Limited::new(req.into_body(), limit).collect();
    match tokio::time::timeout(server.body_read_timeout, reading).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("reading the request body failed: {e}"),
        )),
        Err(_elapsed) => {
            state
                .metrics
                .http_slow_clients_closed
                .get_or_create(&SlowClientLabels { phase: "body" })
                .inc();
            tracing::debug!("request body not received in time");
            Err(closing(error(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} (server.body_read_timeout)",
                    humantime::format_duration(server.body_read_timeout)
                ),
            )))
        }
    }
}
