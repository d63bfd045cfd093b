//! One request the peer received, with the status it was answered and its arrival time.

use std::time::Instant;

use bytes::Bytes;
use hyper::HeaderMap;
use serde_json::Value;

/// One request the peer received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The body parsed as JSON, if it is JSON.
    pub json: Option<Value>,
    /// The status the peer answered (or is answering, for a held or delayed answer) with.
    pub answered: u16,
    /// When the request had arrived whole, before any delay of its answer.
    pub at: Instant,
}

impl Received {
    /// The JSON body; panics if the body was not JSON.
    pub fn json(&self) -> &Value {
        self.json.as_ref().unwrap_or_else(|| {
            panic!(
                "request to {} has no JSON body: {:?}",
                self.path,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// One line for failure messages: method, path and query, status, body.
    pub fn line(&self) -> String {
        format!(
            "{} {}{} -> {}: {}",
            self.method,
            self.path,
            self.query
                .as_deref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default(),
            self.answered,
            String::from_utf8_lossy(&self.body)
        )
    }
}
