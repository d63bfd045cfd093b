//! The operator API (read side, Alertmanager API v2 shapes), apart from the ingest data plane.

use serde::Serialize;
use time::OffsetDateTime;

use crate::app::AppState;
use crate::model::{Fingerprint, Labels};
use crate::notify::payload::go_time;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GettableAlert {
    labels: Labels,
    annotations: Labels,
    #[serde(serialize_with = "go_time")]
    starts_at: OffsetDateTime,
    #[serde(serialize_with = "go_time")]
    ends_at: OffsetDateTime,
    #[serde(serialize_with = "go_time")]
    updated_at: OffsetDateTime,
    #[serde(rename = "generatorURL")]
    generator_url: String,
    fingerprint: Fingerprint,
    status: AlertState,
    receivers: Vec<ReceiverRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertState {
    state: &'static str,
    silenced_by: Vec<String>,
    inhibited_by: Vec<String>,
}

#[derive(Serialize)]
struct ReceiverRef {
    name: String,
}

/// `GET /api/v2/alerts`: the alerts that have not resolved, sorted by fingerprint.
pub fn alerts(state: &AppState) -> Vec<GettableAlert> {
    let now = OffsetDateTime::now_utc();
    let mut out: Vec<GettableAlert> = state
        .cache
        .snapshot()
        .into_iter()
        .filter(|a| !a.resolved_at(now))
        .map(|a| {
            let receivers = state
                .routes
                .matching(&a.labels)
                .into_iter()
                .map(|id| ReceiverRef {
                    name: state.routes.get(id).config.receiver.clone(),
                })
                .collect();
            GettableAlert {
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: a.starts_at,
                ends_at: a.ends_at,
                updated_at: a.updated_at,
                generator_url: a.generator_url.clone(),
                fingerprint: a.fingerprint,
                status: AlertState {
                    state: "active",
                    silenced_by: Vec::new(),
                    inhibited_by: Vec::new(),
                },
                receivers,
            }
        })
        .collect();
    out.sort_by_key(|a| a.fingerprint);
    out
}
