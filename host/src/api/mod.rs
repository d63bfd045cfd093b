//! The operator API, apart from the ingest data plane: Alertmanager's API v2 for what operators
//! and `amtool` use (status, receivers, alerts, alert groups, silences), and campanile's own
//! acknowledgements (by API, or by the signed links notifications carry, `/ack/<token>`). Each
//! concern is one module; `server::table` lists their endpoints and `server::routes` calls
//! them.
//!
//! Errors under `/api/v2/` are JSON strings, as Alertmanager answers them (its clients decode
//! them as such); campanile's own endpoints answer `{"error": "..."}` like the rest of the
//! server.

pub(crate) mod acks;
pub(crate) mod alerts;
pub mod auth;
pub(crate) mod deliveries;
pub(crate) mod groups;
pub(crate) mod plugins;
pub(crate) mod routes;
pub(crate) mod silences;
pub(crate) mod status;

use hyper::{Response, StatusCode};

use crate::http::respond::{error, json, Body};
use crate::model::Matcher;
use crate::state::AppState;

/// `GET /api/v1/groups/decisions?group_key=...`: the group's recent routing decisions, oldest
/// first (see [`crate::decisions`]).
pub(crate) fn decisions(state: &AppState, query: &Query) -> Response<Body> {
    match query.one("group_key") {
        Some(key) => json(StatusCode::OK, &state.decisions.of(key)),
        None => error(
            StatusCode::BAD_REQUEST,
            "give the group as ?group_key=... (groupKey in GET /api/v2/alerts/groups)".into(),
        ),
    }
}

/// `POST /-/reload`: reloads the whole configuration, as SIGHUP does (see [`crate::reload`]).
/// 200 with what changed; when anything in it is wrong, 500 as Alertmanager answers a failed
/// reload, with `error` (every problem, one per line) and `errors` (each on its own), and the
/// running configuration unchanged.
pub(crate) async fn reload(state: &AppState) -> Response<Body> {
    match state.reloader.reload("api").await {
        Ok(report) => json(StatusCode::OK, &report),
        Err(e) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &serde_json::json!({
                "error": format!("reload refused, the running configuration keeps routing: {e}"),
                "errors": e.errors(),
            }),
        ),
    }
}

/// An error as Alertmanager's API v2 answers it: the message as a JSON string.
fn v2_error(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    json(status, &message.into())
}

/// The query string, decoded.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(query: Option<&str>) -> Query {
        Query(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean parameter (`true`/`false`), `default` when absent.
    fn flag(&self, name: &str, default: bool) -> Result<bool, String> {
        match self.one(name) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(format!("{name}: expected true or false, got {other:?}")),
        }
    }

    /// The `filter` parameters, each one label matcher.
    fn matchers(&self) -> Result<Vec<Matcher>, String> {
        self.all("filter")
            .map(|m| Matcher::parse(m).map_err(|e| e.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_like_go_clients_send_them() {
        let q = Query::parse(Some(
            "active=true&silenced=false&filter=alertname%3D%22Disk%20Full%22&filter=team%3Ddb",
        ));
        assert_eq!(q.flag("active", false), Ok(true));
        assert_eq!(q.flag("silenced", true), Ok(false));
        assert_eq!(q.flag("inhibited", true), Ok(true));
        assert!(q.flag("x", true).is_ok());
        let m = q.matchers().unwrap();
        assert_eq!(m[0].value, "Disk Full");
        assert_eq!(m[1].name, "team");
        assert!(Query::parse(Some("active=yes"))
            .flag("active", true)
            .is_err());
    }
}
