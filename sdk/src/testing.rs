//! Unit-test plugins natively, with a plain `cargo test`.
//!
//! Only available on targets other than `wasm32`. There, [`config`](crate::config),
//! [`log`](crate::log), [`state`](crate::state) and [`time`](crate::time) talk to a fake host
//! kept per thread: set its config with [`set_config`], its clock with [`set_now_ms`], read what
//! the plugin logged with [`logs`] and what it stored with [`state()`]. `cargo test` runs every
//! test on its own thread, so tests do not see each other's fake host. Build test inputs with
//! [`alert`], [`resolved_alert`], [`group`], [`acknowledgement`] and [`sent`].
//!
//! ```
//! use campanile_sdk::{config, log, testing, Action, Group, Router};
//!
//! struct ToPager;
//! impl Router for ToPager {
//!     fn route(group: &Group) -> Result<Vec<Action>, String> {
//!         let Some(pager) = config::get("pager") else {
//!             log::warn("no pager configured");
//!             return Ok(vec![Action::notify(group.receiver.clone()).into()]);
//!         };
//!         Ok(vec![Action::notify(pager).into()])
//!     }
//! }
//!
//! let group = testing::group(vec![testing::alert(&[("alertname", "Down")])]);
//!
//! assert_eq!(ToPager::route(&group).unwrap(), vec![Action::notify("default").into()]);
//! assert_eq!(testing::logs().len(), 1);
//!
//! testing::set_config(&[("pager", "pd")]);
//! assert_eq!(ToPager::route(&group).unwrap(), vec![Action::notify("pd").into()]);
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::bindings::campanile::router::host::Level;
use crate::{Acknowledgement, Alert, AlertStatus, Group, LabelSet, NotifyReason, Sent};

/// The fake clock's time until [`set_now_ms`] is called: 2023-11-14T22:13:20Z.
///
/// ```
/// use campanile_sdk::{testing, time};
///
/// assert_eq!(time::now_ms(), testing::DEFAULT_NOW_MS);
/// ```
pub const DEFAULT_NOW_MS: i64 = 1_700_000_000_000;

struct FakeHost {
    config: BTreeMap<String, String>,
    now_ms: i64,
    logs: Vec<(Level, String)>,
    /// Key → (value, expiry in ms).
    state: BTreeMap<String, (String, Option<i64>)>,
}

impl FakeHost {
    const fn new() -> FakeHost {
        FakeHost {
            config: BTreeMap::new(),
            now_ms: DEFAULT_NOW_MS,
            logs: Vec::new(),
            state: BTreeMap::new(),
        }
    }
}

/// The host's limit on one key plus value, as the fake host enforces it too.
const MAX_STATE_VALUE_BYTES: usize = 64 * 1024;

thread_local! {
    static HOST: RefCell<FakeHost> = const { RefCell::new(FakeHost::new()) };
}

fn with_host<T>(f: impl FnOnce(&mut FakeHost) -> T) -> T {
    HOST.with(|host| f(&mut host.borrow_mut()))
}

/// Replaces the plugin's config table with `entries` (key, value); `&[]` empties it.
///
/// ```
/// use campanile_sdk::{config, testing};
///
/// testing::set_config(&[("pager", "pd"), ("chat", "slack")]);
/// assert_eq!(config::get("pager").as_deref(), Some("pd"));
/// testing::set_config(&[]);
/// assert_eq!(config::get("pager"), None);
/// ```
pub fn set_config(entries: &[(&str, &str)]) {
    with_host(|host| {
        host.config = entries
            .iter()
            .map(|&(key, value)| (key.to_string(), value.to_string()))
            .collect();
    });
}

/// Sets the fake clock, in milliseconds since the Unix epoch.
///
/// ```
/// use campanile_sdk::{testing, time};
///
/// testing::set_now_ms(42);
/// assert_eq!(time::now_ms(), 42);
/// ```
pub fn set_now_ms(now_ms: i64) {
    with_host(|host| host.now_ms = now_ms);
}

/// The lines logged so far on this thread, oldest first.
///
/// ```
/// use campanile_sdk::log::{self, Level};
/// use campanile_sdk::testing;
///
/// log::info("one");
/// log::error!("two: {}", 2);
/// assert_eq!(
///     testing::logs(),
///     [(Level::Info, "one".to_string()), (Level::Error, "two: 2".to_string())]
/// );
/// ```
pub fn logs() -> Vec<(Level, String)> {
    with_host(|host| host.logs.clone())
}

/// Forgets the lines logged so far on this thread.
///
/// ```
/// use campanile_sdk::{log, testing};
///
/// log::info("noise");
/// testing::clear_logs();
/// assert!(testing::logs().is_empty());
/// ```
pub fn clear_logs() {
    with_host(|host| host.logs.clear());
}

/// The plugin's live state on this thread's fake host, sorted by key: what [`state`](crate::state)
/// holds now.
///
/// ```
/// use campanile_sdk::{state, testing};
///
/// state::set("b", "2").unwrap();
/// state::set("a", "1").unwrap();
/// assert_eq!(
///     testing::state(),
///     [("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())]
/// );
/// ```
pub fn state() -> Vec<(String, String)> {
    with_host(|host| {
        let now = host.now_ms;
        host.state
            .iter()
            .filter(|(_, (_, exp))| exp.is_none_or(|e| e > now))
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    })
}

/// Resets this thread's fake host: empty config and state, clock at [`DEFAULT_NOW_MS`], no
/// logs.
///
/// ```
/// use campanile_sdk::{config, log, testing, time};
///
/// testing::set_config(&[("pager", "pd")]);
/// testing::set_now_ms(1);
/// log::info("noise");
/// testing::reset();
/// assert_eq!(config::keys(), Vec::<String>::new());
/// assert_eq!(time::now_ms(), testing::DEFAULT_NOW_MS);
/// assert!(testing::logs().is_empty());
/// ```
pub fn reset() {
    with_host(|host| *host = FakeHost::new());
}

pub(crate) fn fake_config_get(key: &str) -> Option<String> {
    with_host(|host| host.config.get(key).cloned())
}

pub(crate) fn fake_config_keys() -> Vec<String> {
    with_host(|host| host.config.keys().cloned().collect())
}

pub(crate) fn fake_now_ms() -> i64 {
    with_host(|host| host.now_ms)
}

pub(crate) fn fake_state_get(key: &str) -> Option<String> {
    with_host(|host| {
        let now = host.now_ms;
        host.state
            .get(key)
            .filter(|(_, exp)| exp.is_none_or(|e| e > now))
            .map(|(v, _)| v.clone())
    })
}

pub(crate) fn fake_state_set(key: &str, value: &str, ttl: Option<u32>) -> Result<(), String> {
    let size = key.len() + value.len();
    if size > MAX_STATE_VALUE_BYTES {
        return Err(format!(
            "key and value are {size} bytes; the limit per value is {MAX_STATE_VALUE_BYTES}"
        ));
    }
    with_host(|host| {
        let expires = ttl.map(|s| host.now_ms + i64::from(s) * 1000);
        host.state
            .insert(key.to_string(), (value.to_string(), expires));
    });
    Ok(())
}

pub(crate) fn fake_state_delete(key: &str) {
    with_host(|host| {
        host.state.remove(key);
    });
}

pub(crate) fn fake_log(level: Level, message: &str) {
    eprintln!("[plugin {}] {message}", level.as_str());
    with_host(|host| host.logs.push((level, message.to_string())));
}

/// A [`LabelSet`] of these `(name, value)` tuples, given in any order, as the host sends it.
///
/// ```
/// use campanile_sdk::testing;
///
/// let set = testing::labels(&[("b", "2"), ("a", "1")]);
/// assert_eq!(set.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
/// ```
pub fn labels(entries: &[(&str, &str)]) -> LabelSet {
    LabelSet::from_pairs(entries.iter().copied())
}

/// A firing alert with these labels.
///
/// It starts at the fake clock's current time, has no end time, no annotations and no generator
/// URL; its fingerprint is the FNV-1a hash of its sorted labels (the host's is Alertmanager's,
/// which a test has no need to reproduce). The fields are public: change them as the test needs.
///
/// ```
/// use campanile_sdk::testing;
///
/// let mut alert = testing::alert(&[("alertname", "Down"), ("severity", "critical")]);
/// alert.annotations.insert("summary", "db down");
/// assert!(alert.is_firing());
/// assert_ne!(alert.fingerprint, testing::alert(&[("alertname", "Up")]).fingerprint);
/// assert_eq!(alert.starts_at, campanile_sdk::time::now_ms());
/// ```
pub fn alert(labels: &[(&str, &str)]) -> Alert {
    let labels = self::labels(labels);
    Alert {
        fingerprint: fingerprint(&labels),
        status: AlertStatus::Firing,
        labels,
        annotations: LabelSet::new(),
        starts_at: fake_now_ms(),
        ends_at: None,
        generator_url: String::new(),
    }
}

/// A resolved alert with these labels: like [`alert`], but resolved one minute after it started.
///
/// ```
/// use campanile_sdk::testing;
///
/// let alert = testing::resolved_alert(&[("alertname", "Down")]);
/// assert!(!alert.is_firing());
/// assert_eq!(alert.ends_at, Some(alert.starts_at + 60_000));
/// ```
pub fn resolved_alert(labels: &[(&str, &str)]) -> Alert {
    let mut alert = alert(labels);
    alert.status = AlertStatus::Resolved;
    alert.ends_at = Some(alert.starts_at + 60_000);
    alert
}

/// A group of these alerts, as the host would send it for a route `root` with receiver
/// `default` that groups by nothing.
///
/// The alerts are reordered firing first, then resolved (keeping their order otherwise);
/// `common_labels` holds the labels all alerts share; the reason is [`NotifyReason::First`]
/// and the key `{}:{}`. The fields are public: change them as the test needs.
///
/// ```
/// use campanile_sdk::{testing, NotifyReason};
///
/// let mut group = testing::group(vec![
///     testing::resolved_alert(&[("alertname", "Down"), ("instance", "a")]),
///     testing::alert(&[("alertname", "Down"), ("instance", "b")]),
/// ]);
/// assert_eq!((group.route.as_str(), group.receiver.as_str()), ("root", "default"));
/// assert_eq!(group.reason, NotifyReason::First);
/// assert!(group.alerts[0].is_firing());
/// assert_eq!(group.common_labels, testing::labels(&[("alertname", "Down")]));
///
/// group.reason = NotifyReason::Repeat;
/// ```
pub fn group(alerts: impl IntoIterator<Item = Alert>) -> Group {
    let mut alerts: Vec<Alert> = alerts.into_iter().collect();
    alerts.sort_by_key(|alert| !alert.is_firing());
    let common_labels = match alerts.split_first() {
        None => LabelSet::new(),
        Some((first, rest)) => first
            .labels
            .filtered(|name, value| rest.iter().all(|alert| alert.label(name) == Some(value))),
    };
    Group {
        key: "{}:{}".to_string(),
        route: "root".to_string(),
        receiver: "default".to_string(),
        group_labels: LabelSet::new(),
        common_labels,
        alerts,
        reason: NotifyReason::First,
        acknowledged: None,
        sent: Vec::new(),
    }
}

/// An acknowledgement by `by` at the fake clock's current time, to put in
/// [`Group::acknowledged`].
///
/// ```
/// use campanile_sdk::testing;
///
/// let mut group = testing::group(vec![testing::alert(&[("alertname", "Down")])]);
/// group.acknowledged = Some(testing::acknowledgement("alice"));
/// assert!(group.is_acknowledged());
/// ```
pub fn acknowledgement(by: &str) -> Acknowledgement {
    Acknowledgement {
        by: by.to_string(),
        comment: String::new(),
        at: fake_now_ms(),
    }
}

/// A record that `receiver` was told `ago_ms` milliseconds before the fake clock's time, to put
/// in [`Group::sent`].
///
/// ```
/// use campanile_sdk::{testing, NotifyReason};
///
/// let mut group = testing::group(vec![testing::alert(&[("alertname", "Down")])]);
/// group.sent.push(testing::sent("chat", NotifyReason::First, 60_000));
/// assert_eq!(group.first_sent_at(), Some(campanile_sdk::time::now_ms() - 60_000));
/// ```
pub fn sent(receiver: &str, reason: NotifyReason, ago_ms: i64) -> Sent {
    Sent {
        receiver: receiver.to_string(),
        reason,
        at: fake_now_ms() - ago_ms,
    }
}

/// FNV-1a (64 bits) of the sorted labels, each name and value followed by a 0xff separator.
fn fingerprint(labels: &LabelSet) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (name, value) in labels {
        for part in [name.as_bytes(), value.as_bytes()] {
            for &byte in part.iter().chain(&[0xff]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(PRIME);
            }
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_label_order() {
        let a = alert(&[("a", "1"), ("b", "2")]);
        let b = alert(&[("b", "2"), ("a", "1")]);
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, alert(&[("a", "1")]).fingerprint);
    }

    #[test]
    fn empty_group_has_no_common_labels() {
        assert!(group(vec![]).common_labels.is_empty());
    }
}
