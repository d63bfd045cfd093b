//! campanile beside a real Alertmanager 0.25: the same routing tree (three levels, unsorted
//! matchers, regexes, negative matchers, `continue`, `group_by` with `...`), the same
//! inhibition rule and the same alerts — label values with control characters, quotes,
//! combining marks, invisible characters and empty values among them — go to both, and every
//! webhook notification each sends is compared field by field, group keys included. Only
//! `externalURL` (each names itself) is left out of the comparison.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::harness::*;

const RECEIVERS: [&str; 5] = ["fallback", "db-pager", "db-chat", "web", "all-labels"];

fn alertmanager_config(sink: &HttpPeer) -> String {
    let mut receivers = String::new();
    for r in RECEIVERS {
        receivers.push_str(&format!(
            "  - name: {r}\n    webhook_configs:\n      - url: \"{}\"\n        send_resolved: true\n",
            sink.url(&format!("/am/{r}"))
        ));
    }
    format!(
        r#"
route:
  receiver: fallback
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: db-pager
      matchers: ['team=~"db|storage"', 'severity="critical"', 'env!="staging"']
      group_by: [alertname, cluster]
      routes:
        - receiver: db-pager
          matchers: ['service=~"pg.*"']
          group_by: [service, env2, env, detail]
          routes:
            - receiver: db-chat
              matchers: ['instance!~"test-.*"', 'cluster="c1"']
              continue: true
            - receiver: db-pager
              matchers: ['cluster="c1"']
    - receiver: db-chat
      matchers: ['team="db"']
      continue: true
      group_by: [alertname, env2, env]
    - receiver: web
      matchers: ['team="web"', 'alertname!~"Test.*"']
      group_by: ['...']
    - receiver: all-labels
      matchers: ['kind="generated"']
      group_by: ['...']
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [cluster, alertname]
receivers:
{receivers}"#
    )
}

fn campanile_config(sink: &HttpPeer) -> String {
    let mut receivers = String::new();
    for r in RECEIVERS {
        receivers.push_str(&format!(
            "[[receivers]]\nname = \"{r}\"\ntype = \"webhook\"\nurl = \"{}\"\nsend_resolved = true\n\n",
            sink.url(&format!("/cp/{r}"))
        ));
    }
    format!(
        r#"{receivers}
[route]
receiver = "fallback"
group_by = ["alertname"]
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1h"

[[route.routes]]
receiver = "db-pager"
matchers = ['team=~"db|storage"', 'severity="critical"', 'env!="staging"']
group_by = ["alertname", "cluster"]

[[route.routes.routes]]
receiver = "db-pager"
matchers = ['service=~"pg.*"']
group_by = ["service", "env2", "env", "detail"]

[[route.routes.routes.routes]]
receiver = "db-chat"
matchers = ['instance!~"test-.*"', 'cluster="c1"']
continue = true

[[route.routes.routes.routes]]
receiver = "db-pager"
matchers = ['cluster="c1"']

[[route.routes]]
receiver = "db-chat"
matchers = ['team="db"']
continue = true
group_by = ["alertname", "env2", "env"]

[[route.routes]]
receiver = "web"
matchers = ['team="web"', 'alertname!~"Test.*"']
group_by = ["..."]

[[route.routes]]
receiver = "all-labels"
matchers = ['kind="generated"']
group_by = ["..."]

[[inhibit_rules]]
source_matchers = ['severity="critical"']
target_matchers = ['severity="warning"']
equal = ["cluster", "alertname"]
"#
    )
}

/// The hand-written alerts, each aimed at a rule of the tree, the inhibition or the quoting.
fn crafted() -> Vec<Value> {
    vec![
        json!({"alertname": "PostgresDown", "team": "db", "severity": "critical", "env": "prod", "env2": "blue",
               "cluster": "c1", "service": "pg-main", "instance": "db-1", "detail": "bell\u{7}"}),
        json!({"alertname": "PostgresDown", "team": "db", "severity": "critical", "env": "prod", "env2": "blue",
               "cluster": "c1", "service": "pg-main", "instance": "test-1", "detail": "soft\u{ad}hyphen"}),
        // Inhibited by the first while it fires (same cluster and alertname).
        json!({"alertname": "PostgresDown", "team": "db", "severity": "warning", "env": "prod", "cluster": "c1",
               "service": "pg-main", "instance": "db-2"}),
        // Staging: not for the pager, so the root's receiver.
        json!({"alertname": "DiskFull", "team": "storage", "severity": "critical", "env": "staging", "cluster": "c2"}),
        json!({"alertname": "DiskFull", "team": "storage", "severity": "critical", "env": "prod", "cluster": "c2",
               "detail": "e\u{301}"}),
        json!({"alertname": "HighLatency", "team": "web", "quote": "say \"hi\"", "path": "back\\slash",
               "tab": "a\tb", "newline": "a\nb", "empty": ""}),
        json!({"alertname": "TestAlert", "team": "web"}),
        // An empty alertname is no label at all.
        json!({"alertname": "", "team": "web", "x": "y"}),
        // Group labels env2 and env: rendered pairs sort env2="…" before env="…".
        json!({"alertname": "Replication", "team": "db", "env": "staging", "env2": "blue", "severity": "info"}),
        json!({"alertname": "Replication", "team": "db", "env": "prod", "env2": "green", "severity": "info"}),
        json!({"alertname": "Unicode", "team": "web", "nbsp": "a\u{a0}b", "zero_width": "a\u{200b}b",
               "fire": "🔥", "cjk": "日本", "ctl": "\u{1}x", "del": "\u{7f}", "nel": "a\u{85}b",
               "private": "\u{e000}", "astral": "\u{10fffd}", "replacement": "\u{fffd}", "ls": "a\u{2028}b"}),
    ]
}

/// Values that exercise quoting, for the generated alerts.
const PALETTE: [&str; 16] = [
    "plain",
    "with space",
    "quo\"te",
    "back\\slash",
    "bell\u{7}",
    "soft\u{ad}",
    "e\u{301}",
    "日本",
    "🔥",
    "tab\there",
    "",
    "nb\u{a0}sp",
    "\u{1b}[31m",
    "ü",
    "a=b,c",
    "{x}",
];

/// Label sets from a fixed-seed generator, all under the `kind="generated"` route.
fn generated(n: usize) -> Vec<Value> {
    let mut seed: u64 = 0x5eed_cafe;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..n)
        .map(|i| {
            let mut labels = Map::new();
            labels.insert("alertname".into(), json!(format!("Gen{}", i % 7)));
            labels.insert("kind".into(), json!("generated"));
            labels.insert("id".into(), json!(i.to_string()));
            for name in ["a", "b", "c", "env", "env2"] {
                if next() % 3 != 0 {
                    let v = PALETTE[(next() % PALETTE.len() as u64) as usize];
                    labels.insert(name.into(), json!(v));
                }
            }
            Value::Object(labels)
        })
        .collect()
}

/// A sink, and a real Alertmanager and campanile that both notify it.
async fn peers() -> (HttpPeer, Alertmanager, Campanile) {
    let sink = HttpPeer::start().await;
    let am = Alertmanager::start(&alertmanager_config(&sink)).await;
    let campanile = Campanile::start(&campanile_config(&sink)).await;
    (sink, am, campanile)
}

/// RFC 3339 of an offset from now (taken once, so every time posted shares one origin).
fn from_now() -> impl Fn(time::Duration) -> String {
    let now = time::OffsetDateTime::now_utc();
    move |offset| {
        (now + offset)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    }
}

/// The alerts as posted: a fixed start (with a fraction, as Prometheus sends) and an end an
/// hour ahead, or `ended` for a resolution.
fn postable(labels: &[Value], starts: &str, ends: &str) -> Value {
    Value::Array(
        labels
            .iter()
            .map(|l| {
                json!({
                    "labels": l,
                    "annotations": {"summary": format!("summary of {}", l["alertname"]), "runbook": "https://runbooks.example/\u{7}"},
                    "startsAt": starts,
                    "endsAt": ends,
                    "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up%3D%3D0",
                })
            })
            .collect(),
    )
}

/// Every notification sent under `prefix`, per (receiver, group key), in order, without the
/// `externalURL`.
fn notifications(sink: &HttpPeer, prefix: &str) -> BTreeMap<(String, String), Vec<Value>> {
    let mut out: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for r in RECEIVERS {
        for mut p in sink.payloads(&format!("{prefix}/{r}")) {
            let key = p["groupKey"].as_str().unwrap_or_default().to_string();
            if let Some(o) = p.as_object_mut() {
                o.remove("externalURL");
            }
            out.entry((r.to_string(), key)).or_default().push(p);
        }
    }
    out
}

/// Waits until both sides have sent at least `at_least` notifications in all and neither has
/// sent one for three seconds.
async fn settled(sink: &HttpPeer, at_least: usize) {
    let count = |prefix: &str| -> usize {
        RECEIVERS
            .iter()
            .map(|r| sink.requests_to(&format!("{prefix}/{r}")).len())
            .sum()
    };
    let mut last = (usize::MAX, usize::MAX);
    let mut quiet_since = std::time::Instant::now();
    wait_until("both sides to finish notifying", PATIENCE, async || {
        let now = (count("/am"), count("/cp"));
        if now != last {
            last = now;
            quiet_since = std::time::Instant::now();
        }
        if now.0 >= at_least && now.1 >= at_least && quiet_since.elapsed() >= Duration::from_secs(3)
        {
            Ok(())
        } else {
            Err(format!("Alertmanager sent {}, campanile {}", now.0, now.1))
        }
    })
    .await;
}

/// Panics with every difference between the two sides' notifications.
fn assert_same(sink: &HttpPeer, phase: &str) {
    let (am, cp) = (notifications(sink, "/am"), notifications(sink, "/cp"));
    let mut differences = Vec::new();
    for key in am
        .keys()
        .chain(cp.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        match (am.get(key), cp.get(key)) {
            (Some(a), None) => differences.push(format!(
                "only Alertmanager notified {key:?} ({} times)",
                a.len()
            )),
            (None, Some(c)) => differences.push(format!(
                "only campanile notified {key:?} ({} times)",
                c.len()
            )),
            (Some(a), Some(c)) if a != c => differences.push(format!(
                "{key:?} differs:\n  Alertmanager: {}\n  campanile:    {}",
                Value::Array(a.clone()),
                Value::Array(c.clone())
            )),
            _ => {}
        }
    }
    assert!(
        differences.is_empty(),
        "{phase}: {} of {} (receiver, group) pairs differ:\n{}",
        differences.len(),
        am.len().max(cp.len()),
        differences.join("\n")
    );
}

/// `GET /api/v2/alerts` of both, alert by alert (by fingerprint), every field but
/// `updatedAt` (when each received it). Of `inhibitedBy` only the count is compared: where
/// several alerts inhibit one, Alertmanager names the first its Go map gives (it varies from
/// one call to the next) and campanile the lowest fingerprint; each named alert is checked to
/// be a source of the rule (critical, same cluster and alertname).
fn assert_same_alerts(am: &[Value], cp: &[Value]) {
    let by_fingerprint = |alerts: &[Value]| -> BTreeMap<String, Value> {
        let all: BTreeMap<&str, &Value> = alerts
            .iter()
            .map(|a| (a["fingerprint"].as_str().unwrap_or_default(), a))
            .collect();
        alerts
            .iter()
            .map(|a| {
                let mut a = a.clone();
                a.as_object_mut().unwrap().remove("updatedAt");
                let sources = a["status"]["inhibitedBy"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for source in &sources {
                    let s = all
                        .get(source.as_str().unwrap_or_default())
                        .unwrap_or_else(|| panic!("{a} is inhibited by an unknown {source}"));
                    let l = &s["labels"];
                    assert!(
                        l["severity"] == "critical"
                            && l["cluster"] == a["labels"]["cluster"]
                            && l["alertname"] == a["labels"]["alertname"],
                        "{a} is inhibited by {s}, which is no source for it"
                    );
                }
                a["status"]["inhibitedBy"] = json!(sources.len());
                (a["fingerprint"].as_str().unwrap_or_default().to_string(), a)
            })
            .collect()
    };
    let (am, cp) = (by_fingerprint(am), by_fingerprint(cp));
    assert_eq!(
        am.keys().collect::<Vec<_>>(),
        cp.keys().collect::<Vec<_>>(),
        "the same alerts"
    );
    let differing: Vec<String> = am
        .iter()
        .filter(|(fp, a)| cp.get(*fp) != Some(a))
        .map(|(fp, a)| format!("{fp}:\n  Alertmanager: {a}\n  campanile:    {}", cp[fp]))
        .collect();
    assert!(
        differing.is_empty(),
        "{} of {} alerts differ in GET /api/v2/alerts:\n{}",
        differing.len(),
        am.len(),
        differing.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_notification_is_alertmanagers() {
    let (sink, am, campanile) = peers().await;
    let at = from_now();
    let starts = at(time::Duration::milliseconds(-61_500));
    let ends = at(time::Duration::hours(1));
    let mut labels = crafted();
    labels.extend(generated(120));
    let firing = postable(&labels, &starts, &ends);
    // Alertmanager's inhibitor learns of alerts from a subscription of its own, after the
    // store has taken them: a target posted in the same request as its source is sometimes
    // flushed before the inhibitor has seen the source. campanile records every source as it
    // takes it. So the sources go first, to both, and the rest once Alertmanager lists them;
    // well inside `group_wait`, so both still send one first notification per group.
    let (sources, rest): (Vec<Value>, Vec<Value>) = firing
        .as_array()
        .expect("postable is an array")
        .iter()
        .cloned()
        .partition(|a| a["labels"]["severity"] == "critical");
    let post_both = async |batch: Vec<Value>| {
        let batch = Value::Array(batch);
        am.post_alerts(&batch).await;
        let reply = campanile.post_alerts(&batch).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    };
    let count = sources.len();
    post_both(sources).await;
    wait_until("Alertmanager to list the sources", PATIENCE, async || {
        let listed = am.alerts().await.len();
        if listed >= count {
            Ok(())
        } else {
            Err(format!("{listed} of {count} listed"))
        }
    })
    .await;
    post_both(rest).await;

    settled(&sink, 20).await;
    assert_same(&sink, "firing");
    assert_same_alerts(&am.alerts().await, &campanile.alerts().await);
    let groups = notifications(&sink, "/cp").len();
    assert!(groups >= 20, "only {groups} groups were notified");

    // The same silence on both (matchers unsorted, a regex, an escaped value): the alerts it
    // mutes, their `silencedBy`, and the silence as listed must agree.
    let silence = json!({
        "matchers": [
            {"name": "team", "value": "web", "isRegex": false},
            {"name": "alertname", "value": "High.*|Unicode", "isRegex": true},
            {"name": "quote", "value": "say \"bye\"", "isRegex": false, "isEqual": false},
        ],
        "startsAt": at(time::Duration::seconds(-5)),
        "endsAt": at(time::Duration::hours(2)),
        "createdBy": "differential",
        "comment": "the same on both \u{7}",
    });
    am.post_silence(&silence).await;
    let reply = campanile.post_json("/api/v2/silences", &silence).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let am_silences = am.silences().await;
    let cp_silences = campanile.get("/api/v2/silences").await.json();
    let listed = |silences: &[Value]| -> Vec<Value> {
        silences
            .iter()
            .map(|s| {
                let mut s = s.clone();
                // Its own ID, and when each side stored it (both start it "now").
                for field in ["id", "updatedAt", "startsAt"] {
                    s.as_object_mut().unwrap().remove(field);
                }
                s
            })
            .collect()
    };
    assert_eq!(
        listed(&am_silences),
        listed(cp_silences.as_array().unwrap()),
        "GET /api/v2/silences"
    );
    // Both mute the same alerts once they have applied the silence.
    wait_until("both to mark the silenced alerts", PATIENCE, async || {
        let (a, c) = (am.alerts().await, campanile.alerts().await);
        let silenced = |alerts: &[Value]| -> Vec<String> {
            let mut fps: Vec<String> = alerts
                .iter()
                .filter(|x| !x["status"]["silencedBy"].as_array().unwrap().is_empty())
                .map(|x| x["fingerprint"].as_str().unwrap().to_string())
                .collect();
            fps.sort();
            fps
        };
        let (sa, sc) = (silenced(&a), silenced(&c));
        if !sa.is_empty() && sa == sc {
            Ok(())
        } else {
            Err(format!("Alertmanager silenced {sa:?}, campanile {sc:?}"))
        }
    })
    .await;

    // Resolve both inhibiting alerts, the web alerts and every other generated one: resolved
    // notifications, and the inhibited alert is told now.
    let resolved: Vec<Value> = labels
        .iter()
        .enumerate()
        .filter(|(i, l)| *i <= 1 || l["team"] == "web" || (l["kind"] == "generated" && i % 2 == 0))
        .map(|(_, l)| l.clone())
        .collect();
    let before = sink.requests().len();
    let ended = postable(&resolved, &starts, &at(time::Duration::seconds(-1)));
    am.post_alerts(&ended).await;
    let reply = campanile.post_alerts(&ended).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    settled(&sink, (before / 2) + 10).await;
    assert_same(&sink, "after resolving");

    // The inhibited warning was held back, then told once its source resolved.
    let chat = notifications(&sink, "/cp");
    let warned = chat.iter().any(|((r, _), ps)| {
        r == "db-chat"
            && ps.iter().any(|p| {
                webhook_alerts(p)
                    .iter()
                    .any(|a| a["labels"]["severity"] == "warning")
            })
    });
    assert!(
        warned,
        "the inhibited alert was never told: {}",
        sink.summary()
    );
    drop(am);
}

/// A sender that stops re-sending (Prometheus gone): the alert resolves when the end of its
/// last re-send passes, on both, and the resolved notification carries that end. The re-send
/// only moves the end, with the first end still well ahead — one campanile keeps in memory
/// without writing it (README, "Durability") — so this checks that what is not written is
/// still what groups resolve by.
#[tokio::test(flavor = "multi_thread")]
async fn an_alert_resolves_at_the_end_of_its_last_resend() {
    let (sink, am, campanile) = peers().await;
    let at = from_now();
    let labels = [json!({"alertname": "SenderStopped", "instance": "10.0.0.1:9100"})];
    let starts = at(time::Duration::seconds(-30));
    let first = postable(&labels, &starts, &at(time::Duration::seconds(16)));
    am.post_alerts(&first).await;
    let reply = campanile.post_alerts(&first).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    settled(&sink, 1).await;
    assert_same(&sink, "firing");

    // One re-send, a few seconds later, that moves the end on by 4 s; then nothing. (Sent
    // within 12 s, the stored end is still at least half the new lead ahead.)
    let last = postable(&labels, &starts, &at(time::Duration::seconds(20)));
    am.post_alerts(&last).await;
    let reply = campanile.post_alerts(&last).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    settled(&sink, 2).await;
    assert_same(&sink, "resolved by its end");
    let told = notifications(&sink, "/cp");
    let resolved: Vec<&Value> = told
        .values()
        .flatten()
        .filter(|p| p["status"] == "resolved")
        .collect();
    assert_eq!(resolved.len(), 1, "{}", sink.summary());
    assert_eq!(
        webhook_alerts(resolved[0])[0]["endsAt"],
        json!(at(time::Duration::seconds(20))),
        "the resolved notification carries the end of the last re-send"
    );
}
