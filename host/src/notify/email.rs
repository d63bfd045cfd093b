//! The `email` integration: one message per notification over SMTP (lettre on tokio, TLS by
//! rustls): multipart/alternative with a plain-text and an HTML part, the subject from the
//! title. STARTTLS (required, so no downgrade), implicit TLS, or none for a local relay.
//!
//! SMTP answers sort like HTTP ones: a 5xx reply is permanent, anything else (4xx, connection
//! and TLS failures, a server that sends too much) is worth retrying. The session is `smtp`'s,
//! which bounds what the server may send.

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::Message;

use super::integrations::Integration;
use super::render::{self, escape_html as escape, label_line};
use super::smtp::{self, Security, Session};
use super::{incident, severity, truncate, BoxFuture, Notification, Notifier, NotifyError};
use crate::config::{DeliveryConfig, EmailConfig, SmtpTls};

/// Subjects are one line; mail clients show far less than this.
const SUBJECT_CHARS: usize = 250;

pub struct Email {
    config: EmailConfig,
    timeout: Duration,
}

impl Email {
    /// `timeout` bounds connecting (the worker bounds the whole attempt).
    pub fn new(config: EmailConfig, timeout: Duration) -> Self {
        Email { config, timeout }
    }

    /// The session for one delivery: connections are not pooled, alert mail is rare.
    fn session(&self) -> Result<Session, NotifyError> {
        let c = &self.config;
        let security = if c.tls == SmtpTls::None {
            Security::None
        } else {
            let mut params = TlsParameters::builder(c.host.clone());
            if let Some(pem) = &c.ca_pem {
                let cert = Certificate::from_pem(pem)
                    .map_err(|e| NotifyError::Rejected(format!("ca_file: {e}")))?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build_rustls()
                .map_err(|e| NotifyError::Rejected(format!("TLS set-up: {e}")))?;
            match c.tls {
                SmtpTls::Implicit => Security::Implicit(params),
                _ => Security::StartTls(params),
            }
        };
        let credentials = match (&c.username, &c.password) {
            (Some(user), Some(password)) => {
                Some(Credentials::new(user.clone(), password.expose().clone()))
            }
            _ => None,
        };
        Ok(Session {
            host: c.host.clone(),
            port: c.port,
            security,
            hello: c.hello.clone().map(ClientId::Domain).unwrap_or_default(),
            credentials,
            connect_timeout: self.timeout,
        })
    }

    async fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        let message = message(n, &self.config.from, &self.config.to, &self.config.cc)?;
        let session = self.session()?;
        smtp::send(&session, message.envelope(), &message.formatted())
            .await
            .map_err(|e| {
                if e.is_permanent() {
                    NotifyError::Rejected(format!("the SMTP server refused the message: {e}"))
                } else {
                    NotifyError::Transport(format!("SMTP: {e}"))
                }
            })
    }
}

impl Notifier for Email {
    fn integration(&self) -> &'static str {
        "email"
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.send(n))
    }
}

pub fn message(
    n: &Notification,
    from: &Mailbox,
    to: &[Mailbox],
    cc: &[Mailbox],
) -> Result<Message, NotifyError> {
    let title = render::title(n);
    let mut builder = Message::builder()
        .from(from.clone())
        .message_id(Some(message_id(n, from)))
        .subject(truncate::line(&title, SUBJECT_CHARS));
    for m in to {
        builder = builder.to(m.clone());
    }
    for m in cc {
        builder = builder.cc(m.clone());
    }
    let text = format!("{title}\n\n{}", render::text_body(n));
    builder
        .multipart(MultiPart::alternative_plain_html(text, html(n, &title)))
        .map_err(|e| NotifyError::Rejected(format!("cannot build the message: {e}")))
}

/// A Message-ID that is the same for every attempt at one notification (a retry, a re-delivery
/// from the outbox after a restart), so mail systems and clients can fold duplicates: the
/// group's incident key, the flush time and the sender's domain.
fn message_id(n: &Notification, from: &Mailbox) -> String {
    format!(
        "<{}.{}@{}>",
        &incident::key(n)[..32],
        (n.flush.at.unix_timestamp_nanos() / 1_000_000),
        from.email.domain()
    )
}

/// The HTML part: the title, the group, then one block per alert with its links (or the
/// plugin's body, preformatted).
pub fn html(n: &Notification, title: &str) -> String {
    let colour = format!("#{:06x}", severity::colour(n));
    let mut h = String::from("<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n");
    let _ = writeln!(h, "<h2 style=\"color: {colour}\">{}</h2>", escape(title));
    if !n.flush.group_labels.is_empty() {
        let _ = writeln!(
            h,
            "<p>Group: {}</p>",
            escape(&label_line(&n.flush.group_labels))
        );
    }
    match &n.body {
        Some(body) => {
            let _ = writeln!(
                h,
                "<pre style=\"white-space: pre-wrap\">{}</pre>",
                escape(body)
            );
        }
        None => {
            for v in render::views(n) {
                let _ = writeln!(
                    h,
                    "<div style=\"border-left: 4px solid {colour}; padding-left: 8px; margin: 12px 0\">"
                );
                let _ = writeln!(
                    h,
                    "<p><strong>{}</strong> {}</p>",
                    v.status.as_str().to_uppercase(),
                    escape(v.headline)
                );
                if let Some(d) = v.description {
                    let _ = writeln!(h, "<p>{}</p>", escape(d));
                }
                let links: Vec<String> = [("Runbook", v.runbook), ("Source", v.source)]
                    .into_iter()
                    .filter_map(|(text, url)| {
                        url.map(|u| format!("<a href=\"{}\">{text}</a>", escape(u)))
                    })
                    .collect();
                if !links.is_empty() {
                    let _ = writeln!(h, "<p>{}</p>", links.join(" · "));
                }
                let _ = writeln!(
                    h,
                    "<p style=\"color: #666\">Labels: {}</p>\n</div>",
                    escape(&label_line(v.labels))
                );
            }
        }
    }
    if let Some(link) = &n.ack_link {
        let _ = writeln!(h, "<p><a href=\"{}\">Acknowledge</a></p>", escape(link));
    }
    let _ = writeln!(
        h,
        "<p style=\"color: #999\">Sent by <a href=\"{0}\">campanile</a></p>\n</body></html>",
        escape(&n.external_url)
    );
    h
}

impl Integration for EmailConfig {
    /// The delivery's `timeout` also bounds connecting.
    fn notifier(&self, _: &reqwest::Client, delivery: &DeliveryConfig) -> Arc<dyn Notifier> {
        Arc::new(Email::new(self.clone(), delivery.timeout))
    }

    fn render(&self, n: &Notification) -> Vec<u8> {
        message(n, &self.from, &self.to, &self.cc)
            .map(|m| m.formatted())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::render::tests::disk_full;

    #[test]
    fn html_escapes_and_links() {
        let mut n = disk_full();
        n.body = None;
        let h = html(&n, "<b>t</b>");
        assert!(
            h.contains("<h2 style=\"color: #d0021b\">&lt;b&gt;t&lt;/b&gt;</h2>"),
            "{h}"
        );
        assert!(
            h.contains("<a href=\"https://runbooks.test/disk\">Runbook</a>"),
            "{h}"
        );
        assert!(h.contains("<strong>RESOLVED</strong> DiskFull"), "{h}");
        assert!(!h.contains("Acknowledge"), "no link without a signing key");
        n.ack_link = Some("https://campanile.test/ack/a.b&c".into());
        let h = html(&n, "t");
        assert!(
            h.contains("<p><a href=\"https://campanile.test/ack/a.b&amp;c\">Acknowledge</a></p>"),
            "{h}"
        );
    }

    #[test]
    fn message_has_both_parts_and_recipients() {
        let n = disk_full();
        let from: Mailbox = "campanile <alerts@campanile.test>".parse().unwrap();
        let to: Mailbox = "ops@campanile.test".parse().unwrap();
        let m = message(&n, &from, &[to], &[]).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("Subject: [FIRING:1] DiskFull"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("text/plain"), "{raw}");
        assert!(raw.contains("text/html"), "{raw}");
    }
}
