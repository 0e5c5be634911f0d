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
    /// Calls waiting for a read or write token queue here, first come first served: one token
    /// wakes the one call at the head, not every call waiting.
    read_queue: tokio::sync::Mutex<()>,
    write_queue: tokio::sync::Mutex<()>,
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
            read_queue: tokio::sync::Mutex::new(()),
            write_queue: tokio::sync::Mutex::new(()),
            used: Mutex::new((0, 0)),
        }
    }

    /// Waits until a token for one call of `kind` is available, and takes it.
    pub(crate) async fn call(&self, kind: CallKind) {
        let started = Instant::now();
        let _turn = match kind {
            CallKind::Read => self.read_queue.lock().await,
            CallKind::Write => self.write_queue.lock().await,
        };
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

    /// A future that counts how often it is polled: each poll of a waiting call is a wake-up.
    struct Counted<F> {
        inner: std::pin::Pin<Box<F>>,
        polls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl<F: std::future::Future> std::future::Future for Counted<F> {
        type Output = F::Output;

        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
            self.polls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.as_mut().poll(cx)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_calls_are_served_in_order_and_a_token_wakes_one_of_them() {
        let limit = RateLimit::new(10.0, 1);
        let budget = std::sync::Arc::new(Budget::new(
            crate::ProviderName::new("sim").unwrap(),
            RateLimits::new(limit, limit),
            8,
        ));
        let served = std::sync::Arc::new(Mutex::new(Vec::new()));
        let polls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let calls = 200;
        let mut waiting = Vec::new();
        for n in 0..calls {
            let (budget, served) = (std::sync::Arc::clone(&budget), std::sync::Arc::clone(&served));
            let call = async move {
                budget.call(CallKind::Write).await;
                lock(&served).push(n);
            };
            waiting.push(tokio::spawn(Counted { inner: Box::pin(call), polls: std::sync::Arc::clone(&polls) }));
            // Each asks a moment after the one before.
            tokio::task::yield_now().await;
        }
        for call in waiting {
            call.await.unwrap();
        }
        assert_eq!(*lock(&served), (0..calls).collect::<Vec<_>>(), "first come, first served");
        // Every call waiting woken at each token would be polled about `calls` / 2 times.
        let polls = polls.load(std::sync::atomic::Ordering::Relaxed);
        assert!(polls <= 4 * calls, "{polls} polls of {calls} calls");
    }
}
