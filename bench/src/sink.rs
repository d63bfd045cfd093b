//! The webhook sink: answers 200 to every POST and notes when each latency probe first arrives.
//!
//! Both servers send Alertmanager's webhook payload (version 4); only `alerts[].labels.probe`
//! and `alerts[].status` are read.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;

/// What the sink has seen.
#[derive(Default)]
pub struct Sink {
    /// First arrival of a firing notification per probe number.
    arrivals: Mutex<HashMap<u64, Instant>>,
    /// Webhook requests received (parsable or not).
    pub notifications: AtomicU64,
    /// Requests whose body was not a webhook v4 message.
    pub unparsable: AtomicU64,
}

#[derive(Deserialize)]
struct Message {
    alerts: Vec<Alert>,
}

#[derive(Deserialize)]
struct Alert {
    #[serde(default)]
    status: String,
    #[serde(default)]
    labels: HashMap<String, String>,
}

impl Sink {
    /// When probe `n` first arrived, if it did.
    pub fn arrival(&self, n: u64) -> Option<Instant> {
        self.arrivals.lock().expect("sink lock").get(&n).copied()
    }

    pub fn probes_seen(&self) -> usize {
        self.arrivals.lock().expect("sink lock").len()
    }

    fn receive(&self, body: &[u8], at: Instant) {
        self.notifications.fetch_add(1, Ordering::Relaxed);
        let Ok(msg) = serde_json::from_slice::<Message>(body) else {
            self.unparsable.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let probes = msg
            .alerts
            .iter()
            .filter(|a| a.status == "firing")
            .filter_map(|a| a.labels.get("probe")?.parse::<u64>().ok());
        let mut arrivals = self.arrivals.lock().expect("sink lock");
        for n in probes {
            arrivals.entry(n).or_insert(at);
        }
    }
}

/// Binds the sink's listener (so the caller knows it is up before load starts).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the webhook sink to {addr}"))
}

/// Serves webhook requests until the task is dropped.
pub async fn serve(listener: TcpListener, sink: Arc<Sink>) -> Result<()> {
    loop {
        let (stream, _) = listener.accept().await.context("accepting")?;
        stream.set_nodelay(true)?;
        let sink = sink.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, sink.clone()));
            // A sender hanging up mid-request is its business, not the benchmark's.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    req: Request<Incoming>,
    sink: Arc<Sink>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    sink.receive(&body, Instant::now());
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::OK;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_the_first_firing_arrival_of_each_probe() {
        let sink = Sink::default();
        let t0 = Instant::now();
        let msg = br#"{"version":"4","status":"firing","alerts":[
            {"status":"firing","labels":{"alertname":"LatencyProbe","probe":"7"}},
            {"status":"resolved","labels":{"probe":"8"}},
            {"status":"firing","labels":{"alertname":"Other"}}]}"#;
        sink.receive(msg, t0);
        sink.receive(msg, t0 + std::time::Duration::from_secs(1));
        sink.receive(b"not json", t0);
        assert_eq!(sink.arrival(7), Some(t0));
        assert_eq!(sink.arrival(8), None);
        assert_eq!(sink.probes_seen(), 1);
        assert_eq!(sink.notifications.load(Ordering::Relaxed), 3);
        assert_eq!(sink.unparsable.load(Ordering::Relaxed), 1);
    }
}
