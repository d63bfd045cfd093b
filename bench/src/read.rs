//! Reading the alert list: per-request latency of `GET /api/v2/alerts` over N live alerts, the
//! whole list and two filtered ones, first with no silence, then with S silences present.
//!
//! The alerts are label sets `0..N` of [`crate::alerts::labels`] and the silences those of
//! [`crate::silences`] (the same for both servers). The filters are what a dashboard or
//! `amtool alert query` asks: one alert name (`filter=alertname="HighCpuUsage"`, 1 alert in 20),
//! a regex over alert names (`filter=alertname=~"Disk.*|Node.*"`, 3 in 20) and one over
//! instances with escaped dots (`filter=instance=~"10\.0\.1[0-9]\..*"`, 2,560 of 50,000 in
//! Alertmanager, which keeps a backslash before anything but `n`, `"` and `\`). Each query is
//! asked once untimed (its answer is counted, so both servers can be checked to agree: the
//! report says when they do not), then `requests` times, one after another on one connection.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::client::{Conn, Target};
use crate::silences;
use crate::stats::{self, Percentiles};
use crate::throughput::ALERTS_PATH;

/// What to run (the `read` subcommand's options).
#[derive(clap::Args)]
pub struct Plan {
    /// Base URL of the server.
    #[arg(long = "url", value_name = "URL", value_parser = Target::parse)]
    pub target: Target,
    /// Live alerts (label sets `0..N` of the synthetic generator).
    #[arg(long, default_value_t = 50_000)]
    pub alerts: usize,
    /// Silences created for the second round of queries (0: only the first).
    #[arg(long, default_value_t = 500)]
    pub silences: usize,
    /// Timed requests per query, after one untimed request.
    #[arg(long, default_value_t = 10)]
    pub requests: usize,
    /// Alerts per post while loading them.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
}

/// The queries, as `(name, filter matchers)`: the whole list, then filtered ones.
pub const QUERIES: [(&str, &[&str]); 4] = [
    ("all", &[]),
    ("alertname", &[r#"alertname="HighCpuUsage""#]),
    ("alertname-regex", &[r#"alertname=~"Disk.*|Node.*""#]),
    ("instance-regex", &[r#"instance=~"10\.0\.1[0-9]\..*""#]),
];

/// One query's figures.
#[derive(Debug, Serialize, Deserialize)]
pub struct Query {
    /// A name from [`QUERIES`].
    pub name: String,
    pub path: String,
    /// Alerts in the answer.
    pub listed: usize,
    pub body_bytes: usize,
    /// The untimed first request (the first after a change to the silences).
    pub first_ms: f64,
    /// The timed requests.
    pub latency: Percentiles,
}

/// The queries with a given number of silences present.
#[derive(Debug, Serialize, Deserialize)]
pub struct Phase {
    pub silences: usize,
    pub queries: Vec<Query>,
}

/// The result line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub alerts: usize,
    pub phases: Vec<Phase>,
}

impl Report {
    /// The figures of query `name` with `silences` silences present.
    pub fn query(&self, silences: usize, name: &str) -> Option<&Query> {
        let phase = self.phases.iter().find(|p| p.silences == silences)?;
        phase.queries.iter().find(|q| q.name == name)
    }
}

pub async fn run(plan: Plan) -> Result<Report> {
    let mut conn = Conn::connect(&plan.target).await?;
    eprintln!("read: posting {} alerts", plan.alerts);
    silences::post_alerts(&mut conn, plan.alerts, plan.batch).await?;
    let mut phases = vec![phase(&mut conn, &plan, 0).await?];
    if plan.silences > 0 {
        eprintln!("read: creating {} silences", plan.silences);
        silences::post_silences(&mut conn, plan.silences, plan.alerts).await?;
        phases.push(phase(&mut conn, &plan, plan.silences).await?);
    }
    Ok(Report {
        alerts: plan.alerts,
        phases,
    })
}

async fn phase(conn: &mut Conn, plan: &Plan, silences: usize) -> Result<Phase> {
    let mut queries = Vec::new();
    for (name, filters) in QUERIES {
        let path = path(filters);
        let started = Instant::now();
        let (status, body) = conn.get_body(&path).await?;
        let first = started.elapsed();
        if !status.is_success() {
            bail!("GET {path}: {status}");
        }
        let listed = serde_json::from_slice::<Vec<IgnoredAny>>(&body)
            .with_context(|| format!("decoding the answer to {path}"))?
            .len();
        let mut latency = stats::histogram();
        for _ in 0..plan.requests.max(1) {
            let started = Instant::now();
            let (status, _) = conn.get_body(&path).await?;
            stats::record(&mut latency, started.elapsed());
            if !status.is_success() {
                bail!("GET {path}: {status}");
            }
        }
        let q = Query {
            name: name.to_owned(),
            listed,
            body_bytes: body.len(),
            first_ms: first.as_secs_f64() * 1000.0,
            latency: Percentiles::of(&latency),
            path,
        };
        eprintln!(
            "read: {silences} silences, {name} ({} alerts): first {:.1} ms, p50 {:.1} ms, p99 {:.1} ms",
            q.listed, q.first_ms, q.latency.p50_ms, q.latency.p99_ms
        );
        queries.push(q);
    }
    Ok(Phase { silences, queries })
}

/// The request path listing the alerts that match every one of `filters`.
fn path(filters: &[&str]) -> String {
    let mut path = ALERTS_PATH.to_owned();
    for (k, f) in filters.iter().enumerate() {
        path.push(if k == 0 { '?' } else { '&' });
        path.push_str("filter=");
        path.push_str(&percent_encoded(f));
    }
    path
}

/// `text` with every byte but the URL-unreserved ones percent-encoded.
fn percent_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            write!(out, "%{b:02X}").expect("writing to a String");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts;

    #[test]
    fn filters_are_percent_encoded_in_the_query() {
        assert_eq!(path(&[]), "/api/v2/alerts");
        assert_eq!(
            path(QUERIES[1].1),
            "/api/v2/alerts?filter=alertname%3D%22HighCpuUsage%22"
        );
        assert_eq!(
            path(QUERIES[2].1),
            "/api/v2/alerts?filter=alertname%3D~%22Disk.%2A%7CNode.%2A%22"
        );
        assert_eq!(
            path(QUERIES[3].1),
            "/api/v2/alerts?filter=instance%3D~%2210%5C.0%5C.1%5B0-9%5D%5C..%2A%22"
        );
        assert_eq!(
            path(&["a=b", "c=d"]),
            "/api/v2/alerts?filter=a%3Db&filter=c%3Dd"
        );
    }

    #[test]
    fn the_filters_select_a_part_of_the_alerts() {
        // What a server must answer over 50,000 alerts (its count is in the report).
        let labels: Vec<_> = (0..50_000).map(alerts::labels).collect();
        let by_name = labels
            .iter()
            .filter(|l| l["alertname"] == "HighCpuUsage")
            .count();
        assert_eq!(by_name, 2_500);
        let by_names = labels
            .iter()
            .filter(|l| {
                let name = l["alertname"].as_str().unwrap();
                name.starts_with("Disk") || name.starts_with("Node")
            })
            .count();
        assert_eq!(by_names, 7_500);
        let by_instance = labels
            .iter()
            .filter(|l| {
                let octets: Vec<&str> = l["instance"].as_str().unwrap().split('.').collect();
                octets[1] == "0" && octets[2].len() == 2 && octets[2].starts_with('1')
            })
            .count();
        assert_eq!(by_instance, 2_560);
    }
}
