//! A token bucket on tokio's clock, so that it runs in virtual time under `tokio::time::pause`.

use std::time::Duration;

use tokio::time::Instant;

use crate::RateLimit;

/// A token bucket: `burst` tokens at most, refilled at `per_second`.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(limit: RateLimit, now: Instant) -> Self {
        let burst = f64::from(limit.burst);
        Self { per_second: limit.per_second, burst, tokens: burst, last: now }
    }

    /// An empty bucket, filling from `now`: for a caller that cannot know what was spent
    /// before it started (a restarted process sharing an account's limits with its
    /// predecessor).
    pub(crate) fn empty(limit: RateLimit, now: Instant) -> Self {
        Self { tokens: 0.0, ..Self::new(limit, now) }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.last = self.last.max(now);
    }

    /// Takes a token, or says how long until one is available (rounded up to the millisecond).
    pub(crate) fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 - 1e-9 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            Ok(())
        } else {
            let seconds = (1.0 - self.tokens) / self.per_second;
            Err(Duration::from_millis((seconds * 1000.0).ceil() as u64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_token_waits_for_its_refill() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(RateLimit::new(2.0, 1), start);
        assert!(bucket.try_take(start).is_ok());
        assert_eq!(bucket.try_take(start), Err(Duration::from_millis(500)));
        assert!(bucket.try_take(start + Duration::from_millis(500)).is_ok());
        let mut empty = TokenBucket::empty(RateLimit::new(2.0, 4), start);
        assert_eq!(empty.try_take(start), Err(Duration::from_millis(500)), "an empty bucket fills from its start");
        let later = start + Duration::from_secs(10);
        for _ in 0..4 {
            assert!(empty.try_take(later).is_ok());
        }
        assert!(empty.try_take(later).is_err(), "never more than its burst");
    }
}
