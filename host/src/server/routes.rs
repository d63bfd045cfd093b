//! The router: every request is authenticated first (`api::auth`), then looked up in the one
//! table of endpoints (`table`) and served by the operator API (`api`), ingest (the data
//! plane), or the probes and metrics here; 404 and 405 come from the table.

use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use time::OffsetDateTime;
use tracing::Instrument;

use crate::api;
use crate::http::body::read_body;
use crate::http::respond::{closing, error, json, text, Body};
use crate::http::table::{self, Endpoint, Lookup};
use crate::ingest::{self, IngestError};
use crate::state::AppState;

/// The health probes, open to everyone, and kept serving past the connection cap. They tell
/// the truth: 503 once a long-lived task has died (see `supervise`).
fn probe(state: &AppState, method: &Method, path: &str) -> Option<Response<Body>> {
    probe_of(state, &table::lookup(method, path))
}

/// The answer to a request the table found, if it is a probe.
fn probe_of(state: &AppState, found: &Lookup) -> Option<Response<Body>> {
    match found {
        Lookup::Found(Endpoint::Healthy, _) => Some(health(state)),
        Lookup::Found(Endpoint::Ready, _) => Some(ready(state)),
        _ => None,
    }
}

fn health(state: &AppState) -> Response<Body> {
    match state.supervisor.failed() {
        None => text(StatusCode::OK, "OK\n"),
        Some(task) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{task} has died; campanile is stopping\n"),
        ),
    }
}

/// Healthy, and in a cluster able to reach the database: a replica that cannot still pages for
/// the shards it held, but should get no traffic a healthy one could take (it cannot store
/// alerts).
fn ready(state: &AppState) -> Response<Body> {
    match &state.cluster {
        Some(leases) if state.supervisor.failed().is_none() && leases.degraded() => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unreachable; this replica pages from memory for the shards it held\n",
        ),
        _ => health(state),
    }
}

/// A connection in the reserve past `server.max_connections`: probes are answered, anything
/// else gets 503, and the connection is closed after either.
pub(super) fn probes_only(state: &AppState, req: &Request<Incoming>) -> Response<Body> {
    let answer = probe(state, req.method(), req.uri().path()).unwrap_or_else(|| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "campanile is serving as many connections as it may (server.max_connections = {}); \
                 only /-/healthy and /-/ready are answered until some close, retry later",
                state.config().server.max_connections
            ),
        )
    });
    closing(answer)
}

pub(super) async fn handle(state: &AppState, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let span = tracing::debug_span!("request", %method, %path);
    async move {
        let found = table::lookup(&method, &path);
        if let Some(answer) = probe_of(state, &found) {
            return answer;
        }
        if let Some(refused) =
            api::auth::refusal(&state.config().server, &method, &path, req.headers())
        {
            return refused;
        }
        match found {
            Lookup::Found(endpoint, arg) => serve(state, endpoint, arg, req).await,
            Lookup::WrongMethod(allowed) => {
                let allow = allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut r = error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("method {method} is not allowed on {path} (allowed: {allow})"),
                );
                if let Ok(value) = allow.parse() {
                    r.headers_mut().insert(ALLOW, value);
                }
                r
            }
            Lookup::NotFound => error(StatusCode::NOT_FOUND, format!("no endpoint {path}")),
        }
    }
    .instrument(span)
    .await
}

/// Calls the endpoint's handler; `arg` is what its path carries (a silence ID, a link token).
async fn serve(
    state: &AppState,
    endpoint: Endpoint,
    arg: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    use api::{acks, alerts, groups, silences, status};
    let query = || api::Query::parse(req.uri().query());
    match endpoint {
        Endpoint::Healthy => health(state),
        Endpoint::Ready => ready(state),
        Endpoint::Metrics => {
            let mut r = text(StatusCode::OK, state.metrics.encode());
            r.headers_mut().insert(
                CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
                    .parse()
                    .expect("static header"),
            );
            r
        }
        Endpoint::PostAlerts => {
            let timeout = state.config().ingest.resolve_timeout;
            ingest_endpoint(state, req, "api_v2", ingest::api_v2::decode, timeout).await
        }
        Endpoint::PostWebhook => {
            let timeout = state.config().ingest.webhook_resolve_timeout;
            ingest_endpoint(
                state,
                req,
                "webhook_v4",
                ingest::webhook_v4::decode,
                timeout,
            )
            .await
        }
        Endpoint::Status => status::status(state),
        Endpoint::Receivers => status::receivers(state),
        Endpoint::GetAlerts => alerts::get(state, &query()),
        Endpoint::GetGroups => groups::get(state, &query()),
        Endpoint::ListSilences => silences::list(state, &query()),
        Endpoint::PostSilence => silences::post(state, req).await,
        Endpoint::GetSilence => silences::get(state, arg),
        Endpoint::DeleteSilence => silences::delete(state, arg).await,
        Endpoint::PostAck => acks::post(state, req).await,
        Endpoint::DeleteAck => {
            let q = query();
            acks::delete(state, req, &q).await
        }
        Endpoint::ListAcks => acks::list(state),
        Endpoint::Decisions => api::decisions(state, &query()),
        Endpoint::Deliveries => api::deliveries::of_group(state, &query()),
        Endpoint::ReceiverStates => api::deliveries::receivers(state),
        Endpoint::Plugins => api::plugins::list(state),
        Endpoint::Routes => api::routes::get(state),
        Endpoint::Reload => api::reload(state).await,
        Endpoint::ShowAckLink => acks::link_page(state, arg).await,
        Endpoint::PostAckLink => acks::link_post(state, arg, req).await,
        Endpoint::ConsolePage => crate::console::index(req.headers()),
        Endpoint::ConsoleAsset => crate::console::asset(arg, req.headers()),
    }
}

type Decoder = fn(
    &[u8],
    OffsetDateTime,
    std::time::Duration,
) -> Result<Vec<Result<crate::model::Alert, ingest::AlertError>>, String>;

async fn ingest_endpoint(
    state: &AppState,
    req: Request<Incoming>,
    endpoint: &'static str,
    decode: Decoder,
    resolve_timeout: std::time::Duration,
) -> Response<Body> {
    let body = match read_body(state, req).await {
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
            // Alertmanager's codes: 422 when the worst is a schema error, else 400.
            let status = match outcome.worst {
                _ if outcome.full => StatusCode::TOO_MANY_REQUESTS,
                Some(ingest::Invalidity::Schema) => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::BAD_REQUEST,
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
