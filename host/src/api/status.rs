//! `GET /api/v2/status` and `GET /api/v2/receivers` in Alertmanager's shapes.
//!
//! `config.original` is campanile's routing tree, inhibition rules and receiver names written
//! as an Alertmanager configuration (YAML), so `amtool config routes` draws campanile's tree.
//! It is a translation for tools, not the TOML campanile reads: receivers' settings and
//! plugins are left out.

use std::fmt::Write as _;
use std::time::Duration;

use hyper::{Response, StatusCode};
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::{Config, GroupBy, RouteConfig};
use crate::http::respond::{json, Body};
use crate::model::api_time;
use crate::state::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    cluster: Cluster,
    version_info: VersionInfo,
    config: OriginalConfig,
    #[serde(serialize_with = "api_time")]
    uptime: OffsetDateTime,
}

/// Alertmanager's `clusterStatus`: this replica's name, `ready` (or `settling` while the
/// database is out of reach), and the live replicas.
#[derive(Serialize)]
struct Cluster {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    status: &'static str,
    peers: Vec<PeerStatus>,
}

#[derive(Serialize)]
struct PeerStatus {
    name: String,
    address: String,
}

/// The Alertmanager release whose API v2 campanile implements, reported as `version`:
/// amtool compares it with its own and warns on every command when they differ, and tools
/// such as Karma pick their API client from it. campanile's own version is in `revision`
/// (`campanile-0.3.0`), in `campanile --version` and in `campanile_build_info`.
pub const ALERTMANAGER_API_VERSION: &str = "0.25.0";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionInfo {
    version: &'static str,
    revision: &'static str,
    branch: &'static str,
    build_user: &'static str,
    build_date: &'static str,
    go_version: &'static str,
}

#[derive(Serialize)]
struct OriginalConfig {
    original: String,
}

#[derive(Serialize)]
struct Receiver<'a> {
    name: &'a str,
}

fn cluster(state: &AppState) -> Cluster {
    let Some(leases) = &state.cluster else {
        // Alone: Alertmanager reports "disabled" when it has no cluster.
        return Cluster {
            name: None,
            status: "disabled",
            peers: Vec::new(),
        };
    };
    Cluster {
        name: Some(leases.replica().to_string()),
        status: if leases.degraded() {
            "settling"
        } else {
            "ready"
        },
        peers: leases
            .last_peers()
            .into_iter()
            .map(|p| PeerStatus {
                name: p.name,
                address: p.address,
            })
            .collect(),
    }
}

pub(crate) fn status(state: &AppState) -> Response<Body> {
    let status = Status {
        cluster: cluster(state),
        version_info: VersionInfo {
            version: ALERTMANAGER_API_VERSION,
            revision: concat!("campanile-", env!("CARGO_PKG_VERSION")),
            branch: "campanile",
            build_user: "",
            build_date: "",
            go_version: "",
        },
        config: OriginalConfig {
            original: alertmanager_yaml(&state.config()),
        },
        uptime: state.started,
    };
    json(StatusCode::OK, &status)
}

pub(crate) fn receivers(state: &AppState) -> Response<Body> {
    let config = state.config();
    let out: Vec<Receiver> = config
        .receivers
        .iter()
        .map(|r| Receiver { name: &r.name })
        .collect();
    json(StatusCode::OK, &out)
}

/// The configuration as Alertmanager would read it. Scalars are written as JSON strings, which
/// YAML reads as double-quoted scalars.
fn alertmanager_yaml(config: &Config) -> String {
    let mut y = String::from(
        "# campanile's routing tree, inhibition rules and receivers, in Alertmanager's format.\n\
         # campanile is configured in TOML; receiver settings and plugins are not shown.\n",
    );
    y.push_str("route:\n");
    route_yaml(&mut y, &config.route, 1);
    if !config.inhibit_rules.is_empty() {
        y.push_str("inhibit_rules:\n");
        for r in &config.inhibit_rules {
            let strings = |ms: &[crate::model::Matcher]| -> Vec<String> {
                ms.iter().map(|m| m.to_string()).collect()
            };
            let _ = writeln!(
                y,
                "  - source_matchers: {}",
                list(&strings(&r.source_matchers))
            );
            let _ = writeln!(
                y,
                "    target_matchers: {}",
                list(&strings(&r.target_matchers))
            );
            let _ = writeln!(y, "    equal: {}", list(&r.equal));
        }
    }
    y.push_str("receivers:\n");
    for r in &config.receivers {
        let _ = writeln!(y, "  - name: {}", quote(&r.name));
    }
    y
}

fn route_yaml(y: &mut String, r: &RouteConfig, depth: usize) {
    let pad = "  ".repeat(depth);
    let _ = writeln!(y, "{pad}receiver: {}", quote(&r.receiver));
    let group_by = match &r.group_by {
        GroupBy::All => vec!["...".to_string()],
        GroupBy::Labels(l) => l.clone(),
    };
    let _ = writeln!(y, "{pad}group_by: {}", list(&group_by));
    if !r.matchers.is_empty() {
        let m: Vec<String> = r.matchers.iter().map(|m| m.to_string()).collect();
        let _ = writeln!(y, "{pad}matchers: {}", list(&m));
    }
    if r.continue_matching {
        let _ = writeln!(y, "{pad}continue: true");
    }
    let _ = writeln!(y, "{pad}group_wait: {}", duration(r.group_wait));
    let _ = writeln!(y, "{pad}group_interval: {}", duration(r.group_interval));
    let _ = writeln!(y, "{pad}repeat_interval: {}", duration(r.repeat_interval));
    if !r.routes.is_empty() {
        let _ = writeln!(y, "{pad}routes:");
        for child in &r.routes {
            // The child's first key carries the list item's dash, in place of indentation.
            let mut c = String::new();
            route_yaml(&mut c, child, depth + 2);
            c.replace_range(..pad.len() + 4, &format!("{pad}  - "));
            y.push_str(&c);
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

fn list(items: &[String]) -> String {
    serde_json::to_string(items).expect("strings serialise")
}

/// A duration as Prometheus writes them: whole seconds, else milliseconds.
fn duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn routing_tree_as_alertmanager_yaml() {
        let config = Config::parse(
            r#"
[[receivers]]
name = "oncall"
type = "log"
[[receivers]]
name = "db"
type = "log"
[[inhibit_rules]]
source_matchers = ['severity="critical"']
target_matchers = ['severity="warning"']
equal = ["cluster"]
[route]
receiver = "oncall"
group_by = ["alertname"]
[[route.routes]]
matchers = ['team="db"']
receiver = "db"
continue = true
group_wait = "1500ms"
"#,
            "t",
            Path::new("."),
        )
        .unwrap();
        let y = alertmanager_yaml(&config);
        assert!(
            y.contains("route:\n  receiver: \"oncall\"\n  group_by: [\"alertname\"]\n"),
            "{y}"
        );
        assert!(y.contains("  routes:\n    - receiver: \"db\"\n"), "{y}");
        assert!(y.contains("      matchers: [\"team=\\\"db\\\"\"]\n      continue: true\n      group_wait: 1500ms\n"), "{y}");
        assert!(
            y.contains("  - source_matchers: [\"severity=\\\"critical\\\"\"]\n"),
            "{y}"
        );
        assert!(
            y.contains("receivers:\n  - name: \"oncall\"\n  - name: \"db\"\n"),
            "{y}"
        );
    }
}
