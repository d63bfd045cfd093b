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
            ends_at: a.ends_at,
            timeout: a.timeout,
            generator_url: a.generator_url.clone(),
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
            generator_url: s.generator_url,
            updated_at: s.updated_at,
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
