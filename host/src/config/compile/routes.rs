//! `[route]`: the routing tree, its matchers (sorted as Alertmanager sorts them), the route
//! keys, and what routes name (receivers, plugins, time intervals).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::Ctx;
use crate::config::raw::RawRoute;
use crate::config::{GroupBy, NamedTimeInterval, RouteConfig};
use crate::model::matcher::{is_valid_label_name, Matcher};

/// What routes refer to by name, and the route names taken so far.
pub(super) struct RouteRefs<'a> {
    pub(super) receivers: HashSet<&'a str>,
    pub(super) plugins: HashSet<&'a str>,
    pub(super) time_intervals: HashMap<String, Arc<NamedTimeInterval>>,
    pub(super) names: HashSet<String>,
}

impl RouteRefs<'_> {
    /// The time intervals `list` names (`key` is where, for errors).
    fn time_intervals(
        &self,
        cx: &mut Ctx,
        key: &str,
        list: &[String],
    ) -> Vec<Arc<NamedTimeInterval>> {
        list.iter()
            .filter_map(|name| {
                let found = self.time_intervals.get(name).cloned();
                if found.is_none() {
                    cx.err(
                        key,
                        format!("no time interval named {name:?} is defined in [[time_intervals]]"),
                    );
                }
                found
            })
            .collect()
    }
}

pub(super) fn compile_route(
    cx: &mut Ctx,
    raw: RawRoute,
    key: &str,
    parent: Option<&RouteConfig>,
    defaults: &RouteConfig,
    refs: &mut RouteRefs,
) -> RouteConfig {
    let inherit = parent.unwrap_or(defaults);
    let mut matchers = Vec::with_capacity(raw.matchers.len());
    for (i, m) in raw.matchers.iter().enumerate() {
        match Matcher::parse(m) {
            Ok(m) => matchers.push(m),
            Err(e) => cx.err(format!("{key}.matchers[{i}]"), e.to_string()),
        }
    }
    crate::model::matcher::sort(&mut matchers);
    let route_key = {
        let own = format!(
            "{{{}}}",
            matchers
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        match parent {
            Some(p) => format!("{}/{own}", p.key),
            None => own,
        }
    };
    let name = raw.name.clone().unwrap_or_else(|| match parent {
        None => "root".to_string(),
        Some(_) => key
            .trim_start_matches("route.")
            .replace(".routes", "")
            .replace("routes", "route"),
    });
    if !refs.names.insert(name.clone()) {
        cx.err(
            format!("{key}.name"),
            format!("route name {name:?} is used twice"),
        );
    }
    let receiver = raw
        .receiver
        .clone()
        .unwrap_or_else(|| inherit.receiver.clone());
    if raw.receiver.is_some() && !refs.receivers.contains(receiver.as_str()) {
        cx.err(
            format!("{key}.receiver"),
            format!("no receiver named {receiver:?} is defined in [[receivers]]"),
        );
    }
    let plugin = raw.plugin.clone().or_else(|| inherit.plugin.clone());
    if let Some(p) = &raw.plugin {
        if !refs.plugins.contains(p.as_str()) {
            cx.err(
                format!("{key}.plugin"),
                format!("no plugin named {p:?} is defined in [[plugins]]"),
            );
        }
    }
    let group_by = match &raw.group_by {
        None => inherit.group_by.clone(),
        Some(list) if list.iter().any(|l| l == "...") => {
            if list.len() > 1 {
                cx.err(
                    format!("{key}.group_by"),
                    "\"...\" groups by all labels and must stand alone",
                );
            }
            GroupBy::All
        }
        Some(list) => {
            for l in list {
                if !is_valid_label_name(l) {
                    cx.err(
                        format!("{key}.group_by"),
                        format!("{l:?} is not a valid label name"),
                    );
                }
            }
            let mut v = list.clone();
            v.sort();
            v.dedup();
            GroupBy::Labels(v)
        }
    };
    let group_wait = cx.duration(
        &format!("{key}.group_wait"),
        raw.group_wait.as_deref(),
        inherit.group_wait,
    );
    let group_interval = cx.duration(
        &format!("{key}.group_interval"),
        raw.group_interval.as_deref(),
        inherit.group_interval,
    );
    let repeat_interval = cx.duration(
        &format!("{key}.repeat_interval"),
        raw.repeat_interval.as_deref(),
        inherit.repeat_interval,
    );
    if group_interval.is_zero() {
        cx.err(format!("{key}.group_interval"), "must be more than zero");
    }
    if repeat_interval.is_zero() {
        cx.err(format!("{key}.repeat_interval"), "must be more than zero");
    }
    let mut node = RouteConfig {
        name,
        key: route_key,
        matchers,
        receiver,
        plugin,
        group_by,
        group_wait,
        group_interval,
        repeat_interval,
        continue_matching: raw.continue_matching,
        // Not inherited, as in Alertmanager: a child route is muted by its own intervals only.
        mute_time_intervals: refs.time_intervals(
            cx,
            &format!("{key}.mute_time_intervals"),
            &raw.mute_time_intervals,
        ),
        active_time_intervals: refs.time_intervals(
            cx,
            &format!("{key}.active_time_intervals"),
            &raw.active_time_intervals,
        ),
        routes: Vec::new(),
    };
    let mut children: Vec<RouteConfig> = raw
        .routes
        .into_iter()
        .enumerate()
        .map(|(i, child)| {
            compile_route(
                cx,
                child,
                &format!("{key}.routes[{i}]"),
                Some(&node),
                defaults,
                refs,
            )
        })
        .collect();
    // Alertmanager keeps the groups of two sibling routes with the same matchers apart (they
    // belong to different route nodes) though their route keys are equal. Campanile identifies
    // groups by key, so a repeated sibling key gets the sibling's index appended, as
    // Alertmanager's route ID does.
    let mut seen = HashSet::new();
    for (i, child) in children.iter_mut().enumerate() {
        if !seen.insert(child.key.clone()) {
            let old = child.key.clone();
            rekey(child, &old, &format!("{old}/{i}"));
        }
    }
    node.routes = children;
    node
}

/// Replaces the key prefix `old` with `new` in `route` and all its descendants.
fn rekey(route: &mut RouteConfig, old: &str, new: &str) {
    route.key = format!("{new}{}", &route.key[old.len()..]);
    for child in &mut route.routes {
        rekey(child, old, new);
    }
}
