//! Durability end to end: the real binary, a data directory kept across restarts, `kill -9`
//! under load, and a receiver that is slow or down. Every alert that got a 2xx must survive, and
//! every due notification must arrive exactly once (beyond the few in flight at a crash).
//!
//! - `restart.rs`: a graceful restart keeps alerts, timers, the outbox and `Retry-After`, and a
//!   shutdown starts no delivery;
//! - `plugins.rs`: a routing plugin's wake-up and its state survive a restart;
//! - `crash.rs`: `kill -9` under load, and a corrupt store;
//! - `refresh.rs`: `kill -9` after end-only refreshes that were not all written;
//! - `disk.rs`: a full disk.

#[path = "../harness/mod.rs"]
mod harness;

mod crash;
mod disk;
mod plugins;
mod refresh;
mod restart;

use std::collections::HashMap;
use std::path::Path;

use harness::{Campanile, HttpPeer, Launch};

/// How campanile runs in these tests: in `dir`, which outlives it, logging at `info`, through
/// `sh`, which ignores SIGXFSZ before it `exec`s campanile (an ignored signal stays ignored
/// across exec): a file-size limit set on the process (`prlimit`) then makes its writes fail
/// with EFBIG, as a full disk makes them fail, instead of killing it.
fn launch(dir: &Path, config: &str) -> Launch {
    Launch::new(config)
        .in_dir(dir)
        .under(&["sh", "-c", r#"trap '' XFSZ; exec "$0" "$@""#])
        .env("RUST_LOG", "info")
}

/// Starts campanile as [`launch`] says and waits until it is ready.
async fn start(dir: &Path, config: &str) -> Campanile {
    launch(dir, config).start().await
}

/// A store in `data/` of the working folder with `durability`, and one webhook receiver at
/// `http://{receiver_addr}/hook`.
fn config(receiver_addr: &str, durability: &str) -> String {
    config_on(
        receiver_addr,
        &format!("path = \"data/campanile.redb\"\ndurability = \"{durability}\""),
    )
}

/// As [`config`], with `store` as the `[store]` section's keys.
fn config_on(receiver_addr: &str, store: &str) -> String {
    format!(
        r#"
[store]
{store}

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

/// How many webhook notifications `peer` received for each group key.
fn per_group(peer: &HttpPeer) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for request in peer.requests() {
        if let Some(payload) = &request.json {
            let key = payload["groupKey"].as_str().unwrap_or_default().to_string();
            *counts.entry(key).or_default() += 1;
        }
    }
    counts
}

/// How many webhook notifications `peer` received for the group `group_key`.
fn told(peer: &HttpPeer, group_key: &str) -> usize {
    per_group(peer).get(group_key).copied().unwrap_or(0)
}

/// The alert names campanile lists.
async fn alert_names(campanile: &Campanile) -> Vec<String> {
    campanile
        .alerts()
        .await
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap().to_string())
        .collect()
}
