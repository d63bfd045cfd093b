//! The `severity-router` example through the host, in every language it is written in: one
//! table of cases (alerts in, receiver and severity out), each language's build served by a
//! running campanile that gets all the cases at once, one group per case.

use serde_json::{json, Value};

use super::languages::Language;
use crate::harness::*;

/// One group: the `severity` labels of its alerts (`None`: no such label), which of the
/// plugin's two configurations routes it, and who must be told with which severity.
struct Case {
    what: &'static str,
    severities: &'static [Option<&'static str>],
    /// `full` has every receiver key; `pager-only` only `pager`.
    plugin: &'static str,
    receiver: &'static str,
    severity: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        what: "critical pages",
        severities: &[Some("critical")],
        plugin: "full",
        receiver: "pager",
        severity: Some("critical"),
    },
    Case {
        what: "page is critical",
        severities: &[Some("page")],
        plugin: "full",
        receiver: "pager",
        severity: Some("critical"),
    },
    Case {
        what: "case is ignored",
        severities: &[Some("PAGE")],
        plugin: "full",
        receiver: "pager",
        severity: Some("critical"),
    },
    Case {
        what: "error pages",
        severities: &[Some("error")],
        plugin: "full",
        receiver: "pager",
        severity: Some("error"),
    },
    Case {
        what: "warning to chat",
        severities: &[Some("warning")],
        plugin: "full",
        receiver: "chat",
        severity: Some("warning"),
    },
    Case {
        what: "info to email",
        severities: &[Some("info")],
        plugin: "full",
        receiver: "email",
        severity: Some("info"),
    },
    Case {
        what: "the most urgent wins",
        severities: &[
            Some("info"),
            Some("error"),
            Some("warning"),
            None,
            Some("bogus"),
        ],
        plugin: "full",
        receiver: "pager",
        severity: Some("error"),
    },
    Case {
        what: "unknown to default",
        severities: &[Some("urgent")],
        plugin: "full",
        receiver: "catch-all",
        severity: None,
    },
    Case {
        what: "none to default",
        severities: &[None],
        plugin: "full",
        receiver: "catch-all",
        severity: None,
    },
    Case {
        what: "a missing key falls back to the route",
        severities: &[Some("warning")],
        plugin: "pager-only",
        receiver: "fallback",
        severity: Some("warning"),
    },
];

fn config(sink: &HttpPeer, plugin: &std::path::Path) -> String {
    let mut receivers = String::new();
    for name in ["pager", "chat", "email", "catch-all", "fallback"] {
        receivers += &format!(
            "[[receivers]]\nname = \"{name}\"\ntype = \"webhook\"\nurl = \"{}\"\n\n",
            sink.url(&format!("/{name}"))
        );
    }
    format!(
        r#"{receivers}
[[plugins]]
name = "full"
path = '{plugin}'
[plugins.config]
pager = "pager"
chat = "chat"
email = "email"
default = "catch-all"

[[plugins]]
name = "pager-only"
path = '{plugin}'
[plugins.config]
pager = "pager"

[route]
receiver = "fallback"
plugin = "full"
group_by = ["alertname"]
group_wait = "100ms"
group_interval = "1h"
repeat_interval = "4h"

[[route.routes]]
matchers = ['plugin = "pager-only"']
receiver = "fallback"
plugin = "pager-only"
group_by = ["alertname"]
group_wait = "100ms"
group_interval = "1h"
repeat_interval = "4h"
"#,
        plugin = plugin.display(),
    )
}

/// Every case of the table, through `language`'s build of the example.
async fn routes_the_table(language: Language) {
    let sink = HttpPeer::start().await;
    let plugin = language.example("severity_router");
    let campanile = Launch::new(&config(&sink, &plugin))
        .shared_plugin_cache()
        .start()
        .await;
    let names: Vec<String> = CASES.iter().map(|_| unique("Severity")).collect();
    let mut alerts = Vec::new();
    for (case, name) in CASES.iter().zip(&names) {
        for (i, severity) in case.severities.iter().enumerate() {
            let mut labels =
                json!({"alertname": name, "instance": format!("i{i}"), "plugin": case.plugin});
            if let Some(severity) = severity {
                labels["severity"] = json!(severity);
            }
            alerts.push(json!({"labels": labels}));
        }
    }
    let reply = campanile.post_alerts(&json!(alerts)).await;
    assert_eq!(reply.status, 200, "{reply:?}");

    for (case, name) in CASES.iter().zip(&names) {
        let what = format!("{language}: {}", case.what);
        let path = format!("/{}", case.receiver);
        let (payload, _) = sink
            .wait_for_alert(&path, &what, |a: &Value| {
                a["labels"]["alertname"] == name.as_str()
            })
            .await;
        assert_eq!(
            webhook_alerts(&payload).len(),
            case.severities.len(),
            "{what}: {payload:#}"
        );
        let key = payload["groupKey"].as_str().expect("a group key");
        let decisions = campanile.decisions(key).await;
        let expected = match case.severity {
            Some(severity) => format!("notify {} severity={severity}", case.receiver),
            None => format!("notify {}", case.receiver),
        };
        assert_eq!(
            decisions[0]["actions"],
            json!([expected]),
            "{what}: {decisions:#}"
        );
        assert_eq!(decisions[0]["faults"], json!([]), "{what}: {decisions:#}");
    }
    // Nobody else heard of any case.
    let told: usize = ["pager", "chat", "email", "catch-all", "fallback"]
        .iter()
        .map(|r| sink.payloads(&format!("/{r}")).len())
        .sum();
    assert_eq!(told, CASES.len(), "{language}: {}", sink.summary());
}

#[tokio::test]
async fn severity_router_in_rust() {
    routes_the_table(Language::Rust).await;
}

#[tokio::test]
async fn severity_router_in_python() {
    routes_the_table(Language::Python).await;
}

#[tokio::test]
async fn severity_router_in_typescript() {
    routes_the_table(Language::TypeScript).await;
}
