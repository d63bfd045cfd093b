//! `type = "email"`: e-mail over SMTP, secured by STARTTLS (the default), implicit TLS or
//! nothing (a local relay).

use lettre::message::Mailbox;

use super::delivery::{receiver_keys, Defaults};
use super::{ReceiverType, Section};
use crate::config::Secret;

receiver_keys!(RawEmail {
    host: String,
    port: Option<u16>,
    tls: Option<String>,
    ca_file: Option<String>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<String>,
    password_env: Option<String>,
    hello: Option<String>,
    from: String,
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
});

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (default port 587).
    StartTls,
    /// TLS from the first byte, "SMTPS" (default port 465).
    Implicit,
    /// No TLS, for a local relay (default port 25).
    None,
}

/// E-mail over SMTP.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// PEM certificates trusted besides the public roots (a private CA).
    pub ca_pem: Option<Vec<u8>>,
    pub username: Option<String>,
    pub password: Option<Secret<String>>,
    /// The EHLO name; default: this host's name.
    pub hello: Option<String>,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
}

impl ReceiverType for RawEmail {
    type Config = EmailConfig;
    const DEFAULTS: Defaults = Defaults {
        send_resolved: false,
        rate_limit: None,
    };

    fn compile(self, section: &mut Section) -> Option<EmailConfig> {
        let tls = tls(section, self.tls.as_deref());
        let port = self.port.unwrap_or(match tls {
            SmtpTls::StartTls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        });
        if self.host.trim().is_empty() {
            section.err("host", "must not be empty");
        }
        let ca_pem = self
            .ca_file
            .as_deref()
            .and_then(|path| ca_pem(section, path));
        let password = password(
            section,
            self.username.is_some(),
            [self.password, self.password_file, self.password_env],
        );
        let from = mailbox(section, "from", &self.from);
        if self.to.is_empty() {
            section.err("to", "needs at least one address");
        }
        let to = mailboxes(section, "to", &self.to);
        let cc = mailboxes(section, "cc", &self.cc);
        Some(EmailConfig {
            host: self.host,
            port,
            tls,
            ca_pem,
            username: self.username,
            password,
            hello: self.hello,
            from: from?,
            to,
            cc,
        })
    }
}

/// `tls`: `starttls` unless set.
fn tls(section: &mut Section, text: Option<&str>) -> SmtpTls {
    match text.unwrap_or("starttls") {
        "starttls" => SmtpTls::StartTls,
        "implicit" => SmtpTls::Implicit,
        "none" => SmtpTls::None,
        other => {
            section.err(
                "tls",
                format!("unknown tls {other:?}: expected \"starttls\", \"implicit\" or \"none\""),
            );
            SmtpTls::StartTls
        }
    }
}

/// `ca_file`: a PEM certificate, relative to the config file.
fn ca_pem(section: &mut Section, path: &str) -> Option<Vec<u8>> {
    let path = section.base.join(path);
    match std::fs::read(&path) {
        Ok(pem) if lettre::transport::smtp::client::Certificate::from_pem(&pem).is_ok() => {
            Some(pem)
        }
        Ok(_) => {
            section.err(
                "ca_file",
                format!("{} is not a PEM certificate", path.display()),
            );
            None
        }
        Err(err) => {
            section.err("ca_file", format!("cannot read {}: {err}", path.display()));
            None
        }
    }
}

/// The password (`password`, `password_file` or `password_env`: a secret), given exactly
/// when a username is.
fn password(
    section: &mut Section,
    has_username: bool,
    [value, file, env]: [Option<String>; 3],
) -> Option<Secret<String>> {
    let has_password = value.is_some() || file.is_some() || env.is_some();
    match (has_username, has_password) {
        (true, true) => section.secret("password", value, file, env),
        (false, false) => None,
        (true, false) => {
            section.err(
                "password",
                "a username needs a password (`password`, `password_file` or `password_env`)",
            );
            None
        }
        (false, true) => {
            section.err("username", "a password needs a username");
            None
        }
    }
}

fn mailbox(section: &mut Section, field: &str, text: &str) -> Option<Mailbox> {
    match text.parse::<Mailbox>() {
        Ok(m) => Some(m),
        Err(e) => {
            section.err(field, format!("invalid address {text:?}: {e}"));
            None
        }
    }
}

/// The addresses of `field` (`to`, `cc`) that parse; the others are errors.
fn mailboxes(section: &mut Section, field: &str, list: &[String]) -> Vec<Mailbox> {
    list.iter()
        .enumerate()
        .filter_map(|(i, a)| mailbox(section, &format!("{field}[{i}]"), a))
        .collect()
}
