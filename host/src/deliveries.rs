//! The delivery log: what became of each group's notifications — per receiver, the outcome
//! (`sent`, `failed`, or `retrying` while it still is), the attempts made and the last error —
//! and each receiver's last error. In memory, like the decision log beside it (the most
//! recent [`PER_GROUP`] deliveries of up to [`MAX_GROUPS`] groups), and served by
//! `GET /api/v1/groups/deliveries?group_key=...` and `GET /api/v1/receivers`, so an operator
//! can see who was told and what went wrong without reading logs. Errors are the notifiers'
//! own, which never carry a request URL and have secrets scrubbed (`notify/http.rs`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use moka::sync::Cache;
use serde::Serialize;
use time::OffsetDateTime;

use crate::model::go_time;

/// Deliveries kept per group.
pub const PER_GROUP: usize = 20;
/// Groups whose deliveries are kept; the least recently notified are forgotten first.
pub const MAX_GROUPS: u64 = 10_000;

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// An attempt failed and another is scheduled.
    Retrying,
    Sent,
    /// Failed for good: not retryable, or out of `retry_for`.
    Failed,
}

/// One notification to one receiver, as it stands.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Delivery {
    /// When it last changed.
    #[serde(serialize_with = "go_time")]
    pub at: OffsetDateTime,
    pub receiver: String,
    pub integration: &'static str,
    /// Why the group was due (`first`, `changed`, `repeat`, …).
    pub reason: &'static str,
    pub alerts: usize,
    pub outcome: Outcome,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// A receiver's most recent failed attempt.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LastError {
    #[serde(serialize_with = "go_time")]
    pub at: OffsetDateTime,
    pub error: String,
}

/// One group's deliveries, each under the number [`Deliveries::start`] gave it.
type GroupLog = Arc<Mutex<VecDeque<(u64, Delivery)>>>;

/// The delivery log of every group, and every receiver's last error.
pub struct Deliveries {
    groups: Cache<String, GroupLog>,
    last_errors: RwLock<HashMap<String, LastError>>,
    next: AtomicU64,
}

impl Default for Deliveries {
    fn default() -> Self {
        Deliveries {
            groups: Cache::new(MAX_GROUPS),
            last_errors: RwLock::default(),
            next: AtomicU64::new(0),
        }
    }
}

impl Deliveries {
    /// A number naming one delivery across its updates.
    pub fn start(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Records where delivery `id` of the group stands now (replacing what it said before).
    pub fn record(&self, group_key: &str, id: u64, delivery: Delivery) {
        if let (Outcome::Retrying | Outcome::Failed, Some(error)) =
            (delivery.outcome, &delivery.last_error)
        {
            self.last_errors.write().expect("last errors lock").insert(
                delivery.receiver.clone(),
                LastError {
                    at: delivery.at,
                    error: error.clone(),
                },
            );
        }
        let log = self
            .groups
            .get_with(group_key.to_string(), Default::default);
        let mut log = log.lock().expect("delivery log lock");
        if let Some(entry) = log.iter_mut().find(|(i, _)| *i == id) {
            entry.1 = delivery;
            return;
        }
        if log.len() == PER_GROUP {
            log.pop_front();
        }
        log.push_back((id, delivery));
    }

    /// The group's deliveries, oldest first.
    pub fn of(&self, group_key: &str) -> Vec<Delivery> {
        self.groups
            .get(group_key)
            .map(|log| {
                let log = log.lock().expect("delivery log lock");
                log.iter().map(|(_, d)| d.clone()).collect()
            })
            .unwrap_or_default()
    }

    /// The receiver's most recent failed attempt, if any.
    pub fn last_error(&self, receiver: &str) -> Option<LastError> {
        self.last_errors
            .read()
            .expect("last errors lock")
            .get(receiver)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(outcome: Outcome, attempts: u32, error: Option<&str>) -> Delivery {
        Delivery {
            at: OffsetDateTime::UNIX_EPOCH,
            receiver: "hook".into(),
            integration: "webhook",
            reason: "first",
            alerts: 1,
            outcome,
            attempts,
            last_error: error.map(str::to_string),
        }
    }

    #[test]
    fn a_delivery_is_updated_in_place_and_its_error_kept_for_the_receiver() {
        let log = Deliveries::default();
        let id = log.start();
        log.record(
            "g",
            id,
            delivery(Outcome::Retrying, 1, Some("answered 503")),
        );
        assert_eq!(log.last_error("hook").unwrap().error, "answered 503");
        log.record("g", id, delivery(Outcome::Sent, 2, Some("answered 503")));
        let other = log.start();
        log.record("g", other, delivery(Outcome::Sent, 1, None));
        let seen = log.of("g");
        assert_eq!(seen.len(), 2);
        assert_eq!((seen[0].outcome, seen[0].attempts), (Outcome::Sent, 2));
        assert_eq!(log.last_error("hook").unwrap().error, "answered 503");
        assert!(log.last_error("other").is_none());
        assert!(log.of("h").is_empty());
    }

    #[test]
    fn keeps_the_most_recent_per_group() {
        let log = Deliveries::default();
        for n in 0..(PER_GROUP as u32 + 5) {
            let id = log.start();
            log.record("g", id, delivery(Outcome::Sent, n, None));
        }
        let seen = log.of("g");
        assert_eq!(seen.len(), PER_GROUP);
        assert_eq!(seen[0].attempts, 5);
    }
}
