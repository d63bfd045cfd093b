//! What goes wrong in a plugin call, named: the fault kinds that logs, metrics and the
//! decision log show, and how a wasmtime error or a host panic becomes one.

use std::time::Duration;

use wasmtime::{Store, Trap};

use super::host::CallState;
use crate::config::PluginConfig;

/// Why one call to a plugin produced no usable decision.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PluginFault {
    #[error("trapped: {0}")]
    Trap(String),
    #[error("ran past its {0:?} time limit")]
    Timeout(Duration),
    #[error("exceeded its {0}-byte memory limit")]
    Memory(usize),
    #[error("returned an error: {0}")]
    Error(String),
    #[error("returned oversized output: {0}")]
    Output(String),
    #[error("could not be instantiated: {0}")]
    Instantiate(String),
    #[error("named receiver {0:?}, which is not configured")]
    UnknownReceiver(String),
    #[error("is not loaded")]
    Missing,
}

impl PluginFault {
    /// A short, stable name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginFault::Trap(_) => "trap",
            PluginFault::Timeout(_) => "timeout",
            PluginFault::Memory(_) => "memory",
            PluginFault::Error(_) => "error",
            PluginFault::Output(_) => "output",
            PluginFault::Instantiate(_) => "instantiate",
            PluginFault::UnknownReceiver(_) => "unknown_receiver",
            PluginFault::Missing => "missing",
        }
    }
}

/// Names the fault behind a wasmtime error: memory cap, deadline, or a trap.
pub(super) fn classify(
    store: &Store<CallState>,
    limits: &PluginConfig,
    e: wasmtime::Error,
) -> PluginFault {
    if store.data().limiter.exceeded {
        PluginFault::Memory(limits.memory_limit)
    } else if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        PluginFault::Timeout(limits.timeout)
    } else {
        PluginFault::Trap(format!("{e:#}"))
    }
}

/// The message of a panic payload, as `std` prints it.
pub(super) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_string(),
        (None, Some(s)) => s.clone(),
        (None, None) => "panicked".to_string(),
    }
}
