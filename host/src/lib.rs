//! campanile: an alert routing and deduplication engine that hosts WebAssembly routing plugins.
//!
//! The modules follow the pipeline — `ingest` → `dedup` → `group` → `route` (with `plugin`) →
//! `notify` — with `pipeline` stating the order of stages for a due group, `config` and `model`
//! beside them, `server` and `api` at the HTTP edge, and `app` wiring it all together.
//! See ARCHITECTURE.md for the map.

// Instants and durations are added and subtracted only through `clock`, which cannot overflow
// (a far-future `endsAt` once stopped the dispatcher). clippy.toml allows the integer types, so
// this flags exactly time arithmetic. Tests compute times freely.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod ack;
pub mod answer;
pub mod api;
pub mod app;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod console;
pub mod decisions;
pub mod dedup;
pub mod deliveries;
pub mod dry_run;
#[doc(hidden)]
pub mod fuzzing;
pub mod group;
pub mod http;
pub mod ingest;
pub mod inhibit;
pub mod live;
pub mod model;
pub mod mute;
pub mod notify;
pub mod pipeline;
pub mod plugin;
pub mod plugin_build;
pub mod reload;
pub mod route;
pub mod server;
pub mod silence;
pub mod state;
pub mod store;
pub mod supervise;
pub mod telemetry;
