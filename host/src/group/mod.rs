//! Grouping: alerts are gathered into aggregation groups per route and group-by labels, and
//! each group decides when it is due (group_wait, group_interval, repeat_interval) and why,
//! with Alertmanager's rules. A due group leaves this module as a [`GroupFlush`].

mod aggregation;
mod dispatcher;

use std::sync::Arc;

use time::OffsetDateTime;

pub use aggregation::AggrGroup;
pub use dispatcher::Dispatcher;

use crate::model::{AlertStatus, Labels, SharedAlert};
use crate::route::Route;
use crate::store::NotifiedRecord;

/// Why a group is notified now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    First,
    NewAlerts,
    SomeResolved,
    AllResolved,
    Repeat,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::First => "first",
            Reason::NewAlerts => "new_alerts",
            Reason::SomeResolved => "some_resolved",
            Reason::AllResolved => "all_resolved",
            Reason::Repeat => "repeat",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        [
            Reason::First,
            Reason::NewAlerts,
            Reason::SomeResolved,
            Reason::AllResolved,
            Reason::Repeat,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// An alert as of the flush: its status is fixed at that instant, so it does not change while
/// the notification is on its way.
#[derive(Clone, Debug)]
pub struct FlushedAlert {
    pub alert: SharedAlert,
    pub status: AlertStatus,
}

/// A group that is due: what the routing stage works on.
#[derive(Clone, Debug)]
pub struct GroupFlush {
    pub key: Arc<str>,
    pub route: Arc<Route>,
    pub group_labels: Labels,
    /// Firing alerts first, then resolved; each by start time.
    pub alerts: Vec<FlushedAlert>,
    pub reason: Reason,
    pub at: OffsetDateTime,
}

impl GroupFlush {
    /// What this flush notifies, as the notification log records it.
    pub fn notified_record(&self) -> NotifiedRecord {
        let mut record = NotifiedRecord {
            firing: Vec::new(),
            resolved: Vec::new(),
            at: self.at,
        };
        for a in &self.alerts {
            match a.status {
                AlertStatus::Firing => record.firing.push(a.alert.fingerprint.0),
                AlertStatus::Resolved => record.resolved.push(a.alert.fingerprint.0),
            }
        }
        record
    }

    pub fn common_labels(&self) -> Labels {
        Labels::common(self.alerts.iter().map(|a| &a.alert.labels))
    }

    pub fn common_annotations(&self) -> Labels {
        Labels::common(self.alerts.iter().map(|a| &a.alert.annotations))
    }

    pub fn firing_count(&self) -> usize {
        self.alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Firing)
            .count()
    }

    /// `firing` if any alert fires, else `resolved` (Alertmanager's group status).
    pub fn status(&self) -> AlertStatus {
        if self.firing_count() > 0 {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        }
    }
}
