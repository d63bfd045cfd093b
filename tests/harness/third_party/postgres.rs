//! A real PostgreSQL (Debian's `postgresql` package): a throw-away cluster made with `initdb` in
//! a temporary folder, served on a free loopback port, as a non-root user (PostgreSQL refuses to
//! run as root: under root the server runs as the package's `postgres` user through `setpriv`,
//! which execs in place, so the child is the server itself and a kill -9 reaches it). Removed
//! when dropped.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::super::process::{find_binary, Process};
use super::{address_in_use, free_port};

pub struct Postgres {
    process: Option<Process>,
    pub port: u16,
    bin: PathBuf,
    /// `(uid, gid)` to run as when the tests run as root.
    user: Option<(u32, u32)>,
    dir: TempDir,
    starts: u32,
}

impl Postgres {
    /// Makes a cluster and starts it; its superuser is `campanile`, with no password (trust on
    /// loopback only).
    pub async fn start() -> Postgres {
        let bin = bin_dir();
        let dir = tempfile::tempdir().expect("tempdir");
        let user = run_as();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown tempdir");
        }
        let data = dir.path().join("data");
        let out = as_user(user, &bin.join("initdb"))
            .args([
                "--auth=trust",
                "--username=campanile",
                "--encoding=UTF8",
                "--no-sync",
            ])
            .arg("-D")
            .arg(&data)
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = Postgres {
            process: None,
            port: 0,
            bin,
            user,
            dir,
            starts: 0,
        };
        for attempt in 1..=3 {
            pg.port = free_port();
            match pg.spawn().await {
                Ok(()) => return pg,
                Err(log) if attempt < 3 && address_in_use(&log) => continue,
                Err(log) => panic!("PostgreSQL did not start:\n{log}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    async fn spawn(&mut self) -> Result<(), String> {
        self.starts += 1;
        let mut command = as_user(self.user, &self.bin.join("postgres"));
        command
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ));
        let log = std::env::temp_dir().join(format!(
            "campanile-postgres-{}-{}.log",
            self.port, self.starts
        ));
        let mut process = Process::spawn("postgres", command, &log);
        let deadline = Instant::now() + super::super::PATIENCE;
        loop {
            if let Some(status) = process.exited() {
                return Err(format!("postgres exited with {status}:\n{}", process.log()));
            }
            if self.connect("postgres").await.is_ok() {
                self.process = Some(process);
                return Ok(());
            }
            if Instant::now() >= deadline {
                panic!(
                    "PostgreSQL did not accept connections:\n{}",
                    process.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A libpq URL for database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://campanile@127.0.0.1:{}/{db}", self.port)
    }

    /// A client connected to database `db`, its connection driven by a task.
    pub async fn connect(&self, db: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) =
            tokio_postgres::connect(&self.url(db), tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// Creates an empty database and returns its URL.
    pub async fn database(&self, db: &str) -> String {
        let client = self.connect("postgres").await.expect("connect to postgres");
        client
            .batch_execute(&format!("CREATE DATABASE \"{db}\""))
            .await
            .unwrap_or_else(|e| panic!("create database {db}: {e:?}"));
        self.url(db)
    }

    /// Runs `sql` in database `db` and returns the first column of every row as text.
    pub async fn query(&self, db: &str, sql: &str) -> Vec<String> {
        let client = self.connect(db).await.expect("connect");
        client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some(row.get(0).unwrap_or("NULL").to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// Kills the server as a crash would: the postmaster and every backend (SIGKILL). The
    /// postmaster alone is not enough: its backends go on serving their connections — and
    /// committing — until they notice it is gone, so a "down" database could still
    /// acknowledge a write. The postmaster is stopped first so that it forks no backend
    /// between the listing of its children and their kill.
    pub fn kill(&mut self) {
        let Some(process) = self.process.take() else {
            return;
        };
        let postmaster = process.pid();
        signal("STOP", &[postmaster]);
        signal("KILL", &children_of(postmaster));
        drop(process);
    }

    /// Starts the server again on the same data and port (after [`Postgres::kill`]). The
    /// killed postmaster's backends end on their own a moment later; until they have, a new
    /// postmaster refuses the data folder whose shared memory they still hold, so it is
    /// tried again.
    pub async fn restart(&mut self) {
        self.kill();
        let mut last = String::new();
        for _ in 0..40 {
            match self.spawn().await {
                Ok(()) => return,
                Err(log) => last = log,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("PostgreSQL did not start again:\n{last}");
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

/// Where Debian keeps the server binaries (`/usr/lib/postgresql/<major>/bin`, not on `PATH`),
/// or the folder of an `initdb` on `PATH`.
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| d.join("initdb").is_file())
        .collect();
    found.sort();
    if let Some(dir) = found.pop() {
        return dir;
    }
    let initdb = find_binary(&["initdb"], "postgresql");
    initdb.parent().expect("a folder").to_path_buf()
}

/// The `postgres` user's ids when the tests run as root (`None` otherwise).
fn run_as() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self").expect("/proc/self").uid();
    if me != 0 {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("run id");
        assert!(
            out.status.success(),
            "running as root, the tests need the `postgres` user of Debian's postgresql package"
        );
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a numeric id")
    };
    Some((id("-u"), id("-g")))
}

/// Sends `kill -<name>` to `pids` (none: nothing to do).
fn signal(name: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .args(pids.iter().map(u32::to_string))
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pids:?}: {status}");
}

/// The processes whose parent is `parent` (from `/proc/<pid>/stat`'s fourth field, read
/// after the command name, which may hold spaces and parentheses).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let (_, after) = stat.rsplit_once(')')?;
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

/// `program` as a command run as `user`, exec'd in place by `setpriv`.
fn as_user(user: Option<(u32, u32)>, program: &Path) -> Command {
    match user {
        None => Command::new(program),
        Some((uid, gid)) => {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg("--")
                .arg(program);
            c
        }
    }
}
