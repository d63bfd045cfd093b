//! The data model every stage shares: labels, alerts and their fingerprints.
//!
//! Conversions to the wire formats live at the edges (`ingest`, `notify`, `plugin`); this module
//! only knows what an alert *is*.

use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::dedup::fingerprint;

/// A set of name/value pairs, kept sorted by name with unique names.
///
/// Used for both labels (identity) and annotations (information).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Builds a label set from pairs in any order; a later duplicate name wins.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut v: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        // Stable sort keeps input order among equal names, so dedup_by keeping the last wins.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, String)> = Vec::with_capacity(v.len());
        for pair in v {
            match out.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => out.push(pair),
            }
        }
        Labels(out)
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// Iterates the pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs that every set in `sets` has with the same value.
    pub fn common<'a>(mut sets: impl Iterator<Item = &'a Labels>) -> Labels {
        let Some(first) = sets.next() else {
            return Labels::default();
        };
        let mut common = first.0.clone();
        for set in sets {
            common.retain(|(n, v)| set.get(n) == Some(v.as_str()));
        }
        Labels(common)
    }
}

/// Formats like Prometheus' `LabelSet.String()`: `{a="1", b="2"}`.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (n, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}={v:?}")?;
        }
        f.write_str("}")
    }
}

impl Serialize for Labels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (n, v) in &self.0 {
            map.serialize_entry(n, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Labels {
    /// Reads a JSON object straight into sorted pairs, without an intermediate map.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> serde::de::Visitor<'de> for PairsVisitor {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Labels, A::Error> {
                let mut pairs = Vec::with_capacity(m.size_hint().unwrap_or(8));
                while let Some(pair) = m.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(Labels::from_pairs(pairs))
            }
        }
        d.deserialize_map(PairsVisitor)
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
    /// When the alert ends. For alerts the sender gave no end, the host's resolve timeout.
    pub ends_at: OffsetDateTime,
    /// `ends_at` was set by the resolve timeout rather than by the sender.
    pub timeout: bool,
    pub generator_url: String,
    /// When the host last received this alert.
    pub updated_at: OffsetDateTime,
}

impl Alert {
    /// Alertmanager's `ResolvedAt`: the alert has an end at or before `now`.
    pub fn resolved_at(&self, now: OffsetDateTime) -> bool {
        self.ends_at <= now
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
        if res.resolved_at(now) {
            if old.resolved_at(now) && old.ends_at > res.ends_at {
                res.ends_at = old.ends_at;
            }
        } else if old.ends_at > res.ends_at && !old.timeout {
            res.ends_at = old.ends_at;
            res.timeout = false;
        }
        res
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
            generator_url: String::new(),
            updated_at: upd,
        }
    }

    #[test]
    fn labels_sorted_and_last_duplicate_wins() {
        let l = Labels::from_pairs([("b", "1"), ("a", "2"), ("b", "3")]);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![("a", "2"), ("b", "3")]);
        assert_eq!(l.get("b"), Some("3"));
        assert_eq!(l.get("c"), None);
        assert_eq!(l.to_string(), r#"{a="2", b="3"}"#);
    }

    #[test]
    fn common_labels() {
        let a = Labels::from_pairs([("x", "1"), ("y", "2")]);
        let b = Labels::from_pairs([("x", "1"), ("y", "3")]);
        assert_eq!(
            Labels::common([&a, &b].into_iter()),
            Labels::from_pairs([("x", "1")])
        );
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
