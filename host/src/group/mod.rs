//! Grouping: alerts are gathered into aggregation groups per route and group-by labels, and
//! each group decides when it is due (group_wait, group_interval, repeat_interval) and why,
//! with Alertmanager's rules. A due group leaves this module as a [`GroupFlush`].

mod aggregation;
mod dispatcher;
mod firing;
mod owner;
mod refile;

use std::sync::Arc;

use time::OffsetDateTime;

pub use aggregation::AggrGroup;
pub use dispatcher::Dispatcher;
pub use firing::{DispatcherGone, FiringGroups, FiringQuery};
pub use owner::{FlushLease, Owner, Takeover};
pub use refile::{Reconfigure, Refiled};

use crate::ack::Ack;
use crate::model::{AlertStatus, Labels, SharedAlert};
use crate::route::Route;
use crate::store::{NotifiedRecord, SentRecord};

/// Why a group is notified now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    First,
    NewAlerts,
    SomeResolved,
    AllResolved,
    Repeat,
    /// A wake-up the routing plugin asked for (`wake-after`) is due.
    Wake,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::First => "first",
            Reason::NewAlerts => "new_alerts",
            Reason::SomeResolved => "some_resolved",
            Reason::AllResolved => "all_resolved",
            Reason::Repeat => "repeat",
            Reason::Wake => "wake",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        [
            Reason::First,
            Reason::NewAlerts,
            Reason::SomeResolved,
            Reason::AllResolved,
            Reason::Repeat,
            Reason::Wake,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// What the dispatcher sends the routing stage, in order. `G` is what a reload hands on with
/// its route table (the app's running configuration), so the routing stage handles every flush
/// with the receivers and plugins of the table it was made from.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "nearly every message is a flush, which the channel moved by value before; boxing it would add an allocation per flush"
)]
pub enum Dispatched<G> {
    Flush(GroupFlush),
    /// The flushes after this one come from the route table of this configuration.
    Reconfigured(Arc<G>),
}

/// What the routing stage decided for one flush, told back to the dispatcher so the group
/// remembers it: the notifications sent and the wake-up asked for (which replaces any pending
/// one; `None` cancels it).
#[derive(Debug)]
pub struct Routed {
    pub key: Arc<str>,
    pub sent: Vec<SentRecord>,
    pub wake_at: Option<OffsetDateTime>,
}

/// An alert as of the flush: its status is fixed at that instant, so it does not change while
/// the notification is on its way.
#[derive(Clone, Debug)]
pub struct FlushedAlert {
    pub alert: SharedAlert,
    pub status: AlertStatus,
}

impl FlushedAlert {
    /// The order of a group's alerts everywhere they are shown: firing first, then resolved;
    /// each by start time (then fingerprint, for a stable order).
    pub fn order(&self) -> (bool, time::OffsetDateTime, crate::model::Fingerprint) {
        (
            self.status != AlertStatus::Firing,
            self.alert.starts_at,
            self.alert.fingerprint,
        )
    }
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
    /// The group's notification log entry once this flush is sent: its alerts, except for a
    /// wake-up, which leaves the entry (and so the repeat interval) as it was.
    pub record: NotifiedRecord,
    /// What the group was sent before this flush, oldest first.
    pub history: Vec<SentRecord>,
    /// The acknowledgement in force, filled in by the routing stage.
    pub acknowledged: Option<Ack>,
    /// In a cluster, the lease this flush was made under (see [`Owner`]); alone, `None`.
    pub lease: Option<FlushLease>,
}

impl GroupFlush {
    /// The notification log entry of a flush of `alerts` at `at`.
    pub fn record_of(alerts: &[FlushedAlert], at: OffsetDateTime) -> NotifiedRecord {
        let mut record = NotifiedRecord {
            firing: Vec::new(),
            resolved: Vec::new(),
            at,
            sent: Vec::new(),
            wake_at: None,
        };
        for a in alerts {
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
