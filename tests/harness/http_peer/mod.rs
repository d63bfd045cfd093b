//! The one HTTP peer of the tests: a server on 127.0.0.1 (port 0, so no race for a port) that
//! stands in for a webhook receiver or a real service. It answers as scripted — per path, or in
//! turn whatever the path, then with its default answer — and records every request with the
//! status it got and when it arrived. It can start down (its port reserved but refusing
//! connections) and come up later, for a receiver outage.
//!
//! [`Answer`] has the answers real services document (PagerDuty's 202 + JSON, Slack's `ok`,
//! Discord's 204) and the ways they misbehave (429 with `Retry-After`, 500s, a hang past the
//! client's timeout, a body of many megabytes streamed).

mod answer;
mod received;
mod serve;

pub use answer::Answer;
pub use received::Received;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the peer will answer, and what it received.
struct Script {
    requests: Vec<Received>,
    /// Answers for one path, in order, before anything else.
    by_path: HashMap<String, VecDeque<Answer>>,
    /// Answers for the next requests whatever their path, in order.
    in_turn: VecDeque<Answer>,
    default: Answer,
}

impl Script {
    /// The answer for the next request to `path`.
    fn next(&mut self, path: &str) -> Answer {
        self.by_path
            .get_mut(path)
            .and_then(VecDeque::pop_front)
            .or_else(|| self.in_turn.pop_front())
            .unwrap_or_else(|| self.default.clone())
    }
}

pub struct HttpPeer {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    release: watch::Sender<bool>,
    /// The socket of a peer that is down: bound, so the port stays ours, but not listening, so
    /// connections are refused. Taken by [`HttpPeer::up`].
    down: Mutex<Option<TcpSocket>>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl HttpPeer {
    /// A peer answering 200 with an empty body unless scripted otherwise.
    pub async fn start() -> HttpPeer {
        Self::answering(Answer::status(200)).await
    }

    /// A peer answering every request with `default` unless scripted otherwise.
    pub async fn answering(default: Answer) -> HttpPeer {
        let peer = Self::bind(default);
        peer.up();
        peer
    }

    /// A peer that is down: its address refuses connections until [`HttpPeer::up`]; then it
    /// answers as [`HttpPeer::start`] does.
    pub async fn down() -> HttpPeer {
        Self::bind(Answer::status(200))
    }

    fn bind(default: Answer) -> HttpPeer {
        let socket = TcpSocket::new_v4().expect("peer socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind peer to 127.0.0.1:0");
        let addr = socket.local_addr().expect("peer address");
        HttpPeer {
            addr,
            script: Arc::new(Mutex::new(Script {
                requests: Vec::new(),
                by_path: HashMap::new(),
                in_turn: VecDeque::new(),
                default,
            })),
            release: watch::channel(false).0,
            down: Mutex::new(Some(socket)),
            server: Mutex::new(None),
        }
    }

    /// Starts accepting connections on the peer's address (nothing if it already does).
    pub fn up(&self) {
        let Some(socket) = self.down.lock().unwrap().take() else {
            return;
        };
        let listener = socket.listen(1024).expect("listen on the peer's address");
        let server = tokio::spawn(serve::serve(
            listener,
            self.script.clone(),
            self.release.subscribe(),
        ));
        *self.server.lock().unwrap() = Some(server);
    }

    /// Lets every held answer go.
    pub fn release(&self) {
        let _ = self.release.send(true);
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The next requests, whatever their path, are answered with `answers` in order; then the
    /// default again.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.script.lock().unwrap().in_turn.extend(answers);
    }

    /// The next requests to `path` are answered with `answers` in order, before any answer of
    /// [`HttpPeer::script`]; then as other paths are.
    pub fn script_path(&self, path: &str, answers: impl IntoIterator<Item = Answer>) {
        self.script
            .lock()
            .unwrap()
            .by_path
            .entry(path.to_string())
            .or_default()
            .extend(answers);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Received> {
        self.script.lock().unwrap().requests.clone()
    }

    /// The requests received so far on `path`, oldest first.
    pub fn requests_to(&self, path: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// The JSON bodies received on `path`, oldest first; panics on a body that is not JSON.
    pub fn payloads(&self, path: &str) -> Vec<Value> {
        self.requests_to(path)
            .iter()
            .map(|r| r.json().clone())
            .collect()
    }

    /// Waits until at least `count` requests arrived and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let what = format!("{count} request(s) at {}", self.url(""));
        super::wait_until(&what, super::PATIENCE, async || {
            let requests = self.requests();
            if requests.len() >= count {
                Ok(requests)
            } else {
                Err(self.summary())
            }
        })
        .await
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

    /// One line per request, for failure messages.
    pub fn summary(&self) -> String {
        let requests = self.requests();
        if requests.is_empty() {
            return "no requests".to_string();
        }
        requests
            .iter()
            .map(Received::line)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for HttpPeer {
    fn drop(&mut self) {
        if let Some(server) = self.server.lock().unwrap().take() {
            server.abort();
        }
    }
}
