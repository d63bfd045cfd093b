//! The side-by-side markdown table, built from the result lines of both servers.
//!
//! Results live in one directory as `<server>-<measurement>.json` (server `campanile` or
//! `alertmanager`; measurement `throughput`, `latency`, `storm`, `read`, `memory`, `startup`). A
//! measurement neither server has leaves no row; one server's missing result shows as "n/a".

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;

use crate::{latency, memory, read, startup, storm, throughput};

mod details;
mod format;

use format::{fmt_count, fmt_mib, fmt_ms, MIB};

/// One server's results.
struct Results {
    throughput: Option<throughput::Report>,
    latency: Option<latency::Report>,
    storm: Option<storm::Report>,
    read: Option<read::Report>,
    memory: Option<memory::Report>,
    startup: Option<startup::Report>,
}

fn load<T: DeserializeOwned>(dir: &Path, server: &str, what: &str) -> Result<Option<T>> {
    let path = dir.join(format!("{server}-{what}.json"));
    if !path.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(line)
        .map(Some)
        .with_context(|| format!("parsing {}", path.display()))
}

fn results(dir: &Path, server: &str) -> Result<Results> {
    Ok(Results {
        throughput: load(dir, server, "throughput")?,
        latency: load(dir, server, "latency")?,
        storm: load(dir, server, "storm")?,
        read: load(dir, server, "read")?,
        memory: load(dir, server, "memory")?,
        startup: load(dir, server, "startup")?,
    })
}

/// Which way a row's ratio goes, so that a ratio above 1 always means campanile did better.
#[derive(Clone, Copy)]
enum Better {
    Higher,
    Lower,
    /// No ratio (counts, notes).
    None,
}

/// One line of the table.
struct Row {
    name: String,
    campanile: Option<f64>,
    alertmanager: Option<f64>,
    better: Better,
    fmt: fn(f64) -> String,
}

/// The markdown table for the results in `dir`.
pub fn table(dir: &Path) -> Result<String> {
    let c = results(dir, "campanile")?;
    let a = results(dir, "alertmanager")?;
    let alerts = (c.memory.as_ref().or(a.memory.as_ref())).map_or(0, |m| m.alerts);
    let starts = (c.startup.as_ref().or(a.startup.as_ref())).map_or(0, |s| s.runs_ms.len());
    let ingest = ingest_shape(c.throughput.as_ref().or(a.throughput.as_ref()));
    let background = (c.latency.as_ref().or(a.latency.as_ref()))
        .and_then(|l| l.resend)
        .map_or("re-sends: n/a".to_owned(), |r| {
            format!("re-sends: {}", r.name())
        });
    let storm_batch = (c.storm.as_ref().or(a.storm.as_ref())).map_or(0, |s| s.batch);
    let read = c.read.as_ref().or(a.read.as_ref());
    let listed = read.map_or(0, |r| r.alerts);
    let silence_counts: Vec<usize> = read.map_or(Vec::new(), |r| {
        r.phases.iter().map(|p| p.silences).collect()
    });
    let mut rows: Vec<Row> = Vec::new();
    let mut add =
        |name: &str, f: &dyn Fn(&Results) -> Option<f64>, better, fmt: fn(f64) -> String| {
            rows.push(Row {
                name: name.to_owned(),
                campanile: f(&c),
                alertmanager: f(&a),
                better,
                fmt,
            });
        };
    add(
        &format!("Ingest throughput, alerts/s (2xx only; {ingest})"),
        &|r| Some(r.throughput.as_ref()?.alerts_per_s),
        Better::Higher,
        fmt_count,
    );
    add(
        "Ingest POST latency p50, ms",
        &|r| Some(r.throughput.as_ref()?.latency.p50_ms),
        Better::Lower,
        fmt_ms,
    );
    add(
        "Ingest POST latency p99, ms",
        &|r| Some(r.throughput.as_ref()?.latency.p99_ms),
        Better::Lower,
        fmt_ms,
    );
    add(
        "Server CPU per 1,000 ingested alerts, ms (throughput window)",
        &|r| {
            let t = r.throughput.as_ref()?;
            Some(t.server_cpu_s? * 1000.0 / (t.alerts_per_s * t.measured_s / 1000.0))
        },
        Better::Lower,
        fmt_ms,
    );
    add(
        &format!(
            "Notification latency p50, ms (POST → webhook, under 1,000 alerts/s, {background})"
        ),
        &|r| Some(r.latency.as_ref()?.latency.p50_ms),
        Better::Lower,
        fmt_ms,
    );
    add(
        "Notification latency p99, ms",
        &|r| Some(r.latency.as_ref()?.latency.p99_ms),
        Better::Lower,
        fmt_ms,
    );
    add(
        &format!(
            "Storm alerts/s (one sender, sequential posts of {storm_batch} new alerts, 2xx only)"
        ),
        &|r| Some(r.storm.as_ref()?.alerts_per_s),
        Better::Higher,
        fmt_count,
    );
    add(
        "Storm POST latency p50, ms",
        &|r| Some(r.storm.as_ref()?.latency.p50_ms),
        Better::Lower,
        fmt_ms,
    );
    add(
        "Storm POST latency p99, ms",
        &|r| Some(r.storm.as_ref()?.latency.p99_ms),
        Better::Lower,
        fmt_ms,
    );
    add(
        "Server CPU per 1,000 storm alerts, ms",
        &|r| {
            let s = r.storm.as_ref()?;
            Some(s.server_cpu_s? * 1000.0 / (s.accepted_alerts as f64 / 1000.0))
        },
        Better::Lower,
        fmt_ms,
    );
    for &silences in &silence_counts {
        for (name, _) in read::QUERIES {
            let answers = |r: &Results| Some(r.read.as_ref()?.query(silences, name)?.listed);
            let differ = match (answers(&c), answers(&a)) {
                (Some(x), Some(y)) if x != y => format!(
                    "; **answers differ**: campanile {}, Alertmanager {} alerts",
                    fmt_count(x as f64),
                    fmt_count(y as f64)
                ),
                _ => String::new(),
            };
            add(
                &format!(
                    "GET /api/v2/alerts p50, ms ({} alerts, {}, {silences} silences{differ})",
                    fmt_count(listed as f64),
                    query_label(name)
                ),
                &|r| Some(r.read.as_ref()?.query(silences, name)?.latency.p50_ms),
                // Timings of different answers are no comparison.
                if differ.is_empty() {
                    Better::Lower
                } else {
                    Better::None
                },
                fmt_ms,
            );
        }
    }
    add(
        &format!(
            "RSS per active alert, bytes (at {} alerts)",
            fmt_count(alerts as f64)
        ),
        &|r| Some(r.memory.as_ref()?.bytes_per_alert),
        Better::Lower,
        fmt_count,
    );
    add(
        &format!("RSS with {} active alerts, MiB", fmt_count(alerts as f64)),
        &|r| Some(r.memory.as_ref()?.rss_loaded_bytes as f64 / MIB),
        Better::Lower,
        fmt_mib,
    );
    add(
        "RSS idle, MiB",
        &|r| Some(r.memory.as_ref()?.rss_idle_bytes as f64 / MIB),
        Better::Lower,
        fmt_mib,
    );
    add(
        &format!("Start-up to ready, ms (median of {starts}; campanile: 3 plugins, warm cache)"),
        &|r| Some(r.startup.as_ref()?.median_ms),
        Better::Lower,
        fmt_ms,
    );
    add(
        "Ingest non-2xx answers during the throughput window",
        &|r| Some(r.throughput.as_ref()?.outcomes.non_2xx_total() as f64),
        Better::None,
        fmt_count,
    );
    add(
        "Latency probes received (of sent)",
        &|r| Some(r.latency.as_ref()?.probes_received as f64),
        Better::None,
        fmt_count,
    );

    let mut out = String::new();
    out.push_str(
        "| measurement | campanile | Alertmanager 0.25 | ratio (> 1: campanile better) |\n",
    );
    out.push_str("|---|--:|--:|--:|\n");
    // A phase that was not run (BENCH_PHASES) leaves no row; one server's missing result shows.
    for row in rows
        .into_iter()
        .filter(|r| r.campanile.is_some() || r.alertmanager.is_some())
    {
        let show = |v: Option<f64>| v.map_or("n/a".to_owned(), row.fmt);
        let ratio = match (row.better, row.campanile, row.alertmanager) {
            (Better::Higher, Some(c), Some(a)) if a > 0.0 => {
                format!("{:.2}× (campanile/AM)", c / a)
            }
            (Better::Lower, Some(c), Some(a)) if c > 0.0 => format!("{:.2}× (AM/campanile)", a / c),
            _ => String::new(),
        };
        writeln!(
            out,
            "| {} | {} | {} | {ratio} |",
            row.name,
            show(row.campanile),
            show(row.alertmanager)
        )?;
    }
    out.push('\n');
    for (server, r) in [("campanile", &c), ("Alertmanager", &a)] {
        writeln!(out, "{}", details::details(server, r))?;
    }
    Ok(out)
}

/// The load of the ingest rows: batch, label sets and re-send pattern.
fn ingest_shape(t: Option<&throughput::Report>) -> String {
    let Some(t) = t else {
        return "n/a".to_owned();
    };
    let count = |v: Option<usize>| v.map_or("?".to_owned(), |v| fmt_count(v as f64));
    let resend = t.resend.map_or("from before --resend", |r| r.name());
    format!(
        "batches of {}, {} label sets, re-sends: {resend}",
        count(t.batch),
        count(t.label_sets)
    )
}

/// What a [`read::QUERIES`] entry asks, for a row's name.
fn query_label(name: &str) -> String {
    match read::QUERIES.iter().find(|(n, _)| *n == name) {
        Some((_, [])) | None => "whole list".to_owned(),
        Some((_, filters)) => {
            let f: Vec<String> = filters
                .iter()
                .map(|f| format!("`filter={}`", f.replace('|', r"\|")))
                .collect();
            f.join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Outcomes;

    #[test]
    fn missing_results_show_as_not_available() {
        let dir = std::env::temp_dir().join(format!("loadgen-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("campanile-startup.json"),
            r#"{"runs_ms":[10.0,12.0,11.0],"median_ms":11.0}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("alertmanager-startup.json"),
            r#"{"runs_ms":[22.0],"median_ms":22.0}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("campanile-storm.json"),
            concat!(
                r#"{"alerts":64,"batch":64,"alerts_per_s":640.0,"accepted_alerts":64,"#,
                r#""measured_s":0.1,"latency":{"count":1,"p50_ms":1.0,"p99_ms":1.0,"max_ms":1.0},"#,
                r#""outcomes":{"ok":1,"non_2xx":{},"errors":0},"server_cpu_s":null}"#
            ),
        )
        .unwrap();
        let t = table(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(t.contains("| 11.0 | 22.0 | 2.00× (AM/campanile) |"), "{t}");
        assert!(
            t.contains("| Storm POST latency p50, ms | 1.00 | n/a |  |"),
            "{t}"
        );
        assert!(
            !t.contains("| n/a | n/a |"),
            "phases not run leave no row: {t}"
        );
        assert!(!t.contains("Ingest"), "{t}");
    }

    fn ms(p50_ms: f64) -> crate::stats::Percentiles {
        crate::stats::Percentiles {
            count: 10,
            p50_ms,
            p99_ms: p50_ms * 2.0,
            max_ms: p50_ms * 3.0,
        }
    }

    fn write(dir: &Path, name: &str, value: &impl serde::Serialize) {
        let line = serde_json::to_string(value).unwrap();
        std::fs::write(dir.join(format!("{name}.json")), line).unwrap();
    }

    #[test]
    fn storm_read_and_the_re_send_pattern_have_rows() {
        let dir = std::env::temp_dir().join(format!("loadgen-report-new-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (server, speed) in [("campanile", 2.0), ("alertmanager", 1.0)] {
            let storm = storm::Report {
                alerts: 6_400,
                batch: 64,
                alerts_per_s: 10_000.0 * speed,
                accepted_alerts: 6_400,
                measured_s: 0.64 / speed,
                latency: ms(6.4 / speed),
                outcomes: Outcomes::default(),
                server_cpu_s: Some(0.32),
            };
            write(&dir, &format!("{server}-storm"), &storm);
            let phase = |silences| read::Phase {
                silences,
                queries: read::QUERIES
                    .iter()
                    .map(|(name, _)| read::Query {
                        name: (*name).to_owned(),
                        path: String::new(),
                        listed: if *name == "instance-regex" {
                            7 * speed as usize
                        } else {
                            7
                        },
                        body_bytes: 100,
                        first_ms: 1.0,
                        latency: ms(100.0 / speed),
                    })
                    .collect(),
            };
            let read = read::Report {
                alerts: 50_000,
                phases: vec![phase(0), phase(500)],
            };
            write(&dir, &format!("{server}-read"), &read);
        }
        let mut t: serde_json::Value = serde_json::from_str(
            r#"{"connections":32,"measured_s":10.0,"alerts_per_s":1000.0,"posts_per_s":100.0,
            "latency":{"count":1,"p50_ms":1.0,"p99_ms":2.0,"max_ms":3.0},
            "outcomes":{"ok":1000,"non_2xx":{},"errors":0},"server_cpu_s":1.0,"loadgen_cpu_s":1.0}"#,
        )
        .unwrap();
        // A line from before --resend still reads, and says so.
        write(&dir, "alertmanager-throughput", &t);
        t["resend"] = "prometheus".into();
        t["label_sets"] = 10_000.into();
        t["batch"] = 10.into();
        write(&dir, "campanile-throughput", &t);
        let table = table(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            table.contains("batches of 10, 10,000 label sets, re-sends: prometheus)"),
            "{table}"
        );
        assert!(table.contains("re-sends from before --resend"), "{table}");
        assert!(
            table.contains("| Storm alerts/s (one sender, sequential posts of 64 new alerts, 2xx only) | 20,000 | 10,000 | 2.00× (campanile/AM) |"),
            "{table}"
        );
        assert!(
            table.contains("| Storm POST latency p99, ms | 6.40 | 12.8 | 2.00× (AM/campanile) |"),
            "{table}"
        );
        assert!(
            table.contains(r#"| GET /api/v2/alerts p50, ms (50,000 alerts, `filter=instance=~"10\.0\.1[0-9]\..*"`, 500 silences; **answers differ**: campanile 14, Alertmanager 7 alerts) | 50.0 | 100.0 |  |"#),
            "{table}"
        );
        // A `|` in a filter is escaped, or it would end the table's cell.
        assert!(
            table.contains(r#"| GET /api/v2/alerts p50, ms (50,000 alerts, `filter=alertname=~"Disk.*\|Node.*"`, 0 silences) | 50.0 |"#),
            "{table}"
        );
        assert_eq!(
            table.matches("| GET /api/v2/alerts p50").count(),
            8,
            "{table}"
        );
    }
}
