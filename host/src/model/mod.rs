//! The data model every stage shares: labels, alerts and their fingerprints.
//!
//! Conversions to the wire formats live at the edges (`ingest`, `notify`, `plugin`); this module
//! only knows what an alert *is*.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

mod fingerprint;
mod gotime;
pub mod matcher;
mod quote;
mod severity;
pub mod time_interval;
pub mod truncate;
pub use gotime::{api_time, go_time};
pub use matcher::Matcher;
pub use quote::{go_quoted, write_go_quoted};
pub use severity::Severity;

/// A set of name/value pairs, kept sorted by name with unique names.
///
/// Used for both labels (identity) and annotations (information). Held compactly, as every
/// live alert carries two of these: all names and values in one string, plus where each ends;
/// two allocations per set however many pairs it has, instead of two per pair.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels {
    /// Each pair's name then value, back to back, pairs in name order.
    text: Box<str>,
    /// Per pair, where its name and its value end in `text`.
    ends: Box<[(u32, u32)]>,
}

impl Labels {
    /// Builds a label set from pairs in any order; a later duplicate name wins.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut v: Vec<(K, V)> = pairs.into_iter().collect();
        // Stable sort keeps input order among equal names, so the last of equals can win.
        v.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        let mut unique: Vec<(&str, &str)> = Vec::with_capacity(v.len());
        for (name, value) in &v {
            let pair = (name.as_ref(), value.as_ref());
            match unique.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => unique.push(pair),
            }
        }
        Self::from_sorted(unique.into_iter())
    }

    /// Builds from pairs already sorted by unique name.
    fn from_sorted<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let bytes: usize = pairs.clone().map(|(n, v)| n.len() + v.len()).sum();
        let mut text = String::with_capacity(bytes);
        let mut ends = Vec::with_capacity(pairs.size_hint().0);
        let offset = |text: &String| {
            u32::try_from(text.len()).expect("a label set is far smaller than 4 GiB")
        };
        for (name, value) in pairs {
            text.push_str(name);
            let name_end = offset(&text);
            text.push_str(value);
            ends.push((name_end, offset(&text)));
        }
        Labels {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// The pair at position `i`.
    fn pair(&self, i: usize) -> (&str, &str) {
        let start = if i == 0 { 0 } else { self.ends[i - 1].1 } as usize;
        let (name_end, value_end) = self.ends[i];
        (
            &self.text[start..name_end as usize],
            &self.text[name_end as usize..value_end as usize],
        )
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        let (mut lo, mut hi) = (0, self.ends.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let (n, v) = self.pair(mid);
            match n.cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(v),
            }
        }
        None
    }

    /// Iterates the pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        (0..self.ends.len()).map(|i| self.pair(i))
    }

    /// The packed form: every name and value back to back, and per pair where its name and its
    /// value end in the text (the plugin contract's `label-set` is this, flattened).
    pub fn packed(&self) -> (&str, &[(u32, u32)]) {
        (&self.text, &self.ends)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The pairs that every set in `sets` has with the same value.
    pub fn common<'a>(mut sets: impl Iterator<Item = &'a Labels>) -> Labels {
        let Some(first) = sets.next() else {
            return Labels::default();
        };
        let mut common: Vec<(&str, &str)> = first.iter().collect();
        for set in sets {
            // Both are sorted by name: one merge walk, not a search per pair.
            let mut other = set.iter().peekable();
            common.retain(|&(name, value)| {
                while other.next_if(|&(n, _)| n < name).is_some() {}
                other.next_if(|&(n, v)| n == name && v == value).is_some()
            });
        }
        Labels::from_sorted(common.into_iter())
    }
}

/// Pair by pair, as a sorted list of pairs compares.
impl Ord for Labels {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.iter().cmp(other.iter())
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Formats like Prometheus' `LabelSet.String()`, which Alertmanager's group keys are made of:
/// each pair rendered `name="value"` (the value quoted as Go's `%q`), the rendered pairs
/// sorted as strings — so `env2="blue"` comes before `env="staging"` — and joined by `, `.
///
/// Rendered pairs sort as the names do unless a name is a prefix of the next one (`env`,
/// `env2`): only then are they rendered apart and sorted. Group keys are printed for every
/// alert filed, so the common case writes straight through.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names_sort_as_rendered = self
            .iter()
            .zip(self.iter().skip(1))
            .all(|((a, _), (b, _))| !b.starts_with(a));
        f.write_str("{")?;
        if names_sort_as_rendered {
            for (i, (n, v)) in self.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(n)?;
                f.write_str("=")?;
                write_go_quoted(f, v)?;
            }
        } else {
            let mut pairs: Vec<String> = self
                .iter()
                .map(|(n, v)| format!("{n}={}", go_quoted(v)))
                .collect();
            pairs.sort_unstable();
            f.write_str(&pairs.join(", "))?;
        }
        f.write_str("}")
    }
}

impl Serialize for Labels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (n, v) in self.iter() {
            map.serialize_entry(n, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Labels {
    /// Reads a JSON object straight into a label set, borrowing the names and values from the
    /// input where they need no unescaping. As Go's `encoding/json` reads a `map[string]string`
    /// (what Alertmanager's clients send and Alertmanager reads), `null` is an empty set and a
    /// `null` value an empty one.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OrNull;
        impl<'de> serde::de::Visitor<'de> for OrNull {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Labels, E> {
                Ok(Labels::default())
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Labels, E> {
                Ok(Labels::default())
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Labels, D::Error> {
                d.deserialize_map(PairsVisitor)
            }
        }
        struct PairsVisitor;
        impl<'de> serde::de::Visitor<'de> for PairsVisitor {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Labels, A::Error> {
                let mut pairs = Vec::with_capacity(m.size_hint().unwrap_or(12));
                while let Some(pair) = m.next_entry::<Text<'de>, Text<'de>>()? {
                    pairs.push(pair);
                }
                Ok(Labels::from_pairs(pairs))
            }
        }
        d.deserialize_option(OrNull)
    }
}

/// A string read from the input: borrowed when the input holds it verbatim, owned otherwise.
struct Text<'de>(std::borrow::Cow<'de, str>);

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> serde::de::Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Owned(v)))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Borrowed("")))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Text<'de>, E> {
                Ok(Text(std::borrow::Cow::Borrowed("")))
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Text<'de>, D::Error> {
                d.deserialize_str(TextVisitor)
            }
        }
        d.deserialize_option(TextVisitor)
    }
}

/// An alert's identity: the 64-bit FNV-1a hash of its label set, as Alertmanager computes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    pub fn of(labels: &Labels) -> Self {
        fingerprint::of(labels)
    }
}

/// 16 lowercase hex digits, as in Alertmanager's API.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Whether an alert fires or has resolved, at a given instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One deduplicated alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub fingerprint: Fingerprint,
    pub labels: Labels,
    pub annotations: Labels,
    pub starts_at: OffsetDateTime,
    /// When the alert ended as it was received. For alerts the sender gave no end, the host's
    /// resolve timeout. Re-sends may move it on in place: read [`Alert::end`].
    pub ends_at: OffsetDateTime,
    /// `ends_at` was set by the resolve timeout rather than by the sender.
    pub timeout: bool,
    /// The sender's link to the alert's source: Prometheus's is the rule's expression, so every
    /// alert of a rule has the same one, held once by the cache (`dedup::sources`).
    pub generator_url: Arc<str>,
    /// When the host last received this alert with a change other than a later end: an
    /// identical re-send, or one that only moves the end on in place, keeps the earlier time.
    pub updated_at: OffsetDateTime,
    /// How far re-sends have moved the end on past `ends_at`, in place (see [`Extension`]).
    pub extension: Extension,
}

/// A later end set in place on a shared alert by re-sends that only move the end on (what
/// Prometheus sends every minute for every firing alert; see `dedup::cache`). The cache,
/// the groups and inhibition share one [`SharedAlert`], so all of them go by the latest end
/// without a copy of the alert. Nanoseconds past `ends_at`; it only ever grows.
#[derive(Debug, Default)]
pub struct Extension(AtomicU64);

impl Extension {
    fn nanos(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Clone for Extension {
    fn clone(&self) -> Self {
        Extension(AtomicU64::new(self.nanos()))
    }
}

impl PartialEq for Extension {
    fn eq(&self, other: &Self) -> bool {
        self.nanos() == other.nanos()
    }
}

impl Alert {
    /// When the alert ends: `ends_at`, or later where a re-send has moved it on.
    pub fn end(&self) -> OffsetDateTime {
        match self.extension.nanos() {
            0 => self.ends_at,
            // Within range: `extend_to` only sets what `ends_at` plus it can hold.
            n => self
                .ends_at
                .saturating_add(time::Duration::nanoseconds(n as i64)),
        }
    }

    /// Moves the end on to `to` in place, where that is later. False (and nothing changes)
    /// when `to` is beyond what an extension holds (some 292 years past `ends_at`).
    pub fn extend_to(&self, to: OffsetDateTime) -> bool {
        let by = to
            .unix_timestamp_nanos()
            .saturating_sub(self.ends_at.unix_timestamp_nanos());
        if by <= 0 {
            return true;
        }
        match i64::try_from(by) {
            Ok(n) => {
                self.extension.0.fetch_max(n as u64, Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    /// Alertmanager's `ResolvedAt`: the alert has an end at or before `now`.
    pub fn resolved_at(&self, now: OffsetDateTime) -> bool {
        self.end() <= now
    }

    pub fn status_at(&self, now: OffsetDateTime) -> AlertStatus {
        if self.resolved_at(now) {
            AlertStatus::Resolved
        } else {
            AlertStatus::Firing
        }
    }

    /// Alertmanager's merge of a re-sent alert into the stored one (`types.Alert.Merge`):
    /// the newer one wins, the earliest start is kept, and an explicit end beats a timeout.
    pub fn merge(old: &Alert, new: Alert) -> Alert {
        if new.updated_at < old.updated_at {
            return Alert::merge(&new, old.clone());
        }
        let mut res = new;
        if old.starts_at < res.starts_at {
            res.starts_at = old.starts_at;
        }
        let now = res.updated_at;
        let (old_end, res_end) = (old.end(), res.end());
        if res.resolved_at(now) {
            if old.resolved_at(now) && old_end > res_end {
                res.set_end(old_end);
            }
        } else if old_end > res_end && !old.timeout {
            res.set_end(old_end);
            res.timeout = false;
        }
        res
    }

    /// Sets the end, with no extension past it.
    pub fn set_end(&mut self, end: OffsetDateTime) {
        self.ends_at = end;
        self.extension = Extension::default();
    }
}

/// Alerts are shared between the cache, groups and notifications without copying.
pub type SharedAlert = Arc<Alert>;

/// Go's zero `time.Time`, which Alertmanager writes as the `endsAt` of firing alerts.
pub const ZERO_TIME: OffsetDateTime = time::macros::datetime!(0001-01-01 00:00:00 UTC);

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn alert(
        start: OffsetDateTime,
        end: OffsetDateTime,
        timeout: bool,
        upd: OffsetDateTime,
    ) -> Alert {
        let labels = Labels::from_pairs([("alertname", "X")]);
        Alert {
            fingerprint: Fingerprint::of(&labels),
            labels,
            annotations: Labels::default(),
            starts_at: start,
            ends_at: end,
            timeout,
            generator_url: Default::default(),
            updated_at: upd,
            extension: Default::default(),
        }
    }

    #[test]
    fn labels_sorted_and_last_duplicate_wins() {
        let l = Labels::from_pairs([("b", "1"), ("a", "2"), ("b", "3")]);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![("a", "2"), ("b", "3")]);
        assert_eq!(l.get("b"), Some("3"));
        assert_eq!(l.get("c"), None);
        assert_eq!(l.to_string(), r#"{a="2", b="3"}"#);
        // A name that is a prefix of another: `env2="…"` sorts before `env="…"`, as in
        // Prometheus' LabelSet.String().
        let prefixed =
            Labels::from_pairs([("env", "staging"), ("env2", "blue"), ("app", "bell\u{7}")]);
        assert_eq!(
            prefixed.to_string(),
            "{app=\"bell\\a\", env2=\"blue\", env=\"staging\"}"
        );
    }

    #[test]
    fn common_labels() {
        let a = Labels::from_pairs([("x", "1"), ("y", "2")]);
        let b = Labels::from_pairs([("x", "1"), ("y", "3")]);
        assert_eq!(
            Labels::common([&a, &b].into_iter()),
            Labels::from_pairs([("x", "1")])
        );
        // Names missing on either side, names only the later sets have, a third set.
        let a = Labels::from_pairs([("a", "1"), ("c", "3"), ("e", "5"), ("g", "7"), ("i", "")]);
        let b = Labels::from_pairs([("b", "0"), ("c", "3"), ("d", "4"), ("e", "5"), ("i", "")]);
        let c = Labels::from_pairs([("c", "3"), ("e", "6"), ("h", "8"), ("i", ""), ("j", "9")]);
        assert_eq!(
            Labels::common([&a, &b].into_iter()),
            Labels::from_pairs([("c", "3"), ("e", "5"), ("i", "")])
        );
        assert_eq!(
            Labels::common([&a, &b, &c].into_iter()),
            Labels::from_pairs([("c", "3"), ("i", "")])
        );
        assert_eq!(Labels::common([&c].into_iter()), c);
        assert_eq!(Labels::common(std::iter::empty()), Labels::default());
    }

    #[test]
    fn merge_keeps_earliest_start_and_explicit_end() {
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let t1 = datetime!(2026-01-01 00:01 UTC);
        let far = datetime!(2026-01-01 01:00 UTC);
        let old = alert(t0, far, false, t0);
        let new = alert(t1, datetime!(2026-01-01 00:06 UTC), true, t1);
        let m = Alert::merge(&old, new);
        assert_eq!(m.starts_at, t0);
        assert_eq!(m.ends_at, far, "explicit later end beats a timeout end");
        assert!(!m.timeout);
    }

    #[test]
    fn merge_resolution_wins() {
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let t1 = datetime!(2026-01-01 00:01 UTC);
        let old = alert(t0, datetime!(2026-01-01 00:05 UTC), true, t0);
        let new = alert(t0, t1, false, t1);
        let m = Alert::merge(&old, new);
        assert!(m.resolved_at(t1));
        assert_eq!(m.ends_at, t1);
    }
}
