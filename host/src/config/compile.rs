//! Validation: raw structs in, typed config out, every error collected with its key.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use super::raw::{RawConfig, RawSize};
use super::{Config, ConfigError, ConfigErrors, GroupBy, IngestConfig, LimitsConfig, RouteConfig};

mod acks;
mod inhibit;
mod plugins;
mod receivers;
mod routes;
mod server;
mod store;
mod time_intervals;

use acks::compile_acks;
use inhibit::compile_inhibit_rules;
use plugins::compile_plugins;
use routes::{compile_route, RouteRefs};
use store::compile_store;
use time_intervals::compile_time_intervals;

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
