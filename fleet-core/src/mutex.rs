//! Locking a `std::sync::Mutex` without panicking on poison.
//!
//! A lock is poisoned when a thread panicked while holding it. Every mutex in this crate guards
//! state that each change leaves consistent (a counter, a map insert, a token bucket), so the
//! data is used as it is rather than turning one panic into a panic in every later caller.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, taking the data even if a panicking thread poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
