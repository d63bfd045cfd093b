//! `type = "log"`: each notification written to campanile's own log. It has no delivery keys
//! but `send_resolved`.

use serde::Deserialize;

use super::delivery::{Defaults, RawDelivery, UNLIMITED};
use super::{Keys, ReceiverType, Section};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub name: String,
    pub send_resolved: Option<bool>,
}

impl Keys for RawLog {
    fn name(&self) -> &str {
        &self.name
    }

    fn delivery(&self) -> RawDelivery<'_> {
        RawDelivery {
            send_resolved: self.send_resolved,
            timeout: None,
            retry_for: None,
            concurrency: None,
            rate_limit: None,
        }
    }
}

/// Write each notification to campanile's log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig;

impl ReceiverType for RawLog {
    type Config = LogConfig;
    const DEFAULTS: Defaults = UNLIMITED;

    fn compile(self, _: &mut Section) -> Option<LogConfig> {
        Some(LogConfig)
    }
}
