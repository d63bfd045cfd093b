//! What is written to disk, kept apart from the in-memory model so either can change with a
//! conversion rather than a migration of the other. Encoded as JSON: readable with any tool
//! when debugging at 3 a.m., and small next to the cost of an fsync.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::{Alert, Fingerprint, Labels};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredAlert {
    pub labels: Labels,
    pub annotations: Labels,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub timeout: bool,
    pub generator_url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<&Alert> for StoredAlert {
    fn from(a: &Alert) -> Self {
        StoredAlert {
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            starts_at: a.starts_at,
            ends_at: a.end(),
            timeout: a.timeout,
            generator_url: a.generator_url.to_string(),
            updated_at: a.updated_at,
        }
    }
}

impl From<StoredAlert> for Alert {
    fn from(s: StoredAlert) -> Self {
        Alert {
            fingerprint: Fingerprint::of(&s.labels),
            labels: s.labels,
            annotations: s.annotations,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            timeout: s.timeout,
            generator_url: s.generator_url.into(),
            updated_at: s.updated_at,
            extension: Default::default(),
        }
    }
}

/// What a group last notified (Alertmanager's notification log entry), by group key, with
/// what routing plugins see of the group's past: the notifications sent and a pending wake-up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NotifiedRecord {
    pub firing: Vec<u64>,
    pub resolved: Vec<u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Notifications sent, oldest first, at most [`SENT_HISTORY`].
    #[serde(default)]
    pub sent: Vec<SentRecord>,
    /// When the routing plugin asked to be called again (`wake-after`).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub wake_at: Option<OffsetDateTime>,
}

/// How many past notifications a group remembers for its routing plugin.
pub const SENT_HISTORY: usize = 64;

/// One notification a group was sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SentRecord {
    pub receiver: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Appends `new` to `history`, keeping the most recent [`SENT_HISTORY`].
pub fn extend_history(history: &mut Vec<SentRecord>, new: impl IntoIterator<Item = SentRecord>) {
    history.extend(new);
    if history.len() > SENT_HISTORY {
        history.drain(..history.len() - SENT_HISTORY);
    }
}

/// A notification accepted for delivery and not yet finished with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutboxEntry {
    pub receiver: String,
    pub group_key: String,
    pub route: String,
    pub group_labels: Labels,
    /// Each alert as it was at the flush, with whether it was firing then.
    pub alerts: Vec<(StoredAlert, bool)>,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub title: Option<String>,
    pub body: Option<String>,
    pub severity: Option<String>,
    /// When its first attempt was made, once a retry is scheduled: the receiver's `retry_for`
    /// counts from it, after a restart too. Absent in entries written before it existed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub first_attempt_at: Option<OffsetDateTime>,
    /// The earliest time of its next attempt (a retry's backoff or `Retry-After`), honoured
    /// after a restart.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub not_before: Option<OffsetDateTime>,
}

/// An operator's silence (Alertmanager's), by its id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredSilence {
    pub id: String,
    pub matchers: Vec<StoredMatcher>,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub created_by: String,
    pub comment: String,
}

/// One matcher of a silence, as Alertmanager's API writes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredMatcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    pub is_equal: bool,
}

/// An acknowledgement of a group, by group key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredAck {
    pub by: String,
    pub comment: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// One value of a routing plugin's state, by plugin and key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredState {
    pub value: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// A record as stored, by every backend: JSON.
pub(super) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("records serialise")
}

/// A stored record read back; an error leaves the record out of the snapshot.
pub(super) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    serde_json::from_slice(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An outbox entry as campanile 0.3.0 wrote it, before retries had a schedule.
    const OLD_OUTBOX_ENTRY: &str = r#"{"receiver":"hook","group_key":"{}:{alertname=\"A\"}","route":"root","group_labels":{"alertname":"A"},"alerts":[],"reason":"new","at":"2026-01-01T00:00:00Z","title":null,"body":null,"severity":null}"#;

    #[test]
    fn outbox_entries_without_a_schedule_still_load() {
        let e: OutboxEntry = serde_json::from_str(OLD_OUTBOX_ENTRY).unwrap();
        assert_eq!((e.first_attempt_at, e.not_before), (None, None));
        // Written again without a schedule, it is what it was.
        assert_eq!(serde_json::to_string(&e).unwrap(), OLD_OUTBOX_ENTRY);
    }

    #[test]
    fn an_outbox_schedule_round_trips() {
        let mut e: OutboxEntry = serde_json::from_str(OLD_OUTBOX_ENTRY).unwrap();
        e.first_attempt_at = Some(time::macros::datetime!(2026-01-01 00:00:01.25 UTC));
        e.not_before = Some(time::macros::datetime!(2026-01-01 00:00:04.5 UTC));
        let text = serde_json::to_string(&e).unwrap();
        assert!(
            text.contains(r#""not_before":"2026-01-01T00:00:04.5Z""#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<OutboxEntry>(&text).unwrap(), e);
    }
}
