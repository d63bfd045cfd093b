//! Acknowledgements: an operator says "I have this group" — who, when, and an optional comment.
//! Alertmanager has no such thing; campanile keeps one per group key, durably, until it is
//! withdrawn or the group resolves (no firing alert left), whichever comes first.
//!
//! An acknowledgement does not mute: notifications still follow the routing rules. It is state
//! for people and, once the plugin platform exposes it, for routing plugins (to stop escalating).
//!
//! Operators acknowledge through the API (`api/acks.rs`, bearer token) or by a signed link sent
//! in notifications ([`link`]).

pub mod link;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, RwLock};

use serde::Serialize;
use time::OffsetDateTime;

use crate::model::go_time;
use crate::store::{Op, Store, StoreError, StoredAck};

#[derive(Debug, thiserror::Error)]
pub enum AckError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One acknowledgement of a group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ack {
    pub group_key: String,
    pub by: String,
    pub comment: String,
    #[serde(serialize_with = "go_time")]
    pub at: OffsetDateTime,
}

/// Every acknowledgement, by group key.
pub struct Acks {
    live: RwLock<BTreeMap<String, Ack>>,
    /// One change at a time: made durable, then visible.
    writer: tokio::sync::Mutex<()>,
    store: Arc<Store>,
}

impl Acks {
    pub fn new(store: Arc<Store>, stored: Vec<(String, StoredAck)>) -> Acks {
        let live = stored
            .into_iter()
            .map(|(group_key, a)| {
                let ack = Ack {
                    group_key: group_key.clone(),
                    by: a.by,
                    comment: a.comment,
                    at: a.at,
                };
                (group_key, ack)
            })
            .collect();
        Acks {
            live: RwLock::new(live),
            writer: tokio::sync::Mutex::new(()),
            store,
        }
    }

    /// Acknowledges the group `group_key` (replacing an earlier acknowledgement of it).
    pub async fn ack(
        &self,
        group_key: &str,
        by: &str,
        comment: &str,
        now: OffsetDateTime,
    ) -> Result<Ack, AckError> {
        if by.trim().is_empty() {
            return Err(AckError::Invalid(
                "by: who acknowledges must be given".into(),
            ));
        }
        let ack = Ack {
            group_key: group_key.to_string(),
            by: by.to_string(),
            comment: comment.to_string(),
            at: now,
        };
        let _writer = self.writer.lock().await;
        let stored = StoredAck {
            by: ack.by.clone(),
            comment: ack.comment.clone(),
            at: ack.at,
        };
        self.store
            .commit_before_visible(vec![Op::PutAck(group_key.to_string(), stored)])
            .await?;
        self.live
            .write()
            .expect("acks lock")
            .insert(group_key.to_string(), ack.clone());
        Ok(ack)
    }

    /// Withdraws the acknowledgement of `group_key`; returns it, or `None` if there was none.
    pub async fn unack(&self, group_key: &str) -> Result<Option<Ack>, AckError> {
        let _writer = self.writer.lock().await;
        if self.get(group_key).is_none() {
            return Ok(None);
        }
        self.store
            .commit_before_visible(vec![Op::DeleteAck(group_key.to_string())])
            .await?;
        Ok(self.live.write().expect("acks lock").remove(group_key))
    }

    /// Takes in acknowledgements another replica changed (`cluster::sync`): `fetch` reads them as
    /// committed now (`None`: withdrawn or cleared), and each replaces the one held, or removes
    /// it — in memory only, as the store has them. `fetch` runs while no change of this
    /// replica's is under way (see `Silences::refresh`). Returns how many were taken in.
    pub async fn refresh<E, Fut>(&self, fetch: impl FnOnce() -> Fut) -> Result<usize, E>
    where
        Fut: std::future::Future<Output = Result<Vec<(String, Option<StoredAck>)>, E>>,
    {
        let _writer = self.writer.lock().await;
        let committed = fetch().await?;
        let count = committed.len();
        let mut live = self.live.write().expect("acks lock");
        for (group_key, stored) in committed {
            match stored {
                Some(a) => {
                    let ack = Ack {
                        group_key: group_key.clone(),
                        by: a.by,
                        comment: a.comment,
                        at: a.at,
                    };
                    live.insert(group_key, ack);
                }
                None => {
                    live.remove(&group_key);
                }
            }
        }
        Ok(count)
    }

    pub fn get(&self, group_key: &str) -> Option<Ack> {
        self.live.read().expect("acks lock").get(group_key).cloned()
    }

    /// Every acknowledgement, by group key.
    pub fn list(&self) -> Vec<Ack> {
        self.live
            .read()
            .expect("acks lock")
            .values()
            .cloned()
            .collect()
    }

    /// Clears the acknowledgements of groups that have resolved: those not in `firing` (the
    /// keys of groups with a firing alert). Returns the cleared ones.
    pub fn clear_resolved(&self, firing: &HashSet<String>) -> Vec<Ack> {
        let mut live = self.live.write().expect("acks lock");
        if live.is_empty() {
            return Vec::new();
        }
        let gone: Vec<String> = live
            .keys()
            .filter(|k| !firing.contains(*k))
            .cloned()
            .collect();
        let cleared: Vec<Ack> = gone.iter().filter_map(|k| live.remove(k)).collect();
        drop(live);
        self.store
            .submit(gone.into_iter().map(Op::DeleteAck).collect());
        for ack in &cleared {
            tracing::info!(group_key = %ack.group_key, by = %ack.by, "group resolved; acknowledgement cleared");
        }
        cleared
    }

    pub fn is_empty(&self) -> bool {
        self.live.read().expect("acks lock").is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ack_unack_and_clear_when_resolved() {
        let acks = Acks::new(Arc::new(Store::in_memory()), Vec::new());
        let now = OffsetDateTime::now_utc();
        assert!(
            acks.ack("g1", " ", "", now).await.is_err(),
            "who is required"
        );
        acks.ack("g1", "alice", "on it", now).await.unwrap();
        acks.ack("g2", "bob", "", now).await.unwrap();
        assert_eq!(acks.get("g1").unwrap().by, "alice");

        assert_eq!(acks.unack("g2").await.unwrap().unwrap().by, "bob");
        assert_eq!(acks.unack("g2").await.unwrap(), None);

        let firing: HashSet<String> = ["g1".to_string()].into();
        assert!(acks.clear_resolved(&firing).is_empty());
        assert_eq!(acks.clear_resolved(&HashSet::new()).len(), 1);
        assert!(acks.is_empty());
    }
}
