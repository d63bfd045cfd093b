//! Real Prometheus, Alertmanager and PostgreSQL (the Debian binaries) on loopback, each with its config and
//! storage in a temporary folder. They cannot report a port they picked themselves, so they are
//! given a free one; [`start_on_free_port`] is the one place that races for a port, and retries
//! when it loses.

mod alertmanager;
mod postgres;
mod prometheus;

pub use alertmanager::Alertmanager;
pub use postgres::Postgres;
pub use prometheus::Prometheus;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::process::Process;

/// Starts `binary` in `dir` with the arguments `args(addr)` on a free port, retrying with
/// another port if the first was taken meanwhile, and waits for `/-/ready`.
async fn start_on_free_port(
    name: &str,
    binary: &Path,
    dir: &Path,
    args: impl Fn(&str) -> Vec<String>,
) -> (Process, String) {
    for attempt in 1..=3 {
        let addr = format!("127.0.0.1:{}", free_port());
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

/// A TCP port on 127.0.0.1 that was free a moment ago. Whoever binds it may lose a race with
/// another process.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Whether a log says the listen address was taken (a lost race for a free port).
fn address_in_use(log: &str) -> bool {
    let log = log.to_ascii_lowercase();
    log.contains("address already in use") || log.contains("addrinuse")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
