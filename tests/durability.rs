//! Durability end to end: the real binary, a data directory kept across restarts, `kill -9`
//! under load, and a receiver that is slow or down. Every alert that got a 2xx must survive, and
//! every due notification must arrive exactly once (beyond the few in flight at a crash).

#[path = "harness/mod.rs"]
mod harness;
#[path = "peers/mod.rs"]
mod peers;

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use harness::{stays_true, wait_until, PATIENCE};
use peers::http::{Answer, HttpPeer};

/// At most this many deliveries per receiver can be repeated after a crash: those in flight
/// (campanile's per-receiver concurrency, 4) and those finished whose outbox entry was not yet
/// cleared on disk (at most 64; in practice those of the commit in progress).
const REPEATABLE_PER_RECEIVER: usize = 4 + 64;

/// A campanile process on a data directory that outlives it.
struct Node {
    dir: PathBuf,
    addr: String,
    child: Child,
    runs: u32,
}

impl Node {
    async fn start(dir: &Path, config: &str) -> Node {
        std::fs::write(dir.join("campanile.toml"), config).unwrap();
        let mut node = Node {
            dir: dir.to_path_buf(),
            addr: String::new(),
            child: Command::new("true").spawn().unwrap(),
            runs: 0,
        };
        node.spawn().await;
        node
    }

    /// Starts campanile on a free port and waits until it is ready; a lost race for the port
    /// (another test took it first) is tried again on another.
    async fn spawn(&mut self) {
        for attempt in 1..=3 {
            if self.try_spawn().await {
                return;
            }
            let log =
                std::fs::read_to_string(self.dir.join(format!("campanile-{}.log", self.runs)))
                    .unwrap_or_default();
            if attempt == 3 || !harness::address_in_use(&log) {
                panic!("campanile exited before it was ready:\n{}", self.logs());
            }
        }
    }

    /// Whether campanile became ready (false: it exited first).
    async fn try_spawn(&mut self) -> bool {
        self.runs += 1;
        self.addr = format!("127.0.0.1:{}", harness::free_port());
        let log =
            std::fs::File::create(self.dir.join(format!("campanile-{}.log", self.runs))).unwrap();
        // Through `sh`, which ignores SIGXFSZ before it `exec`s campanile (an ignored signal
        // stays ignored across exec): a file-size limit set on the process (`prlimit`) then
        // makes its writes fail with EFBIG, as a full disk makes them fail, instead of
        // killing it.
        self.child = Command::new("sh")
            .args([
                "-c",
                r#"trap '' XFSZ; exec "$0" "$@""#,
                env!("CARGO_BIN_EXE_campanile"),
                "serve",
                "--config",
                "campanile.toml",
                "--listen",
                &self.addr,
            ])
            .current_dir(&self.dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start campanile");
        let client = harness::client();
        let url = format!("http://{}/-/ready", self.addr);
        let mut exited = false;
        wait_until("campanile to be ready", PATIENCE, async || {
            if self.child.try_wait().unwrap().is_some() {
                exited = true;
                return Ok(());
            }
            match client.get(&url).send().await {
                Ok(r) if r.status() == 200 => Ok(()),
                Ok(r) => Err(format!("status {}", r.status())),
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
        !exited
    }

    /// SIGTERM, and the process must exit cleanly by itself.
    async fn stop_and_restart(&mut self) {
        self.terminate().await;
        self.spawn().await;
    }

    /// SIGTERM, and waits until the process has exited cleanly by itself.
    async fn terminate(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let exit = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "campanile did not exit after SIGTERM:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(
            exit.success(),
            "campanile exited with {exit} after SIGTERM:\n{}",
            self.logs()
        );
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn alert_names(&self) -> Vec<String> {
        let alerts: Value = harness::client()
            .get(self.url("/api/v2/alerts"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        alerts
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["labels"]["alertname"].as_str().unwrap().to_string())
            .collect()
    }

    fn logs(&self) -> String {
        (1..=self.runs)
            .map(|i| {
                let text = std::fs::read_to_string(self.dir.join(format!("campanile-{i}.log")))
                    .unwrap_or_default();
                let tail = &text[text.len().saturating_sub(8000)..];
                format!("--- run {i} ---\n{tail}")
            })
            .collect()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}

/// A webhook receiver on a fixed address that answers 200 after `delay`, recording each
/// payload's group key and status.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, String)>>>);

impl Received {
    fn count(&self, group_key: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == group_key)
            .count()
    }

    fn per_group(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for (k, _) in self.0.lock().unwrap().iter() {
            *m.entry(k.clone()).or_default() += 1;
        }
        m
    }
}

/// A webhook receiver on `addr` (`127.0.0.1:0` for any free port, which avoids racing other
/// tests for one); returns the address it listens on.
async fn receiver(addr: &str, delay: Duration) -> (String, Received, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind(addr).await.expect("bind receiver");
    let addr = listener.local_addr().expect("receiver address").to_string();
    let received = Received::default();
    let rec = received.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let rec = rec.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let rec = rec.clone();
                    async move {
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        tokio::time::sleep(delay).await;
                        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                            let key = v["groupKey"].as_str().unwrap_or_default().to_string();
                            let status = v["status"].as_str().unwrap_or_default().to_string();
                            rec.0.lock().unwrap().push((key, status));
                        }
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, received, task)
}

fn config(receiver_addr: &str, durability: &str) -> String {
    format!(
        r#"
[store]
path = "data/campanile.redb"
durability = "{durability}"

[[receivers]]
name = "hook"
type = "webhook"
url = "http://{receiver_addr}/hook"
timeout = "5s"

[route]
receiver = "hook"
group_by = ["alertname"]
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1h"
"#
    )
}

fn group_key(name: &str) -> String {
    format!("{{}}:{{alertname=\"{name}\"}}")
}

#[tokio::test(flavor = "multi_thread")]
async fn graceful_restart_keeps_alerts_timers_and_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (recv_addr, received, _r) = receiver("127.0.0.1:0", Duration::ZERO).await;
    let mut node = Node::start(dir.path(), &config(&recv_addr, "immediate")).await;
    let client = harness::client();

    let ends = harness::rfc3339_from_now(time::Duration::hours(1));
    let body = json!([{"labels": {"alertname": "Notified"}, "endsAt": ends}]);
    let r = client
        .post(node.url("/api/v2/alerts"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_until("the first notification", PATIENCE, async || {
        (received.count(&group_key("Notified")) == 1)
            .then_some(())
            .ok_or_else(|| format!("{:?}", received.per_group()))
    })
    .await;

    // Posted just before the stop: its group_wait (1 s) runs out while campanile is down.
    let body = json!([{"labels": {"alertname": "Pending"}, "endsAt": ends}]);
    let r = client
        .post(node.url("/api/v2/alerts"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    node.stop_and_restart().await;

    let mut names = node.alert_names().await;
    names.sort();
    assert_eq!(
        names,
        ["Notified", "Pending"],
        "every acknowledged alert is back"
    );
    wait_until(
        "the pending group to be flushed after the restart",
        PATIENCE,
        async || {
            (received.count(&group_key("Pending")) == 1)
                .then_some(())
                .ok_or_else(|| format!("{:?}", received.per_group()))
        },
    )
    .await;
    // The group notified before the restart remembers it: no second "first" notification.
    stays_true(
        "no repeat of the notification sent before the restart",
        Duration::from_secs(3),
        async || match received.count(&group_key("Notified")) {
            1 => Ok(()),
            n => Err(format!("{n} notifications for the group")),
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn crash_under_load_loses_no_acknowledged_alert_and_duplicates_only_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    // A slow receiver, so deliveries queue up and some are in flight at the crash.
    let (recv_addr, received, _r) = receiver("127.0.0.1:0", Duration::from_millis(50)).await;
    let mut node = Node::start(dir.path(), &config(&recv_addr, "immediate")).await;

    // Four senders post batches of five new alerts; kill -9 after a second and a half.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let url = node.url("/api/v2/alerts");
    let mut senders = Vec::new();
    for sender in 0..4 {
        let acknowledged = acknowledged.clone();
        let url = url.clone();
        senders.push(tokio::spawn(async move {
            let client = harness::client();
            let ends = harness::rfc3339_from_now(time::Duration::hours(1));
            for batch in 0..400 {
                let names: Vec<String> = (0..5)
                    .map(|i| format!("Load-{sender}-{batch}-{i}"))
                    .collect();
                let body: Vec<Value> = names
                    .iter()
                    .map(|n| json!({"labels": {"alertname": n}, "endsAt": ends}))
                    .collect();
                match client.post(&url).json(&body).send().await {
                    Ok(r) if r.status() == 200 => acknowledged.lock().unwrap().extend(names),
                    _ => return, // the process is gone: stop, as Prometheus would until it is back
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 50,
        "the load generator got only {} alerts in",
        acknowledged.len()
    );
    let before_restart = received.per_group();
    assert!(
        before_restart.len() < acknowledged.len(),
        "the crash should come while notifications are pending"
    );

    node.spawn().await;

    let stored: std::collections::HashSet<String> = node.alert_names().await.into_iter().collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|n| !stored.contains(*n))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged alerts lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );

    wait_until(
        "a notification for every acknowledged alert",
        Duration::from_secs(180),
        async || {
            let got = received.per_group();
            let missing = acknowledged
                .iter()
                .filter(|n| !got.contains_key(&group_key(n)))
                .count();
            (missing == 0).then_some(()).ok_or_else(|| {
                format!(
                    "{missing} of {} groups not yet notified",
                    acknowledged.len()
                )
            })
        },
    )
    .await;
    // Let any stray repeat arrive before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = received.per_group();
    let repeated: Vec<(&String, &usize)> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.len() <= REPEATABLE_PER_RECEIVER && repeated.iter().all(|(_, n)| **n == 2),
        "only deliveries in flight or not yet cleared at the crash may repeat, once: {repeated:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn notification_waits_out_a_receiver_outage_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens here yet: deliveries fail with connection refused and are retried.
    let recv_addr = format!("127.0.0.1:{}", harness::free_port());
    let mut node = Node::start(dir.path(), &config(&recv_addr, "immediate")).await;
    let ends = harness::rfc3339_from_now(time::Duration::hours(1));
    let r = harness::client()
        .post(node.url("/api/v2/alerts"))
        .json(&json!([{"labels": {"alertname": "Outage"}, "endsAt": ends}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Wait until campanile has tried and failed at least once.
    wait_until("a failed delivery attempt", PATIENCE, async || {
        let log = node.logs();
        log.contains("will retry")
            .then_some(())
            .ok_or_else(|| "no retry logged yet".to_string())
    })
    .await;

    node.stop_and_restart().await;
    let (_, received, _r) = receiver(&recv_addr, Duration::ZERO).await;
    wait_until(
        "the notification after the receiver came back",
        PATIENCE,
        async || {
            (received.count(&group_key("Outage")) >= 1)
                .then_some(())
                .ok_or_else(|| "nothing yet".to_string())
        },
    )
    .await;
    stays_true(
        "exactly one notification",
        Duration::from_secs(3),
        async || match received.count(&group_key("Outage")) {
            1 => Ok(()),
            n => Err(format!("{n} notifications")),
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_store_refuses_to_start_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/campanile.redb"), vec![0x5a; 16384]).unwrap();
    std::fs::write(
        dir.path().join("campanile.toml"),
        config("127.0.0.1:9", "immediate"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_campanile"))
        .args([
            "serve",
            "--config",
            "campanile.toml",
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "campanile started on a corrupt store"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("data/campanile.redb"),
        "the error names the file: {stderr}"
    );
    // The file is left as it was, for the operator to inspect or restore.
    assert_eq!(
        std::fs::read(dir.path().join("data/campanile.redb")).unwrap(),
        vec![0x5a; 16384]
    );
}

/// A wake-up a routing plugin asked for is stored: campanile stops (SIGTERM) between the chat
/// notification and the page, and after the restart the page still comes when it is due, and
/// chat is not told again.
#[tokio::test(flavor = "multi_thread")]
async fn an_escalation_timer_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (chat_addr, chat, _c) = receiver("127.0.0.1:0", Duration::ZERO).await;
    let (primary_addr, primary, _p) = receiver("127.0.0.1:0", Duration::ZERO).await;
    let config = format!(
        r#"
[store]
path = "data/campanile.redb"

[[receivers]]
name = "chat"
type = "webhook"
url = "http://{chat_addr}/chat"

[[receivers]]
name = "primary"
type = "webhook"
url = "http://{primary_addr}/primary"

[[plugins]]
name = "escalation"
path = '{plugin}'

[plugins.config]
chat = "chat"
primary = "primary"
page_after = "4s"

[route]
receiver = "chat"
plugin = "escalation"
group_by = ["alertname"]
group_wait = "100ms"
group_interval = "1h"
repeat_interval = "4h"
"#,
        plugin = harness::escalation_wasm().display(),
    );
    let mut node = Node::start(dir.path(), &config).await;
    let r = harness::client()
        .post(node.url("/api/v2/alerts"))
        .json(&json!([{"labels": {"alertname": "Escalating"}}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let key = group_key("Escalating");
    wait_until("chat to be told", PATIENCE, async || {
        (chat.count(&key) == 1)
            .then_some(())
            .ok_or_else(|| format!("{:?}", chat.per_group()))
    })
    .await;
    let told_at = Instant::now();
    // The compiled plugin was cached beside the store, for the restart to reuse.
    let cache = dir.path().join("data/plugin-cache");
    let cached = walk_files(&cache);
    assert!(cached > 0, "nothing cached in {}", cache.display());
    node.stop_and_restart().await;
    assert_eq!(primary.count(&key), 0, "paged before the restart");

    wait_until("the page after the restart", PATIENCE, async || {
        (primary.count(&key) == 1)
            .then_some(())
            .ok_or_else(|| format!("{:?}", primary.per_group()))
    })
    .await;
    assert!(
        told_at.elapsed() >= Duration::from_millis(3500),
        "paged {:?} after chat, before page_after",
        told_at.elapsed()
    );
    stays_true(
        "chat told once",
        Duration::from_secs(2),
        async || match chat.count(&key) {
            1 => Ok(()),
            n => Err(format!("{n} chat notifications:\n{}", node.logs())),
        },
    )
    .await;
}

/// A plugin's state is durable: the hostile plugin in mode `count` keeps a call counter in its
/// state and titles each notification `call N`; after a restart the count goes on.
#[tokio::test(flavor = "multi_thread")]
async fn plugin_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let titles: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = titles.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = listener.local_addr().unwrap();
    let _server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        // The log receiver is not used: a Slack-shaped body carries the title.
                        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                        if let Some(t) = v["text"].as_str() {
                            seen.lock().unwrap().push(t.to_string());
                        }
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let config = format!(
        r#"
[store]
path = "data/campanile.redb"

[[receivers]]
name = "chat"
type = "slack"
url = "http://{hook_addr}/hook"

[[plugins]]
name = "counter"
path = '{plugin}'
[plugins.config]
mode = "count"

[route]
receiver = "chat"
plugin = "counter"
group_by = ["alertname"]
group_wait = "100ms"
group_interval = "1h"
repeat_interval = "4h"
"#,
        plugin = harness::hostile_wasm().display(),
    );
    let mut node = Node::start(dir.path(), &config).await;
    let post = async |node: &Node, name: &str| {
        let r = harness::client()
            .post(node.url("/api/v2/alerts"))
            .json(&json!([{"labels": {"alertname": name}}]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    };
    let has_title = async |n: usize, title: &str| {
        let title = title.to_string();
        let titles = titles.clone();
        wait_until(
            &format!("a notification titled {title:?}"),
            PATIENCE,
            async || {
                let t = titles.lock().unwrap().clone();
                (t.len() == n && t.iter().any(|x| x.contains(&title)))
                    .then_some(())
                    .ok_or(format!("{t:?}"))
            },
        )
        .await;
    };
    post(&node, "First").await;
    has_title(1, "call 1").await;
    post(&node, "Second").await;
    has_title(2, "call 2").await;
    node.stop_and_restart().await;
    post(&node, "Third").await;
    has_title(3, "call 3").await;
}

/// How many files are below `dir`.
/// Sets the soft file-size limit of process `pid` (`prlimit`, util-linux): `limit` is bytes or
/// `unlimited`.
fn set_file_size_limit(pid: u32, limit: &str) {
    let status = Command::new("prlimit")
        .args([&format!("--pid={pid}"), &format!("--fsize={limit}:")])
        .status()
        .expect("run prlimit (util-linux)");
    assert!(status.success(), "prlimit --fsize={limit}: failed");
}

/// Posts `names` as firing alerts ending at `ends` (with a long annotation, so the store grows
/// quickly).
async fn post_alerts(node: &Node, names: &[String], ends: &str) -> reqwest::Response {
    let body: Vec<Value> = names
        .iter()
        .map(|n| {
            json!({
                "labels": {"alertname": n},
                "annotations": {"description": "x".repeat(2000)},
                "endsAt": ends,
            })
        })
        .collect();
    harness::client()
        .post(node.url("/api/v2/alerts"))
        .json(&body)
        .send()
        .await
        .expect("campanile answers")
}

/// Limits campanile's file size to the store's size now, then posts batches of new alerts
/// (named `{tag}-{batch}-{i}`) until one is refused; returns that batch.
async fn fill_the_disk(node: &Node, tag: &str, ends: &str) -> Vec<String> {
    let size = std::fs::metadata(node.dir.join("data/campanile.redb"))
        .unwrap()
        .len();
    set_file_size_limit(node.child.id(), &size.to_string());
    for batch in 0..1000 {
        let names: Vec<String> = (0..20).map(|i| format!("{tag}-{batch}-{i}")).collect();
        let response = post_alerts(node, &names, ends).await;
        match response.status().as_u16() {
            200 => continue,
            503 => {
                let text = response.text().await.unwrap();
                assert!(text.contains("could not be stored durably"), "{text}");
                return names;
            }
            other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
        }
    }
    panic!("the store never hit the file-size limit");
}

/// Posts `names` until campanile answers 200 (a sender retrying a 503).
async fn post_until_taken(node: &Node, names: &[String], ends: &str) {
    wait_until(
        "the batch to be taken",
        PATIENCE,
        async || match post_alerts(node, names, ends).await.status().as_u16() {
            200 => Ok(()),
            other => Err(format!("status {other}")),
        },
    )
    .await;
}

/// A store that cannot be written (a file-size limit on the process, which fails redb's writes
/// with EFBIG as a full disk fails them with ENOSPC) answers 503 and keeps serving. Once there
/// is room again it writes without a restart; the writes of the failed transactions are made
/// then, and no 2xx is answered before the disk has the alerts, not even to an identical
/// re-send of a refused batch (which the cache already holds).
#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_answers_503_and_once_it_has_room_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (recv_addr, _received, _r) = receiver("127.0.0.1:0", Duration::ZERO).await;
    let mut node = Node::start(dir.path(), &config(&recv_addr, "immediate")).await;
    let ends = harness::rfc3339_from_now(time::Duration::hours(1));
    let before = vec!["Before".to_string()];
    assert_eq!(post_alerts(&node, &before, &ends).await.status(), 200);

    // 1. A refused batch that nobody sends again is written once the disk has room.
    let never_resent = fill_the_disk(&node, "Full", &ends).await;
    // campanile keeps serving meanwhile.
    assert_eq!(
        harness::client()
            .get(node.url("/-/healthy"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A silence is visible only once durable: refused now, it must not turn up later.
    let silence = harness::client()
        .post(node.url("/api/v2/silences"))
        .json(&json!({
            "matchers": [{"name": "alertname", "value": "Ghost", "isRegex": false}],
            "startsAt": harness::rfc3339_from_now(time::Duration::ZERO),
            "endsAt": ends,
            "createdBy": "test",
            "comment": "made while the disk was full",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(silence.status(), 503, "{}", silence.text().await.unwrap());
    set_file_size_limit(node.child.id(), "unlimited");
    let after = vec!["After".to_string()];
    post_until_taken(&node, &after, &ends).await;

    // 2. A refused batch re-sent identically as soon as there is room: 503 until the writer's
    //    next attempt has it on disk, then 200.
    let resent = fill_the_disk(&node, "Again", &ends).await;
    set_file_size_limit(node.child.id(), "unlimited");
    post_until_taken(&node, &resent, &ends).await;

    // Crash right away: nothing that got a 2xx, nor the batch never re-sent, is lost.
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    node.spawn().await;
    let stored: std::collections::HashSet<String> = node.alert_names().await.into_iter().collect();
    for name in before
        .iter()
        .chain(&never_resent)
        .chain(&after)
        .chain(&resent)
    {
        assert!(
            stored.contains(name),
            "{name} was lost; stored: {}",
            stored.len()
        );
    }
    let silences: Value = harness::client()
        .get(node.url("/api/v2/silences"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        silences,
        json!([]),
        "the refused silence was written after all"
    );
}

fn walk_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        walk_files(&p)
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// `host:port` of a local HTTP peer, for [`config`].
fn peer_addr(peer: &HttpPeer) -> String {
    peer.url("").trim_start_matches("http://").to_string()
}

/// The alert names of the webhook payloads `peer` received, in order.
fn names_received(requests: &[peers::http::Received]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            r.json()["groupLabels"]["alertname"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_starts_no_delivery_and_leaves_the_queued_ones_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    // A slow receiver and one delivery at a time: the first is in flight, the others queue.
    let peer = HttpPeer::start(Answer::new(200, "ok").delay(Duration::from_millis(1500))).await;
    let config = config(&peer_addr(&peer), "immediate")
        .replace("timeout = \"5s\"", "timeout = \"5s\"\nconcurrency = 1");
    let mut node = Node::start(dir.path(), &config).await;
    let names: Vec<String> = (0..5).map(|i| format!("Queued{i}")).collect();
    let ends = harness::rfc3339_from_now(time::Duration::hours(1));
    let alerts: Vec<Value> = names
        .iter()
        .map(|n| json!({"labels": {"alertname": n}, "endsAt": ends}))
        .collect();
    let r = harness::client()
        .post(node.url("/api/v2/alerts"))
        .json(&alerts)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let in_flight = peer.wait_for(1).await;
    assert_eq!(in_flight.len(), 1, "{}", peer.summary());

    // A request whose body never ends keeps the server, and so the process, in its grace
    // period for a while: long enough for a worker to start another delivery, if it would.
    let mut slow = tokio::net::TcpStream::connect(&node.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut slow,
        b"POST /api/v2/alerts HTTP/1.1\r\nhost: campanile\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n[",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    tokio::join!(node.terminate(), async {
        // The delivery in flight is answered 1.5 s after it arrived; then some more time.
        tokio::time::sleep(Duration::from_millis(3000)).await;
        drop(slow);
    });
    let after: Vec<_> = peer
        .requests()
        .into_iter()
        .filter(|r| r.at > signalled)
        .collect();
    assert!(
        after.is_empty(),
        "deliveries started after SIGTERM: {:?}\n{}",
        names_received(&after),
        node.logs()
    );
    let log = node.logs();
    assert!(
        log.contains("notification sent"),
        "the delivery in flight gets the grace period to finish:\n{log}"
    );

    // After the restart every queued one is delivered, and the one that finished during the
    // grace period is not repeated: its outbox entry was cleared before the store closed.
    node.spawn().await;
    let received = peer.wait_for(names.len()).await;
    stays_true(
        "each notification delivered exactly once",
        Duration::from_secs(3),
        async || {
            let mut got = names_received(&peer.requests());
            got.sort();
            (got == names)
                .then_some(())
                .ok_or_else(|| format!("{got:?}"))
        },
    )
    .await;
    assert_eq!(names_received(&received[..1]), names_received(&in_flight));
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let peer = HttpPeer::start(Answer::new(200, "ok")).await;
    peer.script([Answer::new(503, "busy").header("retry-after", "3")]);
    let mut node = Node::start(dir.path(), &config(&peer_addr(&peer), "immediate")).await;
    let ends = harness::rfc3339_from_now(time::Duration::hours(1));
    let r = harness::client()
        .post(node.url("/api/v2/alerts"))
        .json(&json!([{"labels": {"alertname": "Busy"}, "endsAt": ends}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let first = peer.wait_for(1).await;
    assert_eq!(first[0].answered, 503);

    // Stopped right after the 503 and started again at once: the retry is due 3 s after the
    // 503, whatever happened in between.
    node.stop_and_restart().await;
    let requests = peer.wait_for(2).await;
    let waited = requests[1].at.duration_since(requests[0].at);
    eprintln!("retried {waited:?} after the 503 (Retry-After: 3), across a restart");
    assert!(
        waited >= Duration::from_secs(3),
        "the retry came {waited:?} after the 503 that asked for 3 s:\n{}",
        node.logs()
    );
    assert_eq!(requests[1].answered, 200);
    assert!(
        waited < Duration::from_secs(10),
        "the retry came {waited:?} after the 503"
    );
}
