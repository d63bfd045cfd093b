//! Slow and idle clients: heads and bodies sent too slowly are cut off while others are served,
//! idle keep-alive connections close after `idle_timeout`, and SIGTERM closes them at once.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{config, read_until_closed, stalled, status_of};
use crate::harness::*;

/// Slowloris: 50 connections that send half a request line, and one that sends its request
/// line a byte at a time, are closed within `header_read_timeout` (timed from the accept, so
/// trickling does not extend it), while normal requests are served meanwhile. A body sent a
/// byte a second past `body_read_timeout` is answered 408 and the connection closed.
#[tokio::test]
async fn slow_heads_and_bodies_are_cut_off_while_others_are_served() {
    let c = Campanile::start(&config(
        "header_read_timeout = \"1s\"\nbody_read_timeout = \"2s\"",
    ))
    .await;
    let started = Instant::now();
    // Each stalled connection is watched on its own, noting when the server closed it.
    let watchers: Vec<_> = stalled(&c.addr, 50)
        .await
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let (text, closed) = read_until_closed(&mut s, Duration::from_secs(10)).await;
                (closed && text.is_empty()).then(Instant::now)
            })
        })
        .collect();
    let mut trickle = TcpStream::connect(&c.addr).await.expect("connect");
    let trickling = tokio::spawn(async move {
        for b in b"GET /-/healthy HTTP/1.1\r\nHost: campanile\r\n".iter() {
            if trickle.write_all(&[*b]).await.is_err() {
                return Some(Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        None
    });

    let ok = c
        .post_alerts(&json!([{"labels": {"alertname": "Meanwhile"}}]))
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(c.get("/-/healthy").await.status, 200);

    for watcher in watchers {
        let closed_at = watcher.await.expect("watcher task");
        let took = closed_at.map(|at| at.duration_since(started));
        assert!(
            took.is_some_and(|t| t < Duration::from_secs(6)),
            "a half-sent request line was not closed within header_read_timeout = 1s (+ margin): {took:?}"
        );
    }
    let cut = trickling.await.expect("trickling task");
    assert!(
        cut.is_some_and(|at| at.duration_since(started) < Duration::from_secs(6)),
        "a request line sent a byte at a time was not cut off within the timeout"
    );
    assert!(
        c.metric(
            "campanile_http_slow_clients_closed_total",
            &[("phase", "header")]
        )
        .await
            >= 51.0
    );

    // A body dripped a byte a second.
    let mut s = TcpStream::connect(&c.addr).await.expect("connect");
    s.write_all(
        b"POST /api/v2/alerts HTTP/1.1\r\nHost: campanile\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n[",
    )
    .await
    .expect("send head");
    let (mut reader, mut writer) = s.into_split();
    let dripping = tokio::spawn(async move {
        // Half a second off the deadline's beat, so no byte lands as the server closes.
        tokio::time::sleep(Duration::from_millis(500)).await;
        for _ in 0..20 {
            if writer.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let (got, closed) = read_until_closed(&mut reader, Duration::from_secs(15)).await;
    assert!(closed, "the dripping body was not cut off: {got:?}");
    assert_eq!(status_of(&got), 408, "{got}");
    assert!(got.contains("server.body_read_timeout"), "{got}");
    dripping.abort();
    assert_eq!(
        c.metric(
            "campanile_http_slow_clients_closed_total",
            &[("phase", "body")]
        )
        .await,
        1.0
    );
    assert_eq!(c.alerts_named("Meanwhile").await.len(), 1);
}

/// A keep-alive connection is closed after `idle_timeout` without a request, and only then: a
/// shorter `header_read_timeout` does not cut idle connections (hyper's own header timer
/// would).
#[tokio::test]
async fn idle_keep_alive_connections_are_closed_after_idle_timeout() {
    let short = config("idle_timeout = \"1s\"\nheader_read_timeout = \"30s\"");
    let long = config("idle_timeout = \"30s\"\nheader_read_timeout = \"1s\"");
    let (short_idle, long_idle) = tokio::join!(Campanile::start(&short), Campanile::start(&long));
    let keep_alive = b"GET /-/healthy HTTP/1.1\r\nHost: campanile\r\n\r\n";

    async fn served_twice(addr: &str, request: &[u8]) -> TcpStream {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        for _ in 0..2 {
            s.write_all(request).await.expect("send");
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.ends_with(b"OK\n") {
                let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
                    .await
                    .expect("a response")
                    .expect("read");
                assert!(n > 0, "closed before the response");
                got.extend_from_slice(&buf[..n]);
            }
        }
        s
    }

    let mut idle = served_twice(&short_idle.addr, keep_alive).await;
    let mut kept = served_twice(&long_idle.addr, keep_alive).await;
    let (text, closed) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(
        closed && text.is_empty(),
        "an idle connection was kept: {text:?}"
    );
    let (text, closed) = read_until_closed(&mut kept, Duration::from_secs(3)).await;
    assert!(
        !closed,
        "an idle connection was closed by the header timeout: {text:?}"
    );
    assert_eq!(
        short_idle
            .metric(
                "campanile_http_slow_clients_closed_total",
                &[("phase", "idle")]
            )
            .await,
        1.0
    );
}

/// SIGTERM with stalled and idle connections open: those close at once, a request in flight
/// is answered, and the process exits well within its 10 s grace period.
#[tokio::test]
async fn sigterm_closes_stalled_and_idle_connections_at_once() {
    let mut c = Campanile::start(&config("")).await;
    let mut slow = stalled(&c.addr, 20).await;
    let mut idle = Vec::new();
    for _ in 0..5 {
        let mut s = TcpStream::connect(&c.addr).await.expect("connect");
        s.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: campanile\r\n\r\n")
            .await
            .expect("send");
        let mut buf = [0u8; 1024];
        let mut got = Vec::new();
        while !got.ends_with(b"OK\n") {
            let n = s.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before the response");
            got.extend_from_slice(&buf[..n]);
        }
        idle.push(s);
    }
    // A request in flight: its head is in, its body not yet.
    let body = json!([{"labels": {"alertname": "InFlight"}}]).to_string();
    let mut in_flight = TcpStream::connect(&c.addr).await.expect("connect");
    in_flight
        .write_all(
            format!(
                "POST /api/v2/alerts HTTP/1.1\r\nHost: campanile\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .expect("send head");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    c.signal("TERM");
    for s in slow.iter_mut().chain(idle.iter_mut()) {
        let (_, closed) = read_until_closed(s, Duration::from_secs(3)).await;
        assert!(
            closed,
            "a stalled or idle connection was kept open after SIGTERM"
        );
    }
    in_flight
        .write_all(body.as_bytes())
        .await
        .expect("send body");
    let (answer, closed) = read_until_closed(&mut in_flight, Duration::from_secs(5)).await;
    assert!(
        closed,
        "the in-flight request's connection stayed open: {answer}"
    );
    assert!(
        answer.starts_with("HTTP/1.1 "),
        "the request in flight was not answered: {answer:?}"
    );
    let status = c.wait_exit(Duration::from_secs(8)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "campanile did not exit cleanly after SIGTERM: {status:?}"
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "exiting took {:?}, close to the 10 s grace",
        signalled.elapsed()
    );
}
