//! Real Prometheus and Alertmanager (the Debian binaries) on loopback, each with its config and
//! storage in a temporary folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

use super::process::{address_in_use, find_binary, Process};

/// Starts `binary` with the arguments `args(dir, addr)` on a free port, retrying with another port
/// if the first was taken meanwhile, and waits for `/-/ready`.
async fn start_peer(
    name: &str,
    binary: &Path,
    dir: &Path,
    args: impl Fn(&str) -> Vec<String>,
) -> (Process, String) {
    for attempt in 1..=3 {
        let addr = format!("127.0.0.1:{}", super::free_port());
        let mut command = Command::new(binary);
        command.args(args(&addr)).current_dir(dir);
        let log = dir.join(format!("{name}-{attempt}.log"));
        let mut process = Process::spawn(name, command, &log);
        match process.wait_ready(&addr).await {
            Ok(()) => return (process, addr),
            Err(_) if attempt < 3 && address_in_use(&process.log()) => continue,
            Err(ended) => panic!("{name} did not start: {ended}"),
        }
    }
    unreachable!("the last attempt returns or panics")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// A Prometheus that evaluates one rule file every second and sends its alerts to one
/// Alertmanager-compatible target with API v2.
pub struct Prometheus {
    process: Process,
    pub addr: String,
    _dir: TempDir,
}

impl Prometheus {
    /// `rules` is the YAML of a rule file; `alertmanager` is `HOST:PORT` of the target.
    pub async fn start(rules: &str, alertmanager: &str) -> Prometheus {
        let binary = find_binary(&["prometheus"], "prometheus");
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "rules.yml", rules);
        let config = write(
            dir.path(),
            "prometheus.yml",
            &format!(
                r#"global:
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - api_version: v2
      static_configs:
        - targets: ["{alertmanager}"]
"#
            ),
        );
        let storage = display(&dir.path().join("data"));
        let (process, addr) = start_peer("prometheus", &binary, dir.path(), |addr| {
            vec![
                format!("--config.file={}", display(&config)),
                format!("--storage.tsdb.path={storage}"),
                format!("--web.listen-address={addr}"),
                // Resend every second, not every minute: the first send can happen before the
                // target is discovered, and is then dropped.
                "--rules.alert.resend-delay=1s".to_string(),
            ]
        })
        .await;
        Prometheus {
            process,
            addr,
            _dir: dir,
        }
    }

    /// Prometheus's own view of its alerts (`GET /api/v1/alerts`), for failure messages.
    pub async fn alerts(&self) -> Value {
        let url = format!("http://{}/api/v1/alerts", self.addr);
        match super::client().get(&url).send().await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(e) => Value::String(e.to_string()),
        }
    }

    pub fn log(&self) -> String {
        self.process.log()
    }
}

/// An Alertmanager with gossip disabled.
pub struct Alertmanager {
    process: Process,
    pub addr: String,
    client: reqwest::Client,
    _dir: TempDir,
}

impl Alertmanager {
    /// `config` is the YAML of `alertmanager.yml`.
    pub async fn start(config: &str) -> Alertmanager {
        let binary = find_binary(
            &["alertmanager", "prometheus-alertmanager"],
            "prometheus-alertmanager",
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let config = write(dir.path(), "alertmanager.yml", config);
        let storage = display(&dir.path().join("data"));
        let (process, addr) = start_peer("alertmanager", &binary, dir.path(), |addr| {
            vec![
                format!("--config.file={}", display(&config)),
                format!("--storage.path={storage}"),
                format!("--web.listen-address={addr}"),
                "--cluster.listen-address=".to_string(),
                "--log.level=debug".to_string(),
            ]
        })
        .await;
        Alertmanager {
            process,
            addr,
            client: super::client(),
            _dir: dir,
        }
    }

    /// `POST /api/v2/alerts`, which must answer 200.
    pub async fn post_alerts(&self, alerts: &Value) {
        let url = format!("http://{}/api/v2/alerts", self.addr);
        let response = self
            .client
            .post(&url)
            .json(alerts)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, 200, "Alertmanager rejected {alerts}: {body}");
    }

    /// `GET /api/v2/alerts`: Alertmanager's active alerts.
    pub async fn alerts(&self) -> Vec<Value> {
        self.get_list("/api/v2/alerts").await
    }

    /// `GET /api/v2/silences`.
    pub async fn silences(&self) -> Vec<Value> {
        self.get_list("/api/v2/silences").await
    }

    /// `POST /api/v2/silences`, which must answer 200; the new silence's ID.
    pub async fn post_silence(&self, silence: &Value) -> String {
        let url = format!("http://{}/api/v2/silences", self.addr);
        let response = self
            .client
            .post(&url)
            .json(silence)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        assert_eq!(status, 200, "Alertmanager rejected {silence}: {body}");
        body["silenceID"].as_str().unwrap_or_default().to_string()
    }

    /// A `GET` that must answer 200 with a JSON array.
    async fn get_list(&self, path: &str) -> Vec<Value> {
        let url = format!("http://{}{path}", self.addr);
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(response.status(), 200, "GET {url}");
        response.json().await.expect("Alertmanager answers JSON")
    }

    pub fn log(&self) -> String {
        self.process.log()
    }
}
