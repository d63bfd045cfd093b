//! Time intervals, with Alertmanager's semantics: named sets of recurring periods (`times` of
//! day, `weekdays`, `days_of_month`, `months`, `years`, read in a `location`) that routes use
//! as `mute_time_intervals` (send nothing while one contains now) or `active_time_intervals`
//! (send only while one contains now).
//!
//! An interval contains an instant when every field it sets matches (a field matches when any
//! of its ranges does; an unset field matches everything). Ranges are inclusive, except times
//! of day, whose end is exclusive (`"00:00"`–`"24:00"` is the whole day). Negative days of the
//! month count from its end (`-1` is the last day). Weekdays run sunday to saturday, as in
//! Alertmanager, so a range cannot wrap (`"saturday:sunday"` is written as two ranges).
//!
//! The check runs as a group is flushed, beside silences and inhibition (see
//! the group dispatcher): a muted route's flush notifies nobody and is not recorded as
//! notified, so its alerts are told at the first group_interval tick after the mute ends.

use std::sync::Arc;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use time::OffsetDateTime;

/// A value in a time interval that cannot be used. Messages name the value, the caller the key.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum IntervalError {
    #[error("invalid time {0:?}: expected HH:MM from 00:00 to 24:00")]
    Time(String),
    #[error("start_time {start:?} must be before end_time {end:?}")]
    EmptyTimes { start: String, end: String },
    #[error("{0:?} is not a weekday (sunday, monday, … saturday)")]
    Weekday(String),
    #[error("{0:?} is not a day of the month (1 to 31, or -1 to -31 counting from the end)")]
    DayOfMonth(String),
    #[error("{0:?} is not a month (january … december, or 1 to 12)")]
    Month(String),
    #[error("{0:?} is not a year")]
    Year(String),
    #[error("range {0:?} ends before it starts")]
    Backwards(String),
    #[error("range {0:?} mixes a negative start with a positive end")]
    MixedSigns(String),
    #[error("unknown time zone {0:?} (expected an IANA name such as \"Europe/Berlin\")")]
    Location(String),
}

/// An inclusive range of numbers (weekdays with sunday = 0, days, months, years).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub start: i32,
    pub end: i32,
}

impl Range {
    fn contains(self, v: i32) -> bool {
        self.start <= v && v <= self.end
    }
}

/// Minutes of the day, `start` included, `end` excluded (1440 is midnight at the day's end).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Times {
    pub start: u16,
    pub end: u16,
}

/// One recurring period. Empty field lists match every instant.
#[derive(Clone, Debug)]
pub struct TimeInterval {
    pub times: Vec<Times>,
    pub weekdays: Vec<Range>,
    pub days_of_month: Vec<Range>,
    pub months: Vec<Range>,
    pub years: Vec<Range>,
    pub location: TimeZone,
}

impl Default for TimeInterval {
    fn default() -> Self {
        TimeInterval {
            times: Vec::new(),
            weekdays: Vec::new(),
            days_of_month: Vec::new(),
            months: Vec::new(),
            years: Vec::new(),
            location: TimeZone::UTC,
        }
    }
}

impl TimeInterval {
    /// Whether the interval contains `at`, read as civil time in the interval's location.
    pub fn contains(&self, at: Timestamp) -> bool {
        let t = at.to_zoned(self.location.clone());
        let minute = i32::from(t.hour()) * 60 + i32::from(t.minute());
        let day = i32::from(t.day());
        let month_days = i32::from(t.days_in_month());
        let any =
            |ranges: &[Range], v: i32| ranges.is_empty() || ranges.iter().any(|r| r.contains(v));
        (self.times.is_empty()
            || self
                .times
                .iter()
                .any(|r| i32::from(r.start) <= minute && minute < i32::from(r.end)))
            && any(
                &self.weekdays,
                i32::from(t.weekday().to_sunday_zero_offset()),
            )
            && (self.days_of_month.is_empty()
                || self
                    .days_of_month
                    .iter()
                    .any(|r| day_range(*r, month_days).is_some_and(|r| r.contains(day))))
            && any(&self.months, i32::from(t.month()))
            && any(&self.years, i32::from(t.year()))
    }

    /// Parses `"HH:MM"` start and end times of day.
    pub fn parse_times(start: &str, end: &str) -> Result<Times, IntervalError> {
        let (s, e) = (minute_of_day(start)?, minute_of_day(end)?);
        if s >= e {
            return Err(IntervalError::EmptyTimes {
                start: start.into(),
                end: end.into(),
            });
        }
        Ok(Times { start: s, end: e })
    }

    /// `"monday:friday"` or `"saturday"`.
    pub fn parse_weekdays(text: &str) -> Result<Range, IntervalError> {
        let r = parse_range(text, |v| weekday(v).ok_or(IntervalError::Weekday(v.into())))?;
        ordered(text, r)
    }

    /// `"1:5"`, `"15"` or, from the end of the month, `"-3:-1"`.
    pub fn parse_days_of_month(text: &str) -> Result<Range, IntervalError> {
        let r = parse_range(text, |v| match v.trim().parse::<i32>() {
            Ok(d) if d != 0 && (-31..=31).contains(&d) => Ok(d),
            _ => Err(IntervalError::DayOfMonth(v.into())),
        })?;
        if r.start < 0 && r.end > 0 {
            return Err(IntervalError::MixedSigns(text.into()));
        }
        // Negative days are placed in the shortest month, as Alertmanager does, to refuse only
        // ranges that are backwards in every month.
        let place = |d: i32| if d < 0 { 29 + d } else { d };
        if place(r.start) > place(r.end) {
            return Err(IntervalError::Backwards(text.into()));
        }
        Ok(r)
    }

    /// `"january:march"`, `"1:3"` or `"december"`.
    pub fn parse_months(text: &str) -> Result<Range, IntervalError> {
        let r = parse_range(text, |v| month(v).ok_or(IntervalError::Month(v.into())))?;
        ordered(text, r)
    }

    /// `"2026:2027"` or `"2026"`.
    pub fn parse_years(text: &str) -> Result<Range, IntervalError> {
        let r = parse_range(text, |v| match v.trim().parse::<i32>() {
            Ok(y) if (1..=9999).contains(&y) => Ok(y),
            _ => Err(IntervalError::Year(v.into())),
        })?;
        ordered(text, r)
    }

    /// An IANA time zone name (`"Europe/Berlin"`), from the bundled tz database.
    pub fn parse_location(name: &str) -> Result<TimeZone, IntervalError> {
        if name == "UTC" {
            return Ok(TimeZone::UTC);
        }
        TimeZone::get(name).map_err(|_| IntervalError::Location(name.into()))
    }
}

/// A named list of intervals (`[[time_intervals]]`); it contains an instant when any of its
/// intervals does.
#[derive(Clone, Debug)]
pub struct NamedTimeInterval {
    pub name: String,
    pub intervals: Vec<TimeInterval>,
}

impl NamedTimeInterval {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.intervals.iter().any(|i| i.contains(at))
    }
}

/// Why a route sends nothing at `now`, if it does not: a mute interval contains now, or the
/// route has active intervals and none contains now. Mute intervals win over active ones.
pub fn route_muted(
    mute: &[Arc<NamedTimeInterval>],
    active: &[Arc<NamedTimeInterval>],
    now: OffsetDateTime,
) -> Option<String> {
    if mute.is_empty() && active.is_empty() {
        return None;
    }
    let at = Timestamp::from_nanosecond(now.unix_timestamp_nanos()).unwrap_or(Timestamp::MAX);
    if let Some(m) = mute.iter().find(|m| m.contains(at)) {
        return Some(format!("in mute time interval {:?}", m.name));
    }
    if !active.is_empty() && !active.iter().any(|a| a.contains(at)) {
        return Some("outside its active time intervals".to_string());
    }
    None
}

/// A day range placed in a month of `month_days` days: negative days counted from its end,
/// clamped to the month; `None` when the range starts after the month ends.
fn day_range(r: Range, month_days: i32) -> Option<Range> {
    let place = |d: i32| if d < 0 { month_days + d + 1 } else { d };
    let (start, end) = (place(r.start), place(r.end));
    (start <= month_days).then(|| Range {
        start: start.max(1),
        end: end.min(month_days),
    })
}

fn parse_range(
    text: &str,
    member: impl Fn(&str) -> Result<i32, IntervalError>,
) -> Result<Range, IntervalError> {
    // A leading '-' is a sign, not a separator: "-3:-1" splits at the ':' only.
    let (start, end) = match text.split_once(':') {
        Some((s, e)) => (member(s)?, member(e)?),
        None => {
            let v = member(text)?;
            (v, v)
        }
    };
    Ok(Range { start, end })
}

fn ordered(text: &str, r: Range) -> Result<Range, IntervalError> {
    if r.start > r.end {
        return Err(IntervalError::Backwards(text.into()));
    }
    Ok(r)
}

fn minute_of_day(text: &str) -> Result<u16, IntervalError> {
    let bad = || IntervalError::Time(text.into());
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !(h.chars().chain(m.chars())).all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) => Ok(1440),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn weekday(name: &str) -> Option<i32> {
    let name = name.trim().to_ascii_lowercase();
    WEEKDAYS.iter().position(|d| *d == name).map(|i| i as i32)
}

fn month(text: &str) -> Option<i32> {
    let text = text.trim().to_ascii_lowercase();
    if let Some(i) = MONTHS.iter().position(|m| *m == text) {
        return Some(i as i32 + 1);
    }
    text.parse::<i32>().ok().filter(|m| (1..=12).contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn interval(f: impl FnOnce(&mut TimeInterval)) -> TimeInterval {
        let mut i = TimeInterval::default();
        f(&mut i);
        i
    }

    #[test]
    fn times_of_day_exclude_their_end_and_may_run_to_midnight() {
        let office =
            interval(|i| i.times = vec![TimeInterval::parse_times("09:00", "17:00").unwrap()]);
        assert!(!office.contains(at("2026-03-02T08:59:59Z")));
        assert!(office.contains(at("2026-03-02T09:00:00Z")));
        assert!(office.contains(at("2026-03-02T16:59:59Z")));
        assert!(!office.contains(at("2026-03-02T17:00:00Z")));

        let evening =
            interval(|i| i.times = vec![TimeInterval::parse_times("22:00", "24:00").unwrap()]);
        assert!(evening.contains(at("2026-03-02T23:59:59Z")));
        assert!(
            !evening.contains(at("2026-03-03T00:00:00Z")),
            "midnight is the next day"
        );
        let early =
            interval(|i| i.times = vec![TimeInterval::parse_times("00:00", "06:00").unwrap()]);
        assert!(early.contains(at("2026-03-03T00:00:00Z")));

        for bad in ["24:01", "9:00", "25:00", "12:60", "noon", "12-00"] {
            assert_eq!(
                TimeInterval::parse_times(bad, "24:00"),
                Err(IntervalError::Time(bad.into()))
            );
        }
        assert!(matches!(
            TimeInterval::parse_times("17:00", "09:00"),
            Err(IntervalError::EmptyTimes { .. })
        ));
        assert!(TimeInterval::parse_times("09:00", "09:00").is_err());
    }

    #[test]
    fn weekday_month_and_year_ranges_are_inclusive() {
        let workdays =
            interval(|i| i.weekdays = vec![TimeInterval::parse_weekdays("monday:friday").unwrap()]);
        // 2026-03-06 is a Friday, 2026-03-07 a Saturday, 2026-03-09 a Monday.
        assert!(workdays.contains(at("2026-03-06T23:00:00Z")));
        assert!(!workdays.contains(at("2026-03-07T12:00:00Z")));
        assert!(workdays.contains(at("2026-03-09T00:00:00Z")));
        let weekend = interval(|i| {
            i.weekdays = vec![
                TimeInterval::parse_weekdays("saturday").unwrap(),
                TimeInterval::parse_weekdays("Sunday").unwrap(),
            ]
        });
        assert!(weekend.contains(at("2026-03-08T12:00:00Z")));
        assert!(!weekend.contains(at("2026-03-09T12:00:00Z")));
        assert_eq!(
            TimeInterval::parse_weekdays("saturday:sunday"),
            Err(IntervalError::Backwards("saturday:sunday".into()))
        );
        assert!(TimeInterval::parse_weekdays("funday").is_err());

        let q1 = interval(|i| {
            i.months = vec![TimeInterval::parse_months("january:march").unwrap()];
            i.years = vec![TimeInterval::parse_years("2026:2027").unwrap()];
        });
        assert!(q1.contains(at("2027-03-31T23:59:00Z")));
        assert!(!q1.contains(at("2027-04-01T00:00:00Z")));
        assert!(!q1.contains(at("2028-01-15T00:00:00Z")));
        assert_eq!(
            TimeInterval::parse_months("1:3"),
            TimeInterval::parse_months("january:march")
        );
        assert!(TimeInterval::parse_months("13").is_err());
        assert!(TimeInterval::parse_months("march:january").is_err());
        assert!(TimeInterval::parse_years("2027:2026").is_err());
    }

    #[test]
    fn negative_days_count_from_the_end_of_each_month() {
        let last_three = interval(|i| {
            i.days_of_month = vec![TimeInterval::parse_days_of_month("-3:-1").unwrap()]
        });
        assert!(
            last_three.contains(at("2026-02-26T00:00:00Z")),
            "28-day February"
        );
        assert!(!last_three.contains(at("2026-02-25T23:59:00Z")));
        assert!(last_three.contains(at("2028-02-27T00:00:00Z")), "leap year");
        assert!(!last_three.contains(at("2028-02-26T12:00:00Z")));
        assert!(last_three.contains(at("2026-03-31T12:00:00Z")));
        assert!(!last_three.contains(at("2026-03-28T12:00:00Z")));

        let first_to_last = interval(|i| {
            i.days_of_month = vec![TimeInterval::parse_days_of_month("1:-1").unwrap()]
        });
        assert!(first_to_last.contains(at("2026-04-30T12:00:00Z")));
        // A range past the end of a short month is clamped; one starting after it is skipped.
        let late = interval(|i| {
            i.days_of_month = vec![TimeInterval::parse_days_of_month("29:31").unwrap()]
        });
        assert!(late.contains(at("2026-04-30T12:00:00Z")));
        assert!(!late.contains(at("2026-02-28T12:00:00Z")));

        assert!(TimeInterval::parse_days_of_month("0").is_err());
        assert!(TimeInterval::parse_days_of_month("32").is_err());
        assert_eq!(
            TimeInterval::parse_days_of_month("-3:5"),
            Err(IntervalError::MixedSigns("-3:5".into()))
        );
        assert!(TimeInterval::parse_days_of_month("-1:-3").is_err());
        assert!(TimeInterval::parse_days_of_month("10:5").is_err());
    }

    #[test]
    fn fields_are_read_in_the_interval_location() {
        let berlin_office = interval(|i| {
            i.times = vec![TimeInterval::parse_times("09:00", "17:00").unwrap()];
            i.weekdays = vec![TimeInterval::parse_weekdays("monday:friday").unwrap()];
            i.location = TimeInterval::parse_location("Europe/Berlin").unwrap();
        });
        // Winter: UTC+1. 08:30 UTC is 09:30 in Berlin.
        assert!(berlin_office.contains(at("2026-01-05T08:30:00Z")));
        assert!(!berlin_office.contains(at("2026-01-05T16:30:00Z")));
        // Summer: UTC+2. 15:30 UTC is 17:30 in Berlin.
        assert!(!berlin_office.contains(at("2026-07-06T15:30:00Z")));
        assert!(berlin_office.contains(at("2026-07-06T07:00:00Z")));
        // Sunday 23:30 UTC is Monday 00:30 in Berlin — outside the times, inside the weekdays.
        let monday = interval(|i| {
            i.weekdays = vec![TimeInterval::parse_weekdays("monday").unwrap()];
            i.location = TimeInterval::parse_location("Europe/Berlin").unwrap();
        });
        assert!(monday.contains(at("2026-01-04T23:30:00Z")));
        assert_eq!(
            TimeInterval::parse_location("Mars/Olympus").unwrap_err(),
            IntervalError::Location("Mars/Olympus".into())
        );
    }

    #[test]
    fn mute_wins_and_active_needs_one_interval_containing_now() {
        let always = Arc::new(NamedTimeInterval {
            name: "always".into(),
            intervals: vec![TimeInterval::default()],
        });
        let never = Arc::new(NamedTimeInterval {
            name: "never".into(),
            intervals: Vec::new(),
        });
        let now = OffsetDateTime::now_utc();
        assert_eq!(route_muted(&[], &[], now), None);
        assert_eq!(
            route_muted(std::slice::from_ref(&always), &[], now).as_deref(),
            Some("in mute time interval \"always\"")
        );
        assert_eq!(route_muted(&[], std::slice::from_ref(&always), now), None);
        assert!(route_muted(&[], &[never.clone(), always.clone()], now).is_none());
        assert!(route_muted(&[], std::slice::from_ref(&never), now).is_some());
        assert!(route_muted(
            std::slice::from_ref(&always),
            std::slice::from_ref(&always),
            now
        )
        .is_some());
    }
}
