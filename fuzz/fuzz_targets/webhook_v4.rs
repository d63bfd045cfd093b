//! `POST /api/v1/alertmanager` bodies (Alertmanager's webhook payload v4): whatever a client
//! sends, the decoder answers, and every alert it accepts passes on (see `check_alert`).
#![no_main]

use std::time::Duration;

use campanile::ingest::webhook_v4;
use campanile_fuzz::{check_alert, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(alerts) = webhook_v4::decode(body, NOW, Duration::from_secs(3600)) else {
        return;
    };
    for alert in alerts.iter().flatten() {
        check_alert(alert, NOW);
    }
});
