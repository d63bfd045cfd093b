//! A token bucket per receiver, so a storm of groups does not get a chat webhook banned: each
//! attempt (retries included) takes a token; `burst` tokens can be spent at once, and they come
//! back at `per_second`. Waiters are served in arrival order (tokio's mutex is fair), and wait
//! rather than being dropped.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::RateLimit;

pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    state: Mutex<State>,
}

struct State {
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit) -> Self {
        let burst = f64::from(limit.burst.max(1));
        TokenBucket {
            per_second: limit.per_second,
            burst,
            state: Mutex::new(State {
                tokens: burst,
                refilled: Instant::now(),
            }),
        }
    }

    /// Waits for a token and takes it. The lock is held while waiting, so later callers queue
    /// behind earlier ones in order.
    pub async fn acquire(&self) {
        let mut state = self.state.lock().await;
        loop {
            let now = Instant::now();
            let earned = now.duration_since(state.refilled).as_secs_f64() * self.per_second;
            state.tokens = (state.tokens + earned).min(self.burst);
            state.refilled = now;
            if state.tokens >= 1.0 {
                state.tokens -= 1.0;
                return;
            }
            let missing = 1.0 - state.tokens;
            tokio::time::sleep(Duration::from_secs_f64(missing / self.per_second)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_paces() {
        let bucket = TokenBucket::new(RateLimit {
            per_second: 2.0,
            burst: 3,
        });
        let start = Instant::now();
        for _ in 0..3 {
            bucket.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        bucket.acquire().await;
        let fourth = start.elapsed();
        assert!(
            fourth >= Duration::from_millis(500) && fourth < Duration::from_millis(510),
            "{fourth:?}"
        );
        bucket.acquire().await;
        let fifth = start.elapsed();
        assert!(fifth >= Duration::from_millis(1000), "{fifth:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn refills_up_to_the_burst_only() {
        let bucket = TokenBucket::new(RateLimit {
            per_second: 10.0,
            burst: 2,
        });
        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        bucket.acquire().await;
        bucket.acquire().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        bucket.acquire().await;
        assert!(start.elapsed() >= Duration::from_millis(100));
    }
}
