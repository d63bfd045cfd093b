//! The due group the benches route through a plugin: `alerts`, all firing, first told, under
//! the first route of `routes`.

use campanile::group::{FlushedAlert, GroupFlush, Reason};
use campanile::model::{AlertStatus, SharedAlert};
use campanile::route::RouteTable;
use time::OffsetDateTime;

pub fn firing(routes: &RouteTable, alerts: &[SharedAlert], now: OffsetDateTime) -> GroupFlush {
    let route = routes.get(0).clone();
    let flushed: Vec<FlushedAlert> = alerts
        .iter()
        .map(|a| FlushedAlert {
            alert: a.clone(),
            status: AlertStatus::Firing,
        })
        .collect();
    GroupFlush {
        key: "{}:{alertname=\"HighRequestLatency\"}".into(),
        group_labels: route.group_labels(&alerts[0].labels),
        route,
        record: GroupFlush::record_of(&flushed, now),
        alerts: flushed,
        reason: Reason::First,
        at: now,
        history: Vec::new(),
        acknowledged: None,
        lease: None,
    }
}
