//! Write to the host's log; every line is tagged with the plugin's name.
//!
//! There is one function per level taking a `&str`, and one macro per level taking
//! `format!`-style arguments:
//!
//! ```
//! use campanile_sdk::{log, testing};
//!
//! log::info("routing started");
//! log::warn!("config key {:?} is missing", "pager");
//! assert_eq!(testing::logs().len(), 2);
//! ```
//!
//! On targets other than `wasm32` the lines are captured by the fake host (see
//! [`testing::logs`](crate::testing::logs)) and echoed to standard error.

/// Log levels, as in the host's own log.
///
/// ```
/// use campanile_sdk::log::{self, Level};
///
/// log::log(Level::Warn, "careful");
/// assert!(Level::Warn > Level::Info);
/// ```
#[doc(inline)]
pub use crate::bindings::campanile::router::host::Level;

impl Level {
    /// The lowercase name of the level.
    ///
    /// ```
    /// use campanile_sdk::log::Level;
    ///
    /// assert_eq!(Level::Warn.as_str(), "warn");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Writes one line at `level` to the host's log.
///
/// ```
/// use campanile_sdk::log::{self, Level};
/// use campanile_sdk::testing;
///
/// log::log(Level::Error, "cannot parse threshold");
/// assert_eq!(testing::logs(), [(Level::Error, "cannot parse threshold".to_string())]);
/// ```
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::campanile::router::host::log(level, message)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_log(level, message)
    }
}

/// Writes one line at level [`Level::Trace`]: very detailed diagnostics, usually filtered out by the host.
///
/// ```
/// use campanile_sdk::log::{self, Level};
/// use campanile_sdk::testing;
///
/// log::trace("hello");
/// assert_eq!(testing::logs(), [(Level::Trace, "hello".to_string())]);
/// ```
pub fn trace(message: &str) {
    log(Level::Trace, message)
}

/// Writes one line at level [`Level::Trace`], formatted like [`format!`]. Use it as
/// `campanile_sdk::log::trace!`.
///
/// ```
/// use campanile_sdk::log::{self, Level};
/// use campanile_sdk::testing;
///
/// let receiver = "chat";
/// log::trace!("routing to {receiver} ({} alerts)", 3);
/// assert_eq!(testing::logs(), [(Level::Trace, "routing to chat (3 alerts)".to_string())]);
/// ```
#[doc(inline)]
pub use crate::__campanile_log_trace as trace;

#[doc(hidden)]
#[macro_export]
macro_rules! __campanile_log_trace {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Trace, &::std::format!($($arg)+))
    };
}

/// Writes one line at level [`Level::Debug`]: diagnostics for whoever debugs the plugin.
///
/// ```
/// use campanile_sdk::log::{self, Level};
/// use campanile_sdk::testing;
///
/// log::debug("hello");
/// assert_eq!(testing::logs(), [(Level::Debug, "hello".to_string())]);
/// ```
pub fn debug(message: &str) {
    log(Level::Debug, message)
}

/// Writes one line at level [`Level::Debug`], formatted like [`format!`]. Use it as
/// `campanile_sdk::log::debug!`.
///
/// ```
/// use campanile_sdk::log::{self, Level};
/// use campanile_sdk::testing;
///
/// let receiver = "chat";
/// log::debug!("routing to {receiver} ({} alerts)", 3);
/// assert_eq!(testing::logs(), [(Level::Debug, "routing to chat (3 alerts)".to_string())]);
/// ```
#[doc(inline)]
pub use crate::__campanile_log_debug as debug;

#[doc(hidden)]
#[macro_export]
macro_rules! __campanile_log_debug {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Debug, &::std::format!($($arg)+))
    };
}

/// Writes one line at level [`Level::Info`]: routine information.
///
/// ```
/// use campanile_sdk::log::{self, Level};
/// use campanile_sdk::testing;
///
/// log::info("hello");
/// assert_eq!(testing::logs(), [(Level::Info, "hello".to_string())]);
/// ```
pub fn info(message: &str) {
    log(Level::Info, message)
}

/// Writes one line at level [`Level::Info`], formatted like [`format!`]. Use it as
/// `campanile_sdk::log::info!`.
///
/// ```
/// use campanile_sdk::log::{self, Level};
/// use campanile_sdk::testing;
///
/// let receiver = "chat";
/// log::info!("routing to {receiver} ({} alerts)", 3);
/// assert_eq!(testing::logs(), [(Level::Info, "routing to chat (3 alerts)".to_string())]);
/// ```
#[doc(inline)]
pub use crate::__campanile_log_info as info;

#[doc(hidden)]
#[macro_export]
macro_rules! __campanile_log_info {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Info, &::std::format!($($arg)+))
    };
}

/// Writes one line at level [`Level::Warn`]: something unexpected the plugin worked around.
///
/// ```
/// use campanile_sdk::log::{self, Level};
/// use campanile_sdk::testing;
///
/// log::warn("hello");
/// assert_eq!(testing::logs(), [(Level::Warn, "hello".to_string())]);
/// ```
pub fn warn(message: &str) {
    log(Level::Warn, message)
}

/// Writes one line at level [`Level::Warn`], formatted like [`format!`]. Use it as
/// `campanile_sdk::log::warn!`.
///
/// ```
/// use campanile_sdk::log::{self, Level};
/// use campanile_sdk::testing;
///
/// let receiver = "chat";
/// log::warn!("routing to {receiver} ({} alerts)", 3);
/// assert_eq!(testing::logs(), [(Level::Warn, "routing to chat (3 alerts)".to_string())]);
/// ```
#[doc(inline)]
pub use crate::__campanile_log_warn as warn;

#[doc(hidden)]
#[macro_export]
macro_rules! __campanile_log_warn {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Warn, &::std::format!($($arg)+))
    };
}

/// Writes one line at level [`Level::Error`]: something that went wrong.
///
/// ```
/// use campanile_sdk::log::{self, Level};
/// use campanile_sdk::testing;
///
/// log::error("hello");
/// assert_eq!(testing::logs(), [(Level::Error, "hello".to_string())]);
/// ```
pub fn error(message: &str) {
    log(Level::Error, message)
}

/// Writes one line at level [`Level::Error`], formatted like [`format!`]. Use it as
/// `campanile_sdk::log::error!`.
///
/// ```
/// use campanile_sdk::log::{self, Level};
/// use campanile_sdk::testing;
///
/// let receiver = "chat";
/// log::error!("routing to {receiver} ({} alerts)", 3);
/// assert_eq!(testing::logs(), [(Level::Error, "routing to chat (3 alerts)".to_string())]);
/// ```
#[doc(inline)]
pub use crate::__campanile_log_error as error;

#[doc(hidden)]
#[macro_export]
macro_rules! __campanile_log_error {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Error, &::std::format!($($arg)+))
    };
}
