//! `escalation-policy`: a campanile routing plugin that escalates until someone acknowledges.
//!
//! A firing group is told to `chat` at once. If nobody acknowledges it, `primary` is paged
//! `page_after` after the first notification, and `secondary` `secondary_after` after it.
//! Outside business hours chat is skipped as a first step: `primary` is paged at once (nobody
//! watches chat at 3 a.m.). An acknowledgement stops the escalation; later changes to the group
//! (new alerts, resolutions) still reach everyone already involved. When the group resolves,
//! everyone who was told hears so (so a pager incident is closed).
//!
//! The timers are the host's `wake-after`: they survive a restart of campanile, and the host
//! drops a wake-up for a group that is acknowledged or no longer firing.
//!
//! Config keys (all optional but `primary`):
//!
//! | key               | meaning                                          | default                |
//! |-------------------|--------------------------------------------------|------------------------|
//! | `chat`            | receiver told first                              | the route's receiver   |
//! | `primary`         | receiver paged after `page_after`                | —                      |
//! | `secondary`       | receiver paged after `secondary_after`           | none (no second step)  |
//! | `page_after`      | `90s`, `15m`, `1h` or plain seconds              | `15m`                  |
//! | `secondary_after` | as above, counted from the first notification    | `30m`                  |
//! | `business_hours`  | `HH:MM-HH:MM`, local time                        | always business hours  |
//! | `business_days`   | `mon-fri`, `mon,wed,fri`, `sat-sun`              | `mon-fri`              |
//! | `utc_offset`      | local time's offset, `+01:00`, `-05:00`          | `+00:00`               |

use campanile_sdk::{config, export_router, time, Action, Group, NotifyReason, Router};

/// The escalation policy.
pub struct EscalationPolicy;

/// One step: a receiver and how long after the first notification it is told.
#[derive(Debug, PartialEq)]
struct Step {
    receiver: String,
    after_ms: i64,
}

/// The configured policy.
#[derive(Debug)]
struct Policy {
    chat: String,
    primary: String,
    secondary: Option<String>,
    page_after_ms: i64,
    secondary_after_ms: i64,
    hours: Option<(u32, u32)>,
    days: [bool; 7],
    offset_minutes: i64,
}

impl Policy {
    fn from_config(group: &Group) -> Result<Policy, String> {
        let primary = config::get("primary").ok_or("config key `primary` is not set")?;
        let duration = |key: &str, default_s: i64| -> Result<i64, String> {
            match config::get(key) {
                None => Ok(default_s * 1000),
                Some(v) => parse_duration_ms(&v).ok_or(format!("`{key}`: bad duration {v:?}")),
            }
        };
        let hours = config::get("business_hours")
            .map(|v| parse_hours(&v).ok_or(format!("`business_hours`: bad range {v:?}")))
            .transpose()?;
        let days = match config::get("business_days") {
            None => parse_days("mon-fri").expect("default days"),
            Some(v) => parse_days(&v).ok_or(format!("`business_days`: bad days {v:?}"))?,
        };
        let offset_minutes = match config::get("utc_offset") {
            None => 0,
            Some(v) => parse_offset(&v).ok_or(format!("`utc_offset`: bad offset {v:?}"))?,
        };
        Ok(Policy {
            chat: config::get_or("chat", &group.receiver),
            primary,
            secondary: config::get("secondary"),
            page_after_ms: duration("page_after", 15 * 60)?,
            secondary_after_ms: duration("secondary_after", 30 * 60)?,
            hours,
            days,
            offset_minutes,
        })
    }

    fn business_hours(&self, now_ms: i64) -> bool {
        let Some((start, end)) = self.hours else {
            return true;
        };
        let local_min = now_ms.div_euclid(60_000) + self.offset_minutes;
        let minute_of_day = local_min.rem_euclid(24 * 60) as u32;
        // 1970-01-01 was a Thursday: day 0 → index 3 (Monday = 0).
        let weekday = (local_min.div_euclid(24 * 60) + 3).rem_euclid(7) as usize;
        self.days[weekday] && minute_of_day >= start && minute_of_day < end
    }

    /// The steps in order, for a group first told at a time that was (or not) business hours.
    fn steps(&self, business_hours: bool) -> Vec<Step> {
        let mut steps = Vec::new();
        let page_after_ms = if business_hours {
            steps.push(Step {
                receiver: self.chat.clone(),
                after_ms: 0,
            });
            self.page_after_ms
        } else {
            0
        };
        steps.push(Step {
            receiver: self.primary.clone(),
            after_ms: page_after_ms,
        });
        if let Some(secondary) = &self.secondary {
            steps.push(Step {
                receiver: secondary.clone(),
                after_ms: self.secondary_after_ms.max(page_after_ms),
            });
        }
        steps
    }
}

impl Router for EscalationPolicy {
    fn route(group: &Group) -> Result<Vec<Action>, String> {
        let policy = Policy::from_config(group)?;
        let now = time::now_ms();
        let started = group.first_sent_at().unwrap_or(now);
        let steps = policy.steps(policy.business_hours(started));

        if group.reason == NotifyReason::AllResolved {
            // Everyone who was told hears that it is over.
            let mut told: Vec<&str> = Vec::new();
            for s in &group.sent {
                if !told.contains(&s.receiver.as_str()) {
                    told.push(&s.receiver);
                }
            }
            if told.is_empty() {
                told.push(&steps[0].receiver);
            }
            return Ok(told.into_iter().map(|r| Action::notify(r).into()).collect());
        }

        let elapsed = now - started;
        let due = steps.iter().filter(|s| s.after_ms <= elapsed);
        let targets: Vec<&Step> = if group.is_acknowledged() {
            // Someone has it: keep those already involved informed; escalate no further.
            due.filter(|s| group.was_sent_to(&s.receiver) || s.after_ms == 0)
                .collect()
        } else if group.reason == NotifyReason::Wake {
            due.filter(|s| !group.was_sent_to(&s.receiver)).collect()
        } else {
            due.collect()
        };

        let mut actions: Vec<Action> = targets
            .iter()
            .map(|s| Action::notify(s.receiver.clone()).into())
            .collect();
        if actions.is_empty() {
            actions.push(Action::suppress("escalation: nobody new is due yet"));
        }
        if !group.is_acknowledged() {
            if let Some(next) = steps.iter().find(|s| s.after_ms > elapsed) {
                let wait_ms = next.after_ms - elapsed;
                // Whole seconds, rounded up, so the next step is due when the wake-up comes.
                actions.push(Action::WakeAfter(((wait_ms + 999) / 1000).max(1) as u32));
            }
        }
        Ok(actions)
    }
}

export_router!(EscalationPolicy);

/// `90s`, `15m`, `2h`, `1d` or plain seconds, in milliseconds.
fn parse_duration_ms(v: &str) -> Option<i64> {
    let v = v.trim();
    let (digits, unit) = match v.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => v.split_at(i),
        None => (v, "s"),
    };
    let n: i64 = digits.parse().ok()?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// `HH:MM-HH:MM` as minutes of the day, start inclusive, end exclusive.
fn parse_hours(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.trim().split_once('-')?;
    let minutes = |t: &str| -> Option<u32> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
    };
    let (start, end) = (minutes(a)?, minutes(b)?);
    (start < end).then_some((start, end))
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `mon-fri`, `sat,sun`, `mon,wed-fri`: which weekdays (Monday first) are business days.
fn parse_days(v: &str) -> Option<[bool; 7]> {
    let index = |d: &str| DAYS.iter().position(|x| d.trim().eq_ignore_ascii_case(x));
    let mut days = [false; 7];
    for part in v.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (index(a)?, index(b)?);
                if a > b {
                    return None;
                }
                days[a..=b].iter_mut().for_each(|d| *d = true);
            }
            None => days[index(part)?] = true,
        }
    }
    Some(days)
}

/// `+01:00`, `-05:30`, `Z`: minutes east of UTC.
fn parse_offset(v: &str) -> Option<i64> {
    let v = v.trim();
    if v.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match v.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = v[1..].split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 60 + m))
}

// The fake host of `campanile_sdk::testing` exists only off wasm32: tests run natively.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use campanile_sdk::testing;

    /// 2023-11-14T22:13:20Z, a Tuesday: the fake clock's default.
    const TUESDAY_NIGHT: i64 = testing::DEFAULT_NOW_MS;

    fn setup(extra: &[(&str, &str)]) -> Group {
        let mut config = vec![
            ("chat", "chat"),
            ("primary", "primary"),
            ("secondary", "secondary"),
            ("page_after", "15m"),
            ("secondary_after", "30m"),
        ];
        config.extend_from_slice(extra);
        testing::set_config(&config);
        testing::group(vec![testing::alert(&[("alertname", "Down")])])
    }

    fn receivers(actions: &[Action]) -> Vec<&str> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Notify(n) => Some(n.receiver.as_str()),
                _ => None,
            })
            .collect()
    }

    fn wake(actions: &[Action]) -> Option<u32> {
        actions.iter().find_map(|a| match a {
            Action::WakeAfter(s) => Some(*s),
            _ => None,
        })
    }

    #[test]
    fn chat_first_then_primary_then_secondary() {
        let mut group = setup(&[]);
        let first = EscalationPolicy::route(&group).unwrap();
        assert_eq!(receivers(&first), ["chat"]);
        assert_eq!(wake(&first), Some(15 * 60));

        group
            .sent
            .push(testing::sent("chat", NotifyReason::First, 15 * 60_000));
        group.reason = NotifyReason::Wake;
        let second = EscalationPolicy::route(&group).unwrap();
        assert_eq!(receivers(&second), ["primary"]);
        assert_eq!(wake(&second), Some(15 * 60));

        group
            .sent
            .push(testing::sent("primary", NotifyReason::Wake, 0));
        testing::set_now_ms(TUESDAY_NIGHT + 15 * 60_000);
        let third = EscalationPolicy::route(&group).unwrap();
        assert_eq!(receivers(&third), ["secondary"]);
        assert_eq!(wake(&third), None, "nobody left to escalate to");
    }

    #[test]
    fn an_acknowledgement_stops_escalating() {
        let mut group = setup(&[]);
        group
            .sent
            .push(testing::sent("chat", NotifyReason::First, 20 * 60_000));
        group.acknowledged = Some(testing::acknowledgement("alice"));
        group.reason = NotifyReason::NewAlerts;
        let actions = EscalationPolicy::route(&group).unwrap();
        assert_eq!(receivers(&actions), ["chat"], "no page once acknowledged");
        assert_eq!(wake(&actions), None);
    }

    #[test]
    fn a_wake_before_the_next_step_tells_nobody_and_waits_on() {
        let mut group = setup(&[]);
        group
            .sent
            .push(testing::sent("chat", NotifyReason::First, 14 * 60_000));
        group.reason = NotifyReason::Wake;
        let actions = EscalationPolicy::route(&group).unwrap();
        assert!(receivers(&actions).is_empty());
        assert!(matches!(actions[0], Action::Suppress(_)));
        assert_eq!(wake(&actions), Some(60));
    }

    #[test]
    fn after_hours_pages_at_once() {
        // Business hours 09:00-17:00 UTC on weekdays; the fake clock says 22:13 on a Tuesday.
        let group = setup(&[("business_hours", "09:00-17:00")]);
        let actions = EscalationPolicy::route(&group).unwrap();
        assert_eq!(receivers(&actions), ["primary"]);
        assert_eq!(wake(&actions), Some(30 * 60));
        // At 22:13 in UTC+01:00 it is 23:13; with hours to midnight local it is business time.
        let group = setup(&[("business_hours", "09:00-24:00"), ("utc_offset", "+01:00")]);
        assert_eq!(
            receivers(&EscalationPolicy::route(&group).unwrap()),
            ["chat"]
        );
        // Saturday is not a business day by default.
        testing::set_now_ms(TUESDAY_NIGHT + 4 * 86_400_000 - 10 * 3_600_000);
        let group = setup(&[("business_hours", "09:00-17:00")]);
        assert_eq!(
            receivers(&EscalationPolicy::route(&group).unwrap()),
            ["primary"]
        );
    }

    #[test]
    fn resolution_reaches_everyone_who_was_told() {
        let mut group = setup(&[]);
        group
            .sent
            .push(testing::sent("chat", NotifyReason::First, 40 * 60_000));
        group
            .sent
            .push(testing::sent("primary", NotifyReason::Wake, 25 * 60_000));
        group
            .sent
            .push(testing::sent("chat", NotifyReason::Repeat, 5 * 60_000));
        group.reason = NotifyReason::AllResolved;
        let actions = EscalationPolicy::route(&group).unwrap();
        assert_eq!(receivers(&actions), ["chat", "primary"]);
        assert_eq!(wake(&actions), None);
    }

    #[test]
    fn bad_config_is_an_error_naming_the_key() {
        setup(&[("page_after", "soon")]);
        let group = testing::group(vec![testing::alert(&[("alertname", "Down")])]);
        let err = EscalationPolicy::route(&group).unwrap_err();
        assert!(err.contains("page_after"), "{err}");
        testing::set_config(&[]);
        assert!(EscalationPolicy::route(&group)
            .unwrap_err()
            .contains("primary"));
    }

    #[test]
    fn parsers() {
        assert_eq!(parse_duration_ms("90s"), Some(90_000));
        assert_eq!(parse_duration_ms("2"), Some(2_000));
        assert_eq!(parse_duration_ms("1h"), Some(3_600_000));
        assert_eq!(parse_duration_ms("1y"), None);
        assert_eq!(parse_hours("09:00-17:30"), Some((540, 1050)));
        assert_eq!(parse_hours("17:00-09:00"), None);
        assert_eq!(
            parse_days("mon,wed-fri"),
            Some([true, false, true, true, true, false, false])
        );
        assert_eq!(parse_days("funday"), None);
        assert_eq!(parse_offset("-05:30"), Some(-330));
        assert_eq!(parse_offset("Z"), Some(0));
    }
}
