//! Alert listing with silences: how long `GET /api/v2/alerts` (and `/alerts/groups`) takes over
//! N live alerts, first with no silence, then with S silences of realistic shapes
//! (`scripts/bench-silences.sh`).
//!
//! Silence `k` is a pure function of `k` and the alert count, built from the label values of
//! [`alerts::labels`], so both servers get the same silences and must report the same number of
//! suppressed alerts (the report carries it, as a check that they agree). The shapes, per ten
//! silences:
//!
//! - 4 × `instance="…"` (one host);
//! - 1 × `alertname="…", instance="…"`;
//! - 1 × `alertname="…", namespace="…"` (a few hundred alerts);
//! - 1 × `pod="…"`;
//! - 1 × `instance=~"10\.0\.B\.1[0-9]:9100"` (regex only);
//! - 1 × `alertname="…", instance=~"10\.0\.B\..*", env!="prod"` (with a negative matcher);
//! - 1 × `pod=~"svc-0NN.*", severity=~"info|warning", team!~"payments|search"` (regex and
//!   negative only, no equality matcher).

use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::alerts;
use crate::client::{Conn, Target};
use crate::throughput::ALERTS_PATH;

/// What to run (the `silences` subcommand's options).
#[derive(clap::Args)]
pub struct Plan {
    /// Base URL of the server.
    #[arg(long = "url", value_name = "URL", value_parser = Target::parse)]
    pub target: Target,
    /// Live alerts (label sets `0..N` of the synthetic generator).
    #[arg(long, default_value_t = 50_000)]
    pub alerts: usize,
    #[arg(long, default_value_t = 500)]
    pub silences: usize,
    /// Timed requests per query, after one untimed warm-up request.
    #[arg(long, default_value_t = 7)]
    pub requests: usize,
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
}

/// Timings of one query, in milliseconds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Timing {
    pub path: String,
    /// The untimed warm-up request (the first after a change to the silences).
    pub first_ms: f64,
    pub min_ms: f64,
    pub median_ms: f64,
    pub max_ms: f64,
    pub body_bytes: usize,
}

/// The timings with a given number of silences, and what the listing said.
#[derive(Debug, Serialize, Deserialize)]
pub struct Phase {
    pub silences: usize,
    pub alerts_listed: usize,
    /// Alerts whose `status.silencedBy` is not empty.
    pub silenced: usize,
    /// Sum of the lengths of every `silencedBy`.
    pub silenced_by_total: usize,
    pub timings: Vec<Timing>,
}

/// The result line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub alerts: usize,
    pub phases: Vec<Phase>,
}

const QUERIES: [&str; 3] = [
    "/api/v2/alerts",
    "/api/v2/alerts?silenced=false&inhibited=false",
    "/api/v2/alerts/groups",
];

pub async fn run(plan: Plan) -> Result<Report> {
    let mut conn = Conn::connect(&plan.target).await?;
    eprintln!("silences: posting {} alerts", plan.alerts);
    post_alerts(&mut conn, plan.alerts, plan.batch).await?;
    let mut phases = vec![phase(&mut conn, &plan, 0).await?];
    if plan.silences > 0 {
        eprintln!("silences: creating {} silences", plan.silences);
        post_silences(&mut conn, plan.silences, plan.alerts).await?;
        phases.push(phase(&mut conn, &plan, plan.silences).await?);
    }
    Ok(Report {
        alerts: plan.alerts,
        phases,
    })
}

/// Posts label sets `0..alerts` as firing alerts (ending in an hour), `batch` per post.
pub async fn post_alerts(conn: &mut Conn, alerts: usize, batch: usize) -> Result<()> {
    for body in alerts::bodies(alerts, batch, Duration::from_secs(3600)) {
        let status = conn.post_json(ALERTS_PATH, body).await?;
        if !status.is_success() {
            bail!("posting alerts: {status}");
        }
    }
    Ok(())
}

/// Creates silences `0..silences` (see [`silence`]) over `alerts` alerts, active for an hour.
pub async fn post_silences(conn: &mut Conn, silences: usize, alerts: usize) -> Result<()> {
    let now = SystemTime::now();
    for k in 0..silences {
        let body = Bytes::from(serde_json::to_vec(&silence(k, alerts, now))?);
        let status = conn.post_json("/api/v2/silences", body).await?;
        if !status.is_success() {
            bail!("posting silence {k}: {status}");
        }
    }
    Ok(())
}

async fn phase(conn: &mut Conn, plan: &Plan, silences: usize) -> Result<Phase> {
    let mut timings = Vec::new();
    let mut listing = None;
    for path in QUERIES {
        let started = Instant::now();
        let (status, body) = conn.get_body(path).await?;
        let first = started.elapsed();
        if !status.is_success() {
            bail!("GET {path}: {status}");
        }
        let body_bytes = body.len();
        if listing.is_none() {
            listing = Some(body);
        }
        let mut times = Vec::with_capacity(plan.requests);
        for _ in 0..plan.requests.max(1) {
            let started = Instant::now();
            let (status, _) = conn.get_body(path).await?;
            times.push(started.elapsed());
            if !status.is_success() {
                bail!("GET {path}: {status}");
            }
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let t = Timing {
            path: path.to_owned(),
            first_ms: ms(first),
            min_ms: ms(times[0]),
            median_ms: ms(times[times.len() / 2]),
            max_ms: ms(times[times.len() - 1]),
            body_bytes,
        };
        eprintln!(
            "silences: {silences} silences, GET {path}: first {:.1} ms, median {:.1} ms",
            t.first_ms, t.median_ms
        );
        timings.push(t);
    }
    let listed: Vec<Value> = serde_json::from_slice(&listing.unwrap_or_default())
        .context("decoding the alert listing")?;
    let silenced_by = |a: &Value| {
        a.pointer("/status/silencedBy")
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    };
    Ok(Phase {
        silences,
        alerts_listed: listed.len(),
        silenced: listed.iter().filter(|a| silenced_by(a) > 0).count(),
        silenced_by_total: listed.iter().map(silenced_by).sum(),
        timings,
    })
}

/// A label value of synthetic alert `i`.
fn label(i: usize, name: &str) -> String {
    alerts::labels(i)[name]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The API v2 body of silence `k` over `alerts` alerts, active from `now` for an hour.
fn silence(k: usize, alerts: usize, now: SystemTime) -> Value {
    let eq = |name: &str, value: String| json!({"name": name, "value": value, "isRegex": false, "isEqual": true});
    let re = |name: &str, value: String| json!({"name": name, "value": value, "isRegex": true, "isEqual": true});
    let not_re = |name: &str, value: String| json!({"name": name, "value": value, "isRegex": true, "isEqual": false});
    let not_eq = |name: &str, value: String| json!({"name": name, "value": value, "isRegex": false, "isEqual": false});
    // An alert this silence is about, spread over the whole range.
    let i = k.wrapping_mul(7919) % alerts.max(1);
    let block = k % 196;
    let matchers = match k % 10 {
        0..=3 => vec![eq("instance", label(i, "instance"))],
        4 => vec![
            eq("alertname", label(i, "alertname")),
            eq("instance", label(i, "instance")),
        ],
        5 => vec![
            eq("alertname", label(i, "alertname")),
            eq("namespace", label(i, "namespace")),
        ],
        6 => vec![eq("pod", label(i, "pod"))],
        7 => vec![re("instance", format!(r"10\.0\.{block}\.1[0-9]:9100"))],
        8 => vec![
            eq("alertname", label(i, "alertname")),
            re("instance", format!(r"10\.0\.{block}\..*")),
            not_eq("env", "prod".to_owned()),
        ],
        _ => vec![
            re("pod", format!("svc-0{:02}.*", k % 50)),
            re("severity", "info|warning".to_owned()),
            not_re("team", "payments|search".to_owned()),
        ],
    };
    let at = |d: Duration| humantime::format_rfc3339_millis(now + d).to_string();
    json!({
        "matchers": matchers,
        "startsAt": at(Duration::ZERO),
        "endsAt": at(Duration::from_secs(3600)),
        "createdBy": "bench",
        "comment": format!("silence {k}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silences_are_valid_and_varied() {
        let now = SystemTime::now();
        let shapes: std::collections::BTreeSet<usize> = (0..20)
            .map(|k| {
                silence(k, 50_000, now)["matchers"]
                    .as_array()
                    .unwrap()
                    .len()
            })
            .collect();
        assert_eq!(shapes, [1, 2, 3].into_iter().collect());
        let s = silence(0, 50_000, now);
        assert_eq!(s["matchers"][0]["value"], label(0, "instance"));
    }
}
