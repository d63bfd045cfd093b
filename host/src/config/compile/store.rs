//! `[store]`: the path, durability and the plugin compile cache.

use std::path::PathBuf;
use std::time::Duration;

use super::Ctx;
use crate::config::raw::RawStore;
use crate::config::{Durability, StoreBackend, StoreConfig};

pub(super) fn compile_store(cx: &mut Ctx, raw: RawStore) -> StoreConfig {
    let flush_interval = cx.duration(
        "store.flush_interval",
        raw.flush_interval.as_deref(),
        Duration::from_secs(1),
    );
    let durability = match raw.durability.as_deref().unwrap_or("immediate") {
        "immediate" => Durability::Immediate,
        "deferred" => Durability::Deferred { flush_interval },
        "off" => Durability::Off,
        other => {
            cx.err(
                "store.durability",
                format!(
                    "unknown durability {other:?}: expected \"immediate\", \"deferred\" or \"off\""
                ),
            );
            Durability::Immediate
        }
    };
    StoreConfig {
        backend: StoreBackend::Redb,
        // Like Alertmanager's --storage.path: relative to the working directory, not to the
        // config file (which often lives somewhere read-only such as /etc).
        path: PathBuf::from(raw.path.as_deref().unwrap_or("data/campanile.redb")),
        durability,
    }
}
