//! The email receiver against a real SMTP server (aiosmtpd) over TCP: plain relay, STARTTLS
//! with authentication, implicit TLS, transient and permanent SMTP replies. Then end to end:
//! alerts routed by the severity-router plugin reach a pager, a chat and an email receiver.

use std::time::Duration;

use serde_json::{json, Value};

use super::{post, RUNBOOK, SOURCE};
use crate::harness::*;

fn route(receiver: &str) -> String {
    format!(
        r#"
[server]
external_url = "https://campanile.example"

[route]
receiver = "{receiver}"
group_by = ["alertname"]
group_wait = "200ms"
group_interval = "1s"
repeat_interval = "1h"
"#
    )
}

fn email_receiver(smtp: &SmtpPeer, extra: &str) -> String {
    format!(
        r#"
[[receivers]]
name = "mail"
type = "email"
host = "127.0.0.1"
port = {port}
from = "campanile <alerts@campanile.example>"
to = ["oncall@example.com", "Ops Team <ops@example.com>"]
cc = ["audit@example.com"]
hello = "campanile.example"
{extra}
"#,
        port = smtp.port
    )
}

fn alert(name: &str, severity: &str) -> Value {
    json!({
        "labels": {"alertname": name, "severity": severity, "instance": "db-1"},
        "annotations": {
            "summary": format!("{name} on db-1 <b>"),
            "description": "Disk almost full",
            "runbook_url": RUNBOOK,
        },
        "generatorURL": SOURCE,
    })
}

fn part<'a>(message: &'a Value, content_type: &str) -> String {
    let parts = message["parts"].as_array().expect("parts");
    let p: &'a Value = parts
        .iter()
        .find(|p| p["content_type"] == content_type)
        .unwrap_or_else(|| panic!("no {content_type} part in {message}"));
    p["content"].as_str().unwrap().replace("\r\n", "\n")
}

#[tokio::test]
async fn plain_relay_gets_a_multipart_text_and_html_message() {
    let smtp = SmtpPeer::start(SmtpOptions::default()).await;
    let config = email_receiver(&smtp, "tls = \"none\"") + &route("mail");
    let campanile = Campanile::start(&config).await;
    post(&campanile, json!([alert("MailDisk", "warning")])).await;
    let messages = smtp.wait_for(1).await;
    let m = &messages[0];
    assert_eq!(m["tls"], false);
    assert_eq!(m["mail_from"], "alerts@campanile.example");
    assert_eq!(
        m["rcpt_tos"],
        json!(["oncall@example.com", "ops@example.com", "audit@example.com"])
    );
    let headers = &m["headers"];
    assert_eq!(headers["From"], "campanile <alerts@campanile.example>");
    assert_eq!(
        headers["To"],
        "oncall@example.com, Ops Team <ops@example.com>"
    );
    assert_eq!(headers["Cc"], "audit@example.com");
    assert_eq!(headers["Subject"], "[FIRING:1] MailDisk");
    assert!(
        headers["Date"].is_string() && headers["Message-ID"].is_string(),
        "{headers}"
    );
    assert_eq!(m["content_type"], "multipart/alternative");

    let text = part(m, "text/plain");
    assert_eq!(
        text.trim_end(),
        format!(
            "[FIRING:1] MailDisk\n\n[firing] MailDisk on db-1 <b>\n  Disk almost full\n  labels: {{alertname=\"MailDisk\", instance=\"db-1\", severity=\"warning\"}}\n  runbook: {RUNBOOK}\n  source: {SOURCE}"
        )
    );
    let html = part(m, "text/html");
    for expected in [
        "<h2 style=\"color: #f2c744\">[FIRING:1] MailDisk</h2>",
        "<p>Group: alertname=MailDisk</p>",
        "<p><strong>FIRING</strong> MailDisk on db-1 &lt;b&gt;</p>",
        "<p>Disk almost full</p>",
        "<a href=\"https://runbooks.example/disk\">Runbook</a> · <a href=\"http://prometheus.example/graph?g0.expr=disk\">Source</a>",
        "Labels: alertname=MailDisk, instance=db-1, severity=warning",
        "<a href=\"https://campanile.example\">campanile</a>",
    ] {
        assert!(html.contains(expected), "missing {expected:?} in:\n{html}");
    }
}

#[tokio::test]
async fn starttls_with_authentication_and_a_private_ca() {
    let smtp = SmtpPeer::start(SmtpOptions {
        tls: Some("starttls"),
        auth: Some(("campanile".into(), "pa55word".into())),
        ..SmtpOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("smtp-password");
    std::fs::write(&password_file, "pa55word\n").unwrap();
    let tls = smtp.tls.as_ref().unwrap();
    let extra = format!(
        "tls = \"starttls\"\nca_file = '{}'\nusername = \"campanile\"\npassword_file = '{}'",
        tls.ca.display(),
        password_file.display()
    );
    let campanile = Campanile::start(&(email_receiver(&smtp, &extra) + &route("mail"))).await;
    post(&campanile, json!([alert("TlsDisk", "critical")])).await;
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages[0]["tls"], true);
    assert_eq!(messages[0]["authenticated_as"], "campanile");
    assert_eq!(messages[0]["headers"]["Subject"], "[FIRING:1] TlsDisk");
    assert!(
        !campanile.log().contains("pa55word"),
        "the password was logged"
    );
}

#[tokio::test]
async fn implicit_tls() {
    let smtp = SmtpPeer::start(SmtpOptions {
        tls: Some("implicit"),
        ..SmtpOptions::default()
    })
    .await;
    let tls = smtp.tls.as_ref().unwrap();
    let extra = format!("tls = \"implicit\"\nca_file = '{}'", tls.ca.display());
    let campanile = Campanile::start(&(email_receiver(&smtp, &extra) + &route("mail"))).await;
    post(&campanile, json!([alert("SmtpsDisk", "critical")])).await;
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages[0]["tls"], true);
    assert_eq!(messages[0]["headers"]["Subject"], "[FIRING:1] SmtpsDisk");
}

#[tokio::test]
async fn a_transient_smtp_reply_is_retried() {
    let smtp = SmtpPeer::start(SmtpOptions {
        reject: vec!["451"],
        ..SmtpOptions::default()
    })
    .await;
    let config = email_receiver(&smtp, "tls = \"none\"") + &route("mail");
    let campanile = Campanile::start(&config).await;
    post(&campanile, json!([alert("Greylisted", "warning")])).await;
    let messages = smtp.wait_for(1).await;
    assert_eq!(smtp.refused(), 1);
    assert_eq!(messages[0]["headers"]["Subject"], "[FIRING:1] Greylisted");
    assert!(campanile.log().contains("will retry"));
}

#[tokio::test]
async fn a_permanent_smtp_reply_is_not_retried() {
    let smtp = SmtpPeer::start(SmtpOptions {
        reject: vec!["550", "550"],
        ..SmtpOptions::default()
    })
    .await;
    let config = email_receiver(&smtp, "tls = \"none\"") + &route("mail");
    let campanile = Campanile::start(&config).await;
    post(&campanile, json!([alert("Denied", "warning")])).await;
    wait_until("the 550 reply", PATIENCE, async || match smtp.refused() {
        0 => Err("nothing refused yet".to_string()),
        n => Ok(n),
    })
    .await;
    stays_true(
        "one attempt only",
        Duration::from_secs(3),
        async || match smtp.refused() {
            1 => Ok(()),
            n => Err(format!("{n} attempts")),
        },
    )
    .await;
    assert!(smtp.messages().is_empty());
    let log = campanile.log();
    assert!(log.contains("Relaying denied"), "{log}");
    assert!(log.contains("notification failed permanently"), "{log}");
}

#[tokio::test]
async fn severity_router_reaches_pager_chat_and_email() {
    let pagerduty = HttpPeer::answering(Answer::pagerduty_accepted()).await;
    let slack = HttpPeer::answering(Answer::slack_ok()).await;
    let smtp = SmtpPeer::start(SmtpOptions::default()).await;
    let config = format!(
        r#"
[[receivers]]
name = "pager"
type = "pagerduty"
url = "{pd}"
routing_key = "e2e-routing-key"

[[receivers]]
name = "chat"
type = "slack"
url = "{slack}"

{mail}

[[receivers]]
name = "fallback"
type = "log"

[[plugins]]
name = "severity-router"
path = '{plugin}'

[plugins.config]
pager = "pager"
chat = "chat"
email = "mail"
default = "fallback"

[route]
receiver = "fallback"
plugin = "severity-router"
group_by = ["alertname"]
group_wait = "200ms"
group_interval = "1s"
repeat_interval = "1h"
"#,
        pd = pagerduty.url("/v2/enqueue"),
        slack = slack.url("/services/T/B/x"),
        mail = email_receiver(&smtp, "tls = \"none\""),
        plugin = severity_router_wasm().display(),
    );
    let campanile = Campanile::start(&config).await;
    post(
        &campanile,
        json!([
            alert("E2EPage", "critical"),
            alert("E2EChat", "warning"),
            alert("E2EMail", "info"),
        ]),
    )
    .await;

    let page = pagerduty.wait_for(1).await;
    let event = page[0].json();
    assert_eq!(event["event_action"], "trigger");
    assert_eq!(event["routing_key"], "e2e-routing-key");
    assert_eq!(event["payload"]["summary"], "[FIRING:1] E2EPage");
    assert_eq!(event["payload"]["severity"], "critical");

    let chat = slack.wait_for(1).await;
    assert_eq!(chat[0].json()["text"], "[FIRING:1] E2EChat");

    let mail = smtp.wait_for(1).await;
    assert_eq!(mail[0]["headers"]["Subject"], "[FIRING:1] E2EMail");

    // Each went to its receiver only.
    stays_true(
        "one notification per receiver",
        Duration::from_secs(2),
        async || {
            let counts = (
                pagerduty.requests().len(),
                slack.requests().len(),
                smtp.messages().len(),
            );
            if counts == (1, 1, 1) {
                Ok(())
            } else {
                Err(format!("{counts:?}"))
            }
        },
    )
    .await;
}

/// An SMTP server that greets with a line that never ends: `bytes` bytes without a newline,
/// then silence until the client hangs up. Returns its port.
async fn endless_greeting(bytes: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let chunk = vec![b'x'; 64 * 1024];
                let _ = stream.write_all(b"220 ").await;
                let mut left = bytes;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if stream.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    left -= n;
                }
                let _ = stream.read(&mut [0u8; 1]).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn an_smtp_reply_line_without_end_is_not_buffered() {
    // Bounded, so a campanile that buffers it all cannot take the test machine's memory.
    let port = endless_greeting(192 << 20).await;
    let config = format!(
        r#"
[[receivers]]
name = "mail"
type = "email"
host = "127.0.0.1"
port = {port}
tls = "none"
from = "campanile <alerts@campanile.example>"
to = ["oncall@example.com"]
timeout = "5s"
retry_for = "1s"
"#
    ) + &route("mail");
    let campanile = Campanile::start(&config).await;
    post(&campanile, json!([alert("Endless", "critical")])).await;
    let log = wait_until("the notification to be given up", PATIENCE, async || {
        let log = campanile.log();
        if log.contains("notification failed permanently") {
            Ok(log)
        } else {
            Err("not yet".to_string())
        }
    })
    .await;
    let peak = campanile.proc_status_bytes("VmHWM");
    eprintln!("VmHWM {} MB after a 192 MiB SMTP greeting line", peak >> 20);
    assert!(
        peak < 100 << 20,
        "campanile's memory peaked at {} MB reading an endless SMTP reply line",
        peak >> 20
    );
    assert!(log.contains("more than 1048576 bytes"), "{log}");
}
