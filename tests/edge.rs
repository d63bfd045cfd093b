//! The HTTP edge against hostile clients, with the real binary on loopback: file-descriptor
//! exhaustion (under `prlimit`), the connection cap and its reserve for health probes,
//! slowloris heads and dripping bodies, idle keep-alive connections, SIGTERM with such
//! connections open, and the bearer-token exemption of acknowledgement links.
//!
//! Hostile clients speak raw TCP here (half a request line, a body a byte at a time), which no
//! HTTP client library does on purpose.

#[path = "harness/mod.rs"]
mod harness;

use std::time::{Duration, Instant};

use harness::*;
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

/// The connections kept for health probes past the cap (`server::PROBE_RESERVE`).
const PROBE_RESERVE: usize = 32;

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

/// CPU time (user + system) the process has used, from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("comm field") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second() as f64)
}

fn clock_ticks_per_second() -> u64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("run getconf CLK_TCK");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK is a number")
}

/// Sets the open-file limits of the running process `pid`.
fn set_nofile(pid: u32, soft: u64, hard: u64) {
    let status = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &pid.to_string(),
            &format!("--nofile={soft}:{hard}"),
        ])
        .status()
        .expect("run prlimit");
    assert!(status.success(), "prlimit --pid {pid} failed");
}

fn accept_lines(log: &str) -> usize {
    log.lines().filter(|l| l.contains("accept failed")).count()
}

/// Out of file descriptors, campanile neither spins nor floods its log, and serves again once
/// descriptors are free. First 300 half-sent connections against a limit of 256 (the cap keeps
/// campanile under it: past the cap and the probe reserve connections are closed as they are
/// accepted); then the limit is lowered under what is open, so that accept itself fails.
#[tokio::test]
async fn fd_exhaustion_neither_spins_nor_floods_the_log_and_service_resumes() {
    let c = Launch::new(&config(""))
        .under(&["prlimit", "--nofile=256:256", "--"])
        .start()
        .await;
    assert!(
        c.log().contains("server.max_connections lowered"),
        "the cap is lowered under the limit, and says so:\n{}",
        c.log()
    );
    let pid = c.pid();
    let ticks = cpu_time(pid);
    let window = Duration::from_secs(3);

    let mut held = stalled(&c.addr, 300).await;
    tokio::time::sleep(window).await;
    let used = cpu_time(pid).saturating_sub(ticks);
    let lines = accept_lines(&c.log());
    eprintln!("300 stalled connections: {used:?} of CPU in {window:?}, {lines} accept lines");
    assert!(
        used < window / 3,
        "campanile used {used:?} of CPU in {window:?} with 300 stalled connections"
    );
    assert!(lines <= 3, "accept errors flood the log: {lines} lines");
    // The reserve answers probes past the cap; everything else is turned away, clearly.
    wait_until("a probe answered past the cap", PATIENCE, async || {
        let r = exchange(&c.addr, &get("/-/healthy")).await;
        (status_of(&r) == 200).then_some(()).ok_or(r)
    })
    .await;
    let refused = exchange(&c.addr, &post_alerts("PastTheCap")).await;
    assert_eq!(status_of(&refused), 503, "{refused}");
    assert!(refused.contains("server.max_connections"), "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("connection: close"),
        "{refused}"
    );

    // Now accept itself fails: no descriptor can be had at all.
    set_nofile(pid, 3, 256);
    let ticks = cpu_time(pid);
    held.extend(stalled(&c.addr, 20).await);
    tokio::time::sleep(window).await;
    let used = cpu_time(pid).saturating_sub(ticks);
    let lines = accept_lines(&c.log());
    set_nofile(pid, 256, 256);
    eprintln!("accept failing: {used:?} of CPU in {window:?}, {lines} accept lines");
    assert!(
        used < window / 3,
        "campanile used {used:?} of CPU in {window:?} while accept failed"
    );
    assert!(
        (1..=3).contains(&lines),
        "expected one or a few throttled accept errors in the log, saw {lines}:\n{}",
        c.log()
    );

    drop(held);
    wait_until("ingest to work again", PATIENCE, async || {
        let r = exchange(&c.addr, &post_alerts("AfterTheStorm")).await;
        (status_of(&r) == 200).then_some(()).ok_or(r)
    })
    .await;
    assert_eq!(c.get("/-/healthy").await.status, 200);
    assert_eq!(c.alerts_named("AfterTheStorm").await.len(), 1);
    assert!(c.metric("campanile_http_accept_errors_total", &[]).await >= 1.0);
    for outcome in ["probes_only", "closed"] {
        assert!(
            c.metric(
                "campanile_http_connections_refused_total",
                &[("outcome", outcome)]
            )
            .await
                >= 1.0,
            "{outcome}"
        );
    }
    assert!(
        c.log().contains("accepting connections again"),
        "{}",
        c.log()
    );
}

/// campanile raises its soft open-file limit to the hard limit at start.
#[tokio::test]
async fn the_open_file_limit_is_raised_to_the_hard_limit() {
    let c = Launch::new(&config(""))
        .under(&["prlimit", "--nofile=512:4096", "--"])
        .start()
        .await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", c.pid())).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("open files line");
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, ["4096", "4096"], "{line}");
    assert!(
        c.log()
            .contains("open file limit (RLIMIT_NOFILE) limit=4096"),
        "{}",
        c.log()
    );
}

/// Past `server.max_connections` a connection is accepted and answered: probes are served from
/// a reserve, anything else gets 503 naming the key; past the reserve connections are closed
/// at once. Nothing fails at accept.
#[tokio::test]
async fn past_the_cap_probes_are_served_and_the_rest_refused_clearly() {
    let c = Campanile::start(&config(
        "max_connections = 4\nheader_read_timeout = \"30s\"",
    ))
    .await;
    let held = stalled(&c.addr, 4).await;
    wait_until("the cap to be reached", PATIENCE, async || {
        let r = exchange(&c.addr, &post_alerts("OverCap")).await;
        (status_of(&r) == 503).then_some(()).ok_or(r)
    })
    .await;
    let probe = exchange(&c.addr, &get("/-/ready")).await;
    assert_eq!(status_of(&probe), 200, "{probe}");

    // Fill the reserve with connections that send nothing (each is given a second to send its
    // request): the next connection is closed without an answer.
    let reserve = stalled(&c.addr, PROBE_RESERVE).await;
    let turned_away = exchange(&c.addr, &get("/-/healthy")).await;
    assert_eq!(turned_away, "", "past the cap and the reserve");
    // Once those are cut off, probes are answered again.
    wait_until("the reserve to free up", PATIENCE, async || {
        let r = exchange(&c.addr, &get("/-/healthy")).await;
        (status_of(&r) == 200).then_some(()).ok_or(r)
    })
    .await;
    drop(reserve);

    drop(held);
    wait_until("room again", PATIENCE, async || {
        let r = exchange(&c.addr, &post_alerts("UnderCap")).await;
        (status_of(&r) == 200).then_some(()).ok_or(r)
    })
    .await;
    assert!(
        c.metric(
            "campanile_http_connections_refused_total",
            &[("outcome", "closed")]
        )
        .await
            >= 1.0
    );
    assert!(
        c.metric(
            "campanile_http_connections_refused_total",
            &[("outcome", "probes_only")]
        )
        .await
            >= PROBE_RESERVE as f64
    );
    assert!(c.log().contains("connection cap reached"), "{}", c.log());
}

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

/// Only the two routes of an acknowledgement link (`GET` and `POST /ack/<token>`) go without the
/// bearer token; other methods and deeper paths under `/ack/` are ordinary reads and writes.
#[tokio::test]
async fn only_the_ack_link_routes_are_exempt_from_the_token() {
    let key = "k".repeat(32);
    let c = Campanile::start(&format!(
        "{}\n[acks]\nsigning_key = \"{key}\"\n",
        config(
            "auth_token = \"s3cret\"\nread_auth = true\nexternal_url = \"http://campanile.example\""
        )
    ))
    .await;
    let client = client();
    let send = async |method: &str, path: &str, token: bool| {
        let mut r = client.request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            c.url(path),
        );
        if token {
            r = r.bearer_auth("s3cret");
        }
        r.send().await.expect("send").status().as_u16()
    };
    // The link routes: the signed token decides (this one is malformed), not the bearer token.
    for (method, path) in [("GET", "/ack/not.signed"), ("POST", "/ack/not.signed")] {
        let status = send(method, path, false).await;
        assert!(
            status != 401 && (400..500).contains(&status),
            "{method} {path}: {status}"
        );
    }
    // Anything else under /ack/ needs the token.
    for (method, path) in [
        ("DELETE", "/ack/not.signed"),
        ("PUT", "/ack/not.signed"),
        ("PATCH", "/ack/not.signed"),
        ("GET", "/ack/not.signed/more"),
        ("POST", "/ack/not.signed/more"),
        ("GET", "/ack/"),
    ] {
        assert_eq!(send(method, path, false).await, 401, "{method} {path}");
    }
    assert_eq!(send("DELETE", "/ack/not.signed", true).await, 405);
    assert_eq!(send("GET", "/ack/not.signed/more", true).await, 404);
}
