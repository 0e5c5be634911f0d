//! The earliest a batch of replacement clusters can be serving, given a provider's API budget:
//! the floor a failover's recovery time is measured against.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use crate::RateLimit;

/// When each of `count` creates, all wanted at once on one provider, can be serving at the
/// earliest (offsets from the moment they are wanted, in order): the `k`-th create waits for
/// its write token (`writes` starts full: `burst` at once, then `per_second`) and for one of
/// `concurrency` operation slots, then takes `create` to finish.
///
/// ```
/// use std::time::Duration;
/// use fleet_core::RateLimit;
/// use fleet_core::failover::earliest_finishes;
/// let minute = Duration::from_secs(60);
/// // Two writes at once, then one a second; unlimited slots.
/// let finishes = earliest_finishes(4, RateLimit::new(1.0, 2), 100, minute);
/// assert_eq!(finishes, [minute, minute, minute + Duration::from_secs(1), minute + Duration::from_secs(2)]);
/// // One slot: each create waits for the one before it.
/// assert_eq!(earliest_finishes(2, RateLimit::new(100.0, 10), 1, minute), [minute, 2 * minute]);
/// ```
pub fn earliest_finishes(count: usize, writes: RateLimit, concurrency: usize, create: Duration) -> Vec<Duration> {
    let mut free_slots: BinaryHeap<Reverse<Duration>> =
        (0..concurrency.max(1)).map(|_| Reverse(Duration::ZERO)).collect();
    let burst = u64::from(writes.burst.max(1));
    (0..count as u64)
        .map(|k| {
            let token = match (k + 1).checked_sub(burst) {
                Some(waiting) if waiting > 0 => Duration::from_secs_f64(waiting as f64 / writes.per_second),
                _ => Duration::ZERO,
            };
            let Reverse(slot) = free_slots.pop().unwrap_or(Reverse(Duration::ZERO));
            let finish = token.max(slot) + create;
            free_slots.push(Reverse(finish));
            finish
        })
        .collect()
}
