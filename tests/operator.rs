//! The operator APIs against the real binary, driven by the real `amtool` (Debian's
//! `prometheus-alertmanager` 0.25): silences mute and unmute notifications, alert and group
//! queries, `amtool config routes`, inhibition, time intervals, bearer-token authentication,
//! and acknowledgements (by API and by signed link).

#[path = "harness/mod.rs"]
mod harness;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use harness::*;
use serde_json::{json, Value};

/// A webhook receiver on the sink's `/hook`, groups by alertname, due after 1 s; `extra` comes
/// first (for `[server]`) and `tail` last (for `[[inhibit_rules]]`, child routes).
fn config(sink: &HttpPeer, extra: &str, tail: &str) -> String {
    format!(
        r#"{extra}
[[receivers]]
name = "hook"
type = "webhook"
url = "{}"
send_resolved = true

[route]
receiver = "hook"
group_by = ["alertname"]
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1h"
{tail}
"#,
        sink.url("/hook")
    )
}

/// How long a muted alert must stay unnotified to count as muted: several group intervals.
const MUTED_FOR: Duration = Duration::from_secs(4);

fn amtool_binary() -> PathBuf {
    find_binary(&["amtool"], "prometheus-alertmanager")
}

/// Runs `amtool --alertmanager.url=http://ADDR ARGS…` and returns its output.
async fn amtool(campanile: &Campanile, args: &[&str]) -> Output {
    tokio::process::Command::new(amtool_binary())
        .arg(format!("--alertmanager.url=http://{}", campanile.addr))
        .args(args)
        .output()
        .await
        .expect("run amtool")
}

/// Runs amtool and asserts it succeeded; returns its standard output.
async fn amtool_ok(campanile: &Campanile, args: &[&str]) -> String {
    let out = amtool(campanile, args).await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "amtool {args:?} failed ({}): stdout {stdout:?}, stderr {stderr:?}",
        out.status,
    );
    // amtool compares the version campanile reports with its own, on every command.
    assert!(
        !stderr.contains("are different"),
        "amtool {args:?} warned of a version mismatch: {stderr:?}"
    );
    stdout
}

async fn amtool_json(campanile: &Campanile, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["-o", "json"];
    all.extend_from_slice(args);
    let stdout = amtool_ok(campanile, &all).await;
    match serde_json::from_str(&stdout) {
        Ok(Value::Array(items)) => items,
        other => panic!("amtool {args:?} did not print a JSON array: {other:?} from {stdout:?}"),
    }
}

fn alertnames(items: &[Value]) -> Vec<&str> {
    let mut names: Vec<&str> = items
        .iter()
        .filter_map(|a| a["labels"]["alertname"].as_str())
        .collect();
    names.sort();
    names
}

/// Whether any notification on `/hook` held a firing alert named `name`.
fn notified_firing(sink: &HttpPeer, name: &str) -> bool {
    sink.payloads("/hook").iter().any(|p| {
        webhook_alerts(p)
            .iter()
            .any(|a| a["labels"]["alertname"] == name && a["status"] == "firing")
    })
}

async fn never_notified(sink: &HttpPeer, name: &str) {
    stays_true(
        &format!("no notification of {name}"),
        MUTED_FOR,
        async || match notified_firing(sink, name) {
            true => Err(sink.summary()),
            false => Ok(()),
        },
    )
    .await;
}

async fn wait_notified(sink: &HttpPeer, name: &str) {
    wait_until(
        &format!("a notification of {name} firing"),
        PATIENCE,
        async || {
            notified_firing(sink, name)
                .then_some(())
                .ok_or_else(|| sink.summary())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn amtool_silence_mutes_until_expired() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink, "", "")).await;
    let silenced = unique("Silenced");
    let control = unique("Control");

    let added = amtool_ok(
        &campanile,
        &[
            "silence",
            "add",
            &format!("alertname={silenced}"),
            "severity=~warn.*",
            "--comment=maintenance",
            "--author=ops",
            "--duration=1h",
        ],
    )
    .await;
    let id = added.trim().to_string();
    assert_eq!(id.len(), 36, "amtool prints the new silence id: {added:?}");

    let silences = amtool_json(&campanile, &["silence", "query"]).await;
    assert_eq!(silences.len(), 1, "{silences:?}");
    let s = &silences[0];
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["status"]["state"], "active");
    assert_eq!(s["createdBy"], "ops");
    assert_eq!(s["comment"], "maintenance");
    let matchers = s["matchers"].as_array().unwrap();
    assert!(matchers.contains(
        &json!({"name": "alertname", "value": silenced, "isRegex": false, "isEqual": true})
    ));
    assert!(matchers.contains(
        &json!({"name": "severity", "value": "warn.*", "isRegex": true, "isEqual": true})
    ));
    let table = amtool_ok(
        &campanile,
        &["silence", "query", &format!("alertname={silenced}")],
    )
    .await;
    assert!(
        table.contains(&id),
        "amtool silence query lists it: {table}"
    );
    let quiet = amtool_ok(&campanile, &["silence", "query", "-q"]).await;
    assert_eq!(quiet.trim(), id);

    let reply = campanile
        .post_alerts(&json!([
            {"labels": {"alertname": silenced, "severity": "warning"}, "annotations": {"summary": "muted"}},
            {"labels": {"alertname": control, "severity": "warning"}},
        ]))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    wait_notified(&sink, &control).await;
    never_notified(&sink, &silenced).await;

    // The API and amtool see it as silenced.
    let alerts = campanile.alerts().await;
    let muted = alert_with_label(&alerts, "alertname", &silenced).expect("silenced alert listed");
    assert_eq!(muted["status"]["state"], "suppressed");
    assert_eq!(muted["status"]["silencedBy"], json!([id]));
    assert_eq!(muted["status"]["inhibitedBy"], json!([]));
    let active = amtool_json(&campanile, &["alert", "query"]).await;
    assert_eq!(
        alertnames(&active),
        [control.as_str()],
        "active only by default"
    );
    let with_silenced = amtool_json(&campanile, &["alert", "query", "--silenced"]).await;
    assert_eq!(
        alertnames(&with_silenced),
        [silenced.as_str()],
        "--silenced alone lists only suppressed ones"
    );
    let filtered = amtool_json(
        &campanile,
        &[
            "alert",
            "query",
            "-a",
            "-s",
            &format!("alertname={control}"),
        ],
    )
    .await;
    assert_eq!(alertnames(&filtered), [control.as_str()]);
    let simple = amtool_ok(&campanile, &["alert", "query", "-s", &silenced]).await;
    assert!(
        simple.contains(&silenced) && simple.contains("suppressed"),
        "{simple}"
    );
    let reply = campanile
        .get("/api/v2/alerts?silenced=false&active=true")
        .await;
    assert_eq!(
        alertnames(reply.json().as_array().unwrap()),
        [control.as_str()]
    );

    let groups = campanile.get("/api/v2/alerts/groups").await.json();
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert!(groups.iter().all(|g| g["receiver"]["name"] == "hook"));
    assert!(groups
        .iter()
        .any(|g| g["labels"] == json!({"alertname": silenced})));

    // Expired: the alert is told at the next group interval, not the repeat interval.
    amtool_ok(&campanile, &["silence", "expire", &id]).await;
    wait_notified(&sink, &silenced).await;
    let expired = amtool_json(&campanile, &["silence", "query", "--expired"]).await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["status"]["state"], "expired");
    assert!(amtool_json(&campanile, &["silence", "query"])
        .await
        .is_empty());
    let one = campanile.get(&format!("/api/v2/silence/{id}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["status"]["state"], "expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn amtool_silence_import_update_and_errors() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink, "", "")).await;
    let name = unique("Imported");

    // An export from another Alertmanager: its id is unknown here, so amtool re-creates it.
    let now = time::OffsetDateTime::now_utc();
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let export = json!([{
        "id": "3f6a2b1c-9d4e-4f5a-8b7c-0d1e2f3a4b5c",
        "status": {"state": "active"},
        "updatedAt": rfc(now),
        "matchers": [{"name": "alertname", "value": name, "isRegex": false, "isEqual": true}],
        "startsAt": rfc(now - time::Duration::minutes(5)),
        "endsAt": rfc(now + time::Duration::hours(2)),
        "createdBy": "elsewhere",
        "comment": "imported",
    }]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("silences.json");
    std::fs::write(&file, export.to_string()).unwrap();
    let printed = amtool_ok(&campanile, &["silence", "import", file.to_str().unwrap()]).await;
    let id = printed.trim().to_string();
    assert_eq!(id.len(), 36, "{printed:?}");
    assert_ne!(id, "3f6a2b1c-9d4e-4f5a-8b7c-0d1e2f3a4b5c");

    // Re-importing its own export with --force creates a second one.
    let exported = amtool_ok(&campanile, &["-o", "json", "silence", "query"]).await;
    std::fs::write(&file, &exported).unwrap();
    amtool_ok(
        &campanile,
        &["silence", "import", "--force", file.to_str().unwrap()],
    )
    .await;
    assert_eq!(
        amtool_json(&campanile, &["silence", "query"]).await.len(),
        2
    );

    // Extending keeps the id; changing the matchers expires the old one and makes a new one.
    let current = campanile.get(&format!("/api/v2/silence/{id}")).await.json();
    let mut longer = current.clone();
    longer["endsAt"] = json!(rfc(now + time::Duration::hours(5)));
    let reply = campanile.post_json("/api/v2/silences", &longer).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["silenceID"], id.as_str());
    let mut other = current.clone();
    other["matchers"][0]["value"] = json!(format!("{name}-other"));
    let reply = campanile.post_json("/api/v2/silences", &other).await;
    let new_id = reply.json()["silenceID"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    let old = campanile.get(&format!("/api/v2/silence/{id}")).await.json();
    assert_eq!(old["status"]["state"], "expired");

    // Alertmanager's refusals.
    let mut backwards = current.clone();
    backwards["id"] = json!("");
    backwards["endsAt"] = json!(rfc(now - time::Duration::hours(1)));
    let reply = campanile.post_json("/api/v2/silences", &backwards).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(
        reply.json().is_string(),
        "errors are JSON strings: {reply:?}"
    );
    let mut matches_all = current.clone();
    matches_all["id"] = json!("");
    matches_all["matchers"] = json!([{"name": "x", "value": ".*", "isRegex": true}]);
    assert_eq!(
        campanile
            .post_json("/api/v2/silences", &matches_all)
            .await
            .status,
        400
    );
    let out = amtool(
        &campanile,
        &["silence", "expire", "00000000-0000-4000-8000-000000000000"],
    )
    .await;
    assert!(!out.status.success(), "expiring an unknown silence fails");
    assert_eq!(
        campanile
            .get("/api/v2/silence/00000000-0000-4000-8000-000000000000")
            .await
            .status,
        404
    );
    // Not a UUID: Alertmanager's 422, with go-openapi's body.
    let reply = campanile.get("/api/v2/silence/nope").await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.json(),
        json!({"code": 601, "message": "silenceID in path must be of type uuid: \"nope\""})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn amtool_config_routes_status_and_receivers() {
    let sink = HttpPeer::start().await;
    let tail = r#"
[[route.routes]]
name = "db"
matchers = ['team="db"']
receiver = "hook"
continue = true

[[inhibit_rules]]
source_matchers = ['severity="critical"']
target_matchers = ['severity="warning"']
equal = ["cluster"]
"#;
    let campanile = Campanile::start(&config(&sink, "", tail)).await;
    let tree = amtool_ok(&campanile, &["config", "routes"]).await;
    assert!(tree.contains("default-route  receiver: hook"), "{tree}");
    assert!(
        tree.contains(r#"{team="db"}  continue: true  receiver: hook"#),
        "{tree}"
    );
    let shown = amtool_ok(&campanile, &["config", "show"]).await;
    assert!(shown.contains("inhibit_rules:"), "{shown}");

    let status = campanile.get("/api/v2/status").await.json();
    assert_eq!(status["cluster"]["status"], "disabled");
    assert!(status["uptime"].is_string());
    // The Alertmanager version whose API campanile speaks, which is amtool's own here.
    let amtool_version = std::process::Command::new(amtool_binary())
        .arg("--version")
        .output()
        .expect("amtool --version");
    let amtool_version = String::from_utf8_lossy(&amtool_version.stdout).to_string()
        + &String::from_utf8_lossy(&amtool_version.stderr);
    let reported = status["versionInfo"]["version"].as_str().unwrap();
    assert!(
        amtool_version.contains(&format!("version {reported} ")),
        "campanile reports {reported}, amtool is {amtool_version:?}"
    );
    assert!(
        status["versionInfo"]["revision"]
            .as_str()
            .unwrap()
            .starts_with("campanile-"),
        "{status}"
    );
    let receivers = campanile.get("/api/v2/receivers").await.json();
    assert_eq!(receivers, json!([{"name": "hook"}]));
}

#[tokio::test(flavor = "multi_thread")]
async fn critical_inhibits_warnings_until_it_resolves() {
    let sink = HttpPeer::start().await;
    let tail = r#"
[[inhibit_rules]]
source_matchers = ['severity="critical"']
target_matchers = ['severity="warning"']
equal = ["cluster"]
"#;
    let campanile = Campanile::start(&config(&sink, "", tail)).await;
    let critical = unique("Critical");
    let inhibited = unique("Inhibited");
    let other_cluster = unique("OtherCluster");
    let reply = campanile
        .post_alerts(&json!([
            {"labels": {"alertname": critical, "severity": "critical", "cluster": "a"}},
            {"labels": {"alertname": inhibited, "severity": "warning", "cluster": "a"}},
            {"labels": {"alertname": other_cluster, "severity": "warning", "cluster": "b"}},
        ]))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    wait_notified(&sink, &critical).await;
    wait_notified(&sink, &other_cluster).await;
    never_notified(&sink, &inhibited).await;

    let alerts = campanile.alerts().await;
    let source = alert_with_label(&alerts, "alertname", &critical).unwrap();
    let target = alert_with_label(&alerts, "alertname", &inhibited).unwrap();
    assert_eq!(target["status"]["state"], "suppressed");
    assert_eq!(
        target["status"]["inhibitedBy"],
        json!([source["fingerprint"]])
    );
    let listed = amtool_json(&campanile, &["alert", "query", "--inhibited"]).await;
    assert_eq!(alertnames(&listed), [inhibited.as_str()]);

    // The critical alert resolves: the warning is told.
    let reply = campanile
        .post_alerts(&json!([{
            "labels": {"alertname": critical, "severity": "critical", "cluster": "a"},
            "endsAt": rfc3339_from_now(time::Duration::seconds(-1)),
        }]))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    wait_notified(&sink, &inhibited).await;
}

const TOKEN: &str = "operator-s3cret-token";

async fn send(
    campanile: &Campanile,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> u16 {
    let mut request = client().request(method, campanile.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("request").status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_need_the_bearer_token() {
    let sink = HttpPeer::start().await;
    let extra = format!("[server]\nauth_token = \"{TOKEN}\"\n");
    let campanile = Campanile::start(&config(&sink, &extra, "")).await;
    let alerts = json!([{"labels": {"alertname": unique("Authed")}}]);
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    assert_eq!(
        send(
            &campanile,
            post.clone(),
            "/api/v2/alerts",
            None,
            Some(&alerts)
        )
        .await,
        401
    );
    assert_eq!(
        send(
            &campanile,
            post.clone(),
            "/api/v2/alerts",
            Some("wrong"),
            Some(&alerts)
        )
        .await,
        401
    );
    assert_eq!(
        send(
            &campanile,
            post.clone(),
            "/api/v2/alerts",
            Some(TOKEN),
            Some(&alerts)
        )
        .await,
        200
    );
    assert_eq!(
        send(
            &campanile,
            post.clone(),
            "/api/v1/alertmanager",
            None,
            Some(&json!({}))
        )
        .await,
        401
    );
    assert_eq!(
        send(
            &campanile,
            post.clone(),
            "/api/v1/groups/ack",
            None,
            Some(&json!({}))
        )
        .await,
        401
    );
    assert_eq!(
        send(
            &campanile,
            reqwest::Method::DELETE,
            "/api/v2/silence/x",
            None,
            None
        )
        .await,
        401
    );
    assert_eq!(
        send(&campanile, get.clone(), "/api/v2/alerts", None, None).await,
        200,
        "reads are open"
    );

    // amtool without credentials is refused; with an http.config.file carrying the token it works.
    let out = amtool(
        &campanile,
        &["silence", "add", "alertname=X", "--comment=c", "--author=a"],
    )
    .await;
    assert!(
        !out.status.success(),
        "unauthenticated amtool silence add must fail"
    );
    let dir = tempfile::tempdir().unwrap();
    let http_config = dir.path().join("http.yml");
    std::fs::write(
        &http_config,
        format!("authorization:\n  type: Bearer\n  credentials: {TOKEN}\n"),
    )
    .unwrap();
    let flag = format!("--http.config.file={}", http_config.display());
    let id = amtool_ok(
        &campanile,
        &[
            &flag,
            "silence",
            "add",
            "alertname=X",
            "--comment=c",
            "--author=a",
        ],
    )
    .await;
    amtool_ok(&campanile, &[&flag, "silence", "expire", id.trim()]).await;

    // With read_auth (and the token from a file), reads need it too; probes never do.
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let extra = format!(
        "[server]\nauth_token_file = \"{}\"\nread_auth = true\n",
        token_file.display()
    );
    let locked = Campanile::start(&config(&sink, &extra, "")).await;
    assert_eq!(
        send(&locked, get.clone(), "/api/v2/alerts", None, None).await,
        401
    );
    assert_eq!(
        send(&locked, get.clone(), "/api/v2/silences", None, None).await,
        401
    );
    assert_eq!(
        send(&locked, get.clone(), "/metrics", None, None).await,
        401
    );
    assert_eq!(
        send(&locked, get.clone(), "/api/v2/alerts", Some(TOKEN), None).await,
        200
    );
    assert_eq!(
        send(&locked, get.clone(), "/-/ready", None, None).await,
        200
    );
    assert_eq!(send(&locked, get, "/-/healthy", None, None).await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledge_a_group_until_it_resolves() {
    let sink = HttpPeer::start().await;
    let campanile = Campanile::start(&config(&sink, "", "")).await;
    let name = unique("Acked");
    let labels = json!({"alertname": name, "instance": "db-1"});
    assert_eq!(
        campanile
            .post_alerts(&json!([{"labels": labels}]))
            .await
            .status,
        200
    );
    wait_notified(&sink, &name).await;

    let groups = campanile.get("/api/v2/alerts/groups").await.json();
    let group = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["labels"]["alertname"] == name.as_str())
        .expect("the group is listed")
        .clone();
    let key = group["groupKey"].as_str().expect("groupKey").to_string();
    assert_eq!(key, format!("{{}}:{{alertname=\"{name}\"}}"));
    // The key is the one notifications carry.
    let (payload, _) = sink.wait_for_labelled("/hook", "alertname", &name).await;
    assert_eq!(payload["groupKey"], key.as_str());

    let ack = json!({"group_key": key, "by": "alice", "comment": "looking"});
    let reply = campanile.post_json("/api/v1/groups/ack", &ack).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["by"], "alice");
    let unknown = json!({"group_key": "{}:{alertname=\"nope\"}", "by": "alice"});
    assert_eq!(
        campanile
            .post_json("/api/v1/groups/ack", &unknown)
            .await
            .status,
        404
    );
    let no_one = json!({"group_key": key, "by": ""});
    assert_eq!(
        campanile
            .post_json("/api/v1/groups/ack", &no_one)
            .await
            .status,
        400
    );

    let groups = campanile.get("/api/v2/alerts/groups").await.json();
    let group = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["groupKey"] == key.as_str())
        .unwrap()
        .clone();
    assert_eq!(group["acknowledgement"]["by"], "alice");
    assert_eq!(group["acknowledgement"]["comment"], "looking");
    let listed = campanile.get("/api/v1/groups/acks").await.json();
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Withdrawn, then given again, then cleared when the group resolves.
    let delete = reqwest::Method::DELETE;
    let body = json!({"group_key": key});
    assert_eq!(
        send(
            &campanile,
            delete.clone(),
            "/api/v1/groups/ack",
            None,
            Some(&body)
        )
        .await,
        200
    );
    assert_eq!(
        send(&campanile, delete, "/api/v1/groups/ack", None, Some(&body)).await,
        404
    );
    assert_eq!(
        campanile.post_json("/api/v1/groups/ack", &ack).await.status,
        200
    );
    let resolved =
        json!([{"labels": labels, "endsAt": rfc3339_from_now(time::Duration::seconds(-1))}]);
    assert_eq!(campanile.post_alerts(&resolved).await.status, 200);
    wait_until("the acknowledgement to clear", PATIENCE, async || {
        let acks = campanile.get("/api/v1/groups/acks").await.json();
        match acks.as_array().map(Vec::len) {
            Some(0) => Ok(()),
            _ => Err(acks.to_string()),
        }
    })
    .await;
}

/// Time intervals that certainly do (`always`: the whole day, in a zone with daylight saving)
/// and certainly do not (`never`: a year long gone) contain the moment the test runs.
const TIME_INTERVALS: &str = r#"
[[time_intervals]]
name = "always"
[[time_intervals.intervals]]
times = [{ start_time = "00:00", end_time = "24:00" }]
location = "Europe/Berlin"

[[time_intervals]]
name = "never"
[[time_intervals.intervals]]
years = ["2001"]
"#;

#[tokio::test(flavor = "multi_thread")]
async fn time_intervals_mute_their_route_only() {
    let sink = HttpPeer::start().await;
    let tail = r#"
[[route.routes]]
matchers = ['team="muted"']
mute_time_intervals = ["always"]
[[route.routes]]
matchers = ['team="open"']
mute_time_intervals = ["never"]
[[route.routes]]
matchers = ['team="inactive"']
active_time_intervals = ["never"]
[[route.routes]]
matchers = ['team="active"']
active_time_intervals = ["always"]
# Not inherited: a child of a muted route sends.
[[route.routes]]
matchers = ['team="parent"']
mute_time_intervals = ["always"]
[[route.routes.routes]]
matchers = ['tier="child"']
"#;
    let campanile = Campanile::start(&config(&sink, TIME_INTERVALS, tail)).await;
    let name = |team: &str| unique(&format!("Time_{team}"));
    let (muted, open, inactive, active, child) = (
        name("muted"),
        name("open"),
        name("inactive"),
        name("active"),
        name("child"),
    );
    let reply = campanile
        .post_alerts(&json!([
            {"labels": {"alertname": muted, "team": "muted"}},
            {"labels": {"alertname": open, "team": "open"}},
            {"labels": {"alertname": inactive, "team": "inactive"}},
            {"labels": {"alertname": active, "team": "active"}},
            {"labels": {"alertname": child, "team": "parent", "tier": "child"}},
        ]))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    wait_notified(&sink, &open).await;
    wait_notified(&sink, &active).await;
    wait_notified(&sink, &child).await;
    never_notified(&sink, &muted).await;
    never_notified(&sink, &inactive).await;
    // Muted, not lost: the alerts are still held, and listed.
    let alerts = campanile.alerts().await;
    assert!(alert_with_label(&alerts, "alertname", &muted).is_some());
    assert!(alert_with_label(&alerts, "alertname", &inactive).is_some());
}

#[tokio::test]
async fn unknown_time_interval_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("campanile.toml");
    let sink_url = "http://127.0.0.1:1/hook";
    std::fs::write(
        &file,
        format!(
            "{TIME_INTERVALS}\n[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{sink_url}\"\n[route]\nreceiver = \"hook\"\n[[route.routes]]\nmatchers = ['team=\"db\"']\nmute_time_intervals = [\"weekends\"]\n"
        ),
    )
    .unwrap();
    let out = check_config(&file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "route.routes[0].mute_time_intervals: no time interval named \"weekends\" is defined in [[time_intervals]]"
        ),
        "{stderr}"
    );
}

const SIGNING_KEY: &str = "test-signing-key-0123456789abcdef0123";

/// The acknowledgement link in a Slack message.
fn ack_link(message: &Value) -> String {
    let text = message.to_string();
    let start = text
        .find("https://campanile.example/ack/")
        .unwrap_or_else(|| panic!("no acknowledgement link in {message}"));
    text[start..]
        .split(['|', '>', '"'])
        .next()
        .unwrap()
        .to_string()
}

async fn link_request(
    campanile: &Campanile,
    method: reqwest::Method,
    token: &str,
    form: &str,
) -> (u16, String) {
    let response = client()
        .request(method, campanile.url(&format!("/ack/{token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response.text().await.unwrap();
    if status != 404 {
        assert!(content_type.starts_with("text/html"), "{content_type}");
    }
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_ack_link_in_slack_get_shows_post_acknowledges() {
    let slack = HttpPeer::answering(Answer::slack_ok()).await;
    let sink = HttpPeer::start().await;
    let name = unique("LinkAcked");
    let campanile = Campanile::start(&format!(
        r#"
[server]
external_url = "https://campanile.example"
auth_token = "{TOKEN}"

[acks]
signing_key = "{SIGNING_KEY}"
link_ttl = "1h"

[[receivers]]
name = "chat"
type = "slack"
url = "{}"

[[receivers]]
name = "hook"
type = "webhook"
url = "{}"

[route]
receiver = "chat"
group_by = ["alertname"]
group_wait = "200ms"
group_interval = "1s"

[[route.routes]]
matchers = ['alertname="{name}"']
receiver = "hook"
continue = true

[[route.routes]]
matchers = ['alertname="{name}"']
receiver = "chat"
"#,
        slack.url("/services/T0/B0/x"),
        sink.url("/hook"),
    ))
    .await;
    let alerts = json!([{"labels": {"alertname": name, "instance": "db-1"}}]);
    assert_eq!(
        send(
            &campanile,
            reqwest::Method::POST,
            "/api/v2/alerts",
            Some(TOKEN),
            Some(&alerts)
        )
        .await,
        200
    );
    let message = slack.wait_for(1).await[0].json().clone();
    let link = ack_link(&message);
    let token = link
        .strip_prefix("https://campanile.example/ack/")
        .unwrap()
        .to_string();
    // The webhook receiver's JSON stays Alertmanager's: no link in it.
    let (payload, _) = sink.wait_for_labelled("/hook", "alertname", &name).await;
    assert!(!payload.to_string().contains("/ack/"), "{payload}");

    // Opening the link (as a link previewer does) acknowledges nothing; no bearer token needed.
    let (status, page) = link_request(&campanile, reqwest::Method::GET, &token, "").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("method=\"post\""), "{page}");
    assert!(page.contains(&name), "the page names the group: {page}");
    assert_eq!(campanile.get("/api/v1/groups/acks").await.json(), json!([]));

    // A tampered token is refused, and acknowledges nothing.
    let mut tampered = token.clone();
    tampered.replace_range(0..1, if tampered.starts_with('A') { "B" } else { "A" });
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let (status, page) = link_request(&campanile, method, &tampered, "").await;
        assert_eq!(status, 403, "{page}");
        assert!(page.contains("signature is not valid"), "{page}");
    }
    assert_eq!(campanile.get("/api/v1/groups/acks").await.json(), json!([]));

    // Posting the form acknowledges the group, by "link".
    let (status, page) = link_request(
        &campanile,
        reqwest::Method::POST,
        &token,
        "comment=on+it%21",
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("is acknowledged"), "{page}");
    let acks = campanile.get("/api/v1/groups/acks").await.json();
    let acks = acks.as_array().unwrap();
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert_eq!(acks[0]["by"], "link");
    assert_eq!(acks[0]["comment"], "on it!");
    let key = acks[0]["group_key"].as_str().unwrap();
    assert!(
        key.ends_with(&format!(":{{alertname=\"{name}\"}}")),
        "{key}"
    );
    assert_ne!(
        payload["groupKey"], key,
        "the Slack route's group, not the webhook's"
    );

    // The link is no way into the rest of the API.
    let ack = json!({"group_key": key, "by": "mallory"});
    assert_eq!(
        send(
            &campanile,
            reqwest::Method::POST,
            "/api/v1/groups/ack",
            None,
            Some(&ack)
        )
        .await,
        401
    );
}
