//! Listing many regions and clusters at once without going over the provider's read rate:
//! [`join_all`] runs the regions' listings side by side, [`ReadPacer`] spaces out the API
//! calls they make.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::Poll;

use crate::{RateLimit, TokenBucket};
use tokio::time::Instant;

/// Runs `futures` concurrently on the calling task; their outputs in the same order.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let outputs = fleet_core::observe::join_all((1..=2).map(|n| async move { n }).collect()).await;
/// assert_eq!(outputs, [1, 2]);
/// # });
/// ```
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// A token bucket at the provider's declared read rate, shared by every call a listing makes,
/// so that a list of many calls keeps to the rate instead of being throttled by the cloud.
///
/// ```
/// use fleet_core::{RateLimit, observe::ReadPacer};
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let pacer = ReadPacer::new(RateLimit::new(10.0, 2));
/// let start = tokio::time::Instant::now();
/// for _ in 0..12 {
///     pacer.pace().await;
/// }
/// assert_eq!(start.elapsed(), std::time::Duration::from_secs(1), "the burst of 2, then 10 a second");
/// # });
/// ```
#[derive(Debug)]
pub struct ReadPacer {
    bucket: Mutex<TokenBucket>,
}

impl ReadPacer {
    /// A pacer at `limit`, its burst available at once.
    pub fn new(limit: RateLimit) -> Self {
        Self { bucket: Mutex::new(TokenBucket::new(limit, Instant::now())) }
    }

    /// Waits until one more call fits the rate.
    pub async fn pace(&self) {
        loop {
            let taken = crate::mutex::lock(&self.bucket).try_take(Instant::now());
            match taken {
                Ok(()) => return,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn futures_run_side_by_side_and_keep_their_order() {
        let start = Instant::now();
        let slow = |ms: u64, value: u32| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            value
        };
        let outputs = join_all(vec![slow(300, 1), slow(100, 2), slow(200, 3)]).await;
        assert_eq!(outputs, [1, 2, 3]);
        assert_eq!(start.elapsed(), Duration::from_millis(300), "concurrently, not one after the other");
        assert!(join_all(Vec::<std::future::Ready<()>>::new()).await.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn calls_past_the_burst_wait_for_the_rate() {
        let pacer = ReadPacer::new(RateLimit::new(10.0, 5));
        let start = Instant::now();
        for _ in 0..5 {
            pacer.pace().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst goes at once");
        for _ in 0..10 {
            pacer.pace().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(1), "then ten a second");
    }
}
