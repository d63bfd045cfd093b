//! `GET /api/v1/routes`: the routing tree in force, as a tree — each route's name, matchers,
//! receiver, plugin, grouping and timers, `continue`, time intervals and children — for the
//! console's status page. (`GET /api/v2/status` has the same tree as Alertmanager's YAML, for
//! `amtool`, without names or plugins.)

use hyper::{Response, StatusCode};
use serde::Serialize;

use crate::config::{GroupBy, RouteConfig};
use crate::http::respond::{json, Body};
use crate::state::AppState;

#[derive(Serialize)]
struct Route {
    name: String,
    /// Alertmanager's route key (the prefix of its groups' keys).
    key: String,
    matchers: Vec<String>,
    receiver: String,
    plugin: Option<String>,
    /// Label names, or `["..."]` for every label.
    group_by: Vec<String>,
    group_wait: String,
    group_interval: String,
    repeat_interval: String,
    #[serde(rename = "continue")]
    continue_matching: bool,
    mute_time_intervals: Vec<String>,
    active_time_intervals: Vec<String>,
    routes: Vec<Route>,
}

fn tree(r: &RouteConfig) -> Route {
    let span = |d| humantime::format_duration(d).to_string();
    Route {
        name: r.name.clone(),
        key: r.key.clone(),
        matchers: r.matchers.iter().map(ToString::to_string).collect(),
        receiver: r.receiver.clone(),
        plugin: r.plugin.clone(),
        group_by: match &r.group_by {
            GroupBy::All => vec!["...".to_string()],
            GroupBy::Labels(l) => l.clone(),
        },
        group_wait: span(r.group_wait),
        group_interval: span(r.group_interval),
        repeat_interval: span(r.repeat_interval),
        continue_matching: r.continue_matching,
        mute_time_intervals: r
            .mute_time_intervals
            .iter()
            .map(|t| t.name.clone())
            .collect(),
        active_time_intervals: r
            .active_time_intervals
            .iter()
            .map(|t| t.name.clone())
            .collect(),
        routes: r.routes.iter().map(tree).collect(),
    }
}

pub(crate) fn get(state: &AppState) -> Response<Body> {
    json(StatusCode::OK, &tree(&state.config().route))
}
