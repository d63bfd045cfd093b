//! How many connections are served at once. Past `server.max_connections` a connection is still
//! accepted — leaving it in the backlog would make accept fail and clients hang — and either
//! kept for health probes (a small reserve, so an orchestrator can tell "busy" from "dead") or
//! closed at once. The cap is lowered to stay under the open-file limit, with room left for the
//! store, plugins and receivers' sockets: a cap above it would only turn into accept errors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use prometheus_client::metrics::gauge::Gauge;

use crate::config::Config;

/// Connections past the cap that are kept to answer `/-/healthy` and `/-/ready`.
pub const PROBE_RESERVE: usize = 32;

/// File descriptors kept for everything but client connections: the store, plugin files and
/// their compile cache, the runtime's own, logs; each receiver's concurrent deliveries come on
/// top (one socket each).
const FD_RESERVE: usize = 64;

/// The cap in force, and how it was derived (for the start-up log).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cap {
    /// Connections served.
    pub connections: usize,
    /// `server.max_connections` as configured.
    pub configured: usize,
    /// The soft `RLIMIT_NOFILE` read at start, when there is one.
    pub open_files: Option<u64>,
    /// Descriptors kept apart from client connections (the probe reserve included).
    pub reserved: usize,
}

impl Cap {
    /// `configured`, lowered so that the cap, the probe reserve and `reserved` other
    /// descriptors fit in `open_files` (never below one connection).
    pub fn new(configured: usize, open_files: Option<u64>, reserved: usize) -> Cap {
        let reserved = reserved.saturating_add(PROBE_RESERVE);
        let room = open_files
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .map_or(usize::MAX, |n| n.saturating_sub(reserved));
        Cap {
            connections: configured.min(room).max(1),
            configured,
            open_files,
            reserved,
        }
    }

    /// The cap for `config`, with the process's current soft open-file limit.
    pub fn for_config(config: &Config) -> Cap {
        let deliveries = config
            .receivers
            .iter()
            .fold(0usize, |n, r| n.saturating_add(r.delivery.concurrency));
        let open_files = rlimit::getrlimit(rlimit::Resource::NOFILE)
            .ok()
            .map(|(soft, _hard)| soft);
        Cap::new(
            config.server.max_connections,
            open_files,
            FD_RESERVE.saturating_add(deliveries),
        )
    }

    pub fn clamped(&self) -> bool {
        self.connections < self.configured
    }
}

/// What a newly accepted connection gets.
pub enum Admit {
    /// Full service.
    Serve(Slot),
    /// Health probes only (the reserve past the cap).
    ProbesOnly(Slot),
    /// Nothing: close it.
    Refuse,
}

/// Counts open connections against the cap; the count is also the `campanile_http_connections`
/// gauge.
pub struct Admission {
    open: AtomicUsize,
    cap: usize,
    gauge: Gauge,
}

impl Admission {
    pub fn new(cap: usize, gauge: Gauge) -> Arc<Admission> {
        Arc::new(Admission {
            open: AtomicUsize::new(0),
            cap,
            gauge,
        })
    }

    pub fn admit(self: &Arc<Self>) -> Admit {
        let before = self.open.fetch_add(1, Ordering::AcqRel);
        if before >= self.cap.saturating_add(PROBE_RESERVE) {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return Admit::Refuse;
        }
        self.gauge.inc();
        let slot = Slot {
            admission: self.clone(),
        };
        if before < self.cap {
            Admit::Serve(slot)
        } else {
            Admit::ProbesOnly(slot)
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

/// One admitted connection; dropping it frees its place.
pub struct Slot {
    admission: Arc<Admission>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.admission.open.fetch_sub(1, Ordering::AcqRel);
        self.admission.gauge.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_under_the_open_file_limit() {
        let cap = Cap::new(4096, Some(1_048_576), 100);
        assert_eq!(cap.connections, 4096);
        assert!(!cap.clamped());

        let cap = Cap::new(4096, Some(1024), 100);
        assert_eq!(cap.connections, 1024 - 100 - PROBE_RESERVE);
        assert!(cap.clamped());

        assert_eq!(Cap::new(4096, None, 100).connections, 4096);
        assert_eq!(Cap::new(4096, Some(10), 100).connections, 1, "never zero");
        assert_eq!(
            Cap::new(10, Some(u64::MAX), usize::MAX).connections,
            1,
            "no overflow"
        );
    }

    #[test]
    fn past_the_cap_a_reserve_for_probes_then_refusal() {
        let gauge = Gauge::default();
        let admission = Admission::new(2, gauge.clone());
        let mut held = Vec::new();
        for _ in 0..2 {
            match admission.admit() {
                Admit::Serve(s) => held.push(s),
                _ => panic!("within the cap"),
            }
        }
        for _ in 0..PROBE_RESERVE {
            match admission.admit() {
                Admit::ProbesOnly(s) => held.push(s),
                _ => panic!("within the reserve"),
            }
        }
        assert!(matches!(admission.admit(), Admit::Refuse));
        assert_eq!(admission.open(), 2 + PROBE_RESERVE);
        assert_eq!(gauge.get(), (2 + PROBE_RESERVE) as i64);

        held.truncate(1);
        assert!(matches!(admission.admit(), Admit::Serve(_)), "room again");
        drop(held);
        assert_eq!(admission.open(), 0);
        assert_eq!(gauge.get(), 0);
    }
}
