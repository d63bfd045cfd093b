//! Entry points for the fuzz targets in `fuzz/`, not an API: the few decoders of untrusted
//! input that are private to their modules, the restore step of `app::start`, and the bodies
//! receivers send, reached without an HTTP server, a plugin, a whole app or a network. Each
//! is the code the service runs.

use std::time::Duration;

use crate::config::ReceiverConfig;
use crate::dedup::AlertCache;
use crate::model::{Labels, SharedAlert};
use crate::notify::Notification;
use crate::plugin::bindings::types::LabelSet;
use crate::silence::NewSilence;
use crate::store::{Store, StoredAlert};

/// A `POST /api/v2/silences` body, decoded with its matchers compiled; `None` when the API
/// would answer an error.
pub fn decode_silence(body: &[u8]) -> Option<NewSilence> {
    crate::api::silences::decode(body).ok()
}

/// A label set as a plugin returns it (the contract's packed `label-set`), checked and
/// unpacked.
pub fn labels_from_plugin(text: String, ends: Vec<u32>) -> Result<Labels, String> {
    crate::plugin::convert::labels_from_wit(&LabelSet { text, ends })
}

/// What `app::start` does with the stored alerts: back into the cache, or deleted when past
/// their retention. Returns the alerts for the dispatcher's `restore`.
pub fn restore_alerts(
    cache: &AlertCache,
    store: &Store,
    stored: Vec<(u64, StoredAlert)>,
    retention: Duration,
) -> Vec<SharedAlert> {
    crate::app::restore_alerts(cache, store, stored, retention)
}

/// The body a receiver of `rc`'s type would send for `n` (the message, for e-mail), built
/// but not sent.
pub fn render_notification(rc: &ReceiverConfig, n: &Notification) -> Vec<u8> {
    crate::notify::integrations::render(rc, n)
}
