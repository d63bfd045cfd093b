//! `[[time_intervals]]`: named sets of times, weekdays, days, months and years.

use std::collections::HashSet;
use std::sync::Arc;

use crate::config::check::Ctx;
use crate::config::raw::RawTimeInterval;
use crate::config::NamedTimeInterval;
use crate::model::time_interval::{IntervalError, TimeInterval};

/// `[[time_intervals]]`: each interval's fields parsed, names unique.
pub(super) fn compile_time_intervals(
    cx: &mut Ctx,
    raw: &[RawTimeInterval],
) -> Vec<Arc<NamedTimeInterval>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, t) in raw.iter().enumerate() {
        let key = format!("time_intervals[{i}]");
        if t.name.is_empty() {
            cx.err(format!("{key}.name"), "must not be empty");
        } else if !seen.insert(t.name.as_str()) {
            cx.err(
                format!("{key}.name"),
                format!("time interval {:?} is defined twice", t.name),
            );
        }
        let mut intervals = Vec::with_capacity(t.intervals.len());
        for (j, r) in t.intervals.iter().enumerate() {
            let key = format!("{key}.intervals[{j}]");
            let mut interval = TimeInterval::default();
            for (k, times) in r.times.iter().enumerate() {
                match TimeInterval::parse_times(&times.start_time, &times.end_time) {
                    Ok(v) => interval.times.push(v),
                    Err(e) => cx.err(format!("{key}.times[{k}]"), e.to_string()),
                }
            }
            let mut ranges =
                |field: &str,
                 list: &[crate::config::raw::RawRangeText],
                 parse: fn(&str) -> Result<_, IntervalError>| {
                    list.iter()
                        .enumerate()
                        .filter_map(|(k, v)| match parse(&v.text()) {
                            Ok(r) => Some(r),
                            Err(e) => {
                                cx.err(format!("{key}.{field}[{k}]"), e.to_string());
                                None
                            }
                        })
                        .collect::<Vec<_>>()
                };
            interval.weekdays = ranges("weekdays", &r.weekdays, TimeInterval::parse_weekdays);
            interval.days_of_month = ranges(
                "days_of_month",
                &r.days_of_month,
                TimeInterval::parse_days_of_month,
            );
            interval.months = ranges("months", &r.months, TimeInterval::parse_months);
            interval.years = ranges("years", &r.years, TimeInterval::parse_years);
            if let Some(name) = &r.location {
                match TimeInterval::parse_location(name) {
                    Ok(tz) => interval.location = tz,
                    Err(e) => cx.err(format!("{key}.location"), e.to_string()),
                }
            }
            intervals.push(interval);
        }
        out.push(Arc::new(NamedTimeInterval {
            name: t.name.clone(),
            intervals,
        }));
    }
    out
}
