//! HTTP delivery shared by the JSON integrations: POST a body, then sort the answer into
//! success, a retryable failure (with its `Retry-After`) or a permanent one (with the body the
//! endpoint returned, so the log says why).
//!
//! Errors never carry the request URL (`without_url`): webhook URLs hold tokens. A peer's body
//! is only ever read through [`read_capped`], so a huge or endless one costs nothing.

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use serde::Serialize;

use super::NotifyError;
use crate::config::scrub;

/// Most characters of an error body kept for the log.
const ERROR_BODY_CHARS: usize = 512;

/// Most bytes of an error body read: room for [`ERROR_BODY_CHARS`] characters of any UTF-8
/// (four bytes at most each) and some white space to trim before them.
const ERROR_BODY_BYTES: usize = ERROR_BODY_CHARS * 4 + 512;

/// Sets each field of `fields` that has a value on the JSON object `body` (the optional
/// `channel`, `username`, `icon_*` overrides of Slack-style webhooks).
pub fn set_optional(body: &mut serde_json::Value, fields: &[(&str, &Option<String>)]) {
    for (key, value) in fields {
        if let Some(v) = value {
            body[*key] = serde_json::Value::String(v.clone());
        }
    }
}

/// POSTs `body` as JSON with `request` (URL and headers already set) and checks the answer.
/// `secrets` are scrubbed from any error body the endpoint echoes back.
pub async fn post_json(
    request: reqwest::RequestBuilder,
    body: &impl Serialize,
    secrets: &[&str],
) -> Result<(), NotifyError> {
    let body = serde_json::to_vec(body).expect("notification bodies serialise");
    let response = request
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(transport)?;
    check(response, secrets).await
}

/// 2xx is success; anything else is a [`NotifyError::Status`] with the endpoint's body.
pub async fn check(response: reqwest::Response, secrets: &[&str]) -> Result<(), NotifyError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = retry_after(response.headers());
    let body = read_capped(response, ERROR_BODY_BYTES).await;
    let text = String::from_utf8_lossy(&body);
    let text: String = text.trim().chars().take(ERROR_BODY_CHARS).collect();
    Err(NotifyError::Status {
        status: status.as_u16(),
        body: scrub(&text, secrets),
        retry_after,
    })
}

/// The first `limit` bytes of `response`'s body, read chunk by chunk. The rest is never read:
/// it is dropped with the response, which closes the connection instead of buffering a body a
/// broken or hostile endpoint may make as large as it likes. A read error ends the body where
/// it broke (what arrived is still worth logging).
pub async fn read_capped(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    body
}

/// A transport error as text: the error and its causes, without the URL.
pub fn transport(e: reqwest::Error) -> NotifyError {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    NotifyError::Transport(text)
}

/// `Retry-After` as seconds (whole, or decimal as Discord sends) or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        h
    }

    #[tokio::test]
    async fn a_body_is_read_up_to_its_cap() {
        let big = vec![b'x'; 1 << 20];
        let response = reqwest::Response::from(hyper::Response::new(big));
        assert_eq!(read_capped(response, 1000).await.len(), 1000);
        let small = reqwest::Response::from(hyper::Response::new(b"short".to_vec()));
        assert_eq!(read_capped(small, 1000).await, b"short");
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after(&headers("0.5")),
            Some(Duration::from_millis(500))
        );
        let in_a_minute = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(61));
        let d = retry_after(&headers(&in_a_minute)).unwrap();
        assert!(
            d > Duration::from_secs(55) && d <= Duration::from_secs(61),
            "{d:?}"
        );
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(60));
        assert_eq!(retry_after(&headers(&past)), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&headers("-3")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
