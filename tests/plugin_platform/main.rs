//! The plugin platform end to end, through the real binary and the example plugins:
//!
//! - `escalation.rs`: the `escalation-policy` plugin escalates with `wake-after` until someone
//!   acknowledges, with a shortened clock (page after 2 s, the secondary after 4 s);
//! - `examples.rs`: `replica-dedup` folds HA replicas as the identity plugin, a faulty identity
//!   plugin costs only the folding, `team-ownership` routes through the host's lookups;
//! - `reload.rs`: a plugin swapped by reload, by replacing its file or by SIGHUP, under load;
//! - `cli.rs`: `campanile plugin check`, `campanile plugin test` and `campanile plugin build`;
//! - `faults.rs`: a hostile plugin never loses an alert nor stalls campanile, in Rust or Python;
//! - `severity.rs`: one table of `severity-router` cases, routed by the Rust, Python and
//!   TypeScript builds of the example (`languages.rs` says where each build is).

#[path = "../harness/mod.rs"]
mod harness;

mod cli;
mod escalation;
mod examples;
mod faults;
mod languages;
mod reload;
mod severity;

use serde_json::json;

use harness::*;

/// Posts one critical alert named `name`, which campanile must take.
async fn post(campanile: &Campanile, name: &str) {
    let reply = campanile
        .post_alerts(&json!([{"labels": {"alertname": name, "severity": "critical"}}]))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

/// How many notifications on `path` held the alert named `name`.
fn count_for(sink: &HttpPeer, path: &str, name: &str) -> usize {
    sink.payloads(path)
        .iter()
        .filter(|p| alert_with_label(webhook_alerts(p), "alertname", name).is_some())
        .count()
}
