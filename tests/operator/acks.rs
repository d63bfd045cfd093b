//! Acknowledgements: by API until the group resolves, and by the signed link in a Slack
//! message (GET shows, POST acknowledges, no bearer token needed).

use serde_json::{json, Value};

use super::{config, send, wait_notified, TOKEN};
use crate::harness::*;

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
