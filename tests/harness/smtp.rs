//! A real SMTP server for the email tests: `smtp_server.py` (aiosmtpd, from Debian's
//! python3-aiosmtpd) run by /usr/bin/python3 on a port of its choosing on 127.0.0.1. Every
//! message it accepts is a JSON file (envelope, headers, MIME parts), read back here.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/harness/smtp_server.py"
);
const PYTHON: &str = "/usr/bin/python3";

/// How the server is set up.
#[derive(Clone, Debug, Default)]
pub struct SmtpOptions {
    /// `none` (default), `starttls` or `implicit`.
    pub tls: Option<&'static str>,
    /// `(user, password)` required to send.
    pub auth: Option<(String, String)>,
    /// SMTP replies (`451`, `550`) to answer the first messages with, in order.
    pub reject: Vec<&'static str>,
}

/// A certificate authority and a server certificate for 127.0.0.1 it signed, as PEM files.
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn tls_files(dir: &Path) -> TlsFiles {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("server key");
    let params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("server params");
    let cert = params.signed_by(&key, &issuer).expect("server certificate");
    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server-key.pem"),
    };
    std::fs::write(&files.ca, ca_cert.pem()).expect("write CA");
    std::fs::write(&files.cert, cert.pem()).expect("write certificate");
    std::fs::write(&files.key, key.serialize_pem()).expect("write key");
    files
}

pub struct SmtpPeer {
    child: Child,
    pub port: u16,
    /// Holds the certificates when TLS is on.
    pub tls: Option<TlsFiles>,
    dir: TempDir,
}

impl SmtpPeer {
    pub async fn start(options: SmtpOptions) -> SmtpPeer {
        assert!(
            Path::new(PYTHON).is_file(),
            "{PYTHON} is missing: install python3-aiosmtpd (scripts/test.sh does)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("messages");
        std::fs::create_dir(&out).expect("messages folder");
        let log = std::fs::File::create(dir.path().join("smtp.log")).expect("log");
        let mut command = Command::new(PYTHON);
        command.arg(SCRIPT).arg("--out").arg(&out);
        let tls = options.tls.unwrap_or("none");
        command.arg("--tls").arg(tls);
        let files = (tls != "none").then(|| tls_files(dir.path()));
        if let Some(f) = &files {
            command.arg("--cert").arg(&f.cert).arg("--key").arg(&f.key);
        }
        if let Some((user, password)) = &options.auth {
            command.arg("--auth").arg(format!("{user}:{password}"));
        }
        for code in &options.reject {
            command.arg("--reject").arg(code);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {PYTHON} {SCRIPT}: {e}"));
        let mut peer = SmtpPeer {
            child,
            port: 0,
            tls: files,
            dir,
        };
        let port_file = out.join("port");
        let deadline = Instant::now() + super::PATIENCE;
        loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                peer.port = text.trim().parse().expect("port number");
                return peer;
            }
            if let Some(status) = peer.child.try_wait().expect("try_wait") {
                panic!("the SMTP server exited with {status}:\n{}", peer.log());
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP server did not start:\n{}",
                peer.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("smtp.log")).unwrap_or_default()
    }

    /// The messages accepted so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let out = self.dir.path().join("messages");
        let mut found: Vec<(u32, Value)> = std::fs::read_dir(&out)
            .expect("messages folder")
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                let n = name.strip_suffix(".json")?.parse().ok()?;
                let text = std::fs::read_to_string(out.join(&name)).ok()?;
                Some((n, serde_json::from_str(&text).expect("message JSON")))
            })
            .collect();
        found.sort_by_key(|(n, _)| *n);
        found.into_iter().map(|(_, v)| v).collect()
    }

    /// How many messages were refused with a scripted reply.
    pub fn refused(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("messages"))
            .expect("messages folder")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("refused-"))
            })
            .count()
    }

    /// Waits until at least `count` messages arrived and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Value> {
        let what = format!("{count} message(s) at the SMTP server");
        super::wait_until(&what, super::PATIENCE, async || {
            let messages = self.messages();
            if messages.len() >= count {
                Ok(messages)
            } else {
                Err(format!(
                    "{} message(s), {} refused; server log:\n{}",
                    messages.len(),
                    self.refused(),
                    self.log()
                ))
            }
        })
        .await
    }
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("----- SMTP server log -----\n{}\n-----", self.log());
        }
    }
}
