//! Validation: raw structs in, typed config out, every error collected with its key.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::raw::{
    RawAcks, RawConfig, RawInhibitRule, RawPlugin, RawRoute, RawSize, RawStore, RawTimeInterval,
};
use super::{
    AcksConfig, Config, ConfigError, ConfigErrors, Durability, GroupBy, IngestConfig,
    InhibitRuleConfig, LimitsConfig, NamedTimeInterval, PluginConfig, RouteConfig, StoreConfig,
};
use crate::model::matcher::{is_valid_label_name, Matcher};
use crate::timeinterval::{IntervalError, TimeInterval};

mod receivers;
mod server;

/// Collects errors while values are converted; each conversion returns a fallback so that
/// compilation carries on and reports everything at once.
struct Ctx<'a> {
    file: &'a str,
    errors: Vec<ConfigError>,
}

impl Ctx<'_> {
    fn err(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            key: key.into(),
            message: message.into(),
        });
    }

    fn duration(&mut self, key: &str, v: Option<&str>, default: Duration) -> Duration {
        match v {
            None => default,
            Some(text) => {
                match humantime::parse_duration(text) {
                    Ok(d) => d,
                    Err(e) => {
                        self.err(key, format!("invalid duration {text:?}: {e} (examples: \"30s\", \"5m\", \"1h30m\")"));
                        default
                    }
                }
            }
        }
    }

    fn size(&mut self, key: &str, v: Option<&RawSize>, default: usize) -> usize {
        match v {
            None => default,
            Some(RawSize::Bytes(n)) => *n as usize,
            Some(RawSize::Text(text)) => match text.parse::<bytesize::ByteSize>() {
                Ok(b) => b.as_u64() as usize,
                Err(e) => {
                    self.err(
                        key,
                        format!("invalid size {text:?}: {e} (examples: \"4MiB\", \"512KiB\")"),
                    );
                    default
                }
            },
        }
    }
}

pub(super) fn compile(raw: RawConfig, file: &str, base: &Path) -> Result<Config, ConfigErrors> {
    let mut cx = Ctx {
        file,
        errors: Vec::new(),
    };

    let server = server::compile_server(&mut cx, &raw.server, base);
    let limits = LimitsConfig {
        max_alerts: raw.limits.max_alerts.unwrap_or(200_000),
        ingest_queue: raw.limits.ingest_queue.unwrap_or(4096),
    };
    if limits.max_alerts == 0 {
        cx.err("limits.max_alerts", "must be at least 1");
    }
    if limits.ingest_queue == 0 {
        cx.err("limits.ingest_queue", "must be at least 1");
    }
    let ingest = IngestConfig {
        resolve_timeout: cx.duration(
            "ingest.resolve_timeout",
            raw.ingest.resolve_timeout.as_deref(),
            Duration::from_secs(300),
        ),
        webhook_resolve_timeout: cx.duration(
            "ingest.webhook_resolve_timeout",
            raw.ingest.webhook_resolve_timeout.as_deref(),
            Duration::from_secs(4 * 3600 + 300),
        ),
        retention: cx.duration(
            "ingest.retention",
            raw.ingest.retention.as_deref(),
            Duration::from_secs(3600),
        ),
        identity_plugin: raw.ingest.identity_plugin.clone(),
    };

    let store = compile_store(&mut cx, raw.store);
    let receivers = receivers::compile_receivers(&mut cx, raw.receivers, base);
    let plugins = compile_plugins(&mut cx, raw.plugins, base);
    let inhibit_rules = compile_inhibit_rules(&mut cx, &raw.inhibit_rules);
    let time_intervals = compile_time_intervals(&mut cx, &raw.time_intervals);
    let acks = compile_acks(&mut cx, raw.acks, raw.server.external_url.is_some(), base);

    let mut refs = RouteRefs {
        receivers: receivers.iter().map(|r| r.name.as_str()).collect(),
        plugins: plugins.iter().map(|p| p.name.as_str()).collect(),
        time_intervals: time_intervals
            .iter()
            .map(|t| (t.name.clone(), t.clone()))
            .collect(),
        names: HashSet::new(),
    };
    if let Some(p) = &ingest.identity_plugin {
        if !refs.plugins.contains(p.as_str()) {
            cx.err(
                "ingest.identity_plugin",
                format!("no plugin named {p:?} is defined in [[plugins]]"),
            );
        }
    }
    if !raw.route.matchers.is_empty() {
        cx.err(
            "route.matchers",
            "the root route matches every alert and must not have matchers",
        );
    }
    if raw.route.continue_matching {
        cx.err("route.continue", "the root route cannot continue");
    }
    if raw.route.receiver.is_none() {
        cx.err(
            "route.receiver",
            "the root route needs a receiver (the fallback for every alert)",
        );
    }
    // As in Alertmanager: muting the root would mute everything; use a silence instead.
    for key in ["mute_time_intervals", "active_time_intervals"] {
        let set = match key {
            "mute_time_intervals" => &raw.route.mute_time_intervals,
            _ => &raw.route.active_time_intervals,
        };
        if !set.is_empty() {
            cx.err(
                format!("route.{key}"),
                "the root route cannot have time intervals (set them on child routes)",
            );
        }
    }
    let root_defaults = RouteConfig {
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
    };
    let route = compile_route(&mut cx, raw.route, "route", None, &root_defaults, &mut refs);

    if cx.errors.is_empty() {
        Ok(Config {
            server,
            limits,
            ingest,
            store,
            receivers,
            plugins,
            route,
            inhibit_rules,
            time_intervals,
            acks,
        })
    } else {
        Err(ConfigErrors(cx.errors))
    }
}

fn compile_inhibit_rules(cx: &mut Ctx, raw: &[RawInhibitRule]) -> Vec<InhibitRuleConfig> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let key = format!("inhibit_rules[{i}]");
        let mut matchers = |field: &str, list: &[String]| -> Vec<Matcher> {
            list.iter()
                .enumerate()
                .filter_map(|(j, m)| match Matcher::parse(m) {
                    Ok(m) => Some(m),
                    Err(e) => {
                        cx.err(format!("{key}.{field}[{j}]"), e.to_string());
                        None
                    }
                })
                .collect()
        };
        let source_matchers = matchers("source_matchers", &r.source_matchers);
        let target_matchers = matchers("target_matchers", &r.target_matchers);
        if r.source_matchers.is_empty() {
            cx.err(
                format!("{key}.source_matchers"),
                "needs at least one matcher (an empty list would make every alert a source)",
            );
        }
        if r.target_matchers.is_empty() {
            cx.err(
                format!("{key}.target_matchers"),
                "needs at least one matcher (an empty list would make every alert a target)",
            );
        }
        for l in &r.equal {
            if !is_valid_label_name(l) {
                cx.err(
                    format!("{key}.equal"),
                    format!("{l:?} is not a valid label name"),
                );
            }
        }
        out.push(InhibitRuleConfig {
            source_matchers,
            target_matchers,
            equal: r.equal.clone(),
        });
    }
    out
}

fn compile_store(cx: &mut Ctx, raw: RawStore) -> StoreConfig {
    let flush_interval = cx.duration(
        "store.flush_interval",
        raw.flush_interval.as_deref(),
        Duration::from_secs(1),
    );
    let durability = match raw.durability.as_deref().unwrap_or("immediate") {
        "immediate" => Durability::Immediate,
        "deferred" => Durability::Deferred { flush_interval },
        "off" => Durability::Off,
        other => {
            cx.err(
                "store.durability",
                format!(
                    "unknown durability {other:?}: expected \"immediate\", \"deferred\" or \"off\""
                ),
            );
            Durability::Immediate
        }
    };
    StoreConfig {
        // Like Alertmanager's --storage.path: relative to the working directory, not to the
        // config file (which often lives somewhere read-only such as /etc).
        path: PathBuf::from(raw.path.as_deref().unwrap_or("data/campanile.redb")),
        durability,
    }
}

fn compile_plugins(cx: &mut Ctx, raw: Vec<RawPlugin>, base: &Path) -> Vec<PluginConfig> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, p) in raw.into_iter().enumerate() {
        let key = format!("plugins[{i}]");
        if p.name.is_empty() {
            cx.err(format!("{key}.name"), "must not be empty");
        } else if !seen.insert(p.name.clone()) {
            cx.err(
                format!("{key}.name"),
                format!("plugin {:?} is defined twice", p.name),
            );
        }
        let path = base.join(&p.path);
        if !path.is_file() {
            cx.err(
                format!("{key}.path"),
                format!(
                    "plugin file {} does not exist (build plugins with scripts/build-plugins.sh)",
                    path.display()
                ),
            );
        }
        let timeout = cx.duration(
            &format!("{key}.timeout"),
            p.timeout.as_deref(),
            Duration::from_millis(100),
        );
        if timeout.is_zero() {
            cx.err(format!("{key}.timeout"), "must be more than zero");
        }
        let memory_limit = cx.size(
            &format!("{key}.memory_limit"),
            p.memory_limit.as_ref(),
            16 << 20,
        );
        if memory_limit < 1 << 20 {
            cx.err(format!("{key}.memory_limit"), "must be at least 1MiB");
        }
        let max_output = cx.size(&format!("{key}.max_output"), p.max_output.as_ref(), 1 << 20);
        if max_output < 1024 {
            cx.err(format!("{key}.max_output"), "must be at least 1KiB");
        }
        let config: BTreeMap<String, String> = p
            .config
            .into_iter()
            .map(|(k, v)| match v {
                toml::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
        out.push(PluginConfig {
            name: p.name,
            path,
            timeout,
            memory_limit,
            max_output,
            config,
        });
    }
    out
}

/// `[[time_intervals]]`: each interval's fields parsed, names unique.
fn compile_time_intervals(cx: &mut Ctx, raw: &[RawTimeInterval]) -> Vec<Arc<NamedTimeInterval>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, t) in raw.iter().enumerate() {
        let key = format!("time_intervals[{i}]");
        if t.name.is_empty() {
            cx.err(format!("{key}.name"), "must not be empty");
        } else if !seen.insert(t.name.as_str()) {
            cx.err(
                format!("{key}.name"),
                format!("time interval {:?} is defined twice", t.name),
            );
        }
        let mut intervals = Vec::with_capacity(t.intervals.len());
        for (j, r) in t.intervals.iter().enumerate() {
            let key = format!("{key}.intervals[{j}]");
            let mut interval = TimeInterval::default();
            for (k, times) in r.times.iter().enumerate() {
                match TimeInterval::parse_times(&times.start_time, &times.end_time) {
                    Ok(v) => interval.times.push(v),
                    Err(e) => cx.err(format!("{key}.times[{k}]"), e.to_string()),
                }
            }
            let mut ranges =
                |field: &str,
                 list: &[super::raw::RawRangeText],
                 parse: fn(&str) -> Result<_, IntervalError>| {
                    list.iter()
                        .enumerate()
                        .filter_map(|(k, v)| match parse(&v.text()) {
                            Ok(r) => Some(r),
                            Err(e) => {
                                cx.err(format!("{key}.{field}[{k}]"), e.to_string());
                                None
                            }
                        })
                        .collect::<Vec<_>>()
                };
            interval.weekdays = ranges("weekdays", &r.weekdays, TimeInterval::parse_weekdays);
            interval.days_of_month = ranges(
                "days_of_month",
                &r.days_of_month,
                TimeInterval::parse_days_of_month,
            );
            interval.months = ranges("months", &r.months, TimeInterval::parse_months);
            interval.years = ranges("years", &r.years, TimeInterval::parse_years);
            if let Some(name) = &r.location {
                match TimeInterval::parse_location(name) {
                    Ok(tz) => interval.location = tz,
                    Err(e) => cx.err(format!("{key}.location"), e.to_string()),
                }
            }
            intervals.push(interval);
        }
        out.push(Arc::new(NamedTimeInterval {
            name: t.name.clone(),
            intervals,
        }));
    }
    out
}

/// `[acks]`: the link signing key (`signing_key`, `signing_key_file` or `signing_key_env`)
/// and the links' lifetime. Links point at `server.external_url`, which must then be set.
fn compile_acks(cx: &mut Ctx, raw: RawAcks, has_external_url: bool, base: &Path) -> AcksConfig {
    let link_ttl = cx.duration(
        "acks.link_ttl",
        raw.link_ttl.as_deref(),
        Duration::from_secs(7 * 24 * 3600),
    );
    if link_ttl.is_zero() {
        cx.err("acks.link_ttl", "must be more than zero");
    }
    let given = raw.signing_key.is_some()
        || raw.signing_key_file.is_some()
        || raw.signing_key_env.is_some();
    let signing_key = if given {
        let mut section = receivers::Rx {
            cx: &mut *cx,
            key: "acks".to_string(),
            base,
        };
        section.secret(
            "signing_key",
            raw.signing_key,
            raw.signing_key_file,
            raw.signing_key_env,
        )
    } else {
        None
    };
    if let Some(key) = &signing_key {
        if key.expose().len() < 32 {
            cx.err(
                "acks.signing_key",
                "must be at least 32 characters (e.g. the output of `openssl rand -base64 32`)",
            );
        }
        if !has_external_url {
            cx.err(
                "acks.signing_key",
                "acknowledgement links need server.external_url (the address people open them at)",
            );
        }
    }
    AcksConfig {
        signing_key,
        link_ttl,
    }
}

/// What routes refer to by name, and the route names taken so far.
struct RouteRefs<'a> {
    receivers: HashSet<&'a str>,
    plugins: HashSet<&'a str>,
    time_intervals: HashMap<String, Arc<NamedTimeInterval>>,
    names: HashSet<String>,
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

fn compile_route(
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

#[cfg(test)]
mod tests {
    use super::super::Config;
    use std::path::Path;

    const BASE: &str = r#"
[[receivers]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:1/x"

[route]
receiver = "hook"
group_by = ["cluster", "alertname"]
"#;

    fn parse(extra: &str) -> Result<Config, Vec<String>> {
        Config::parse(&format!("{BASE}{extra}"), "test.toml", Path::new("."))
            .map_err(|e| e.0.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn children_inherit_and_keys_follow_alertmanager() {
        let c = parse(
            r#"
group_wait = "1s"
[[route.routes]]
matchers = ['team="db"']
[[route.routes.routes]]
name = "db-critical"
matchers = ['severity=~"critical|page"']
group_by = ["..."]
"#,
        )
        .unwrap();
        let child = &c.route.routes[0];
        assert_eq!(child.receiver, "hook");
        assert_eq!(child.group_wait.as_secs(), 1);
        assert_eq!(child.key, r#"{}/{team="db"}"#);
        assert_eq!(child.name, "route[0]");
        let grandchild = &child.routes[0];
        assert_eq!(
            grandchild.key,
            r#"{}/{team="db"}/{severity=~"critical|page"}"#
        );
        assert_eq!(grandchild.group_by, super::GroupBy::All);
        assert_eq!(
            c.route.group_by,
            super::GroupBy::Labels(vec!["alertname".into(), "cluster".into()])
        );
    }

    #[test]
    fn sibling_routes_with_the_same_matchers_get_distinct_keys() {
        let c = parse(
            r#"
[[route.routes]]
matchers = ['team="db"']
continue = true
[[route.routes.routes]]
matchers = ['severity="critical"']
[[route.routes]]
matchers = ['team="db"']
[[route.routes.routes]]
matchers = ['severity="critical"']
"#,
        )
        .unwrap();
        let [first, second] = &c.route.routes[..] else {
            panic!("two children")
        };
        assert_eq!(
            first.key, r#"{}/{team="db"}"#,
            "the first keeps Alertmanager's key"
        );
        assert_eq!(second.key, r#"{}/{team="db"}/1"#);
        assert_eq!(
            second.routes[0].key,
            r#"{}/{team="db"}/1/{severity="critical"}"#
        );
    }

    #[test]
    fn every_error_is_reported_with_file_and_key() {
        let errs = parse(
            r#"
group_wait = "soon"
[[route.routes]]
receiver = "nobody"
matchers = ['team']
"#,
        )
        .unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.starts_with("test.toml: route.group_wait: invalid duration \"soon\"")),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e
                .starts_with("test.toml: route.routes[0].receiver: no receiver named \"nobody\"")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.starts_with("test.toml: route.routes[0].matchers[0]:")),
            "{errs:?}"
        );
        assert_eq!(errs.len(), 3, "{errs:?}");
    }

    #[test]
    fn time_intervals_are_named_by_routes_and_not_inherited() {
        let c = parse(
            r#"
[[time_intervals]]
name = "weekends"
[[time_intervals.intervals]]
weekdays = ["saturday", "sunday"]
location = "Europe/Berlin"

[[time_intervals]]
name = "office"
[[time_intervals.intervals]]
times = [{ start_time = "09:00", end_time = "17:00" }]
weekdays = ["monday:friday"]
days_of_month = ["1:-1"]
months = ["january:december"]
years = [2026, "2027:2030"]

[[route.routes]]
matchers = ['team="db"']
mute_time_intervals = ["weekends"]
active_time_intervals = ["office"]
[[route.routes.routes]]
matchers = ['severity="critical"']
"#,
        )
        .unwrap();
        assert_eq!(c.time_intervals.len(), 2);
        let db = &c.route.routes[0];
        assert_eq!(db.mute_time_intervals[0].name, "weekends");
        assert_eq!(db.active_time_intervals[0].name, "office");
        assert_eq!(db.active_time_intervals[0].intervals[0].years.len(), 2);
        assert!(db.routes[0].mute_time_intervals.is_empty());
        assert!(db.routes[0].active_time_intervals.is_empty());
    }

    #[test]
    fn time_interval_errors_name_the_key() {
        let errs = parse(
            r#"
mute_time_intervals = ["weekends"]
[[time_intervals]]
name = "weekends"
[[time_intervals.intervals]]
times = [{ start_time = "18:00", end_time = "08:00" }]
weekdays = ["saturday:sunday"]
days_of_month = ["-3:5"]
location = "Mars/Olympus"
[[route.routes]]
mute_time_intervals = ["weekend"]
"#,
        )
        .unwrap_err();
        for prefix in [
            "test.toml: route.mute_time_intervals: the root route cannot",
            "test.toml: time_intervals[0].intervals[0].times[0]: start_time \"18:00\"",
            "test.toml: time_intervals[0].intervals[0].weekdays[0]: range \"saturday:sunday\" ends before",
            "test.toml: time_intervals[0].intervals[0].days_of_month[0]:",
            "test.toml: time_intervals[0].intervals[0].location: unknown time zone \"Mars/Olympus\"",
            "test.toml: route.routes[0].mute_time_intervals: no time interval named \"weekend\"",
        ] {
            assert!(errs.iter().any(|e| e.starts_with(prefix)), "{prefix} in {errs:?}");
        }
        assert_eq!(errs.len(), 6, "{errs:?}");
    }

    #[test]
    fn acks_signing_key_needs_length_and_external_url() {
        let c = parse("").unwrap();
        assert!(c.acks.signing_key.is_none());
        assert_eq!(c.acks.link_ttl.as_secs(), 7 * 24 * 3600);

        let errs =
            parse("\n[acks]\nsigning_key = \"short\"\nsigning_key_env = \"X\"\n").unwrap_err();
        assert_eq!(
            errs,
            ["test.toml: acks.signing_key: set only one of `signing_key`, `signing_key_file` or `signing_key_env`"]
        );
        let errs = parse("\n[acks]\nsigning_key = \"short\"\nlink_ttl = \"0s\"\n").unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.contains("acks.link_ttl: must be more than zero")),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e.contains("at least 32 characters")),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e.contains("need server.external_url")),
            "{errs:?}"
        );
        assert!(
            errs.iter().all(|e| !e.contains("short")),
            "the key is never shown: {errs:?}"
        );

        let key = "k".repeat(32);
        let c = parse(&format!(
            "\n[server]\nexternal_url = \"https://campanile.example\"\n[acks]\nsigning_key = \"{key}\"\nlink_ttl = \"1d\"\n"
        ))
        .unwrap();
        assert_eq!(c.acks.signing_key.unwrap().expose(), &key);
        assert_eq!(c.acks.link_ttl.as_secs(), 86400);
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let errs = parse("\n[server]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("test.toml: line "), "{errs:?}");
        assert!(errs[0].contains("unknown field `lisen`"), "{errs:?}");
    }

    #[test]
    fn builtin_default_parses_apart_from_the_plugin_file() {
        // The built-in default points at the example plugin's build output, which unit tests
        // do not build; everything else in it must be valid.
        match Config::builtin() {
            Ok(c) => assert_eq!(c.server.listen.port(), 9797),
            Err(e) => {
                assert_eq!(e.0.len(), 1, "{e}");
                assert_eq!(e.0[0].key, "plugins[0].path");
            }
        }
    }
}
