//! Connections past what the process can hold: out of file descriptors campanile neither spins
//! nor floods its log, its soft open-file limit is raised to the hard one, and past
//! `server.max_connections` probes are served from a reserve while the rest is refused clearly.

use std::time::Duration;

use super::{config, exchange, get, post_alerts, stalled, status_of};
use crate::harness::*;

/// The connections kept for health probes past the cap (`server::PROBE_RESERVE`).
const PROBE_RESERVE: usize = 32;

/// CPU time (user + system) the process has used, from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("comm field") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second() as f64)
}

fn clock_ticks_per_second() -> u64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("run getconf CLK_TCK");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK is a number")
}

/// Sets the open-file limits of the running process `pid`.
fn set_nofile(pid: u32, soft: u64, hard: u64) {
    let status = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &pid.to_string(),
            &format!("--nofile={soft}:{hard}"),
        ])
        .status()
        .expect("run prlimit");
    assert!(status.success(), "prlimit --pid {pid} failed");
}

fn accept_lines(log: &str) -> usize {
    log.lines().filter(|l| l.contains("accept failed")).count()
}

/// Out of file descriptors, campanile neither spins nor floods its log, and serves again once
/// descriptors are free. First 300 half-sent connections against a limit of 256 (the cap keeps
/// campanile under it: past the cap and the probe reserve connections are closed as they are
/// accepted); then the limit is lowered under what is open, so that accept itself fails.
#[tokio::test]
async fn fd_exhaustion_neither_spins_nor_floods_the_log_and_service_resumes() {
    let c = Launch::new(&config(""))
        .under(&["prlimit", "--nofile=256:256", "--"])
        .start()
        .await;
    assert!(
        c.log().contains("server.max_connections lowered"),
        "the cap is lowered under the limit, and says so:\n{}",
        c.log()
    );
    let pid = c.pid();
    let ticks = cpu_time(pid);
    let window = Duration::from_secs(3);

    let mut held = stalled(&c.addr, 300).await;
    tokio::time::sleep(window).await;
    let used = cpu_time(pid).saturating_sub(ticks);
    let lines = accept_lines(&c.log());
    eprintln!("300 stalled connections: {used:?} of CPU in {window:?}, {lines} accept lines");
    assert!(
        used < window / 3,
        "campanile used {used:?} of CPU in {window:?} with 300 stalled connections"
    );
    assert!(lines <= 3, "accept errors flood the log: {lines} lines");
    // The reserve answers probes past the cap; everything else is turned away, clearly.
    wait_until("a probe answered past the cap", PATIENCE, async || {
        let r = exchange(&c.addr, &get("/-/healthy")).await;
        (status_of(&r) == 200).then_some(()).ok_or(r)
    })
    .await;
    let refused = exchange(&c.addr, &post_alerts("PastTheCap")).await;
    assert_eq!(status_of(&refused), 503, "{refused}");
    assert!(refused.contains("server.max_connections"), "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("connection: close"),
        "{refused}"
    );

    // Now accept itself fails: no descriptor can be had at all.
    set_nofile(pid, 3, 256);
    let ticks = cpu_time(pid);
    held.extend(stalled(&c.addr, 20).await);
    tokio::time::sleep(window).await;
    let used = cpu_time(pid).saturating_sub(ticks);
    let lines = accept_lines(&c.log());
    set_nofile(pid, 256, 256);
    eprintln!("accept failing: {used:?} of CPU in {window:?}, {lines} accept lines");
    assert!(
        used < window / 3,
        "campanile used {used:?} of CPU in {window:?} while accept failed"
    );
    assert!(
        (1..=3).contains(&lines),
        "expected one or a few throttled accept errors in the log, saw {lines}:\n{}",
        c.log()
    );

    drop(held);
    wait_until("ingest to work again", PATIENCE, async || {
        let r = exchange(&c.addr, &post_alerts("AfterTheStorm")).await;
        (status_of(&r) == 200).then_some(()).ok_or(r)
    })
    .await;
    assert_eq!(c.get("/-/healthy").await.status, 200);
    assert_eq!(c.alerts_named("AfterTheStorm").await.len(), 1);
    assert!(c.metric("campanile_http_accept_errors_total", &[]).await >= 1.0);
    for outcome in ["probes_only", "closed"] {
        assert!(
            c.metric(
                "campanile_http_connections_refused_total",
                &[("outcome", outcome)]
            )
            .await
                >= 1.0,
            "{outcome}"
        );
    }
    assert!(
        c.log().contains("accepting connections again"),
        "{}",
        c.log()
    );
}

/// campanile raises its soft open-file limit to the hard limit at start.
#[tokio::test]
async fn the_open_file_limit_is_raised_to_the_hard_limit() {
    let c = Launch::new(&config(""))
        .under(&["prlimit", "--nofile=512:4096", "--"])
        .start()
        .await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", c.pid())).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("open files line");
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, ["4096", "4096"], "{line}");
    assert!(
        c.log()
            .contains("open file limit (RLIMIT_NOFILE) limit=4096"),
        "{}",
        c.log()
    );
}

/// Past `server.max_connections` a connection is accepted and answered: probes are served from
/// a reserve, anything else gets 503 naming the key; past the reserve connections are closed
/// at once. Nothing fails at accept.
#[tokio::test]
async fn past_the_cap_probes_are_served_and_the_rest_refused_clearly() {
    let c = Campanile::start(&config(
        "max_connections = 4\nheader_read_timeout = \"30s\"",
    ))
    .await;
    let held = stalled(&c.addr, 4).await;
    wait_until("the cap to be reached", PATIENCE, async || {
        let r = exchange(&c.addr, &post_alerts("OverCap")).await;
        (status_of(&r) == 503).then_some(()).ok_or(r)
    })
    .await;
    let probe = exchange(&c.addr, &get("/-/ready")).await;
    assert_eq!(status_of(&probe), 200, "{probe}");

    // Fill the reserve with connections that send nothing (each is given a second to send its
    // request): the next connection is closed without an answer.
    let reserve = stalled(&c.addr, PROBE_RESERVE).await;
    let turned_away = exchange(&c.addr, &get("/-/healthy")).await;
    assert_eq!(turned_away, "", "past the cap and the reserve");
    // Once those are cut off, probes are answered again.
    wait_until("the reserve to free up", PATIENCE, async || {
        let r = exchange(&c.addr, &get("/-/healthy")).await;
        (status_of(&r) == 200).then_some(()).ok_or(r)
    })
    .await;
    drop(reserve);

    drop(held);
    wait_until("room again", PATIENCE, async || {
        let r = exchange(&c.addr, &post_alerts("UnderCap")).await;
        (status_of(&r) == 200).then_some(()).ok_or(r)
    })
    .await;
    assert!(
        c.metric(
            "campanile_http_connections_refused_total",
            &[("outcome", "closed")]
        )
        .await
            >= 1.0
    );
    assert!(
        c.metric(
            "campanile_http_connections_refused_total",
            &[("outcome", "probes_only")]
        )
        .await
            >= PROBE_RESERVE as f64
    );
    assert!(c.log().contains("connection cap reached"), "{}", c.log());
}
