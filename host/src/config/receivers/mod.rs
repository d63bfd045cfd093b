//! `[[receivers]]`: one module per receiver type, each owning its keys as written, its typed
//! configuration and the function that compiles one into the other; [`receiver_types!`] lists
//! the types once. Beside them, what every type shares: the delivery keys (`delivery`) and
//! the section's own rules (names given once, checked here).
//!
//! The runtime half of each type (its notifier) is in `notify/`, which expands the same list:
//! `config` knows nothing of `notify`.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

use super::check::{Ctx, Section};

mod delivery;
mod discord;
mod email;
mod log;
mod mattermost;
mod msteams;
mod opsgenie;
mod pagerduty;
mod slack;
mod webhook;

use delivery::{compile_delivery, Defaults, RawDelivery};
pub use delivery::{DeliveryConfig, RateLimit, DEFAULT_CONCURRENCY};
pub use email::SmtpTls;

/// Every receiver type, one line each: its `type` value, its module, its [`RawReceiver`] and
/// [`ReceiverKind`] variant, and the module's two structs: the keys as written and the typed
/// configuration they compile into. `$then!` is called with the list: this module expands it
/// into the two enums, their dispatch and the typed configurations' re-exports;
/// `notify::integrations` into the notifier of each kind. In the order `type`'s error message
/// names them.
macro_rules! receiver_types {
    ($then:ident) => {
        $then! {
            "webhook" in webhook => Webhook(RawWebhook, WebhookConfig),
            "log" in log => Log(RawLog, LogConfig),
            "slack" in slack => Slack(RawSlack, SlackConfig),
            "mattermost" in mattermost => Mattermost(RawMattermost, MattermostConfig),
            "discord" in discord => Discord(RawDiscord, DiscordConfig),
            "msteams" in msteams => MsTeams(RawMsTeams, MsTeamsConfig),
            "pagerduty" in pagerduty => PagerDuty(RawPagerDuty, PagerDutyConfig),
            "opsgenie" in opsgenie => Opsgenie(RawOpsgenie, OpsgenieConfig),
            "email" in email => Email(RawEmail, EmailConfig),
        }
    };
}
pub(crate) use receiver_types;

/// The two enums of receiver types, the dispatch from one to the other, and the typed
/// configurations re-exported (as `crate::config::SlackConfig` …).
macro_rules! receiver_enums {
    ($($type:tt in $module:ident => $variant:ident($raw:ident, $config:ident),)*) => {
        $(pub use $module::$config;)*

        /// A `[[receivers]]` entry as written, by its `type`.
        #[derive(Debug, Deserialize)]
        #[serde(tag = "type")]
        pub enum RawReceiver {
            $(#[serde(rename = $type)] $variant($module::$raw),)*
        }

        /// What a receiver delivers to, by type.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ReceiverKind {
            $($variant($config),)*
        }

        impl ReceiverKind {
            /// The `type` the receiver was configured with.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(ReceiverKind::$variant(_) => $type,)*
                }
            }
        }

        impl RawReceiver {
            fn name(&self) -> &str {
                match self {
                    $(RawReceiver::$variant(keys) => keys.name(),)*
                }
            }

            fn compile(self, section: &mut Section) -> Compiled {
                match self {
                    $(RawReceiver::$variant(keys) => {
                        compile_type(section, keys, ReceiverKind::$variant)
                    })*
                }
            }
        }
    };
}
receiver_types!(receiver_enums);

/// One `[[receivers]]` entry, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiverConfig {
    pub name: String,
    /// Whether groups that only resolved are notified, and resolved alerts shown.
    pub send_resolved: bool,
    pub delivery: DeliveryConfig,
    pub kind: ReceiverKind,
}

/// The keys every receiver type has: its name and the delivery keys.
trait Keys {
    fn name(&self) -> &str;
    fn delivery(&self) -> RawDelivery<'_>;
}

/// A receiver type's keys as written, and what they compile into.
trait ReceiverType: Keys {
    /// The typed configuration: this type's [`ReceiverKind`] variant holds it.
    type Config;
    /// `send_resolved` and the rate limit when the keys do not set them.
    const DEFAULTS: Defaults;
    /// The type's own keys checked, errors filed through `section` (the delivery keys are
    /// compiled apart); `None` when one of them is unusable.
    fn compile(self, section: &mut Section) -> Option<Self::Config>;
}

/// `send_resolved`, the delivery settings and the kind, `None` when the keys are wrong.
type Compiled = (bool, DeliveryConfig, Option<ReceiverKind>);

fn compile_type<T: ReceiverType>(
    section: &mut Section,
    keys: T,
    kind: fn(T::Config) -> ReceiverKind,
) -> Compiled {
    let (send_resolved, delivery) = compile_delivery(section, keys.delivery(), &T::DEFAULTS);
    (send_resolved, delivery, keys.compile(section).map(kind))
}

/// `[[receivers]]`: names given once, each entry compiled by its type.
pub(super) fn compile_receivers(
    cx: &mut Ctx,
    raw: Vec<RawReceiver>,
    base: &Path,
) -> Vec<ReceiverConfig> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let key = format!("receivers[{i}]");
        let name = r.name().to_string();
        if name.is_empty() {
            cx.err(format!("{key}.name"), "must not be empty");
        } else if !seen.insert(name.clone()) {
            cx.err(
                format!("{key}.name"),
                format!("receiver {name:?} is defined twice"),
            );
        }
        let mut section = Section { cx, key, base };
        let (send_resolved, delivery, kind) = r.compile(&mut section);
        out.push(ReceiverConfig {
            name,
            send_resolved,
            delivery,
            // A receiver whose keys are wrong still compiles (as a `log`), so that routes
            // naming it do not report errors of their own; the configuration is refused anyway.
            kind: kind.unwrap_or(ReceiverKind::Log(LogConfig)),
        });
    }
    out
}
