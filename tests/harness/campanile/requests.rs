//! Requests to a running campanile: the API calls the tests make, and `check-config`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use super::{Campanile, BINARY};

/// The answer to a request: status and body text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    /// The body as JSON; panics with the body if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected a JSON body with status {}, got {e}: {:?}",
                self.status, self.body
            )
        })
    }
}

impl Campanile {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> Reply {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        reply(response).await
    }

    /// The decision log of the group `group_key` (`GET /api/v1/groups/decisions`), which must
    /// answer 200.
    pub async fn decisions(&self, group_key: &str) -> serde_json::Value {
        let path = format!(
            "/api/v1/groups/decisions?group_key={}",
            super::urlencode(group_key)
        );
        let reply = self.get(&path).await;
        assert_eq!(reply.status, 200, "GET {path}: {reply:?}");
        reply.json()
    }

    /// POSTs `body` as `application/json` to `path`, whether or not it is valid JSON.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        let response = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        reply(response).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.post_raw(path, body.to_string()).await
    }

    /// `POST /api/v2/alerts` with a JSON array of alerts.
    pub async fn post_alerts(&self, alerts: &Value) -> Reply {
        self.post_json("/api/v2/alerts", alerts).await
    }

    /// `POST /api/v1/alertmanager` with an Alertmanager webhook v4 payload.
    pub async fn post_webhook(&self, payload: &Value) -> Reply {
        self.post_json("/api/v1/alertmanager", payload).await
    }

    /// The sum of the samples of metric `name` whose labels include every `(label, value)` of
    /// `labels`, read from `GET /metrics`; 0 if there is none.
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let reply = self.get("/metrics").await;
        assert_eq!(reply.status, 200, "GET /metrics: {reply:?}");
        let wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        let mut sum = 0.0;
        for line in reply.body.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
            if series_name == name && wanted.iter().all(|w| series_labels.contains(w.as_str())) {
                sum += value
                    .parse::<f64>()
                    .unwrap_or_else(|e| panic!("bad sample {line:?}: {e}"));
            }
        }
        sum
    }

    /// `GET /api/v2/alerts`, which must answer 200 with a JSON array.
    pub async fn alerts(&self) -> Vec<Value> {
        let reply = self.get("/api/v2/alerts").await;
        assert_eq!(reply.status, 200, "GET /api/v2/alerts: {reply:?}");
        match reply.json() {
            Value::Array(alerts) => alerts,
            other => panic!("GET /api/v2/alerts is not an array: {other}"),
        }
    }

    /// The alerts of [`Campanile::alerts`] whose `alertname` label is `name`.
    pub async fn alerts_named(&self, name: &str) -> Vec<Value> {
        let mut alerts = self.alerts().await;
        alerts.retain(|a| a["labels"]["alertname"] == name);
        alerts
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    Reply { status, body }
}

/// Runs `campanile check-config FILE` and returns its exit status and output.
pub fn check_config(file: &Path) -> Output {
    Command::new(BINARY)
        .arg("check-config")
        .arg(file)
        .output()
        .expect("run campanile check-config")
}
