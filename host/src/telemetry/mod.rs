//! Telemetry: what campanile tells operators about itself.
//!
//! - [`metrics`] — the registry and every metric (`campanile_<name>_<unit>[_total]`), updated by
//!   the modules where the events happen; `GET /metrics` encodes it.
//! - [`labels`] — the label sets of those metrics, one struct per shape.
//! - [`logging`] — the tracing subscriber: human-readable text or JSON lines on stderr, levels
//!   from a `RUST_LOG` filter.
//! - [`probe`] — `campanile healthcheck`: a plain HTTP GET of `/-/ready`, for container
//!   `HEALTHCHECK`s in an image that has no curl.
//!
//! Spans are opened where the work is (one per request in `server/routes.rs`, one per group
//! flush in `pipeline.rs`) with fixed keys: `route`, `group_key`, `plugin`, `receiver`.

pub mod labels;
pub mod logging;
pub mod metrics;
pub mod probe;

pub use labels::{
    IngestLabels, LeaseChangeLabels, NotifyLabels, PluginFaultLabels, PluginLabels, ReceiverLabels,
    RefusedLabels, ReloadLabels, SlowClientLabels,
};
pub use logging::{init_logging, LogFormat};
pub use metrics::Metrics;
pub use probe::{probe_ready, ProbeError, DEFAULT_READY_URL};
