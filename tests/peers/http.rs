//! A local HTTP peer that answers as a real service documents it (PagerDuty's 202 + JSON,
//! Slack's `ok`, Discord's 204), can be scripted to answer otherwise (429 with `Retry-After`,
//! 500s, 400 with an error body, a hang past the client's timeout, a body of many megabytes
//! streamed), and records every request it received, with its arrival time.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the peer answers one request.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Waits this long before answering (a hang, when longer than the client's timeout).
    pub delay: Duration,
    /// Waits until [`HttpPeer::release`] before answering.
    pub held: bool,
    /// Bytes of padding streamed after `body`, chunked, never held in memory at once.
    pub padding: usize,
}

impl Answer {
    pub fn new(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
            held: false,
            padding: 0,
        }
    }

    /// After the body, `bytes` more (`x`s) in 64 KiB chunks, with chunked transfer encoding.
    pub fn padded(mut self, bytes: usize) -> Answer {
        self.padding = bytes;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }

    /// Answers only once the test calls [`HttpPeer::release`].
    pub fn held(mut self) -> Answer {
        self.held = true;
        self
    }

    /// Slack's incoming webhooks (and Mattermost's): 200 with the text `ok`.
    pub fn slack_ok() -> Answer {
        Answer::new(200, "ok").header("content-type", "text/plain")
    }

    /// PagerDuty Events API v2: 202 with a JSON status.
    pub fn pagerduty_accepted() -> Answer {
        Answer::new(
            202,
            r#"{"status":"success","message":"Event processed","dedup_key":"srv01/HTTP"}"#,
        )
        .header("content-type", "application/json")
    }

    /// Opsgenie Alert API: 202 with a request id.
    pub fn opsgenie_accepted() -> Answer {
        Answer::new(
            202,
            r#"{"result":"Request will be processed","took":0.107,"requestId":"43a29c5c-3dbf-4fa4-9c26-f4f71023e120"}"#,
        )
        .header("content-type", "application/json")
    }

    /// Discord's webhook without `?wait=true`, and Teams workflows: no content.
    pub fn no_content() -> Answer {
        Answer::new(204, "")
    }

    /// Teams workflow webhooks: 202, empty.
    pub fn accepted() -> Answer {
        Answer::new(202, "")
    }
}

/// One request the peer received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub json: Option<Value>,
    pub answered: u16,
    pub at: Instant,
}

impl Received {
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
}

struct State {
    requests: Vec<Received>,
    script: VecDeque<Answer>,
    default: Answer,
    released: tokio::sync::watch::Receiver<bool>,
}

pub struct HttpPeer {
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    release: tokio::sync::watch::Sender<bool>,
    server: JoinHandle<()>,
}

impl HttpPeer {
    /// A peer answering every request with `default` unless scripted otherwise.
    pub async fn start(default: Answer) -> HttpPeer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind peer to 127.0.0.1:0");
        let addr = listener.local_addr().expect("peer address");
        let (release, released) = tokio::sync::watch::channel(false);
        let state = Arc::new(Mutex::new(State {
            requests: Vec::new(),
            script: VecDeque::new(),
            default,
            released,
        }));
        let server = tokio::spawn(serve(listener, state.clone()));
        HttpPeer {
            addr,
            state,
            release,
            server,
        }
    }

    /// Lets every held answer go.
    pub fn release(&self) {
        let _ = self.release.send(true);
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next requests are answered with `answers`, in order; then the default again.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.lock().unwrap().script.extend(answers);
    }

    pub fn requests(&self) -> Vec<Received> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Waits until at least `count` requests arrived and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let what = format!("{count} request(s) at {}", self.url(""));
        crate::harness::wait_until(&what, crate::harness::PATIENCE, async || {
            let requests = self.requests();
            if requests.len() >= count {
                Ok(requests)
            } else {
                Err(self.summary())
            }
        })
        .await
    }

    /// One line per request, for failure messages.
    pub fn summary(&self) -> String {
        let requests = self.requests();
        if requests.is_empty() {
            return "no requests".to_string();
        }
        requests
            .iter()
            .map(|r| {
                format!(
                    "{} {}{} -> {}: {}",
                    r.method,
                    r.path,
                    r.query
                        .as_deref()
                        .map(|q| format!("?{q}"))
                        .unwrap_or_default(),
                    r.answered,
                    String::from_utf8_lossy(&r.body)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for HttpPeer {
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
            let service = service_fn(move |request| answer(state.clone(), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A response body: the answer's text, then its padding, one chunk at a time.
struct Payload {
    head: Option<Bytes>,
    padding: usize,
}

/// The padding's chunk.
static PAD: [u8; 64 * 1024] = [b'x'; 64 * 1024];

impl Body for Payload {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(head) = this.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if this.padding == 0 {
            return Poll::Ready(None);
        }
        let n = this.padding.min(PAD.len());
        this.padding -= n;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&PAD[..n])))))
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.padding == 0
    }

    /// Exact without padding (a `content-length`), unknown with it (chunked).
    fn size_hint(&self) -> SizeHint {
        match (&self.head, self.padding) {
            (Some(head), 0) => SizeHint::with_exact(head.len() as u64),
            (None, 0) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

async fn answer(
    state: Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<Payload>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let at = Instant::now();
    let (reply, mut released) = {
        let mut state = state.lock().unwrap();
        let reply = state
            .script
            .pop_front()
            .unwrap_or_else(|| state.default.clone());
        state.requests.push(Received {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            json: serde_json::from_slice(&body).ok(),
            headers: parts.headers,
            body,
            answered: reply.status,
            at,
        });
        (reply, state.released.clone())
    };
    tokio::time::sleep(reply.delay).await;
    if reply.held {
        let _ = released.wait_for(|r| *r).await;
    }
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    Ok(response
        .body(Payload {
            head: Some(Bytes::from(reply.body)),
            padding: reply.padding,
        })
        .expect("valid response"))
}
