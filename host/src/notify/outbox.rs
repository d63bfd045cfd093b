//! A notification as its outbox entry keeps it: written by the pipeline when it queues one, and
//! again by the receiver's worker each time it schedules a retry (with the [`Schedule`]), so a
//! restart delivers the same notification no sooner than it was asked to, within the same
//! `retry_for` deadline. The pipeline's replay reads the entry back.

use super::{Overrides, Schedule};
use crate::group::GroupFlush;
use crate::model::AlertStatus;
use crate::store::OutboxEntry;

/// The outbox entry of `flush` for `receiver`, with the plugin's overrides.
pub fn entry(
    flush: &GroupFlush,
    receiver: &str,
    overrides: &Overrides,
    schedule: Schedule,
) -> OutboxEntry {
    OutboxEntry {
        receiver: receiver.to_string(),
        group_key: flush.key.to_string(),
        route: flush.route.config.name.clone(),
        group_labels: flush.group_labels.clone(),
        alerts: flush
            .alerts
            .iter()
            .map(|a| ((&*a.alert).into(), a.status == AlertStatus::Firing))
            .collect(),
        reason: flush.reason.as_str().to_string(),
        at: flush.at,
        title: overrides.title.clone(),
        body: overrides.body.clone(),
        severity: overrides.severity.map(|s| s.as_str().to_string()),
        first_attempt_at: schedule.first_attempt_at,
        not_before: schedule.not_before,
    }
}

/// Where the deliveries of `entry` stood when it was last written.
pub fn schedule(entry: &OutboxEntry) -> Schedule {
    Schedule {
        first_attempt_at: entry.first_attempt_at,
        not_before: entry.not_before,
    }
}
