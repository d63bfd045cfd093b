//! The web console: the pages an operator opens at `/` (alerts, a group, silences, receivers
//! and plugins, status), served from files embedded in the binary. The console is a shell of
//! HTML, CSS and ES-module JavaScript that reads and writes through the JSON API like any
//! other client; it holds no data itself, so its files are open to everyone (the API calls it
//! makes are authenticated as any other). `assets.rs` is the table of files; every answer here
//! carries the same security headers (a Content-Security-Policy without inline script,
//! `nosniff`, no framing).

mod assets;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use hyper::{Response, StatusCode};

use crate::http::respond::{error, Body};

/// The policy for every console answer: scripts, styles and connections to this origin only
/// (no inline script or style, no `eval`), images from here or `data:`, no framing, no form
/// posted elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// `GET /`: the console's page.
pub(crate) fn index(headers: &HeaderMap) -> Response<Body> {
    serve(assets::index(), headers)
}

/// `GET /console/{name}`: one of the console's files, 404 for a name it does not have.
pub(crate) fn asset(name: &str, headers: &HeaderMap) -> Response<Body> {
    match assets::find(name) {
        Some(asset) => serve(asset, headers),
        None => secured(error(
            StatusCode::NOT_FOUND,
            format!("the console has no file {name}"),
        )),
    }
}

/// The file, or 304 when the browser's copy (`If-None-Match`) is this one. Browsers revalidate
/// every time (`no-cache`): a new binary's files are seen at once, an unchanged one costs a 304.
fn serve(asset: &assets::Asset, headers: &HeaderMap) -> Response<Body> {
    let etag = asset.etag();
    let fresh = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut r = if fresh {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(Full::new(Bytes::from_static(asset.body)));
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
        r
    };
    let h = r.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(ETAG, value);
    }
    secured(r)
}

/// The console's security headers on `r`.
fn secured(mut r: Response<Body>) -> Response<Body> {
    let h = r.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_carry_their_type_the_policy_and_revalidate() {
        let r = asset("app.js", &HeaderMap::new());
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(
            r.headers()["content-security-policy"],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(r.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
        let etag = r.headers()[ETAG].clone();

        let mut again = HeaderMap::new();
        again.insert(IF_NONE_MATCH, etag);
        let r = asset("app.js", &again);
        assert_eq!(r.status(), 304);
        assert_eq!(
            r.headers()["content-security-policy"],
            CONTENT_SECURITY_POLICY
        );

        let r = index(&HeaderMap::new());
        assert_eq!(r.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        let missing = asset("nope.js", &HeaderMap::new());
        assert_eq!(missing.status(), 404);
        assert_eq!(missing.headers()[X_FRAME_OPTIONS], "DENY");
    }

    #[test]
    fn the_policy_forbids_inline_script() {
        let script = CONTENT_SECURITY_POLICY
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .expect("a script-src directive");
        assert_eq!(script, "script-src 'self'");
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    }
}
