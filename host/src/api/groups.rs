//! `GET /api/v2/alerts/groups`: the live alerts gathered as the dispatcher groups them (per
//! route and group-by labels), in Alertmanager's `alertGroup` shape, filtered like
//! `GET /api/v2/alerts`. Each group also carries campanile's `groupKey` (what acknowledgements
//! name) and, when acknowledged, its `acknowledgement`; Alertmanager clients ignore both.

use std::collections::BTreeMap;

use hyper::{Response, StatusCode};
use serde::Serialize;
use time::OffsetDateTime;

use super::alerts::{gettable, receivers_of, AlertFilter, GettableAlert, ReceiverRef};
use super::{v2_error, Query};
use crate::ack::Ack;
use crate::http::respond::{json, Body};
use crate::model::Labels;
use crate::state::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertGroup<'a> {
    labels: Labels,
    receiver: ReceiverRef<'a>,
    alerts: Vec<GettableAlert<'a>>,
    group_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    acknowledgement: Option<Ack>,
}

pub(crate) fn get(state: &AppState, query: &Query) -> Response<Body> {
    let filter = match AlertFilter::from_query(query) {
        Ok(f) => f,
        Err(e) => return v2_error(StatusCode::BAD_REQUEST, e),
    };
    let now = OffsetDateTime::now_utc();
    let routes = state.routes();
    let mute = state.mute.at(now);
    let mut alerts = state.cache.snapshot();
    alerts.retain(|a| filter.wants_alert(a, now));
    alerts.sort_unstable_by_key(|a| a.fingerprint);
    let mut groups: BTreeMap<String, AlertGroup> = BTreeMap::new();
    for alert in &alerts {
        let status = mute.status(&alert.labels);
        if !filter.wants_status(&status) {
            continue;
        }
        let receivers = receivers_of(&routes, &alert.labels);
        for id in routes.matching(&alert.labels) {
            let route = routes.get(id);
            if !filter.wants_receiver(&route.config.receiver) {
                continue;
            }
            let labels = route.group_labels(&alert.labels);
            let key = route.group_key(&labels);
            let group = groups.entry(key.clone()).or_insert_with(|| AlertGroup {
                labels,
                receiver: ReceiverRef {
                    name: &route.config.receiver,
                },
                alerts: Vec::new(),
                acknowledgement: state.acks.get(&key),
                group_key: key,
            });
            group
                .alerts
                .push(gettable(alert, status.clone(), receivers.clone()));
        }
    }
    // Each group's alerts are in fingerprint order, as they were taken.
    let mut out: Vec<AlertGroup> = groups.into_values().collect();
    // Alertmanager's order: by group labels, then receiver.
    out.sort_by(|a, b| (&a.labels, a.receiver.name).cmp(&(&b.labels, b.receiver.name)));
    json(StatusCode::OK, &out)
}
