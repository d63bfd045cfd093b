//! `POST /api/v2/silences` bodies: decoded (matchers checked and compiled), then set as the API
//! does (Alertmanager's checks on the whole silence), read back, matched, stored, expired and
//! forgotten after the retention.
#![no_main]

use std::sync::{Arc, OnceLock};

use campanile::model::Labels;
use campanile::silence::{Silence, SilenceState, Silences, RETENTION};
use campanile::store::{Store, StoredSilence};
use campanile_fuzz::NOW;
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|body: &[u8]| {
    let Some(new) = campanile::fuzzing::decode_silence(body) else {
        return;
    };
    // The labels the silence names, so `matches` has something to say yes to.
    let labels = Labels::from_pairs(new.matchers.iter().map(|m| (m.name(), m.value())));
    runtime().block_on(async {
        let silences = Silences::new(Arc::new(Store::in_memory()), Vec::new());
        let Ok(id) = silences.set(new, NOW).await else {
            return;
        };
        let s = silences.get(&id).expect("a set silence is held");
        let _ = s.matches(&labels);
        let _ = silences.silenced_by(&labels, NOW);
        let state = s.state_at(NOW);
        assert_ne!(state, SilenceState::Expired, "a new silence has not ended");
        for m in &s.matchers {
            let _ = m.to_string();
        }
        // As the store writes it, and reads it back at start.
        let record = StoredSilence::from(&s);
        let bytes = serde_json::to_vec(&record).expect("a set silence's record serialises");
        let back: StoredSilence =
            serde_json::from_slice(&bytes).expect("a set silence's record reads back");
        assert_eq!(back, record);
        let reloaded = Silence::try_from(back).expect("a stored silence compiles again");
        assert_eq!(reloaded, s);
        assert!(
            s.can_update_to(&reloaded, NOW),
            "a silence may be set again as it is"
        );
        assert_eq!(silences.gc(NOW), 0, "a silence that has not ended is kept");
        silences
            .expire(&id, NOW)
            .await
            .expect("an in-memory expiry");
        let expired = silences.get(&id).expect("an expired silence is kept");
        assert!(expired.ends_at <= s.ends_at);
        // Kept for the retention after it ended, then forgotten (as the cleanup task does).
        let retention = time::Duration::try_from(RETENTION).expect("120 h");
        assert_eq!(silences.gc(NOW + retention - time::Duration::SECOND), 0);
        assert_eq!(silences.gc(NOW + retention), 1);
    });
});
