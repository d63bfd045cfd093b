//! A real Prometheus evaluating rule files every second, and its query API.

use serde_json::Value;
use tempfile::TempDir;

use super::super::process::{find_binary, Process};
use super::super::{client, wait_until, PATIENCE};
use super::{display, start_on_free_port, write};

/// A Prometheus running one configuration with one rule file.
pub struct Prometheus {
    process: Process,
    pub addr: String,
    _dir: TempDir,
}

impl Prometheus {
    /// Evaluates `rules` (the YAML of a rule file) every second and sends its alerts to one
    /// Alertmanager-compatible target, `alertmanager` (`HOST:PORT`), with API v2.
    pub async fn start(rules: &str, alertmanager: &str) -> Prometheus {
        let config = format!(
            r#"global:
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - api_version: v2
      static_configs:
        - targets: ["{alertmanager}"]
"#
        );
        Self::start_with(&config, rules).await
    }

    /// Runs `config` (the YAML of `prometheus.yml`) with `rules` beside it as `rules.yml`.
    pub async fn start_with(config: &str, rules: &str) -> Prometheus {
        let binary = find_binary(&["prometheus"], "prometheus");
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "rules.yml", rules);
        let config = write(dir.path(), "prometheus.yml", config);
        let storage = display(&dir.path().join("data"));
        let (process, addr) = start_on_free_port("prometheus", &binary, dir.path(), |addr| {
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

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Prometheus's own view of its alerts (`GET /api/v1/alerts`), for failure messages.
    pub async fn alerts(&self) -> Value {
        match client().get(self.url("/api/v1/alerts")).send().await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(e) => Value::String(e.to_string()),
        }
    }

    /// The `data` of a `GET` of the HTTP API that answered `"status": "success"`.
    pub async fn get_json(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, String> {
        let response = client()
            .get(self.url(path))
            .query(query)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("GET {path}: not JSON: {e}"))?;
        if body["status"] != "success" {
            return Err(format!("GET {path}: {body}"));
        }
        Ok(body["data"].clone())
    }

    /// The value of a PromQL expression that yields one sample, e.g. `sum(...)`; `Err` with what
    /// Prometheus answered if it yields none.
    pub async fn value(&self, promql: &str) -> Result<f64, String> {
        let data = self.get_json("/api/v1/query", &[("query", promql)]).await?;
        let samples = data["result"].as_array().cloned().unwrap_or_default();
        let [sample] = samples.as_slice() else {
            return Err(format!("{promql} gave {data}"));
        };
        sample["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{promql} gave {data}"))
    }

    /// Waits until `promql` is at least `at_least`, and returns its value.
    pub async fn wait_for_value(&self, promql: &str, at_least: f64) -> f64 {
        let what = format!("Prometheus to see {promql} >= {at_least}");
        wait_until(&what, PATIENCE, async || match self.value(promql).await {
            Ok(v) if v >= at_least => Ok(v),
            Ok(v) => Err(format!("{v}")),
            Err(e) => Err(e),
        })
        .await
    }

    pub fn log(&self) -> String {
        self.process.log()
    }
}
