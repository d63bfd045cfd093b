//! The HTTP server: one listener, a small router, and the conversion of handler results into
//! responses. Every request is authenticated first (`api::auth`); ingest (data plane) and the
//! operator API (`api`) are handled by their own modules.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde::Serialize;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::api;
use crate::app::AppState;
use crate::ingest::{self, IngestError};

pub type Body = Full<Bytes>;

/// Serves until `shutdown` is cancelled, then lets open requests finish.
pub async fn serve(listener: TcpListener, state: Arc<AppState>, shutdown: CancellationToken) {
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let state = state.clone();
        let service = service_fn(move |req| {
            let state = state.clone();
            async move { Ok::<_, Infallible>(handle(&state, req).await) }
        });
        let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
}

async fn handle(state: &AppState, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let span = tracing::debug_span!("request", %method, %path);
    async move {
        if let Some(refused) =
            api::auth::refusal(&state.config.server, &method, &path, req.headers())
        {
            return refused;
        }
        let req = match api::handle(state, req).await {
            Ok(response) => return response,
            Err(req) => req,
        };
        match (&method, path.as_str()) {
            (&Method::POST, "/api/v2/alerts") => {
                ingest_endpoint(
                    state,
                    req,
                    "api_v2",
                    ingest::api_v2::decode,
                    state.config.ingest.resolve_timeout,
                )
                .await
            }
            (&Method::POST, "/api/v1/alertmanager") => {
                ingest_endpoint(
                    state,
                    req,
                    "webhook_v4",
                    ingest::webhook_v4::decode,
                    state.config.ingest.webhook_resolve_timeout,
                )
                .await
            }
            (&Method::GET, "/-/healthy" | "/-/ready") => match state.supervisor.failed() {
                None => text(StatusCode::OK, "OK\n"),
                Some(task) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("{task} has died; campanile is stopping\n"),
                ),
            },
            (&Method::GET, "/metrics") => {
                let mut r = text(StatusCode::OK, state.metrics.encode());
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8"
                        .parse()
                        .expect("static header"),
                );
                r
            }
            (
                _,
                "/api/v2/alerts" | "/api/v1/alertmanager" | "/-/healthy" | "/-/ready" | "/metrics",
            ) => error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("method {method} is not allowed on {path}"),
            ),
            _ => error(StatusCode::NOT_FOUND, format!("no endpoint {path}")),
        }
    }
    .instrument(span)
    .await
}

type Decoder = fn(
    &[u8],
    OffsetDateTime,
    std::time::Duration,
) -> Result<Vec<Result<crate::model::Alert, String>>, String>;

async fn ingest_endpoint(
    state: &AppState,
    req: Request<Incoming>,
    endpoint: &'static str,
    decode: Decoder,
    resolve_timeout: std::time::Duration,
) -> Response<Body> {
    let body = match read_body(req, state.config.server.max_body_size).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let alerts = match decode(&body, OffsetDateTime::now_utc(), resolve_timeout) {
        Ok(a) => a,
        Err(e) => return ingest_error(&IngestError::BadRequest(e)),
    };
    match state.ingestor.admit(endpoint, alerts).await {
        Err(e) => ingest_error(&e),
        Ok(outcome) if outcome.rejected == 0 => json(StatusCode::OK, &outcome),
        Ok(outcome) => {
            let status = if outcome.full {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::BAD_REQUEST
            };
            let summary = outcome
                .errors
                .iter()
                .map(|r| format!("alert {}: {}", r.index, r.error))
                .collect::<Vec<_>>()
                .join("; ");
            tracing::info!(
                endpoint,
                accepted = outcome.accepted,
                rejected = outcome.rejected,
                "alerts rejected: {summary}"
            );
            #[derive(Serialize)]
            struct WithError<'a> {
                error: String,
                #[serde(flatten)]
                outcome: &'a ingest::Outcome,
            }
            json(
                status,
                &WithError {
                    error: summary,
                    outcome: &outcome,
                },
            )
        }
    }
}

fn ingest_error(e: &IngestError) -> Response<Body> {
    let status = match e {
        IngestError::BadRequest(_) => StatusCode::BAD_REQUEST,
        IngestError::QueueFull(_) => StatusCode::TOO_MANY_REQUESTS,
        IngestError::ShuttingDown | IngestError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        IngestError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.to_string())
}

/// Reads the whole body, refusing with 413 past `limit` bytes.
pub(crate) async fn read_body(
    req: Request<Incoming>,
    limit: usize,
) -> Result<Bytes, Response<Body>> {
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
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("reading the request body failed: {e}"),
        )),
    }
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let body = serde_json::to_vec(value).expect("response serialises");
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        "application/json".parse().expect("static header"),
    );
    r
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        "text/plain; charset=utf-8".parse().expect("static header"),
    );
    r
}

/// An HTML page (the acknowledgement link pages), never cached.
pub fn html(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let headers = r.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        "text/html; charset=utf-8".parse().expect("static header"),
    );
    headers.insert(
        hyper::header::CACHE_CONTROL,
        "no-store".parse().expect("static header"),
    );
    r
}

/// An error response: `{"error": "..."}`.
pub fn error(status: StatusCode, message: String) -> Response<Body> {
    #[derive(Serialize)]
    struct ErrorBody {
        error: String,
    }
    json(status, &ErrorBody { error: message })
}
