//! A real Alertmanager with gossip disabled, and the API calls the tests make of it.

use serde_json::Value;
use tempfile::TempDir;

use super::super::client;
use super::super::process::{find_binary, Process};
use super::{display, start_on_free_port, write};

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
        let (process, addr) = start_on_free_port("alertmanager", &binary, dir.path(), |addr| {
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
            client: client(),
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
