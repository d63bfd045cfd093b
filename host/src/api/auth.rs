//! Bearer-token authentication. With `server.auth_token` (or `auth_token_file`) set, every
//! write — ingest, silences, acknowledgements — needs `Authorization: Bearer <token>`; reads
//! (the operator API, `/metrics`) need it too when `server.read_auth = true`. Health probes
//! never do, nor the two routes of acknowledgement links (`GET`/`POST /ack/<token>`), whose
//! signed token authorizes them; anything else under `/ack/` is an ordinary read or write. The
//! web console's page and files (`GET /`, `GET /console/<file>`) are open too: they hold no
//! data, and the console sends the token with the API calls it makes.
//! Tokens are compared in constant time.

use hyper::header::{HeaderMap, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::{Method, Response, StatusCode};
use subtle::ConstantTimeEq;

use crate::config::ServerConfig;
use crate::http::respond::{error, Body};
use crate::http::table::{access, Access};

/// `None` if the request may go on; otherwise the 401 to answer.
pub fn refusal(
    server: &ServerConfig,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<Response<Body>> {
    let Some(token) = &server.auth_token else {
        return None;
    };
    match access(method, path) {
        Access::Probe | Access::Signed | Access::Console => return None,
        Access::Read if !server.read_auth => return None,
        Access::Read | Access::Write => {}
    }
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let granted =
        presented.is_some_and(|t| bool::from(t.as_bytes().ct_eq(token.expose().as_bytes())));
    if granted {
        return None;
    }
    tracing::info!(%method, path, "refused: missing or wrong bearer token");
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "this endpoint needs Authorization: Bearer <token> (server.auth_token)".into(),
    );
    r.headers_mut().insert(
        WWW_AUTHENTICATE,
        "Bearer realm=\"campanile\"".parse().expect("static header"),
    );
    Some(r)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::AuthToken;

    fn server(token: Option<&str>, read_auth: bool) -> ServerConfig {
        ServerConfig {
            listen: "127.0.0.1:1".parse().unwrap(),
            max_body_size: 1,
            external_url: String::new(),
            auth_token: token.map(|t| AuthToken::new(t.into())),
            read_auth,
            max_connections: 1,
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            body_read_timeout: Duration::from_secs(1),
        }
    }

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn writes_need_the_token_reads_only_when_asked() {
        let none = HeaderMap::new();
        let s = server(Some("s3cret"), false);
        let post = Method::POST;
        let get = Method::GET;
        assert_eq!(
            refusal(&s, &post, "/api/v2/alerts", &none)
                .expect("refused")
                .status(),
            401
        );
        assert!(refusal(&s, &post, "/api/v2/alerts", &with("Bearer wrong")).is_some());
        assert!(refusal(&s, &post, "/api/v2/alerts", &with("Basic s3cret")).is_some());
        assert!(refusal(&s, &post, "/api/v2/alerts", &with("Bearer s3cret")).is_none());
        assert!(refusal(&s, &post, "/api/v2/alerts", &with("bearer s3cret")).is_none());
        assert!(refusal(&s, &get, "/api/v2/alerts", &none).is_none());

        let s = server(Some("s3cret"), true);
        assert!(refusal(&s, &get, "/api/v2/alerts", &none).is_some());
        assert!(refusal(&s, &get, "/-/ready", &none).is_none());
        assert!(refusal(&s, &get, "/metrics", &with("Bearer s3cret")).is_none());

        assert!(refusal(&server(None, false), &post, "/api/v2/silences", &none).is_none());
        assert!(
            refusal(&s, &post, "/ack/signed.token", &none).is_none(),
            "links carry their own authorization"
        );
        assert!(refusal(&s, &post, "/api/v1/groups/ack", &none).is_some());
        assert!(
            refusal(&s, &get, "/", &none).is_none(),
            "the console's page"
        );
        assert!(refusal(&s, &get, "/console/app.js", &none).is_none());
        assert!(refusal(&s, &post, "/", &none).is_some());
    }

    #[test]
    fn only_the_two_link_routes_are_exempt() {
        let none = HeaderMap::new();
        let s = server(Some("s3cret"), true);
        for (method, path) in [
            (Method::GET, "/ack/signed.token"),
            (Method::HEAD, "/ack/signed.token"),
            (Method::POST, "/ack/signed.token"),
        ] {
            assert_eq!(access(&method, path), Access::Signed, "{method} {path}");
            assert!(
                refusal(&s, &method, path, &none).is_none(),
                "{method} {path}"
            );
        }
        for (method, path, access_is) in [
            (Method::DELETE, "/ack/signed.token", Access::Write),
            (Method::PUT, "/ack/signed.token", Access::Write),
            (Method::PATCH, "/ack/signed.token", Access::Write),
            (Method::POST, "/ack/signed.token/more", Access::Write),
            (Method::POST, "/ack/", Access::Write),
            (Method::GET, "/ack/a/b", Access::Read),
            (Method::GET, "/ack/", Access::Read),
            (Method::GET, "/ack", Access::Read),
            (Method::OPTIONS, "/ack/signed.token", Access::Write),
        ] {
            assert_eq!(access(&method, path), access_is, "{method} {path}");
            assert_eq!(
                refusal(&s, &method, path, &none)
                    .map(|r| r.status())
                    .expect("refused"),
                401,
                "{method} {path}"
            );
            assert!(
                refusal(&s, &method, path, &with("Bearer s3cret")).is_none(),
                "{method} {path} with the token"
            );
        }
    }
}
