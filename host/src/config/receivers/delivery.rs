//! The delivery keys every receiver type but `log` shares (`send_resolved`, `timeout`,
//! `retry_for`, `concurrency`, `rate_limit`): as written ([`receiver_keys!`] declares a type's
//! struct with them), each type's defaults, and what they compile into.

use std::time::Duration;

use serde::Deserialize;

use crate::config::check::Section;

/// Deliveries in flight per receiver, unless its `concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How a receiver's worker delivers: per attempt, in parallel, and over time.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryConfig {
    /// Limit of one attempt.
    pub timeout: Duration,
    /// How long retryable failures are retried.
    pub retry_for: Duration,
    /// Deliveries in flight at once; the rest wait in the receiver's queue.
    pub concurrency: usize,
    /// Attempts per second, with bursts; `None` is unlimited.
    pub rate_limit: Option<RateLimit>,
}

/// A token bucket: `burst` attempts at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

/// `rate_limit = { per_second = 1.0, burst = 5 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub per_second: f64,
    pub burst: Option<u32>,
}

/// The delivery keys of one receiver, as written.
#[derive(Debug)]
pub struct RawDelivery<'a> {
    pub send_resolved: Option<bool>,
    pub timeout: Option<&'a str>,
    pub retry_for: Option<&'a str>,
    pub concurrency: Option<usize>,
    pub rate_limit: Option<&'a RawRateLimit>,
}

/// A receiver type's keys as written: `name`, the delivery keys and its own keys, unknown
/// keys refused. (serde's `flatten` cannot be combined with `deny_unknown_fields`, hence a
/// macro.)
macro_rules! receiver_keys {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            pub name: String,
            pub send_resolved: Option<bool>,
            pub timeout: Option<String>,
            pub retry_for: Option<String>,
            pub concurrency: Option<usize>,
            pub rate_limit: Option<$crate::config::receivers::delivery::RawRateLimit>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $crate::config::receivers::Keys for $name {
            fn name(&self) -> &str {
                &self.name
            }

            fn delivery(&self) -> $crate::config::receivers::delivery::RawDelivery<'_> {
                $crate::config::receivers::delivery::RawDelivery {
                    send_resolved: self.send_resolved,
                    timeout: self.timeout.as_deref(),
                    retry_for: self.retry_for.as_deref(),
                    concurrency: self.concurrency,
                    rate_limit: self.rate_limit.as_ref(),
                }
            }
        }
    };
}
pub(super) use receiver_keys;

/// A type's delivery defaults: Alertmanager's for `send_resolved`, and a rate limit that
/// stays under what a service documents.
pub(super) struct Defaults {
    pub(super) send_resolved: bool,
    pub(super) rate_limit: Option<RateLimit>,
}

/// Chat webhooks: about one message a second, with bursts.
pub(super) const CHAT: Defaults = Defaults {
    send_resolved: false,
    rate_limit: Some(RateLimit {
        per_second: 1.0,
        burst: 5,
    }),
};

/// APIs made for events (webhooks, pagers): no limit of campanile's own.
pub(super) const UNLIMITED: Defaults = Defaults {
    send_resolved: true,
    rate_limit: None,
};

/// `send_resolved` and the delivery settings, defaults filled in.
pub(super) fn compile_delivery(
    section: &mut Section,
    d: RawDelivery,
    defaults: &Defaults,
) -> (bool, DeliveryConfig) {
    let timeout = section.duration("timeout", d.timeout, Duration::from_secs(10));
    if timeout.is_zero() {
        section.err("timeout", "must be more than zero");
    }
    let retry_for = section.duration("retry_for", d.retry_for, Duration::from_secs(3600));
    let concurrency = d.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    if concurrency == 0 {
        section.err("concurrency", "must be at least 1");
    }
    let rate_limit = match d.rate_limit {
        None => defaults.rate_limit,
        Some(r) => Some(rate_limit(section, r)),
    };
    let delivery = DeliveryConfig {
        timeout,
        retry_for,
        concurrency: concurrency.max(1),
        rate_limit,
    };
    (d.send_resolved.unwrap_or(defaults.send_resolved), delivery)
}

/// `rate_limit`: a rate above zero; the burst defaults to one second's worth.
fn rate_limit(section: &mut Section, r: &RawRateLimit) -> RateLimit {
    if !(r.per_second.is_finite() && r.per_second > 0.0) {
        section.err(
            "rate_limit.per_second",
            "must be a number of attempts per second above zero",
        );
    }
    if r.burst == Some(0) {
        section.err("rate_limit.burst", "must be at least 1");
    }
    RateLimit {
        per_second: r.per_second,
        burst: r
            .burst
            .unwrap_or_else(|| r.per_second.ceil().clamp(1.0, 1e6) as u32),
    }
}
