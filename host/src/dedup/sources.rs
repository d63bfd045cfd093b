//! Generator URLs held once, however many alerts share one.
//!
//! Prometheus's generator URL is its rule's expression (`…/graph?g0.expr=…`), the same for
//! every alert the rule fires: a hundred bytes an alert, held once here instead. A URL no alert
//! holds any more is forgotten at the next [`Sources::forget_unused`] (the cache's
//! housekeeping).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Default)]
pub struct Sources {
    held: Mutex<HashSet<Arc<str>>>,
}

impl Sources {
    /// The copy of `url` every alert with this URL shares.
    pub fn intern(&self, url: Arc<str>) -> Arc<str> {
        if url.is_empty() {
            return url;
        }
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        match held.get(&url) {
            Some(shared) => shared.clone(),
            None => {
                held.insert(url.clone());
                url
            }
        }
    }

    /// Drops the URLs that only this set still holds.
    pub fn forget_unused(&self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.retain(|url| Arc::strong_count(url) > 1);
    }

    /// Distinct URLs held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_urls_share_one_copy_until_no_alert_holds_it() {
        let sources = Sources::default();
        let a = sources.intern(Arc::from("http://prom/graph?g0.expr=up"));
        let b = sources.intern(Arc::from("http://prom/graph?g0.expr=up"));
        let c = sources.intern(Arc::from("http://prom/graph?g0.expr=down"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(sources.len(), 2);
        drop(c);
        sources.forget_unused();
        assert_eq!(sources.len(), 1, "the URL no alert holds is forgotten");
        drop((a, b));
        sources.forget_unused();
        assert_eq!(sources.len(), 0);
    }

    #[test]
    fn an_empty_url_is_not_held() {
        let sources = Sources::default();
        sources.intern(Arc::from(""));
        assert_eq!(sources.len(), 0);
    }
}
