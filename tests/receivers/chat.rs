//! Slack, Mattermost, Discord and Teams: the exact JSON each receives, and how their refusals
//! are retried (`Retry-After` in seconds, backoff after 5xx, no retry on 400).

use std::time::Duration;

use serde_json::json;

use super::{
    alert, config, gap, markdown, no_more_than, normalise, post, resolved, RUNBOOK, SOURCE,
};
use crate::harness::*;

#[tokio::test]
async fn slack_gets_text_and_blocks_from_a_url_file() {
    let peer = HttpPeer::answering(Answer::slack_ok()).await;
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("slack-url");
    std::fs::write(
        &url_file,
        format!("{}\n", peer.url("/services/T0/B0/s3cr3t")),
    )
    .unwrap();
    let campanile = Campanile::start(&config(
        &format!(
            r##"
[[receivers]]
name = "chat"
type = "slack"
url_file = '{}'
channel = "#alerts"
username = "campanile"
"##,
            url_file.display()
        ),
        "chat",
    ))
    .await;
    post(&campanile, json!([alert("SlackDisk", "warning")])).await;
    let requests = peer.wait_for(1).await;
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/services/T0/B0/s3cr3t")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        &json!({
            "text": "[FIRING:1] SlackDisk",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "[FIRING:1] SlackDisk", "emoji": true}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "Group: alertname=SlackDisk"}]},
                {"type": "section", "text": {"type": "mrkdwn", "text": format!(
                    "*FIRING* SlackDisk on db-1\nDisk almost full\n<{RUNBOOK}|Runbook> · <{SOURCE}|Source>\nLabels: alertname=SlackDisk, instance=db-1, severity=warning"
                )}},
            ],
            "channel": "#alerts",
            "username": "campanile",
        })
    );
    // Slack's receivers default to send_resolved = false, as in Alertmanager.
    post(&campanile, json!([resolved("SlackDisk", "warning")])).await;
    no_more_than(&peer, 1, Duration::from_secs(3)).await;
    assert!(
        !campanile.log().contains("s3cr3t"),
        "the URL's token was logged"
    );
}

#[tokio::test]
async fn slack_429_is_retried_after_retry_after_seconds() {
    let peer = HttpPeer::answering(Answer::slack_ok()).await;
    peer.script([Answer::new(429, "rate_limited").header("retry-after", "2")]);
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"chat\"\ntype = \"slack\"\nurl = \"{}\"\n",
            peer.url("/hook")
        ),
        "chat",
    ))
    .await;
    post(&campanile, json!([alert("Limited", "warning")])).await;
    let requests = peer.wait_for(2).await;
    assert_eq!(requests[0].answered, 429);
    assert_eq!(
        requests[0].json(),
        requests[1].json(),
        "the same message again"
    );
    let waited = gap(&requests[0], &requests[1]);
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}");
    no_more_than(&peer, 2, Duration::from_secs(2)).await;
    wait_until("the retry counted", PATIENCE, async || {
        let retries = campanile
            .metric(
                "campanile_notification_retries_total",
                &[("receiver", "chat")],
            )
            .await;
        let sent = campanile
            .metric(
                "campanile_notifications_total",
                &[
                    ("receiver", "chat"),
                    ("outcome", "sent"),
                    ("integration", "slack"),
                ],
            )
            .await;
        if retries == 1.0 && sent == 1.0 {
            Ok(())
        } else {
            Err(format!("retries {retries}, sent {sent}"))
        }
    })
    .await;
}

#[tokio::test]
async fn mattermost_gets_markdown_text() {
    let peer = HttpPeer::answering(Answer::slack_ok()).await;
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"mm\"\ntype = \"mattermost\"\nurl = \"{}\"\nchannel = \"town-square\"\n",
            peer.url("/hooks/abc")
        ),
        "mm",
    ))
    .await;
    post(&campanile, json!([alert("MmDisk", "warning")])).await;
    let requests = peer.wait_for(1).await;
    assert_eq!(
        requests[0].json(),
        &json!({
            "text": format!("#### [FIRING:1] MmDisk\n\n{}", markdown("MmDisk", "warning", "\n")),
            "channel": "town-square",
        })
    );
}

#[tokio::test]
async fn discord_gets_content_and_an_embed() {
    let peer = HttpPeer::answering(Answer::no_content()).await;
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"dc\"\ntype = \"discord\"\nurl = \"{}\"\nusername = \"campanile\"\n",
            peer.url("/api/webhooks/1/tok")
        ),
        "dc",
    ))
    .await;
    post(&campanile, json!([alert("DcDisk", "warning")])).await;
    let requests = peer.wait_for(1).await;
    assert_eq!(
        normalise(requests[0].json().clone(), &["/embeds/0/timestamp"]),
        json!({
            "content": "[FIRING:1] DcDisk",
            "embeds": [{
                "title": "[FIRING:1] DcDisk",
                "description": markdown("DcDisk", "warning", "\n"),
                "color": 0xF2C744,
                "timestamp": "<time>",
            }],
            "allowed_mentions": {"parse": []},
            "username": "campanile",
        })
    );
}

#[tokio::test]
async fn discord_400_is_not_retried_and_its_body_is_logged() {
    let peer = HttpPeer::answering(Answer::no_content()).await;
    peer.script([Answer::new(
        400,
        r#"{"message": "Cannot send an empty message", "code": 50006}"#,
    )
    .header("content-type", "application/json")]);
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"dc\"\ntype = \"discord\"\nurl = \"{}\"\n",
            peer.url("/api/webhooks/1/tok")
        ),
        "dc",
    ))
    .await;
    post(&campanile, json!([alert("Refused", "warning")])).await;
    peer.wait_for(1).await;
    no_more_than(&peer, 1, Duration::from_secs(3)).await;
    wait_until(
        "the permanent failure in the log and metrics",
        PATIENCE,
        async || {
            let failed = campanile
                .metric(
                    "campanile_notifications_total",
                    &[("receiver", "dc"), ("outcome", "failed")],
                )
                .await;
            let log = campanile.log();
            if failed == 1.0 && log.contains("Cannot send an empty message") {
                Ok(())
            } else {
                Err(format!("failed = {failed}"))
            }
        },
    )
    .await;
}

#[tokio::test]
async fn msteams_card_after_5xx_with_growing_backoff() {
    let peer = HttpPeer::answering(Answer::accepted()).await;
    peer.script([Answer::new(500, "oops"), Answer::new(503, "busy")]);
    let campanile = Campanile::start(&config(
        &format!(
            "[[receivers]]\nname = \"teams\"\ntype = \"msteams\"\nurl = \"{}\"\n",
            peer.url("/workflows/abc/triggers/manual/paths/invoke")
        ),
        "teams",
    ))
    .await;
    post(&campanile, json!([alert("TeamsDisk", "warning")])).await;
    let requests = peer.wait_for(3).await;
    let answered: Vec<u16> = requests.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [500, 503, 202]);
    // Exponential backoff with jitter: at least half of 250 ms, then of 500 ms.
    let (first, second) = (
        gap(&requests[0], &requests[1]),
        gap(&requests[1], &requests[2]),
    );
    assert!(
        first >= Duration::from_millis(125),
        "first retry after {first:?}"
    );
    assert!(
        second >= Duration::from_millis(250),
        "second retry after {second:?}"
    );
    no_more_than(&peer, 3, Duration::from_secs(1)).await;
    assert_eq!(
        requests[2].json(),
        &json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "msteams": {"width": "Full"},
                    "body": [
                        {"type": "TextBlock", "text": "[FIRING:1] TeamsDisk", "weight": "Bolder", "size": "Large", "color": "Warning", "wrap": true},
                        {"type": "TextBlock", "text": markdown("TeamsDisk", "warning", "\n\n"), "wrap": true},
                    ],
                    "actions": [
                        {"type": "Action.OpenUrl", "title": "Source", "url": SOURCE},
                        {"type": "Action.OpenUrl", "title": "Runbook", "url": RUNBOOK},
                    ],
                },
            }],
        })
    );
}
