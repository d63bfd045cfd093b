//! The HTTP edge with the real binary on loopback: what comes in and how it is answered.
//!
//! - `ingest.rs`: Alertmanager 0.25's answers to bad input, body size and alert count limits,
//!   dedup, the shape of `GET /api/v2/alerts`, health and metrics, and `check-config`;
//! - `connections.rs`: file-descriptor exhaustion (under `prlimit`), the open-file limit, the
//!   connection cap and its reserve for health probes;
//! - `timeouts.rs`: slowloris heads and dripping bodies, idle keep-alive connections, SIGTERM
//!   with such connections open;
//! - `access.rs`: the bearer-token exemption of acknowledgement links.
//!
//! Hostile clients speak raw TCP here (half a request line, a body a byte at a time), which no
//! HTTP client library does on purpose.

#[path = "../harness/mod.rs"]
mod harness;

mod access;
mod connections;
mod ingest;
mod timeouts;

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One log receiver; `server` goes in `[server]`.
fn config(server: &str) -> String {
    format!(
        r#"[server]
{server}

[[receivers]]
name = "log"
type = "log"

[route]
receiver = "log"
group_by = ["alertname"]
group_wait = "1h"
"#
    )
}

/// Half a request line: what a slowloris client sends before it stalls.
const HALF_A_REQUEST_LINE: &[u8] = b"POST /api/v2/al";

/// Opens `n` connections that each send half a request line and then nothing. Connections
/// the server closes at once may fail to write; they are kept all the same.
async fn stalled(addr: &str, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let _ = s.write_all(HALF_A_REQUEST_LINE).await;
        held.push(s);
    }
    held
}

/// Reads until the server closes the connection (EOF or reset) or `within` passes; what it sent
/// and whether it closed.
async fn read_until_closed(
    s: &mut (impl tokio::io::AsyncRead + Unpin),
    within: Duration,
) -> (String, bool) {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Sends `request` on a new connection and reads until the server closes it: the response
/// text, empty if the server closed without answering.
async fn exchange(addr: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let _ = s.write_all(request).await;
    let (text, closed) = read_until_closed(&mut s, Duration::from_secs(10)).await;
    assert!(closed, "the server kept the connection open after {text:?}");
    text
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: campanile\r\nConnection: close\r\n\r\n").into_bytes()
}

fn post_alerts(alertname: &str) -> Vec<u8> {
    let body = json!([{"labels": {"alertname": alertname}}]).to_string();
    format!(
        "POST /api/v2/alerts HTTP/1.1\r\nHost: campanile\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The status code of a raw response, 0 if there is none.
fn status_of(response: &str) -> u16 {
    response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
