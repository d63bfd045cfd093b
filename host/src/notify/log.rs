//! The `log` integration: writes each notification to campanile's own log. Useful as a
//! default, for trying routing out, and as a last-resort receiver.

use std::sync::Arc;

use super::integrations::Integration;
use super::render::{text_body, title};
use super::{BoxFuture, Notification, Notifier, NotifyError};
use crate::config::{DeliveryConfig, LogConfig};

pub struct Log;

impl Notifier for Log {
    fn integration(&self) -> &'static str {
        "log"
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> BoxFuture<'a, Result<(), NotifyError>> {
        let title = title(n);
        let body = text_body(n);
        tracing::info!(
            receiver = %n.receiver,
            group_key = %n.flush.key,
            reason = n.flush.reason.as_str(),
            severity = n.severity.map(|s| s.as_str()).unwrap_or(""),
            title = %title,
            "notification\n{body}"
        );
        Box::pin(std::future::ready(Ok(())))
    }
}

impl Integration for LogConfig {
    fn notifier(&self, _: &reqwest::Client, _: &DeliveryConfig) -> Arc<dyn Notifier> {
        Arc::new(Log)
    }

    fn render(&self, n: &Notification) -> Vec<u8> {
        format!("{}\n{}", title(n), text_body(n)).into_bytes()
    }
}
