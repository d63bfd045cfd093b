//! Start-up time: spawn a server, poll its readiness URL until 200, stop it with SIGTERM.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use crate::client::{Conn, Target};

/// What to run (the `startup` subcommand's options).
#[derive(clap::Args)]
pub struct Plan {
    /// Base URL the started server listens on.
    #[arg(long = "url", value_name = "URL", value_parser = Target::parse)]
    pub target: Target,
    #[arg(long, default_value = "/-/ready")]
    pub ready_path: String,
    /// Untimed starts first (to fill caches).
    #[arg(long, default_value_t = 1)]
    pub warm_runs: usize,
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    #[arg(long, default_value = "5ms", value_parser = crate::duration)]
    pub poll: Duration,
    #[arg(long, default_value = "60s", value_parser = crate::duration)]
    pub timeout: Duration,
    /// Append the server's output to this file (default: discard it).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// The server's command line.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// The result line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub runs_ms: Vec<f64>,
    pub median_ms: f64,
}

/// Whether `GET path` answers 200 now.
pub async fn is_ready(target: &Target, path: &str) -> bool {
    match Conn::connect(target).await {
        Ok(mut c) => matches!(c.get(path).await, Ok(s) if s.as_u16() == 200),
        Err(_) => false,
    }
}

/// Polls until `GET path` answers 200, or fails after `timeout`.
pub async fn wait_ready(
    target: &Target,
    path: &str,
    poll: Duration,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !is_ready(target, path).await {
        ensure!(
            Instant::now() < deadline,
            "{}{path} not ready after {timeout:?}",
            target.authority
        );
        tokio::time::sleep(poll).await;
    }
    Ok(())
}

pub async fn run(plan: Plan) -> Result<Report> {
    let (program, args) = plan.command.split_first().context("no command to start")?;
    let mut runs_ms = Vec::new();
    for run in 0..plan.warm_runs + plan.runs {
        ensure!(
            !is_ready(&plan.target, &plan.ready_path).await,
            "something already answers on {}",
            plan.target.authority
        );
        let (stdout, stderr) = match &plan.log {
            Some(path) => {
                let f = File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                (Stdio::from(f.try_clone()?), Stdio::from(f))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let started = Instant::now();
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        let ready = loop {
            if is_ready(&plan.target, &plan.ready_path).await {
                break Ok(started.elapsed());
            }
            if let Some(status) = child.try_wait()? {
                break Err(anyhow::anyhow!(
                    "{program} exited before it was ready: {status}"
                ));
            }
            if started.elapsed() > plan.timeout {
                break Err(anyhow::anyhow!(
                    "{program} not ready after {:?}",
                    plan.timeout
                ));
            }
            tokio::time::sleep(plan.poll).await;
        };
        stop(&mut child)?;
        let took = ready?;
        let warm = run < plan.warm_runs;
        eprintln!(
            "startup: {program} ready after {:.1} ms{}",
            took.as_secs_f64() * 1000.0,
            if warm { " (warm-up, not counted)" } else { "" }
        );
        if !warm {
            runs_ms.push(took.as_secs_f64() * 1000.0);
        }
    }
    Ok(Report {
        median_ms: median(&runs_ms),
        runs_ms,
    })
}

/// SIGTERM, then up to 20 s for a clean exit, then SIGKILL.
fn stop(child: &mut Child) -> Result<()> {
    if child.try_wait()?.is_some() {
        return Ok(());
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .context("running kill")?;
    ensure!(status.success(), "kill -TERM {} failed", child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill()?;
    child.wait()?;
    bail!("process {} ignored SIGTERM for 20 s", child.id())
}

fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
