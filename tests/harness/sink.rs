//! A recording HTTP server on 127.0.0.1: every request is stored, and it answers 200 unless told
//! to answer a sequence of other statuses first.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request the sink received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The body parsed as JSON, if it is JSON.
    pub json: Option<Value>,
    /// The status the sink answered with.
    pub answered: u16,
    pub at: Instant,
}

impl Recorded {
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
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    /// Statuses to answer, per path, before falling back to 200.
    script: HashMap<String, VecDeque<u16>>,
}

pub struct Sink {
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    server: JoinHandle<()>,
}

impl Sink {
    pub async fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind sink to 127.0.0.1:0");
        let addr = listener.local_addr().expect("sink address");
        let state = Arc::new(Mutex::new(State::default()));
        let server = tokio::spawn(serve(listener, state.clone()));
        Sink {
            addr,
            state,
            server,
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next requests to `path` are answered with `statuses`, in order; then 200 again.
    pub fn respond_with(&self, path: &str, statuses: &[u16]) {
        let mut state = self.state.lock().unwrap();
        state
            .script
            .entry(path.to_string())
            .or_default()
            .extend(statuses);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The requests received so far on `path`, oldest first.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// The JSON bodies received on `path`, oldest first.
    pub fn payloads(&self, path: &str) -> Vec<Value> {
        self.requests_to(path)
            .iter()
            .map(|r| r.json().clone())
            .collect()
    }

    /// Waits until a webhook payload on `path` holds an alert for which `matches` is true, and
    /// returns `(payload, alert)` of the first such one. `what` names the alert for the failure
    /// message, which lists every request received.
    pub async fn wait_for_alert(
        &self,
        path: &str,
        what: &str,
        matches: impl Fn(&Value) -> bool,
    ) -> (Value, Value) {
        let what = format!("{what} in a notification to {path}");
        super::wait_until(&what, super::PATIENCE, async || {
            self.payloads(path)
                .into_iter()
                .find_map(|payload| {
                    let alert = super::webhook_alerts(&payload)
                        .iter()
                        .find(|a| matches(a))
                        .cloned();
                    alert.map(|alert| (payload, alert))
                })
                .ok_or_else(|| self.summary())
        })
        .await
    }

    /// Waits for a notification on `path` holding the alert whose label `name` is `value`.
    pub async fn wait_for_labelled(&self, path: &str, name: &str, value: &str) -> (Value, Value) {
        let what = format!("the alert with {name}={value:?}");
        self.wait_for_alert(path, &what, |a| a["labels"][name] == value)
            .await
    }

    /// A summary of what arrived, one request a line, for failure messages.
    pub fn summary(&self) -> String {
        let requests = self.requests();
        if requests.is_empty() {
            return "no requests".to_string();
        }
        requests
            .iter()
            .map(|r| {
                format!(
                    "{} {} -> {}: {}",
                    r.method,
                    r.path,
                    r.answered,
                    String::from_utf8_lossy(&r.body)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| record(state.clone(), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn record(
    state: Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let path = parts.uri.path().to_string();
    let mut state = state.lock().unwrap();
    let answered = state
        .script
        .get_mut(&path)
        .and_then(VecDeque::pop_front)
        .unwrap_or(200);
    state.requests.push(Recorded {
        method: parts.method.to_string(),
        json: serde_json::from_slice(&body).ok(),
        path,
        headers: parts.headers,
        body,
        answered,
        at: Instant::now(),
    });
    let response = Response::builder()
        .status(answered)
        .body(Full::new(Bytes::new()))
        .expect("valid response");
    Ok(response)
}
