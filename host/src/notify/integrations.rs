//! From a receiver's configuration to its [`Notifier`]: each integration module implements
//! [`Integration`] for its type's typed configuration, and the dispatch over
//! [`ReceiverKind`] is expanded from the one list of receiver types
//! (`crate::config::receiver_types!`), so nothing here names a type.

use std::sync::Arc;

use super::{Notification, Notifier};
use crate::config::{DeliveryConfig, ReceiverConfig, ReceiverKind};

/// The runtime half of a receiver type, implemented by its typed configuration.
pub(crate) trait Integration {
    /// The notifier that delivers for this configuration; HTTP integrations share `client`.
    fn notifier(&self, client: &reqwest::Client, delivery: &DeliveryConfig) -> Arc<dyn Notifier>;

    /// What the notifier would send for `n`, built but not sent: the request body (the whole
    /// message, for e-mail; the log line, for `log`). The service never calls it; the fuzz
    /// targets check that every flush renders for every type (see `crate::fuzzing`).
    fn render(&self, n: &Notification) -> Vec<u8>;
}

/// `integration(kind)`: the [`Integration`] of each [`ReceiverKind`] variant.
macro_rules! integration_of {
    ($($type:tt in $module:ident => $variant:ident($raw:ident, $config:ident),)*) => {
        fn integration(kind: &ReceiverKind) -> &dyn Integration {
            match kind {
                $(ReceiverKind::$variant(config) => config,)*
            }
        }
    };
}
crate::config::receiver_types!(integration_of);

/// The notifier for `rc`; HTTP integrations share `client`.
pub fn notifier(rc: &ReceiverConfig, client: &reqwest::Client) -> Arc<dyn Notifier> {
    integration(&rc.kind).notifier(client, &rc.delivery)
}

/// What `rc`'s notifier would send for `n`, built but not sent (see [`Integration::render`]).
pub(crate) fn render(rc: &ReceiverConfig, n: &Notification) -> Vec<u8> {
    integration(&rc.kind).render(n)
}

/// A JSON body as bytes, for [`Integration::render`].
pub(super) fn json(v: &serde_json::Value) -> Vec<u8> {
    v.to_string().into_bytes()
}
