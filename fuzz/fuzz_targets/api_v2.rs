//! `POST /api/v2/alerts` bodies: whatever a client sends, the decoder answers (an error for the
//! body or per alert) and every alert it accepts passes on (see `check_alert`).
#![no_main]

use std::time::Duration;

use campanile::ingest::api_v2;
use campanile_fuzz::{check_alert, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(alerts) = api_v2::decode(body, NOW, Duration::from_secs(300)) else {
        return;
    };
    for alert in alerts.iter().flatten() {
        check_alert(alert, NOW);
    }
});
