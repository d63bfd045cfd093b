//! The `campanile` binary under test, started with a config written into a temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};

use serde_json::Value;
use tempfile::TempDir;

use super::process::Process;

const BINARY: &str = env!("CARGO_BIN_EXE_campanile");

/// A running `campanile serve`, listening on a free loopback port; killed on drop, and its log
/// printed if the test fails.
pub struct Campanile {
    process: Process,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    client: reqwest::Client,
    config_path: PathBuf,
    /// The command the binary runs under (see [`Campanile::start_under`]), for restarts.
    wrapper: Vec<String>,
    /// How many times the process was started (its logs are `campanile-N.log`).
    runs: u32,
    // Last, so the folder (config, log) outlives the process.
    _dir: TempDir,
}

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
    /// Writes `config` to `campanile.toml` in a new temporary folder and starts
    /// `campanile serve --config campanile.toml --listen 127.0.0.1:0` there (the port it gets
    /// comes back through `--address-file`: no race for a free port), then waits for
    /// `/-/ready`.
    pub async fn start(config: &str) -> Campanile {
        Self::start_with_files(config, &[]).await
    }

    /// Like [`Campanile::start`], first copying each `(name, source)` file into the config's
    /// folder under `name` (for relative paths in the config).
    pub async fn start_with_files(config: &str, files: &[(&str, &Path)]) -> Campanile {
        Self::launch(config, files, &[]).await
    }

    /// Like [`Campanile::start`], with the binary run by `wrapper` (a command that execs the
    /// rest of its arguments, such as `["prlimit", "--nofile=256:256", "--"]`), so that the
    /// process id is still campanile's.
    pub async fn start_under(config: &str, wrapper: &[&str]) -> Campanile {
        Self::launch(config, &[], wrapper).await
    }

    async fn launch(config: &str, files: &[(&str, &Path)], wrapper: &[&str]) -> Campanile {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("campanile.toml");
        std::fs::write(&config_path, config).expect("write config");
        for (name, source) in files {
            std::fs::copy(source, dir.path().join(name)).unwrap_or_else(|e| {
                panic!("copy {} into the config folder: {e}", source.display())
            });
        }
        let mut runs = 0;
        let wrapper: Vec<String> = wrapper.iter().map(|w| w.to_string()).collect();
        let (process, addr) = spawn(dir.path(), &config_path, &wrapper, &mut runs)
            .await
            .unwrap_or_else(|ended| panic!("campanile did not start: {ended}; config:\n{config}"));
        Campanile {
            process,
            addr,
            client: super::client(),
            config_path,
            wrapper,
            runs,
            _dir: dir,
        }
    }

    /// Stops campanile with SIGTERM and returns its exit status (it must exit within
    /// [`super::PATIENCE`]).
    pub async fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        match self.wait_exit(super::PATIENCE).await {
            Some(status) => status,
            None => panic!("campanile did not exit after SIGTERM; log:\n{}", self.log()),
        }
    }

    /// Starts campanile again in the same folder, with the same configuration and store (on a
    /// new port); the previous process must have ended. `Err` says how it ended if it exits
    /// before it is ready.
    pub async fn start_again(&mut self) -> Result<(), String> {
        assert!(self.process.exited().is_some(), "campanile still runs");
        let dir = self
            .config_path
            .parent()
            .expect("config folder")
            .to_path_buf();
        let (process, addr) = spawn(&dir, &self.config_path, &self.wrapper, &mut self.runs).await?;
        self.process = process;
        self.addr = addr;
        Ok(())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// A `kB` field of the process's `/proc/<pid>/status` (`VmRSS`, `VmHWM` …), in bytes.
    pub fn proc_status_bytes(&self, field: &str) -> u64 {
        let pid = self.process.pid();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status:\n{status}"));
        let kb: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        kb * 1024
    }

    /// Sends SIGHUP (reload) to the process.
    pub fn hangup(&self) {
        self.signal("HUP");
    }

    /// Sends the signal `name` (`"TERM"`, `"HUP"`, …) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.process.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Waits up to `timeout` for the process to exit; its status, or `None` if it still runs.
    pub async fn wait_exit(&mut self, timeout: std::time::Duration) -> Option<ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.process.exited() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Everything campanile has logged so far.
    pub fn log(&self) -> String {
        self.process.log()
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

/// Starts `campanile serve --config CONFIG --listen 127.0.0.1:0` in `dir`, reads the port the
/// system gave it from `--address-file`, and waits for `/-/ready`. `Err` says how the process
/// ended if it exits before it is ready. `wrapper` is as in [`Campanile::start_under`].
async fn spawn(
    dir: &Path,
    config_path: &Path,
    wrapper: &[String],
    runs: &mut u32,
) -> Result<(Process, String), String> {
    *runs += 1;
    let address_file = dir.join(format!("address-{runs}"));
    let mut command = match wrapper.split_first() {
        None => Command::new(BINARY),
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(BINARY);
            c
        }
    };
    command
        .arg("serve")
        .arg("--config")
        .arg(config_path)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--address-file")
        .arg(&address_file)
        .current_dir(dir);
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "info,campanile=debug");
    }
    let log = dir.join(format!("campanile-{runs}.log"));
    let mut process = Process::spawn("campanile", command, &log);
    let deadline = std::time::Instant::now() + super::PATIENCE;
    let addr = loop {
        if let Ok(text) = std::fs::read_to_string(&address_file) {
            break text.trim().to_string();
        }
        if let Some(status) = process.exited() {
            return Err(format!(
                "campanile exited with {status}; log:\n{}",
                process.log()
            ));
        }
        if std::time::Instant::now() >= deadline {
            return Err(format!(
                "campanile wrote no address within {:?}; log:\n{}",
                super::PATIENCE,
                process.log()
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    match process.wait_ready(&addr).await {
        Ok(()) => Ok((process, addr)),
        Err(ended) => Err(format!("{ended}; log:\n{}", process.log())),
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
