//! `GET /api/v1/plugins`: the routing plugins in force — name, version (the digest of the
//! `.wasm` file the decision log names), file, limits, and the routes that ask each. How often
//! they were called and how they faulted is in `/metrics` (`campanile_plugin_*`), the one
//! place those counts are kept.

use hyper::{Response, StatusCode};
use serde::Serialize;

use crate::config::RouteConfig;
use crate::http::respond::{json, Body};
use crate::state::AppState;

#[derive(Serialize)]
struct Plugin {
    name: String,
    version: Option<String>,
    path: String,
    timeout_ms: u128,
    memory_limit_bytes: usize,
    /// The routes whose decisions this plugin makes, by name.
    routes: Vec<String>,
}

pub(crate) fn list(state: &AppState) -> Response<Body> {
    let config = state.config();
    let runtime = state.plugins();
    let mut users = Vec::new();
    routes_of(&config.route, &mut users);
    let out: Vec<Plugin> = config
        .plugins
        .iter()
        .map(|p| Plugin {
            name: p.name.clone(),
            version: runtime.version(&p.name),
            path: p.path.display().to_string(),
            timeout_ms: p.timeout.as_millis(),
            memory_limit_bytes: p.memory_limit,
            routes: users
                .iter()
                .filter(|(plugin, _)| *plugin == p.name)
                .map(|(_, route)| route.clone())
                .collect(),
        })
        .collect();
    json(StatusCode::OK, &out)
}

/// Every (plugin, route name) pair of the tree.
fn routes_of(route: &RouteConfig, out: &mut Vec<(String, String)>) {
    if let Some(plugin) = &route.plugin {
        out.push((plugin.clone(), route.name.clone()));
    }
    for child in &route.routes {
        routes_of(child, out);
    }
}
