//! What the fuzz targets share: a fixed clock for the pure decoders, the checks every decoded
//! alert must pass on its way on, and the structured inputs of the stateful target (alerts,
//! silences, times) rendered as the JSON a client sends, so they go through the real decoders.

use arbitrary::Arbitrary;
use campanile::model::{unix_ms, Alert, AlertStatus};
use campanile::notify::payload::WebhookAlert;
use campanile::store::StoredAlert;
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::OffsetDateTime;

/// The decoders' clock: fixed, so a crash input replays the same way.
pub const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

/// What every alert a decoder accepts must survive next: the store's record (written at
/// ingest, read back at start) round-trips, and the webhook payload and the plugin contract
/// can show its times.
pub fn check_alert(alert: &Alert, now: OffsetDateTime) {
    let record = StoredAlert::from(alert);
    let bytes = serde_json::to_vec(&record).expect("an accepted alert's record serialises");
    let back: StoredAlert =
        serde_json::from_slice(&bytes).expect("an accepted alert's record reads back");
    assert_eq!(back, record, "the record reads back as written");
    let restored = Alert::from(back);
    assert_eq!(restored.fingerprint, alert.fingerprint);
    let status = alert.status_at(now);
    assert_eq!(status == AlertStatus::Resolved, alert.resolved_at(now));
    let shown = WebhookAlert {
        status,
        labels: &alert.labels,
        annotations: &alert.annotations,
        starts_at: alert.starts_at,
        ends_at: alert.ends_at,
        generator_url: &alert.generator_url,
        fingerprint: alert.fingerprint,
    };
    serde_json::to_vec(&shown).expect("an accepted alert's webhook form serialises");
    let _ = (unix_ms(alert.starts_at), unix_ms(alert.ends_at));
    for (name, value) in alert.labels.iter() {
        assert_eq!(alert.labels.get(name), Some(value));
    }
}

/// A label name: mostly ones routes, silences and inhibition rules look at.
#[derive(Arbitrary, Debug, Clone)]
pub enum Name {
    Alertname,
    Severity,
    Team,
    Instance,
    Raw(String),
}

impl Name {
    pub fn as_str(&self) -> &str {
        match self {
            Name::Alertname => "alertname",
            Name::Severity => "severity",
            Name::Team => "team",
            Name::Instance => "instance",
            Name::Raw(s) => s,
        }
    }
}

/// A label value: mostly ones the stateful target's config matches on.
#[derive(Arbitrary, Debug, Clone)]
pub enum LabelValue {
    Critical,
    Warning,
    Db,
    A,
    B,
    Raw(String),
}

impl LabelValue {
    pub fn as_str(&self) -> &str {
        match self {
            LabelValue::Critical => "critical",
            LabelValue::Warning => "warning",
            LabelValue::Db => "db",
            LabelValue::A => "A",
            LabelValue::B => "B",
            LabelValue::Raw(s) => s,
        }
    }
}

/// A timestamp as a client writes it.
#[derive(Arbitrary, Debug, Clone)]
pub enum Time {
    Absent,
    /// Go's zero time, which Alertmanager sends for "no end".
    GoZero,
    /// So many seconds from now (negative: in the past).
    FromNow(i32),
    /// The last second RFC 3339 can write.
    FarFuture,
    /// The first.
    FarPast,
    Civil {
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        nanos: u32,
        /// Minutes east of UTC.
        offset: i16,
    },
    Text(String),
}

impl Time {
    /// The JSON value, `None` for an absent field.
    pub fn render(&self, now: OffsetDateTime) -> Option<Value> {
        let text = match self {
            Time::Absent => return None,
            Time::GoZero => "0001-01-01T00:00:00Z".to_string(),
            Time::FromNow(secs) => now
                .checked_add(time::Duration::seconds((*secs).into()))
                .and_then(|t| t.format(&Rfc3339).ok())
                .unwrap_or_default(),
            Time::FarFuture => "9999-12-31T23:59:59Z".to_string(),
            Time::FarPast => "0000-01-01T00:00:00Z".to_string(),
            Time::Civil {
                year,
                month,
                day,
                hour,
                minute,
                second,
                nanos,
                offset,
            } => {
                let offset = offset % (24 * 60);
                let sign = if offset < 0 { '-' } else { '+' };
                let offset = offset.unsigned_abs();
                format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}{sign}{:02}:{:02}",
                    year % 10_000,
                    month % 12 + 1,
                    day % 31 + 1,
                    hour % 24,
                    minute % 60,
                    second % 61,
                    nanos % 1_000_000_000,
                    offset / 60,
                    offset % 60
                )
            }
            Time::Text(t) => t.clone(),
        };
        Some(Value::String(text))
    }
}

fn pairs(pairs: &[(Name, LabelValue)]) -> Value {
    let map: Map<String, Value> = pairs
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                Value::String(v.as_str().to_string()),
            )
        })
        .collect();
    Value::Object(map)
}

/// One alert as Prometheus (API v2) or Alertmanager (webhook v4) sends it.
#[derive(Arbitrary, Debug, Clone)]
pub struct AlertSpec {
    pub alertname: LabelValue,
    pub labels: Vec<(Name, LabelValue)>,
    pub annotations: Vec<(Name, LabelValue)>,
    pub starts_at: Time,
    pub ends_at: Time,
    pub generator_url: String,
}

impl AlertSpec {
    pub fn render(&self, now: OffsetDateTime) -> Map<String, Value> {
        let mut labels = pairs(&self.labels);
        labels["alertname"] = Value::String(self.alertname.as_str().to_string());
        let mut out = Map::new();
        out.insert("labels".into(), labels);
        out.insert("annotations".into(), pairs(&self.annotations));
        if let Some(t) = self.starts_at.render(now) {
            out.insert("startsAt".into(), t);
        }
        if let Some(t) = self.ends_at.render(now) {
            out.insert("endsAt".into(), t);
        }
        out.insert(
            "generatorURL".into(),
            Value::String(self.generator_url.clone()),
        );
        out
    }
}

/// An API v2 body: `[alert, …]`.
pub fn api_v2_body(alerts: &[AlertSpec], now: OffsetDateTime) -> Vec<u8> {
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|a| Value::Object(a.render(now)))
        .collect();
    serde_json::to_vec(&alerts).expect("JSON values serialise")
}

/// An alert's `status` in a webhook message.
#[derive(Arbitrary, Debug, Clone)]
pub enum Status {
    Firing,
    Resolved,
    Raw(String),
}

/// A webhook v4 body, as Alertmanager POSTs it.
pub fn webhook_body(alerts: &[(Status, AlertSpec)], now: OffsetDateTime) -> Vec<u8> {
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|(status, a)| {
            let mut m = a.render(now);
            let status = match status {
                Status::Firing => "firing",
                Status::Resolved => "resolved",
                Status::Raw(s) => s,
            };
            m.insert("status".into(), Value::String(status.to_string()));
            Value::Object(m)
        })
        .collect();
    let body = json!({
        "version": "4",
        "status": "firing",
        "receiver": "campanile",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "alerts": alerts,
    });
    serde_json::to_vec(&body).expect("JSON values serialise")
}

/// One matcher of a posted silence.
#[derive(Arbitrary, Debug, Clone)]
pub struct MatcherSpec {
    pub name: Name,
    pub value: LabelValue,
    pub is_regex: bool,
    /// Absent: Alertmanager's default (`true`).
    pub is_equal: Option<bool>,
}

/// Which silence a posted silence replaces.
#[derive(Arbitrary, Debug, Clone)]
pub enum SilenceId {
    New,
    /// One created earlier in the run (by position).
    Earlier(u8),
    Raw(String),
}

/// A silence as amtool posts it.
#[derive(Arbitrary, Debug, Clone)]
pub struct SilenceSpec {
    pub id: SilenceId,
    pub matchers: Vec<MatcherSpec>,
    pub starts_at: Time,
    pub ends_at: Time,
    pub created_by: String,
    pub comment: String,
}

impl SilenceSpec {
    /// The `POST /api/v2/silences` body; `earlier` are the ids created so far.
    pub fn body(&self, now: OffsetDateTime, earlier: &[String]) -> Vec<u8> {
        let mut m = Map::new();
        match &self.id {
            SilenceId::New => {}
            SilenceId::Earlier(i) => {
                if !earlier.is_empty() {
                    let id = &earlier[usize::from(*i) % earlier.len()];
                    m.insert("id".into(), Value::String(id.clone()));
                }
            }
            SilenceId::Raw(s) => {
                m.insert("id".into(), Value::String(s.clone()));
            }
        }
        let matchers: Vec<Value> = self
            .matchers
            .iter()
            .map(|x| {
                let mut o = json!({
                    "name": x.name.as_str(),
                    "value": x.value.as_str(),
                    "isRegex": x.is_regex,
                });
                if let Some(e) = x.is_equal {
                    o["isEqual"] = Value::Bool(e);
                }
                o
            })
            .collect();
        m.insert("matchers".into(), Value::Array(matchers));
        // amtool starts a silence now unless told otherwise (a missing start is the `silence`
        // target's business).
        let starts_at = self
            .starts_at
            .render(now)
            .unwrap_or_else(|| Value::String(now.format(&Rfc3339).expect("now formats")));
        m.insert("startsAt".into(), starts_at);
        if let Some(t) = self.ends_at.render(now) {
            m.insert("endsAt".into(), t);
        }
        m.insert("createdBy".into(), Value::String(self.created_by.clone()));
        m.insert("comment".into(), Value::String(self.comment.clone()));
        serde_json::to_vec(&Value::Object(m)).expect("JSON values serialise")
    }
}
