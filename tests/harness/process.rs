//! A child process whose output goes to a log file, killed on drop; the log is printed when the
//! test fails, so a failing test shows what the process said.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How much of a log is printed when a test fails.
const LOG_TAIL_BYTES: usize = 24 * 1024;

pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Spawns `command` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> Process {
        let file = File::create(log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        Process {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        }
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// The process id, to send signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process has written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_tail(&self) -> String {
        tail(&self.log()).to_string()
    }

    /// Kills the process (SIGKILL) and waits until it is gone.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// Waits until `GET http://addr/-/ready` answers 200. Returns `Err` saying how the process
    /// ended if it exits first (its log is in [`Process::log`]), and panics after
    /// [`super::PATIENCE`].
    pub async fn wait_ready(&mut self, addr: &str) -> Result<(), String> {
        let client = super::client();
        let url = format!("http://{addr}/-/ready");
        let deadline = Instant::now() + super::PATIENCE;
        let mut last;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!("{} exited with {status}", self.name));
            }
            match client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                Ok(r) if r.status() == 200 => return Ok(()),
                Ok(r) => last = format!("status {}", r.status()),
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                panic!(
                    "{} did not become ready at {url} within {:?} (last: {last}); log:\n{}",
                    self.name,
                    super::PATIENCE,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "----- {} log ({}) -----\n{}\n----- end of {} log -----",
                self.name,
                self.log.display(),
                self.log_tail(),
                self.name
            );
        }
    }
}

/// The absolute path of the first of `names` found on `PATH`, or a panic that says how to get it.
pub fn find_binary(names: &[&str], package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "none of {names:?} is on PATH: run scripts/test.sh, which installs the Debian package {package}"
    )
}

/// The end of `log`, as much as a failing test prints.
pub fn tail(log: &str) -> &str {
    let mut start = log.len().saturating_sub(LOG_TAIL_BYTES);
    while !log.is_char_boundary(start) {
        start += 1;
    }
    &log[start..]
}
