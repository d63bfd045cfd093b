//! The running configuration: everything built from one configuration file that a reload
//! replaces as a whole ([`Generation`]), and the one place that holds the one in force
//! ([`Live`]).
//!
//! Request handlers read the generation in force when they need it. The routing stage does not
//! read it here: it takes each generation from the dispatcher, in order with the flushes, so a
//! flush made from a route table is always routed with the receivers and plugins of the same
//! configuration (see [`crate::group::Dispatched`]).

use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use crate::ack::link::AckLinks;
use crate::config::Config;
use crate::notify::Receivers;
use crate::plugin::PluginRuntime;
use crate::route::RouteTable;

/// One configuration, built.
pub struct Generation {
    pub config: Arc<Config>,
    pub routes: Arc<RouteTable>,
    pub receivers: Arc<Receivers>,
    pub plugins: Arc<PluginRuntime>,
    /// Signed acknowledgement links, when `[acks] signing_key` is set.
    pub ack_links: Option<Arc<AckLinks>>,
    /// [`config_hash`] of the file's text.
    pub hash: i64,
}

/// The generation in force, replaced whole by a reload.
pub struct Live(RwLock<Arc<Generation>>);

impl Live {
    pub fn new(generation: Arc<Generation>) -> Live {
        Live(RwLock::new(generation))
    }

    pub fn current(&self) -> Arc<Generation> {
        self.0.read().expect("live configuration lock").clone()
    }

    pub fn replace(&self, generation: Arc<Generation>) {
        *self.0.write().expect("live configuration lock") = generation;
    }
}

/// A configuration text's hash as a metric value, the way Alertmanager makes
/// `alertmanager_config_hash`: the first 48 bits of a digest (SHA-256 here, MD5 there), which a
/// float64 holds exactly.
pub fn config_hash(text: &str) -> i64 {
    let digest = Sha256::digest(text.as_bytes());
    let mut bytes = [0u8; 8];
    bytes[..6].copy_from_slice(&digest[..6]);
    i64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_fits_a_float_and_follows_the_text() {
        let a = config_hash("route = 1");
        assert!((0..1 << 48).contains(&a));
        assert_eq!(a, config_hash("route = 1"));
        assert_ne!(a, config_hash("route = 2"));
    }
}
