//! `GET /api/v2/alerts`: the live alerts in Alertmanager's `gettableAlert` shape, with their
//! mute status, filtered as Alertmanager filters them (`active`, `silenced`, `inhibited`,
//! `receiver`, `filter`).

use hyper::{Response, StatusCode};
use regex::Regex;
use serde::Serialize;
use time::OffsetDateTime;

use super::{v2_error, Query};
use crate::http::respond::{json, Body};
use crate::model::api_time;
use crate::model::matcher::Op;
use crate::model::Matcher;
use crate::model::{Alert, Fingerprint, Labels};
use crate::mute::MuteStatus;
use crate::route::RouteTable;
use crate::state::AppState;

/// One alert of an answer, serialized straight from the alert held (nothing copied but the
/// mute status, which is worked out for the request).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GettableAlert<'a> {
    labels: &'a Labels,
    annotations: &'a Labels,
    #[serde(serialize_with = "api_time")]
    starts_at: OffsetDateTime,
    #[serde(serialize_with = "api_time")]
    ends_at: OffsetDateTime,
    #[serde(serialize_with = "api_time")]
    updated_at: OffsetDateTime,
    /// Left out when empty, as Alertmanager's API does (`omitempty`); its webhook keeps `""`.
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    generator_url: &'a str,
    fingerprint: Fingerprint,
    status: AlertStatus,
    receivers: Vec<ReceiverRef<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertStatus {
    /// `active`, or `suppressed` when silenced or inhibited.
    state: &'static str,
    silenced_by: Vec<String>,
    inhibited_by: Vec<String>,
}

#[derive(Clone, Copy, Serialize)]
pub struct ReceiverRef<'a> {
    pub name: &'a str,
}

/// The API status of a mute status.
fn alert_status(mute: MuteStatus) -> AlertStatus {
    AlertStatus {
        state: if mute.is_muted() {
            "suppressed"
        } else {
            "active"
        },
        silenced_by: mute.silenced_by,
        inhibited_by: mute.inhibited_by,
    }
}

/// Which alerts a request wants (Alertmanager's `alertFilter` and receiver filter).
pub(super) struct AlertFilter {
    active: bool,
    silenced: bool,
    inhibited: bool,
    matchers: Vec<Matcher>,
    receiver: Option<Regex>,
}

impl AlertFilter {
    pub(super) fn from_query(query: &Query) -> Result<AlertFilter, String> {
        let receiver = match query.one("receiver") {
            None | Some("") => None,
            Some(re) => Some(
                Regex::new(&format!("^(?:{re})$"))
                    .map_err(|e| format!("failed to parse receiver param: {e}"))?,
            ),
        };
        Ok(AlertFilter {
            active: query.flag("active", true)?,
            silenced: query.flag("silenced", true)?,
            inhibited: query.flag("inhibited", true)?,
            matchers: query.matchers()?,
            receiver,
        })
    }

    pub(super) fn wants_receiver(&self, name: &str) -> bool {
        self.receiver.as_ref().is_none_or(|re| re.is_match(name))
    }

    /// Whether the alert's labels are wanted; resolved alerts never are. Cheap, so asked
    /// first: only alerts that pass are routed and have their mute status worked out.
    pub(super) fn wants_alert(&self, alert: &Alert, now: OffsetDateTime) -> bool {
        !alert.resolved_at(now)
            && self
                .matchers
                .iter()
                .all(|m| filter_matches(m, &alert.labels))
    }

    /// Whether an alert with this mute status is wanted (the `active`, `silenced` and
    /// `inhibited` flags).
    pub(super) fn wants_status(&self, status: &MuteStatus) -> bool {
        (self.active || status.is_muted())
            && (self.silenced || status.silenced_by.is_empty())
            && (self.inhibited || status.inhibited_by.is_empty())
    }
}

/// Alertmanager's `matchFilterLabels`: an empty value in a filter also accepts, for `=` and
/// `=~`, an absent label, and for `!=` and `!~`, a present one.
fn filter_matches(m: &Matcher, labels: &Labels) -> bool {
    let present = labels.get(&m.name).is_some();
    let negative = matches!(m.op, Op::NotEq | Op::NotRe);
    if m.value.is_empty() && present == negative {
        return true;
    }
    m.matches(labels)
}

/// The names of the receivers of the routes `labels` belongs to.
pub(super) fn receivers_of<'a>(routes: &'a RouteTable, labels: &Labels) -> Vec<ReceiverRef<'a>> {
    routes
        .matching(labels)
        .into_iter()
        .map(|id| ReceiverRef {
            name: &routes.get(id).config.receiver,
        })
        .collect()
}

pub(super) fn gettable<'a>(
    alert: &'a Alert,
    status: MuteStatus,
    receivers: Vec<ReceiverRef<'a>>,
) -> GettableAlert<'a> {
    GettableAlert {
        labels: &alert.labels,
        annotations: &alert.annotations,
        starts_at: alert.starts_at,
        ends_at: alert.end(),
        updated_at: alert.updated_at,
        generator_url: &alert.generator_url,
        fingerprint: alert.fingerprint,
        status: alert_status(status),
        receivers,
    }
}

/// `GET /api/v2/alerts`: the alerts that have not resolved, sorted by fingerprint. The filter's
/// matchers come first; routes and mute status are worked out only for the alerts they pass.
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
    let mut out: Vec<GettableAlert> = Vec::with_capacity(alerts.len());
    for alert in &alerts {
        let receivers = receivers_of(&routes, &alert.labels);
        if !receivers.iter().any(|r| filter.wants_receiver(r.name)) {
            continue;
        }
        let status = mute.status(&alert.labels);
        if filter.wants_status(&status) {
            out.push(gettable(alert, status, receivers));
        }
    }
    json(StatusCode::OK, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_filter_values_follow_alertmanager() {
        let labels = Labels::from_pairs([("team", "db")]);
        let m = |s: &str| Matcher::parse(s).unwrap();
        assert!(filter_matches(&m(r#"zone="""#), &labels), "absent = empty");
        assert!(
            filter_matches(&m(r#"team!="""#), &labels),
            "present != empty"
        );
        assert!(!filter_matches(&m(r#"team="""#), &labels));
        assert!(filter_matches(&m("team=~d."), &labels));
        assert!(!filter_matches(&m("team=web"), &labels));
    }
}
