//! The host's clock: the only clock a plugin has.
//!
//! ```
//! use campanile_sdk::{testing, time};
//!
//! testing::set_now_ms(1_000);
//! assert_eq!(time::now_ms(), 1_000);
//! ```

/// The current time, in milliseconds since the Unix epoch.
///
/// ```
/// use campanile_sdk::{testing, time};
///
/// let alert = testing::alert(&[("alertname", "Down")]);
/// testing::set_now_ms(alert.starts_at + 60_000);
/// let firing_for_ms = time::now_ms() - alert.starts_at;
/// assert_eq!(firing_for_ms, 60_000);
/// ```
pub fn now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        crate::bindings::campanile::router::host::now_ms()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::fake_now_ms()
    }
}
