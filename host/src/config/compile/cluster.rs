//! `[cluster]`: the replica's name (the host name by default), the lease TTL and the shards.
//! A cluster needs the PostgreSQL store: replicas share state through it.

use std::time::Duration;

use crate::config::check::Ctx;
use crate::config::raw::RawCluster;
use crate::config::{ClusterConfig, StoreBackend, StoreConfig};

/// A lease lasts this long unrenewed when `lease_ttl` is not given.
const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);

/// Shards when `shards` is not given: enough to spread over a handful of replicas evenly.
const DEFAULT_SHARDS: u32 = 64;

pub(super) fn compile_cluster(cx: &mut Ctx, raw: RawCluster, store: &StoreConfig) -> ClusterConfig {
    if !matches!(store.backend, StoreBackend::Postgres(_)) {
        cx.err(
            "cluster",
            "replicas share their state through PostgreSQL: set [store] backend = \"postgres\"",
        );
    }
    let lease_ttl = cx.duration(
        "cluster.lease_ttl",
        raw.lease_ttl.as_deref(),
        DEFAULT_LEASE_TTL,
    );
    if lease_ttl < Duration::from_secs(1) || lease_ttl > Duration::from_secs(600) {
        cx.err("cluster.lease_ttl", "must be between 1s and 10m");
    }
    let shards = raw.shards.unwrap_or(DEFAULT_SHARDS);
    if !(1..=4096).contains(&shards) {
        cx.err("cluster.shards", "must be between 1 and 4096");
    }
    let replica = match raw.replica {
        Some(name) => name,
        None => host_name().unwrap_or_default(),
    };
    if replica.is_empty() || replica.len() > 253 || replica.chars().any(char::is_control) {
        cx.err(
            "cluster.replica",
            "must be a name of 1 to 253 printable characters (the host name is the default; \
             set one where it is unavailable)",
        );
    }
    ClusterConfig {
        replica,
        lease_ttl,
        shards,
        advertise: raw.advertise.unwrap_or_default(),
    }
}

/// The host's name (a pod's name in Kubernetes), as the kernel reports it.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::config::Config;

    const ROUTE: &str = "[route]\nreceiver = \"r\"\n[[receivers]]\nname = \"r\"\ntype = \"log\"\n";
    const PG: &str = "[store]\nbackend = \"postgres\"\nurl = \"postgresql://db/x\"\n";

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(&format!("{text}\n{ROUTE}"), "test.toml", Path::new(".")).map_err(|e| {
            e.0.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    #[test]
    fn a_cluster_has_production_defaults_and_the_host_name() {
        assert!(parse(PG).unwrap().cluster.is_none(), "alone unless asked");
        let c = parse(&format!("{PG}[cluster]\n")).unwrap().cluster.unwrap();
        assert_eq!(c.lease_ttl, Duration::from_secs(10));
        assert_eq!(c.shards, 64);
        assert!(!c.replica.is_empty());
        let c = parse(&format!(
            "{PG}[cluster]\nreplica = \"b\"\nlease_ttl = \"3s\"\nshards = 8\n"
        ))
        .unwrap()
        .cluster
        .unwrap();
        assert_eq!(
            (c.replica.as_str(), c.lease_ttl, c.shards),
            ("b", Duration::from_secs(3), 8)
        );
    }

    #[test]
    fn a_cluster_needs_postgres_and_sane_settings() {
        let errs = parse("[cluster]\nreplica = \"a\"").unwrap_err();
        assert!(
            errs.contains("test.toml: cluster: replicas share"),
            "{errs}"
        );
        let errs = parse(&format!(
            "{PG}[cluster]\nshards = 0\nlease_ttl = \"100ms\"\nreplica = \"\""
        ))
        .unwrap_err();
        assert!(errs.contains("cluster.shards"), "{errs}");
        assert!(errs.contains("cluster.lease_ttl"), "{errs}");
        assert!(errs.contains("cluster.replica"), "{errs}");
    }
}
