//! `[route]`: the routing tree, its matchers (sorted as Alertmanager sorts them), the route
//! keys, and what routes name (receivers, plugins, time intervals).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::config::check::Ctx;
use crate::config::raw::RawRoute;
use crate::config::{GroupBy, NamedTimeInterval, PluginConfig, ReceiverConfig, RouteConfig};
use crate::model::matcher::{is_valid_label_name, Matcher};

/// What routes refer to by name, and the route names taken so far.
pub(super) struct RouteRefs<'a> {
    pub(super) receivers: HashSet<&'a str>,
    pub(super) plugins: HashSet<&'a str>,
    pub(super) time_intervals: HashMap<String, Arc<NamedTimeInterval>>,
    pub(super) names: HashSet<String>,
}

impl<'a> RouteRefs<'a> {
    pub(super) fn new(
        receivers: &'a [ReceiverConfig],
        plugins: &'a [PluginConfig],
        time_intervals: &[Arc<NamedTimeInterval>],
    ) -> Self {
        RouteRefs {
            receivers: receivers.iter().map(|r| r.name.as_str()).collect(),
            plugins: plugins.iter().map(|p| p.name.as_str()).collect(),
            time_intervals: time_intervals
                .iter()
                .map(|t| (t.name.clone(), t.clone()))
                .collect(),
            names: HashSet::new(),
        }
    }

    /// The route's name, given or derived from its key (`route[0].route[1]`), used once.
    fn name(&mut self, cx: &mut Ctx, key: &str, given: Option<&str>, is_root: bool) -> String {
        let name = match given {
            Some(name) => name.to_string(),
            None if is_root => "root".to_string(),
            None => key
                .trim_start_matches("route.")
                .replace(".routes", "")
                .replace("routes", "route"),
        };
        if !self.names.insert(name.clone()) {
            cx.err(
                format!("{key}.name"),
                format!("route name {name:?} is used twice"),
            );
        }
        name
    }

    /// The route's receiver, given (and defined) or inherited.
    fn receiver(&self, cx: &mut Ctx, key: &str, given: Option<&str>, inherit: &str) -> String {
        let Some(receiver) = given else {
            return inherit.to_string();
        };
        if !self.receivers.contains(receiver) {
            cx.err(
                format!("{key}.receiver"),
                format!("no receiver named {receiver:?} is defined in [[receivers]]"),
            );
        }
        receiver.to_string()
    }

    /// The route's plugin, given (and defined) or inherited.
    fn plugin(
        &self,
        cx: &mut Ctx,
        key: &str,
        given: Option<&str>,
        inherit: Option<&str>,
    ) -> Option<String> {
        if let Some(p) = given {
            if !self.plugins.contains(p) {
                cx.err(
                    format!("{key}.plugin"),
                    format!("no plugin named {p:?} is defined in [[plugins]]"),
                );
            }
        }
        given.or(inherit).map(str::to_string)
    }

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

/// `[route]`: the root's own rules, then the whole tree under it.
pub(super) fn compile_root(cx: &mut Ctx, raw: RawRoute, refs: &mut RouteRefs) -> RouteConfig {
    check_root(cx, &raw);
    compile_route(cx, raw, "route", None, &root_defaults(), refs)
}

/// The root matches every alert and is the fallback: no matchers, no `continue`, a receiver.
/// As in Alertmanager, it cannot be muted by time intervals (that would mute everything; a
/// silence does it).
fn check_root(cx: &mut Ctx, raw: &RawRoute) {
    if !raw.matchers.is_empty() {
        cx.err(
            "route.matchers",
            "the root route matches every alert and must not have matchers",
        );
    }
    if raw.continue_matching {
        cx.err("route.continue", "the root route cannot continue");
    }
    if raw.receiver.is_none() {
        cx.err(
            "route.receiver",
            "the root route needs a receiver (the fallback for every alert)",
        );
    }
    for (key, set) in [
        ("mute_time_intervals", &raw.mute_time_intervals),
        ("active_time_intervals", &raw.active_time_intervals),
    ] {
        if !set.is_empty() {
            cx.err(
                format!("route.{key}"),
                "the root route cannot have time intervals (set them on child routes)",
            );
        }
    }
}

/// What the root inherits where it says nothing: Alertmanager's defaults.
fn root_defaults() -> RouteConfig {
    RouteConfig {
        name: String::new(),
        key: String::new(),
        matchers: Vec::new(),
        receiver: String::new(),
        plugin: None,
        group_by: GroupBy::Labels(Vec::new()),
        group_wait: Duration::from_secs(30),
        group_interval: Duration::from_secs(300),
        repeat_interval: Duration::from_secs(4 * 3600),
        continue_matching: false,
        mute_time_intervals: Vec::new(),
        active_time_intervals: Vec::new(),
        routes: Vec::new(),
    }
}

/// One route and its children: what it does not set is inherited from `parent` (the root
/// from `defaults`); errors are filed under `key`.
fn compile_route(
    cx: &mut Ctx,
    raw: RawRoute,
    key: &str,
    parent: Option<&RouteConfig>,
    defaults: &RouteConfig,
    refs: &mut RouteRefs,
) -> RouteConfig {
    let inherit = parent.unwrap_or(defaults);
    let matchers = matchers(cx, key, &raw.matchers);
    let route_key = route_key(&matchers, parent);
    let name = refs.name(cx, key, raw.name.as_deref(), parent.is_none());
    let receiver = refs.receiver(cx, key, raw.receiver.as_deref(), &inherit.receiver);
    let plugin = refs.plugin(cx, key, raw.plugin.as_deref(), inherit.plugin.as_deref());
    let group_by = group_by(cx, key, raw.group_by.as_deref(), &inherit.group_by);
    let (group_wait, group_interval, repeat_interval) = timers(cx, key, &raw, inherit);
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
    node.routes = children(cx, raw.routes, key, &node, defaults, refs);
    node
}

/// `matchers`, sorted as Alertmanager sorts them.
fn matchers(cx: &mut Ctx, key: &str, raw: &[String]) -> Vec<Matcher> {
    let mut matchers = Vec::with_capacity(raw.len());
    for (i, m) in raw.iter().enumerate() {
        match Matcher::parse(m) {
            Ok(m) => matchers.push(m),
            Err(e) => cx.err(format!("{key}.matchers[{i}]"), e.to_string()),
        }
    }
    crate::model::matcher::sort(&mut matchers);
    matchers
}

/// Alertmanager's route key: the parent's, then this route's matchers (`{}/{team="db"}`).
fn route_key(matchers: &[Matcher], parent: Option<&RouteConfig>) -> String {
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
}

/// `group_by`: label names (sorted, once each), `["..."]` for all labels, or inherited.
fn group_by(cx: &mut Ctx, key: &str, given: Option<&[String]>, inherit: &GroupBy) -> GroupBy {
    match given {
        None => inherit.clone(),
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
            let mut v = list.to_vec();
            v.sort();
            v.dedup();
            GroupBy::Labels(v)
        }
    }
}

/// `group_wait`, `group_interval` and `repeat_interval`, each given or inherited; the two
/// intervals more than zero.
fn timers(
    cx: &mut Ctx,
    key: &str,
    raw: &RawRoute,
    inherit: &RouteConfig,
) -> (Duration, Duration, Duration) {
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
    (group_wait, group_interval, repeat_interval)
}

/// The child routes of `node`, each key distinct among its siblings.
fn children(
    cx: &mut Ctx,
    raw: Vec<RawRoute>,
    key: &str,
    node: &RouteConfig,
    defaults: &RouteConfig,
    refs: &mut RouteRefs,
) -> Vec<RouteConfig> {
    let mut children: Vec<RouteConfig> = raw
        .into_iter()
        .enumerate()
        .map(|(i, child)| {
            compile_route(
                cx,
                child,
                &format!("{key}.routes[{i}]"),
                Some(node),
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
    children
}

/// Replaces the key prefix `old` with `new` in `route` and all its descendants.
fn rekey(route: &mut RouteConfig, old: &str, new: &str) {
    route.key = format!("{new}{}", &route.key[old.len()..]);
    for child in &mut route.routes {
        rekey(child, old, new);
    }
}
