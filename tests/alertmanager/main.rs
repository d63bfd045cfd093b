//! campanile beside the real Prometheus and Alertmanager 0.25 (the Debian binaries):
//!
//! - `webhook.rs`: a real Alertmanager forwards to campanile, Alertmanager's recorded webhook
//!   payloads and fingerprints come out the same, and the webhook notifier retries as
//!   Alertmanager's does;
//! - `prometheus.rs`: a real Prometheus alerts to campanile as to an Alertmanager;
//! - `differential.rs`: the same tree, inhibition and alerts go to both, and every notification
//!   is compared field by field;
//! - `time_bounds.rs`: absurd but valid times are taken or refused as Alertmanager does, and
//!   survive a restart.

#[path = "../harness/mod.rs"]
mod harness;

mod differential;
mod prometheus;
mod time_bounds;
mod webhook;
