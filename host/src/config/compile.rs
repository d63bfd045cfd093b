//! Validation: raw structs in, typed config out, every error collected with its key.

use std::path::Path;

use super::check::Ctx;
use super::raw::RawConfig;
use super::receivers::compile_receivers;
use super::{Config, ConfigErrors};

mod acks;
mod cluster;
mod ingest;
mod inhibit;
mod plugins;
mod routes;
mod server;
mod store;
mod time_intervals;

use acks::compile_acks;
use cluster::compile_cluster;
use ingest::{check_identity_plugin, compile_ingest, compile_limits};
use inhibit::compile_inhibit_rules;
use plugins::compile_plugins;
use routes::{compile_root, RouteRefs};
use server::compile_server;
use store::compile_store;
use time_intervals::compile_time_intervals;

/// The whole file, section by section in this order (errors come out in it), then what
/// sections name in each other (plugins, receivers, time intervals) and the routing tree.
pub(super) fn compile(raw: RawConfig, file: &str, base: &Path) -> Result<Config, ConfigErrors> {
    let mut cx = Ctx::new(file);
    let server = compile_server(&mut cx, &raw.server, base);
    let limits = compile_limits(&mut cx, &raw.limits);
    let ingest = compile_ingest(&mut cx, &raw.ingest);
    let store = compile_store(&mut cx, raw.store, base);
    let receivers = compile_receivers(&mut cx, raw.receivers, base);
    let plugins = compile_plugins(&mut cx, raw.plugins, base);
    let inhibit_rules = compile_inhibit_rules(&mut cx, &raw.inhibit_rules);
    let time_intervals = compile_time_intervals(&mut cx, &raw.time_intervals);
    let acks = compile_acks(&mut cx, raw.acks, raw.server.external_url.is_some(), base);
    let cluster = raw.cluster.map(|c| compile_cluster(&mut cx, c, &store));

    let mut refs = RouteRefs::new(&receivers, &plugins, &time_intervals);
    check_identity_plugin(&mut cx, &ingest, &refs.plugins);
    let route = compile_root(&mut cx, raw.route, &mut refs);

    if cx.failed() {
        return Err(ConfigErrors(cx.into_errors()));
    }
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
        cluster,
    })
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
        assert_eq!(grandchild.group_by, super::super::GroupBy::All);
        assert_eq!(
            c.route.group_by,
            super::super::GroupBy::Labels(vec!["alertname".into(), "cluster".into()])
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
