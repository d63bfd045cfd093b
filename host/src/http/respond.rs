//! Responses: the body type every handler answers with, and the JSON, text, HTML and error
//! shapes.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONNECTION, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde::Serialize;

pub type Body = Full<Bytes>;

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

pub(crate) fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
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

/// `response` with `Connection: close`: the server closes the connection after it (hyper
/// reads the header), for answers after which the connection is not worth keeping.
pub(crate) fn closing(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(CONNECTION, "close".parse().expect("static header"));
    response
}
