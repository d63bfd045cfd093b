//! Valid but absurd times — the last second of year 9999, year 0 — against the real binary and a
//! real Alertmanager 0.25: each is accepted or refused as Alertmanager does, paging goes on, and
//! the store that holds them starts again. One alert ending at 9999-12-31T23:59:59Z used to stop
//! the dispatcher (every later POST got 503 while `/-/healthy` said 200) and every restart after.

use serde_json::{json, Value};

use crate::harness::*;

fn config(sink: &HttpPeer) -> String {
    format!(
        r#"
[store]
path = "data/campanile.redb"

[[receivers]]
name = "sink"
type = "webhook"
url = "{}"

[route]
receiver = "sink"
group_by = ["alertname"]
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1h"
"#,
        sink.url("/notify")
    )
}

const AM_CONFIG: &str = r#"
route:
  receiver: "null"
receivers:
  - name: "null"
"#;

/// Alerts whose times are at the edges of what RFC 3339 and Alertmanager take.
fn absurd_alerts() -> Vec<Value> {
    vec![
        json!([{"labels": {"alertname": "FarEnd"}, "endsAt": "9999-12-31T23:59:59Z"}]),
        json!([{"labels": {"alertname": "FarStart"},
                "startsAt": "9999-12-31T23:59:58Z", "endsAt": "9999-12-31T23:59:59Z"}]),
        // No end: given now + resolve_timeout, which is before the start (400 in both).
        json!([{"labels": {"alertname": "FarStartOnly"}, "startsAt": "9999-12-31T23:59:58Z"}]),
        json!([{"labels": {"alertname": "YearZero"}, "startsAt": "0000-01-01T00:00:00Z"}]),
        json!([{"labels": {"alertname": "YearZeroResolved"},
                "startsAt": "0000-01-01T00:00:00Z", "endsAt": "0000-01-02T00:00:00Z"}]),
        json!([{"labels": {"alertname": "NegativeYear"}, "startsAt": "-0001-01-01T00:00:00Z"}]),
        json!([{"labels": {"alertname": "Year10000"}, "startsAt": "10000-01-01T00:00:00Z"}]),
    ]
}

fn silence(ends_at: &str) -> Value {
    json!({
        "matchers": [{"name": "alertname", "value": "Muted", "isRegex": false, "isEqual": true}],
        "startsAt": "2020-01-01T00:00:00Z",
        "endsAt": ends_at,
        "createdBy": "test",
        "comment": "far"
    })
}

/// Silence ends around Alertmanager's bound: it keeps a silence 120h after its end and refuses
/// one whose expiry would pass 9999-12-31T23:59:59.999999999Z.
const SILENCE_ENDS: [&str; 4] = [
    "9999-12-31T23:59:59Z",
    "9999-12-27T00:00:00Z",
    "9999-12-26T23:59:59Z",
    "9000-01-01T00:00:00Z",
];

async fn alertmanager_status(am: &Alertmanager, path: &str, body: &Value) -> u16 {
    let response = client()
        .post(format!("http://{}{path}", am.addr))
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path} to Alertmanager: {e}"));
    response.status().as_u16()
}

#[tokio::test]
async fn absurd_times_are_taken_or_refused_as_alertmanager_does_and_survive_a_restart() {
    let am = Alertmanager::start(AM_CONFIG).await;
    let sink = HttpPeer::start().await;
    let mut campanile = Campanile::start(&config(&sink)).await;

    for body in absurd_alerts() {
        let expected = alertmanager_status(&am, "/api/v2/alerts", &body).await;
        let got = campanile.post_alerts(&body).await;
        assert_eq!(
            got.status, expected,
            "{body}: Alertmanager answers {expected}, campanile {got:?}"
        );
    }
    for ends in SILENCE_ENDS {
        let body = silence(ends);
        let expected = alertmanager_status(&am, "/api/v2/silences", &body).await;
        let got = campanile.post_json("/api/v2/silences", &body).await;
        assert_eq!(
            got.status, expected,
            "silence ending {ends}: Alertmanager answers {expected}, campanile {got:?}"
        );
        if got.status == 400 {
            assert!(got.body.contains("too far in the future"), "{got:?}");
        }
    }

    // Paging goes on: the far-future alerts are notified, and so is an ordinary one after them.
    sink.wait_for_labelled("/notify", "alertname", "FarEnd")
        .await;
    sink.wait_for_labelled("/notify", "alertname", "FarStart")
        .await;
    let after = campanile
        .post_alerts(&json!([{"labels": {"alertname": "After"}}]))
        .await;
    assert_eq!(after.status, 200, "{after:?}");
    sink.wait_for_labelled("/notify", "alertname", "After")
        .await;
    assert_eq!(campanile.get("/-/healthy").await.status, 200);
    // The silence housekeeping runs every 5 s; listing must still answer after it.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let silences = campanile.get("/api/v2/silences").await;
    assert_eq!(silences.status, 200, "{silences:?}");
    assert_eq!(campanile.alerts_named("FarEnd").await.len(), 1);

    // The store holding all of it starts again, and serves.
    let exit = campanile.stop().await;
    assert!(exit.success(), "exit {exit}; log:\n{}", campanile.log());
    campanile
        .start_again()
        .await
        .unwrap_or_else(|e| panic!("campanile cannot start on its own store: {e}"));
    let far = campanile.alerts_named("FarEnd").await;
    assert_eq!(far.len(), 1, "restored");
    let ends = far[0]["endsAt"].as_str().unwrap_or_default();
    assert!(ends.starts_with("9999-12-31T23:59:59"), "{ends}");
    assert_eq!(campanile.alerts_named("FarStart").await.len(), 1);
    assert_eq!(campanile.alerts_named("YearZero").await.len(), 1);
    let stored = campanile.get("/api/v2/silences").await.json();
    assert_eq!(stored.as_array().map(Vec::len), Some(2), "{stored}");
    let again = campanile
        .post_alerts(&json!([{"labels": {"alertname": "AfterRestart"}}]))
        .await;
    assert_eq!(again.status, 200, "{again:?}");
    sink.wait_for_labelled("/notify", "alertname", "AfterRestart")
        .await;
    assert_eq!(campanile.get("/-/healthy").await.status, 200);
    assert!(!campanile.log().contains("panicked"), "{}", campanile.log());
}
