//! The `campanile` binary under test, and the one way the tests start it: `campanile serve
//! --listen 127.0.0.1:0 --address-file FILE` in a folder holding its config (and, with a
//! relative store path, its store), so there is no race for a port. The folder is a new
//! temporary one or one the test gives ([`Launch::in_dir`]); it is kept across restarts, so a
//! graceful stop (SIGTERM) or a `kill -9` followed by [`Campanile::start_again`] runs on the
//! same configuration and store.

mod requests;

pub use requests::{check_config, Reply};

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::process::{tail, Process};
use super::{client, urlencode, PATIENCE};

const BINARY: &str = env!("CARGO_BIN_EXE_campanile");

/// How to start campanile; [`Campanile::start`] is `Launch::new(config).start()`.
pub struct Launch {
    config: String,
    dir: Option<PathBuf>,
    files: Vec<(String, PathBuf)>,
    wrapper: Vec<String>,
    env: Vec<(String, String)>,
    shared_cache: bool,
}

impl Launch {
    /// campanile with `config` as its `campanile.toml`, in a new temporary folder.
    pub fn new(config: &str) -> Launch {
        Launch {
            config: config.to_string(),
            dir: None,
            files: Vec::new(),
            wrapper: Vec::new(),
            env: Vec::new(),
            shared_cache: false,
        }
    }

    /// In `dir` instead, which the caller keeps (and may have filled, or look into after).
    pub fn in_dir(mut self, dir: &Path) -> Launch {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Copies `source` into the folder as `name` first (for relative paths in the config).
    pub fn file(mut self, name: &str, source: &Path) -> Launch {
        self.files.push((name.to_string(), source.to_path_buf()));
        self
    }

    /// Runs the binary through `wrapper`, a command that execs the rest of its arguments (such
    /// as `["prlimit", "--nofile=256:256", "--"]`), so that the process id is still
    /// campanile's.
    pub fn under(mut self, wrapper: &[&str]) -> Launch {
        self.wrapper = wrapper.iter().map(|w| w.to_string()).collect();
        self
    }

    /// Sets the environment variable `name` for the process. Without `RUST_LOG` from here or
    /// from the test's own environment, campanile runs with `info,campanile=debug`.
    pub fn env(mut self, name: &str, value: &str) -> Launch {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Shares one plugin compile cache with every other test that asks for it: the store's
    /// `data/plugin-cache` is a link to [`shared_plugin_cache`]. A Python or JavaScript plugin
    /// takes seconds to compile and a fraction of one to load from the cache, so each is
    /// compiled once per test run, not once per campanile. The config must keep the default
    /// store path (`data/campanile.redb`).
    pub fn shared_plugin_cache(mut self) -> Launch {
        self.shared_cache = true;
        self
    }

    /// Starts campanile and waits for `/-/ready`; panics with its log if it exits first.
    pub async fn start(self) -> Campanile {
        let config = self.config.clone();
        self.try_start()
            .await
            .unwrap_or_else(|e| panic!("campanile did not start: {e}; config:\n{config}"))
    }

    /// Starts campanile and waits for `/-/ready`; `Err` if it exits first.
    pub async fn try_start(self) -> Result<Campanile, NotStarted> {
        let (temp, dir) = match self.dir {
            Some(dir) => (None, dir),
            None => {
                let temp = tempfile::tempdir().expect("tempdir");
                let dir = temp.path().to_path_buf();
                (Some(temp), dir)
            }
        };
        let config_path = dir.join("campanile.toml");
        std::fs::write(&config_path, &self.config).expect("write config");
        if self.shared_cache {
            std::fs::create_dir_all(dir.join("data")).expect("create the store folder");
            std::os::unix::fs::symlink(shared_plugin_cache(), dir.join("data/plugin-cache"))
                .expect("link the shared plugin cache");
        }
        for (name, source) in &self.files {
            std::fs::copy(source, dir.join(name)).unwrap_or_else(|e| {
                panic!("copy {} into the config folder: {e}", source.display())
            });
        }
        let mut campanile = Campanile {
            process: None,
            addr: String::new(),
            client: client(),
            dir,
            config_path,
            wrapper: self.wrapper,
            env: self.env,
            shared_cache: self.shared_cache,
            runs: 0,
            _temp: temp,
        };
        campanile.spawn().await?;
        Ok(campanile)
    }
}

/// The compile cache shared by the launches that ask for it ([`Launch::shared_plugin_cache`]),
/// in the build's folder for test files.
pub fn shared_plugin_cache() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache");
    std::fs::create_dir_all(&dir).expect("create the shared plugin cache");
    dir
}

/// Why campanile did not become ready: how it exited, and what it logged.
#[derive(Debug)]
pub struct NotStarted {
    /// `None` if it still ran but wrote no address in time.
    pub status: Option<ExitStatus>,
    pub log: String,
}

impl fmt::Display for NotStarted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "campanile exited with {status}")?,
            None => write!(f, "campanile wrote no address in time")?,
        }
        write!(f, "; log:\n{}", self.log)
    }
}

/// A running (or stopped) `campanile serve`; killed on drop, and the log of every run printed
/// if the test fails.
pub struct Campanile {
    /// The current run; `None` only while the first one starts.
    process: Option<Process>,
    /// `127.0.0.1:PORT` of the current run (each run gets a port of its own).
    pub addr: String,
    client: reqwest::Client,
    dir: PathBuf,
    config_path: PathBuf,
    wrapper: Vec<String>,
    env: Vec<(String, String)>,
    /// Whether it uses [`shared_plugin_cache`]: its starts take turns with other processes'.
    shared_cache: bool,
    /// How many times the process was started (its logs are `campanile-N.log`).
    runs: u32,
    // Last, so the folder (config, log) outlives the process.
    _temp: Option<TempDir>,
}

impl Campanile {
    /// Writes `config` to `campanile.toml` in a new temporary folder, starts campanile there and
    /// waits for `/-/ready`.
    pub async fn start(config: &str) -> Campanile {
        Launch::new(config).start().await
    }

    /// Starts campanile in its folder (run N logs to `campanile-N.log`, its address comes back
    /// through `address-N`) and waits for `/-/ready`.
    async fn spawn(&mut self) -> Result<(), NotStarted> {
        self.runs += 1;
        // Starts that share the cache take turns, so that a plugin the cache lacks is compiled
        // by the first of them while the others wait, then load it from the cache.
        let _turn = self.shared_cache.then(|| {
            let lock = std::fs::File::create(shared_plugin_cache().with_extension("lock"))
                .expect("create the shared plugin cache's lock");
            lock.lock().expect("lock the shared plugin cache");
            lock
        });
        let address_file = self.dir.join(format!("address-{}", self.runs));
        let mut command = match self.wrapper.split_first() {
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
            .arg(&self.config_path)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--address-file")
            .arg(&address_file)
            .current_dir(&self.dir);
        let log_level_given = std::env::var_os("RUST_LOG").is_some()
            || self.env.iter().any(|(name, _)| name == "RUST_LOG");
        if !log_level_given {
            command.env("RUST_LOG", "info,campanile=debug");
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        let log = self.dir.join(format!("campanile-{}.log", self.runs));
        let patience = self.start_patience();
        let process = self
            .process
            .insert(Process::spawn("campanile", command, &log));
        let deadline = Instant::now() + patience;
        let addr = loop {
            if let Ok(text) = std::fs::read_to_string(&address_file) {
                break text.trim().to_string();
            }
            if let Some(status) = process.exited() {
                return Err(NotStarted {
                    status: Some(status),
                    log: process.log(),
                });
            }
            if Instant::now() >= deadline {
                return Err(NotStarted {
                    status: None,
                    log: process.log(),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        match process.wait_ready(&addr).await {
            Ok(()) => {
                self.addr = addr;
                Ok(())
            }
            Err(_) => Err(NotStarted {
                status: process.exited(),
                log: process.log(),
            }),
        }
    }

    /// How long a start may take to write its address: [`PATIENCE`], or four times that for a
    /// start on the shared cache, which may have to compile a Python or JavaScript plugin (tens
    /// of seconds of Cranelift on a busy 2-core machine) for every test after it.
    fn start_patience(&self) -> Duration {
        if self.shared_cache {
            4 * PATIENCE
        } else {
            PATIENCE
        }
    }

    fn process(&self) -> &Process {
        self.process.as_ref().expect("campanile was started")
    }

    fn process_mut(&mut self) -> &mut Process {
        self.process.as_mut().expect("campanile was started")
    }

    /// Stops campanile with SIGTERM and returns its exit status (it must exit within
    /// [`PATIENCE`]).
    pub async fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        match self.wait_exit(PATIENCE).await {
            Some(status) => status,
            None => panic!("campanile did not exit after SIGTERM; log:\n{}", self.log()),
        }
    }

    /// Kills campanile with SIGKILL (`kill -9`: a crash) and waits until it is gone.
    pub fn kill(&mut self) {
        self.process_mut().kill();
    }

    /// Starts campanile again in the same folder, with the same configuration and store (on a
    /// new port); the previous process must have ended.
    pub async fn start_again(&mut self) -> Result<(), NotStarted> {
        assert!(
            self.process_mut().exited().is_some(),
            "campanile still runs"
        );
        self.spawn().await
    }

    /// A graceful restart: SIGTERM, which campanile must exit cleanly on, then
    /// [`Campanile::start_again`], which must succeed.
    pub async fn restart(&mut self) {
        let exit = self.stop().await;
        assert!(
            exit.success(),
            "campanile exited with {exit} after SIGTERM:\n{}",
            self.logs()
        );
        if let Err(e) = self.start_again().await {
            panic!("campanile did not start again: {e}");
        }
    }

    /// The folder campanile runs in: its config, logs, and a store at a relative path.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The process id of the current run.
    pub fn pid(&self) -> u32 {
        self.process().pid()
    }

    /// A `kB` field of the process's `/proc/<pid>/status` (`VmRSS`, `VmHWM` …), in bytes.
    pub fn proc_status_bytes(&self, field: &str) -> u64 {
        let pid = self.pid();
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
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `timeout` for the process to exit; its status, or `None` if it still runs.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.process_mut().exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Everything the current run has logged so far.
    pub fn log(&self) -> String {
        self.process().log()
    }

    /// Everything every run has logged, oldest first, each under a `--- run N ---` line.
    pub fn logs(&self) -> String {
        (1..=self.runs)
            .map(|run| format!("--- run {run} ---\n{}", self.run_log(run)))
            .collect()
    }

    fn run_log(&self, run: u32) -> String {
        std::fs::read_to_string(self.dir.join(format!("campanile-{run}.log"))).unwrap_or_default()
    }
}

impl Drop for Campanile {
    /// The current run prints its own log when it is dropped (after this); the earlier runs'
    /// logs are printed here.
    fn drop(&mut self) {
        if std::thread::panicking() {
            for run in 1..self.runs {
                eprintln!(
                    "----- campanile log of run {run} -----\n{}\n----- end of run {run} -----",
                    tail(&self.run_log(run))
                );
            }
        }
    }
}
