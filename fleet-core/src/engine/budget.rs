//! Per-provider API budgets: token buckets for reads and writes, and a limit on concurrent
//! operations, shared by every action of an engine. Calls wait for a token; none exceeds it.
//!
//! The buckets start empty: an engine that starts (or restarts after a crash) cannot know how
//! much of the provider's limits a previous process spent just before, and a full bucket
//! would let it burst over them. The cost is one burst's worth of refill at start.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::mutex::lock;
use crate::{ProviderName, RateLimits, TokenBucket};

/// Whether a call reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    Read,
    Write,
}

/// One provider's budget.
#[derive(Debug)]
pub(crate) struct Budget {
    /// Whose budget it is, for the metrics.
    provider: ProviderName,
    reads: Mutex<TokenBucket>,
    writes: Mutex<TokenBucket>,
    operations: Semaphore,
    /// Calls made, reads and writes, for the progress summary.
    used: Mutex<(u64, u64)>,
}

impl Budget {
    pub(crate) fn new(provider: ProviderName, limits: RateLimits, concurrency: usize) -> Self {
        let now = Instant::now();
        Self {
            provider,
            reads: Mutex::new(TokenBucket::empty(limits.reads, now)),
            writes: Mutex::new(TokenBucket::empty(limits.writes, now)),
            operations: Semaphore::new(concurrency.max(1)),
            used: Mutex::new((0, 0)),
        }
    }

    /// Waits until a token for one call of `kind` is available, and takes it.
    pub(crate) async fn call(&self, kind: CallKind) {
        let started = Instant::now();
        loop {
            let wait = {
                let bucket = match kind {
                    CallKind::Read => &self.reads,
                    CallKind::Write => &self.writes,
                };
                let mut bucket = lock(bucket);
                bucket.try_take(Instant::now())
            };
            match wait {
                Ok(()) => break,
                Err(wait) => tokio::time::sleep(wait.max(Duration::from_millis(1))).await,
            }
        }
        crate::telemetry::api_budget_wait(&self.provider, started.elapsed());
        let mut used = lock(&self.used);
        match kind {
            CallKind::Read => used.0 += 1,
            CallKind::Write => used.1 += 1,
        }
    }

    /// Holds one of the provider's concurrent-operation slots.
    pub(crate) async fn slot(&self) -> Option<SemaphorePermit<'_>> {
        self.operations.acquire().await.ok()
    }

    /// Calls made so far.
    pub(crate) fn used(&self) -> super::events::CallsMade {
        let (reads, writes) = *lock(&self.used);
        super::events::CallsMade::new(reads, writes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RateLimit;

    #[tokio::test(start_paused = true)]
    async fn reads_at_their_limit_leave_the_write_budget_whole() {
        let budget = Budget::new(
            crate::ProviderName::new("sim").unwrap(),
            RateLimits::new(RateLimit::new(1.0, 1), RateLimit::new(1.0, 5)),
            8,
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        let started = Instant::now();
        for _ in 0..10 {
            budget.call(CallKind::Read).await;
        }
        assert!(started.elapsed() >= Duration::from_secs(9), "reads wait for their own rate");
        let writing = Instant::now();
        for _ in 0..5 {
            budget.call(CallKind::Write).await;
        }
        assert_eq!(writing.elapsed(), Duration::ZERO, "a burst of writes waits for no read");
        assert_eq!(budget.used(), super::super::events::CallsMade::new(10, 5));
    }
}
