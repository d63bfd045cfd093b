//! What Linux's /proc tells about a process: resident memory and CPU time used.

use anyhow::{Context, Result};

/// Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on every Linux ABI we run on).
const USER_HZ: f64 = 100.0;

/// VmRSS of a process, in bytes.
pub fn rss(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_vm_rss(&status).with_context(|| format!("no VmRSS line in {path}"))
}

/// User + system CPU time a process has used so far (all its threads), in seconds.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_cpu_ticks(&stat)
        .map(|ticks| ticks as f64 / USER_HZ)
        .with_context(|| format!("unexpected contents of {path}"))
}

/// The CPU time of this process (the load generator), in seconds.
pub fn own_cpu_seconds() -> Result<f64> {
    cpu_seconds(std::process::id())
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// utime + stime: fields 14 and 15 of /proc/<pid>/stat, counted after the `(comm)` field, which
/// may itself hold spaces and parentheses.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss_in_bytes() {
        let status = "Name:\tx\nVmPeak:\t  9 kB\nVmRSS:\t   12345 kB\nThreads:\t1\n";
        assert_eq!(parse_vm_rss(status), Some(12345 * 1024));
        assert!(rss(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn reads_cpu_ticks_after_an_odd_command_name() {
        let stat = "42 (a) b) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 5 1000 10";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
        assert!(own_cpu_seconds().unwrap() >= 0.0);
    }
}
