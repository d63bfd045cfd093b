//! The line per server under the table: what the rows leave out (status codes, posts, CPU
//! seconds, p99s and answer sizes of the listings).

use std::fmt::Write as _;

use super::format::fmt_ms;
use super::Results;
use crate::stats::Outcomes;

/// A line per server with what the table leaves out: status codes, posts, sent probes.
pub(super) fn details(server: &str, r: &Results) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &r.throughput {
        parts.push(format!(
            "throughput {} conns, {:.0} posts/s, answers {}, CPU-s in the {:.0} s window: server {}, loadgen {:.1}",
            t.connections,
            t.posts_per_s,
            outcomes(&t.outcomes),
            t.measured_s,
            t.server_cpu_s.map_or("n/a".to_owned(), |v| format!("{v:.1}")),
            t.loadgen_cpu_s
        ));
        parts.push(match (t.resend, t.resend_period_s) {
            (Some(r), Some(p)) => format!("re-sends {}, each alert every {p:.2} s", r.name()),
            (Some(r), None) => format!("re-sends {}", r.name()),
            (None, _) => "re-sends from before --resend".to_owned(),
        });
        if let Some(b) = &t.behind_schedule {
            parts.push(format!("sends behind schedule p99 {} ms", fmt_ms(b.p99_ms)));
        }
    }
    if let Some(l) = &r.latency {
        parts.push(format!(
            "probes {}/{} received (posts {}), background {:.0} alerts/s (posts {}, p99 {} ms), {} webhook requests",
            l.probes_received,
            l.probes_sent,
            outcomes(&l.probe_posts),
            l.background_alerts_per_s,
            outcomes(&l.background_posts),
            fmt_ms(l.background_post_latency.p99_ms),
            l.notifications
        ));
    }
    if let Some(s) = &r.storm {
        parts.push(format!(
            "storm {} of {} alerts in {:.2} s (posts {}, max {} ms)",
            s.accepted_alerts,
            s.alerts,
            s.measured_s,
            outcomes(&s.outcomes),
            fmt_ms(s.latency.max_ms)
        ));
    }
    if let Some(rd) = &r.read {
        for p in &rd.phases {
            let qs: Vec<String> = p
                .queries
                .iter()
                .map(|q| {
                    format!(
                        "{} {} listed, p99 {} ms, first {} ms",
                        q.name,
                        q.listed,
                        fmt_ms(q.latency.p99_ms),
                        fmt_ms(q.first_ms)
                    )
                })
                .collect();
            parts.push(format!(
                "read with {} silences ({} requests each): {}",
                p.silences,
                p.queries.first().map_or(0, |q| q.latency.count),
                qs.join(", ")
            ));
        }
    }
    if let Some(m) = &r.memory {
        parts.push(format!(
            "memory {} of {} alerts accepted at {:.0} alerts/s (posts {})",
            m.accepted_alerts,
            m.alerts,
            m.load_alerts_per_s,
            outcomes(&m.posts)
        ));
    }
    if let Some(s) = &r.startup {
        let runs: Vec<String> = s.runs_ms.iter().map(|v| fmt_ms(*v)).collect();
        parts.push(format!("start-ups {} ms", runs.join(", ")));
    }
    format!("- {server}: {}", parts.join("; "))
}

fn outcomes(o: &Outcomes) -> String {
    let mut s = format!("{} × 2xx", o.ok);
    for (code, n) in &o.non_2xx {
        write!(s, ", {n} × {code}").expect("writing to a String");
    }
    if o.errors > 0 {
        write!(s, ", {} errors", o.errors).expect("writing to a String");
    }
    s
}
