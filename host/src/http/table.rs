//! Every endpoint campanile serves, in one table: the router dispatches from it, and a path it
//! knows with another method is a 405 naming the methods it takes, a path it does not know a
//! 404 — both follow from the table, so an endpoint cannot be routed without also answering
//! a wrong method correctly. Authentication asks the table what a request does.

use hyper::Method;

use crate::ack::link::PATH as LINK;

/// One endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Healthy,
    Ready,
    Metrics,
    /// `POST /api/v2/alerts` (Prometheus).
    PostAlerts,
    /// `POST /api/v1/alertmanager` (an Alertmanager's webhook).
    PostWebhook,
    Status,
    Receivers,
    GetAlerts,
    GetGroups,
    ListSilences,
    PostSilence,
    /// `GET /api/v2/silence/{id}`.
    GetSilence,
    /// `DELETE /api/v2/silence/{id}`.
    DeleteSilence,
    PostAck,
    DeleteAck,
    ListAcks,
    Decisions,
    /// `GET /api/v1/groups/deliveries`: a group's recent notifications and their outcomes.
    Deliveries,
    /// `GET /api/v1/receivers`: the receivers with their types and last errors.
    ReceiverStates,
    /// `GET /api/v1/plugins`: the routing plugins in force, with their versions.
    Plugins,
    /// `GET /api/v1/routes`: the routing tree in force.
    Routes,
    Reload,
    /// `GET`/`HEAD /ack/{token}`: the page of a signed acknowledgement link.
    ShowAckLink,
    /// `POST /ack/{token}`: acknowledges through a signed link.
    PostAckLink,
    /// `GET /`: the web console's page.
    ConsolePage,
    /// `GET /console/{file}`: the console's scripts, styles and icon.
    ConsoleAsset,
}

/// What a request does, for authentication.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    /// Health probes: always open.
    Probe,
    /// Acknowledgement links' two routes: the signed token in the path is the authorization
    /// (checked by the handler), as the people who open them have no API token.
    Signed,
    /// The web console's page and files: open, as they hold no data (what the page then asks
    /// of the API is a read or a write like any other).
    Console,
    Read,
    Write,
}

/// How a path is matched.
enum Path {
    Exact(&'static str),
    /// The prefix, then anything (the rest is the endpoint's argument).
    Under(&'static str),
    /// The prefix, then one non-empty segment without `/`.
    Segment(&'static str),
}

impl Path {
    /// The argument the path carries (empty for an exact path), if it matches.
    fn matches<'a>(&self, path: &'a str) -> Option<&'a str> {
        match *self {
            Path::Exact(p) => (path == p).then_some(""),
            Path::Under(prefix) => path.strip_prefix(prefix),
            Path::Segment(prefix) => path
                .strip_prefix(prefix)
                .filter(|rest| !rest.is_empty() && !rest.contains('/')),
        }
    }
}

use Endpoint as E;

/// The table. Order matters only among patterns that overlap (none do today).
static ROUTES: &[(Method, Path, Endpoint)] = &[
    (Method::GET, Path::Exact("/-/healthy"), E::Healthy),
    (Method::GET, Path::Exact("/-/ready"), E::Ready),
    (Method::GET, Path::Exact("/metrics"), E::Metrics),
    (Method::POST, Path::Exact("/api/v2/alerts"), E::PostAlerts),
    (
        Method::POST,
        Path::Exact("/api/v1/alertmanager"),
        E::PostWebhook,
    ),
    (Method::GET, Path::Exact("/api/v2/status"), E::Status),
    (Method::GET, Path::Exact("/api/v2/receivers"), E::Receivers),
    (Method::GET, Path::Exact("/api/v2/alerts"), E::GetAlerts),
    (
        Method::GET,
        Path::Exact("/api/v2/alerts/groups"),
        E::GetGroups,
    ),
    (
        Method::GET,
        Path::Exact("/api/v2/silences"),
        E::ListSilences,
    ),
    (
        Method::POST,
        Path::Exact("/api/v2/silences"),
        E::PostSilence,
    ),
    (Method::GET, Path::Under("/api/v2/silence/"), E::GetSilence),
    (
        Method::DELETE,
        Path::Under("/api/v2/silence/"),
        E::DeleteSilence,
    ),
    (Method::POST, Path::Exact("/api/v1/groups/ack"), E::PostAck),
    (
        Method::DELETE,
        Path::Exact("/api/v1/groups/ack"),
        E::DeleteAck,
    ),
    (Method::GET, Path::Exact("/api/v1/groups/acks"), E::ListAcks),
    (
        Method::GET,
        Path::Exact("/api/v1/groups/decisions"),
        E::Decisions,
    ),
    (
        Method::GET,
        Path::Exact("/api/v1/groups/deliveries"),
        E::Deliveries,
    ),
    (
        Method::GET,
        Path::Exact("/api/v1/receivers"),
        E::ReceiverStates,
    ),
    (Method::GET, Path::Exact("/api/v1/plugins"), E::Plugins),
    (Method::GET, Path::Exact("/api/v1/routes"), E::Routes),
    (Method::POST, Path::Exact("/-/reload"), E::Reload),
    (Method::GET, Path::Segment(LINK), E::ShowAckLink),
    (Method::HEAD, Path::Segment(LINK), E::ShowAckLink),
    (Method::POST, Path::Segment(LINK), E::PostAckLink),
    (Method::GET, Path::Exact("/"), E::ConsolePage),
    (Method::GET, Path::Segment("/console/"), E::ConsoleAsset),
];

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// The endpoint, and the argument its path carries (a silence ID, a link token).
    Found(Endpoint, &'a str),
    /// The path is served, with these methods only (405).
    WrongMethod(Vec<Method>),
    /// No endpoint has this path (404).
    NotFound,
}

pub fn lookup<'a>(method: &Method, path: &'a str) -> Lookup<'a> {
    let mut allowed = Vec::new();
    for (m, pattern, endpoint) in ROUTES {
        if let Some(arg) = pattern.matches(path) {
            if m == method {
                return Lookup::Found(*endpoint, arg);
            }
            allowed.push(m.clone());
        }
    }
    if allowed.is_empty() {
        Lookup::NotFound
    } else {
        Lookup::WrongMethod(allowed)
    }
}

/// What a request does: a probe's path with any method (so a wrong method gets its 405, never
/// a 401), a signed link's two routes, and anything else (unknown paths and wrong methods
/// included) by its method.
pub fn access(method: &Method, path: &str) -> Access {
    let probe_path = ROUTES
        .iter()
        .any(|(_, p, e)| matches!(e, E::Healthy | E::Ready) && p.matches(path).is_some());
    match lookup(method, path) {
        _ if probe_path => Access::Probe,
        Lookup::Found(E::ShowAckLink | E::PostAckLink, _) => Access::Signed,
        Lookup::Found(E::ConsolePage | E::ConsoleAsset, _) => Access::Console,
        _ if matches!(*method, Method::GET | Method::HEAD) => Access::Read,
        _ => Access::Write,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_of_the_table_answers_405_to_another_method() {
        for (m, pattern, endpoint) in ROUTES {
            let path = match *pattern {
                Path::Exact(p) => p.to_string(),
                Path::Under(p) | Path::Segment(p) => format!("{p}x"),
            };
            assert_eq!(
                lookup(m, &path),
                Lookup::Found(
                    *endpoint,
                    match pattern {
                        Path::Exact(_) => "",
                        _ => "x",
                    }
                )
            );
            match lookup(&Method::PUT, &path) {
                Lookup::WrongMethod(allowed) => assert!(allowed.contains(m), "{path}"),
                other => panic!("PUT {path}: {other:?}"),
            }
        }
    }

    #[test]
    fn arguments_unknown_paths_and_access() {
        assert_eq!(
            lookup(&Method::GET, "/api/v2/silence/abc"),
            Lookup::Found(E::GetSilence, "abc")
        );
        assert_eq!(
            lookup(&Method::DELETE, "/api/v2/alerts"),
            Lookup::WrongMethod(vec![Method::POST, Method::GET])
        );
        assert_eq!(lookup(&Method::GET, "/nope"), Lookup::NotFound);
        // A link is one segment: nothing else under /ack/ is a link.
        assert_eq!(lookup(&Method::GET, "/ack/"), Lookup::NotFound);
        assert_eq!(lookup(&Method::GET, "/ack/a/b"), Lookup::NotFound);
        assert_eq!(access(&Method::HEAD, "/ack/t"), Access::Signed);
        assert_eq!(access(&Method::PUT, "/ack/t"), Access::Write);
        assert_eq!(access(&Method::GET, "/ack/a/b"), Access::Read);
        assert_eq!(access(&Method::GET, "/-/ready"), Access::Probe);
        assert_eq!(access(&Method::POST, "/-/ready"), Access::Probe);
        assert_eq!(access(&Method::GET, "/api/v2/alerts"), Access::Read);
        assert_eq!(access(&Method::POST, "/nope"), Access::Write);
        assert_eq!(access(&Method::GET, "/"), Access::Console);
        assert_eq!(access(&Method::GET, "/console/app.js"), Access::Console);
        // Only the table's two console routes are open: a write to them is still a write.
        assert_eq!(access(&Method::POST, "/"), Access::Write);
        assert_eq!(access(&Method::GET, "/console/a/b"), Access::Read);
    }
}
