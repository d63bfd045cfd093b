//! Silences, with Alertmanager's semantics: matchers with `=`, `!=`, `=~`, `!~`; a time window
//! (pending → active → expired); update in place when history is kept, otherwise expire and
//! re-create; expired silences kept for a retention period, then forgotten.
//!
//! [`Silences`] is the registry: the API writes it (each change durable before it answers), and
//! the mute stage reads it (see `crate::mute`). `model` is one silence and its rules; `index`
//! the set in memory, with the index that finds an alert's silences without checking them all.

mod index;
mod model;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use time::OffsetDateTime;

use index::SilenceSet;
pub use model::{Silence, SilenceMatcher, SilenceState};

use crate::model::Labels;
use crate::store::{Op, Store, StoreError, StoredSilence};

/// How long an expired silence is kept (Alertmanager's `--data.retention` default).
pub const RETENTION: Duration = Duration::from_secs(120 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    #[error("silence not found")]
    NotFound,
    #[error("silence invalid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A silence as an operator posts it: with the id of the silence it replaces, if any.
#[derive(Debug)]
pub struct NewSilence {
    pub id: Option<String>,
    pub matchers: Vec<SilenceMatcher>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub created_by: String,
    pub comment: String,
}

/// Every silence, by id.
pub struct Silences {
    live: RwLock<SilenceSet>,
    /// One change at a time: a change is decided, made durable, then applied.
    writer: tokio::sync::Mutex<()>,
    store: Arc<Store>,
}

impl Silences {
    /// The registry, holding what the store had. A stored silence that no longer compiles is
    /// logged and left out.
    pub fn new(store: Arc<Store>, stored: Vec<StoredSilence>) -> Silences {
        let mut live = SilenceSet::default();
        for s in stored {
            let id = s.id.clone();
            match Silence::try_from(s) {
                Ok(s) => live.insert(s),
                Err(e) => tracing::error!(silence = %id, "stored silence left out: {e}"),
            }
        }
        Silences {
            live: RwLock::new(live),
            writer: tokio::sync::Mutex::new(()),
            store,
        }
    }

    /// Creates a silence, or changes the one named by `new.id` (Alertmanager's `Set`): in place
    /// if the change keeps history, else by expiring it and creating a new one. Returns the id.
    pub async fn set(&self, new: NewSilence, now: OffsetDateTime) -> Result<String, SilenceError> {
        // The API's own checks, before the silence's.
        if new.starts_at >= new.ends_at {
            return Err(SilenceError::Invalid(
                "start time must be before end time".into(),
            ));
        }
        if new.ends_at < now {
            return Err(SilenceError::Invalid(
                "end time can't be in the past".into(),
            ));
        }
        // Alertmanager keeps a silence until `endsAt` + retention and refuses one whose
        // expiry would pass the last representable time (10000-01-01); so does campanile.
        if crate::clock::checked_after(new.ends_at, RETENTION).is_none() {
            return Err(SilenceError::Invalid(format!(
                "end time is too far in the future: a silence is kept {} after it ends, which must \
                 be before 10000-01-01",
                humantime::format_duration(RETENTION)
            )));
        }
        let _writer = self.writer.lock().await;
        let mut silence = Silence {
            id: new.id.clone().unwrap_or_default(),
            matchers: new.matchers,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            updated_at: now,
            created_by: new.created_by,
            comment: new.comment,
        };
        let mut changes = Vec::with_capacity(2);
        if let Some(id) = &new.id {
            let previous = self.get(id).ok_or(SilenceError::NotFound)?;
            if previous.can_update_to(&silence, now) {
                silence.validate()?;
                self.apply(vec![silence]).await?;
                return Ok(id.clone());
            }
            if previous.state_at(now) != SilenceState::Expired {
                changes.push(previous.expired_at(now));
            }
        }
        silence.id = uuid::Uuid::new_v4().to_string();
        silence.starts_at = silence.starts_at.max(now);
        silence.validate()?;
        let id = silence.id.clone();
        changes.push(silence);
        self.apply(changes).await?;
        Ok(id)
    }

    /// Ends a silence now; expiring an expired silence is no change.
    pub async fn expire(&self, id: &str, now: OffsetDateTime) -> Result<(), SilenceError> {
        let _writer = self.writer.lock().await;
        let silence = self.get(id).ok_or(SilenceError::NotFound)?;
        if silence.state_at(now) == SilenceState::Expired {
            return Ok(());
        }
        self.apply(vec![silence.expired_at(now)]).await
    }

    /// Makes the changes durable, then visible.
    async fn apply(&self, changes: Vec<Silence>) -> Result<(), SilenceError> {
        let ops = changes
            .iter()
            .map(|s| Op::PutSilence(Box::new(s.into())))
            .collect();
        self.store.commit_before_visible(ops).await?;
        let mut live = self.live.write().expect("silences lock");
        for s in changes {
            live.insert(s);
        }
        Ok(())
    }

    /// Takes in silences another replica changed (`cluster::sync`): `fetch` reads their records
    /// as committed now (`None`: deleted), and each replaces the one held, or removes it — in
    /// memory only, as the store has them. `fetch` runs while no change of this replica's is under
    /// way (changes take the same lock from decision to visibility), so none can commit after the
    /// read and then be overwritten with the older record read. Returns how many were taken in.
    pub async fn refresh<E, Fut>(&self, fetch: impl FnOnce() -> Fut) -> Result<usize, E>
    where
        Fut: std::future::Future<Output = Result<Vec<(String, Option<StoredSilence>)>, E>>,
    {
        let _writer = self.writer.lock().await;
        let committed = fetch().await?;
        let count = committed.len();
        let mut live = self.live.write().expect("silences lock");
        for (id, stored) in committed {
            match stored.map(Silence::try_from) {
                Some(Ok(s)) => live.insert(s),
                Some(Err(e)) => {
                    tracing::error!(silence = %id, "a silence another replica stored is left out: {e}");
                    live.remove(&id);
                }
                None => {
                    live.remove(&id);
                }
            }
        }
        Ok(count)
    }

    pub fn get(&self, id: &str) -> Option<Silence> {
        self.live.read().expect("silences lock").get(id).cloned()
    }

    /// Every silence, in no particular order.
    pub fn list(&self) -> Vec<Silence> {
        self.live
            .read()
            .expect("silences lock")
            .iter()
            .cloned()
            .collect()
    }

    /// The ids of the active silences that match `labels`, sorted (as Alertmanager sorts
    /// `silencedBy`).
    pub fn silenced_by(&self, labels: &Labels, now: OffsetDateTime) -> Vec<String> {
        self.live
            .read()
            .expect("silences lock")
            .silenced_by(labels, now)
    }

    /// Whether an active silence matches `labels`.
    pub fn is_silenced(&self, labels: &Labels, now: OffsetDateTime) -> bool {
        self.live.read().expect("silences lock").mutes(labels, now)
    }

    /// Forgets silences that ended more than [`RETENTION`] ago, and takes those that have ended
    /// out of the index. Returns how many were forgotten.
    pub fn gc(&self, now: OffsetDateTime) -> usize {
        let mut live = self.live.write().expect("silences lock");
        let gone: Vec<String> = live
            .iter()
            .filter(|s| crate::clock::after(s.ends_at, RETENTION) <= now)
            .map(|s| s.id.clone())
            .collect();
        for id in &gone {
            live.remove(id);
        }
        live.prune(now);
        drop(live);
        let count = gone.len();
        self.store
            .submit(gone.into_iter().map(Op::DeleteSilence).collect());
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Durability, StoreConfig};

    fn new_silence(value: &str, start: OffsetDateTime, end: OffsetDateTime) -> NewSilence {
        NewSilence {
            id: None,
            matchers: vec![SilenceMatcher::new("alertname", value, false, true).unwrap()],
            starts_at: start,
            ends_at: end,
            created_by: "ops".into(),
            comment: "maintenance".into(),
        }
    }

    #[tokio::test]
    async fn create_update_replace_expire() {
        let silences = Silences::new(Arc::new(Store::in_memory()), Vec::new());
        let now = OffsetDateTime::now_utc();
        let hour = time::Duration::hours(1);
        let labels = Labels::from_pairs([("alertname", "A")]);

        let id = silences
            .set(new_silence("A", now - hour, now + hour), now)
            .await
            .unwrap();
        assert_eq!(
            silences.get(&id).unwrap().starts_at,
            now,
            "never starts in the past"
        );
        assert_eq!(silences.silenced_by(&labels, now), vec![id.clone()]);

        // Longer, same matchers and start: same id.
        let mut longer = new_silence("A", now, now + 2 * hour);
        longer.id = Some(id.clone());
        assert_eq!(silences.set(longer, now).await.unwrap(), id);

        // Other matchers: the old one expires, a new one takes over.
        let mut other = new_silence("B", now, now + hour);
        other.id = Some(id.clone());
        let later = now + time::Duration::seconds(1);
        let new_id = silences.set(other, later).await.unwrap();
        assert_ne!(new_id, id);
        let after = later + time::Duration::seconds(1);
        assert_eq!(
            silences.get(&id).unwrap().state_at(after),
            SilenceState::Expired
        );
        assert!(silences.silenced_by(&labels, after).is_empty());

        silences.expire(&new_id, after).await.unwrap();
        let end = after + time::Duration::seconds(1);
        assert_eq!(
            silences.get(&new_id).unwrap().state_at(end),
            SilenceState::Expired
        );
        assert!(matches!(
            silences.expire("nope", end).await,
            Err(SilenceError::NotFound)
        ));

        assert_eq!(
            silences.gc(end + time::Duration::try_from(RETENTION).unwrap()),
            2
        );
        assert!(silences.list().is_empty());
    }

    fn indexed(silences: &Silences) -> usize {
        silences.live.read().unwrap().indexed()
    }

    #[tokio::test]
    async fn the_index_follows_every_change() {
        let silences = Silences::new(Arc::new(Store::in_memory()), Vec::new());
        let now = OffsetDateTime::now_utc();
        let sec = time::Duration::seconds(1);
        let hour = time::Duration::hours(1);
        let a = Labels::from_pairs([("alertname", "A"), ("instance", "h1")]);
        let b = Labels::from_pairs([("alertname", "B"), ("instance", "h1")]);

        let id = silences
            .set(new_silence("A", now, now + hour), now)
            .await
            .unwrap();
        assert_eq!(indexed(&silences), 1);
        assert!(silences.is_silenced(&a, now));

        // Updated in place: still one entry, same id.
        let mut longer = new_silence("A", now, now + 2 * hour);
        longer.id = Some(id.clone());
        assert_eq!(silences.set(longer, now + sec).await.unwrap(), id);
        assert_eq!(indexed(&silences), 1);
        assert_eq!(silences.silenced_by(&a, now + 2 * sec), vec![id.clone()]);

        // Replaced (other matchers): the old one expired, the new one filed under its pair.
        let mut other = new_silence("B", now, now + hour);
        other.id = Some(id.clone());
        let replaced = now + 2 * sec;
        let new_id = silences.set(other, replaced).await.unwrap();
        let t = replaced + sec;
        assert!(silences.silenced_by(&a, t).is_empty());
        assert_eq!(silences.silenced_by(&b, t), vec![new_id.clone()]);
        assert_eq!(indexed(&silences), 2, "the expired one until the next gc");
        assert_eq!(silences.gc(t), 0);
        assert_eq!(
            indexed(&silences),
            1,
            "gc takes ended silences out of the index"
        );
        assert_eq!(
            silences.list().len(),
            2,
            "but keeps them for their retention"
        );

        // Expired: out of the index at the next gc, still listed.
        silences.expire(&new_id, t).await.unwrap();
        assert!(!silences.is_silenced(&b, t + sec));
        silences.gc(t + sec);
        assert_eq!(indexed(&silences), 0);
        assert_eq!(
            silences.get(&new_id).unwrap().state_at(t + sec),
            SilenceState::Expired
        );

        // A new silence after a prune is filed as usual.
        let third = silences
            .set(new_silence("B", t, t + hour), t + sec)
            .await
            .unwrap();
        assert_eq!(indexed(&silences), 1);
        assert_eq!(silences.silenced_by(&b, t + 2 * sec), vec![third.clone()]);

        // At a restart the index is rebuilt from what was stored, ended silences included
        // until the first gc.
        let stored = silences.list().iter().map(StoredSilence::from).collect();
        let restored = Silences::new(Arc::new(Store::in_memory()), stored);
        assert_eq!(indexed(&restored), 3);
        assert_eq!(restored.silenced_by(&b, t + 2 * sec), vec![third.clone()]);
        restored.gc(t + 2 * sec);
        assert_eq!(indexed(&restored), 1);
        assert_eq!(restored.silenced_by(&b, t + 2 * sec), vec![third]);
        assert!(restored.silenced_by(&a, t + 2 * sec).is_empty());

        // Forgotten after the retention: out of both.
        let retention = time::Duration::try_from(RETENTION).unwrap();
        assert_eq!(restored.gc(t + 2 * hour + retention), 3);
        assert_eq!(indexed(&restored), 0);
        assert!(restored.list().is_empty());
    }

    #[tokio::test]
    async fn far_future_ends_are_refused_as_alertmanager_does() {
        let silences = Silences::new(Arc::new(Store::in_memory()), Vec::new());
        let now = OffsetDateTime::now_utc();
        let last = time::macros::datetime!(9999-12-31 23:59:59 UTC);
        // Alertmanager 0.25 answers 400 for an end within its retention of year 10000 …
        let err = silences
            .set(new_silence("A", now, last), now)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SilenceError::Invalid(m) if m.contains("too far in the future")),
            "{err}"
        );
        // … and takes one just before.
        let latest = last - time::Duration::try_from(RETENTION).unwrap();
        let id = silences
            .set(new_silence("A", now, latest), now)
            .await
            .unwrap();
        assert_eq!(silences.gc(now), 0);
        assert!(silences.get(&id).is_some());
        assert_eq!(
            silences.gc(last),
            1,
            "forgotten at the end of its retention, the last second there is"
        );
    }

    #[test]
    fn stored_far_future_silences_are_collected_without_overflow() {
        // Accepted before campanile refused them: the store may hold one.
        let now = OffsetDateTime::now_utc();
        let far = time::macros::datetime!(9999-12-31 23:59:59 UTC);
        let stored = StoredSilence::from(&Silence {
            id: "far".into(),
            matchers: vec![SilenceMatcher::new("alertname", "A", false, true).unwrap()],
            starts_at: now,
            ends_at: far,
            updated_at: now,
            created_by: "ops".into(),
            comment: "forever".into(),
        });
        let silences = Silences::new(Arc::new(Store::in_memory()), vec![stored]);
        assert_eq!(silences.gc(now), 0);
        assert_eq!(silences.gc(far), 0);
        let labels = Labels::from_pairs([("alertname", "A")]);
        assert_eq!(silences.silenced_by(&labels, now), vec!["far".to_string()]);
    }

    #[tokio::test]
    async fn unknown_id_is_not_found() {
        let silences = Silences::new(Arc::new(Store::in_memory()), Vec::new());
        let now = OffsetDateTime::now_utc();
        let mut s = new_silence("A", now, now + time::Duration::hours(1));
        s.id = Some("0b4e6f5c-0000-4000-8000-000000000000".into());
        assert!(matches!(
            silences.set(s, now).await,
            Err(SilenceError::NotFound)
        ));
    }

    #[tokio::test]
    async fn silences_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let config =
            StoreConfig::embedded(dir.path().join("campanile.redb"), Durability::Immediate);
        let now = OffsetDateTime::now_utc();
        let id = {
            let (store, _) = Store::open(&config).unwrap();
            let silences = Silences::new(store.clone(), Vec::new());
            let id = silences
                .set(new_silence("A", now, now + time::Duration::hours(1)), now)
                .await
                .unwrap();
            store.close();
            id
        };
        let (_, snapshot) = Store::open(&config).unwrap();
        let silences = Silences::new(Arc::new(Store::in_memory()), snapshot.silences);
        let s = silences.get(&id).expect("silence reloaded");
        assert_eq!(s.created_by, "ops");
        assert_eq!(s.matchers[0].to_string(), r#"alertname="A""#);
    }
}
