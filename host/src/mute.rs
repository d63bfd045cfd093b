//! The mute stage: whether an alert is kept out of notifications right now, by inhibition or
//! by a silence — Alertmanager's `Muter`s, in Alertmanager's order (inhibition, then
//! silences), behind one check.
//!
//! It runs when a group is flushed, before the group's dedup rule (see
//! [`crate::group::AggrGroup::flush_muted`]), because in Alertmanager the mute stages come
//! before the dedup stage: a muted alert is neither notified nor recorded as notified, so it is
//! told as soon as its mute ends rather than at the next repeat interval. The operator API asks
//! the same stage for an alert's `silencedBy` and `inhibitedBy`.
//!
//! Time intervals ([`crate::model::time_interval`]) mute a whole route rather than alerts; the
//! dispatcher checks them at the same point, so they follow the same rule.

use std::sync::{Arc, RwLock};

use time::OffsetDateTime;

use crate::inhibit::Inhibitor;
use crate::model::{Alert, Labels, SharedAlert};
use crate::silence::Silences;

/// Something that can mute alerts by their labels (Alertmanager's `Muter` interface).
pub trait Muter: Send + Sync {
    /// Whether an alert with `labels` is muted at `now`.
    fn mutes(&self, labels: &Labels, now: OffsetDateTime) -> bool;
}

impl Muter for Silences {
    fn mutes(&self, labels: &Labels, now: OffsetDateTime) -> bool {
        self.is_silenced(labels, now)
    }
}

impl Muter for Inhibitor {
    fn mutes(&self, labels: &Labels, now: OffsetDateTime) -> bool {
        self.inhibited_by(labels, now).is_some()
    }
}

/// Why an alert is muted, for the API (`status.silencedBy`, `status.inhibitedBy`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MuteStatus {
    /// Ids of the active silences that match the alert.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the alerts that inhibit it.
    pub inhibited_by: Vec<String>,
}

impl MuteStatus {
    pub fn is_muted(&self) -> bool {
        !self.silenced_by.is_empty() || !self.inhibited_by.is_empty()
    }
}

pub struct MuteStage {
    /// The inhibition rules in force; a reload replaces them (see [`MuteStage::replace_inhibitor`]).
    inhibitor: RwLock<Arc<Inhibitor>>,
    pub silences: Arc<Silences>,
}

impl MuteStage {
    pub fn new(inhibitor: Arc<Inhibitor>, silences: Arc<Silences>) -> MuteStage {
        MuteStage {
            inhibitor: RwLock::new(inhibitor),
            silences,
        }
    }

    /// The inhibition rules in force.
    pub fn inhibitor(&self) -> Arc<Inhibitor> {
        self.inhibitor.read().expect("inhibitor lock").clone()
    }

    /// Puts reloaded inhibition rules in force. The dispatcher calls it once it has told them
    /// of every alert it holds, so no inhibition lapses in between.
    pub fn replace_inhibitor(&self, inhibitor: Arc<Inhibitor>) {
        *self.inhibitor.write().expect("inhibitor lock") = inhibitor;
    }

    /// Takes note of an alert as it is filed (the inhibitor's sources).
    pub fn observe(&self, alert: &SharedAlert, now: OffsetDateTime) {
        self.inhibitor().observe(alert, now);
    }

    /// Whether `alert` is kept out of notifications at `now`.
    pub fn mutes(&self, alert: &Alert, now: OffsetDateTime) -> bool {
        let inhibitor = self.inhibitor();
        let muters: [&dyn Muter; 2] = [&*inhibitor, &*self.silences];
        muters.iter().any(|m| m.mutes(&alert.labels, now))
    }

    /// The mute stage as it is at `now`, to ask about many alerts (a listing) with the rules
    /// looked up once.
    pub fn at(&self, now: OffsetDateTime) -> MuteAt<'_> {
        MuteAt {
            inhibitor: self.inhibitor(),
            silences: &self.silences,
            now,
        }
    }
}

/// [`MuteStage::at`]: the inhibition rules in force and the silences, at one instant.
pub struct MuteAt<'a> {
    inhibitor: Arc<Inhibitor>,
    silences: &'a Silences,
    now: OffsetDateTime,
}

impl MuteAt<'_> {
    /// Every reason an alert with `labels` is muted.
    pub fn status(&self, labels: &Labels) -> MuteStatus {
        MuteStatus {
            silenced_by: self.silences.silenced_by(labels, self.now),
            inhibited_by: self
                .inhibitor
                .inhibited_by(labels, self.now)
                .map(|fp| fp.to_string())
                .into_iter()
                .collect(),
        }
    }
}
