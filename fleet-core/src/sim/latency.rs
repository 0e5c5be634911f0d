//! How long simulated calls and operations take.

use std::time::Duration;

use super::rng::SimRng;

/// A latency distribution, sampled from the simulated cloud's seeded generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Latency {
    /// Always the same.
    Fixed(Duration),
    /// Uniform between two bounds (inclusive).
    Uniform {
        /// Shortest.
        min: Duration,
        /// Longest.
        max: Duration,
    },
}

impl Latency {
    /// No latency at all.
    pub const ZERO: Latency = Latency::Fixed(Duration::ZERO);

    /// Uniform between `min` and `max` seconds.
    pub fn seconds(min: u64, max: u64) -> Self {
        Latency::Uniform { min: Duration::from_secs(min), max: Duration::from_secs(max) }
    }

    /// Uniform between `min` and `max` milliseconds.
    pub fn millis(min: u64, max: u64) -> Self {
        Latency::Uniform { min: Duration::from_millis(min), max: Duration::from_millis(max) }
    }

    pub(crate) fn sample(&self, rng: &mut SimRng) -> Duration {
        match *self {
            Latency::Fixed(duration) => duration,
            Latency::Uniform { min, max } => rng.duration_between(min, max),
        }
    }

    /// The mean of the distribution.
    pub fn mean(&self) -> Duration {
        match *self {
            Latency::Fixed(duration) => duration,
            Latency::Uniform { min, max } => (min + max.max(min)) / 2,
        }
    }

    /// The largest value the distribution gives.
    pub fn max(&self) -> Duration {
        match *self {
            Latency::Fixed(duration) => duration,
            Latency::Uniform { min, max } => max.max(min),
        }
    }
}

/// Latencies of a simulated cloud: how long each API call takes to answer, and how long the
/// operations it starts take to complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LatencyModel {
    /// Answering a read call (`get`, `list`, `credentials`).
    pub read_call: Latency,
    /// Answering a write call (`create`, `update`, `delete`, `hibernate`, `resume`).
    pub write_call: Latency,
    /// From `create` to `Running`.
    pub create: Latency,
    /// From `update`, `hibernate` or `resume` to the new state.
    pub update: Latency,
    /// From `delete` to gone.
    pub delete: Latency,
}

impl LatencyModel {
    /// Latencies like a managed Kubernetes service's: calls answer in 50-300 ms, clusters are
    /// created in 8-12 minutes, updated in 5-10 and deleted in 3-6.
    pub fn realistic() -> Self {
        Self {
            read_call: Latency::millis(50, 150),
            write_call: Latency::millis(100, 300),
            create: Latency::seconds(480, 720),
            update: Latency::seconds(300, 600),
            delete: Latency::seconds(180, 360),
        }
    }

    /// Everything instant: for measuring Fleet's own overhead.
    pub fn zero() -> Self {
        Self {
            read_call: Latency::ZERO,
            write_call: Latency::ZERO,
            create: Latency::ZERO,
            update: Latency::ZERO,
            delete: Latency::ZERO,
        }
    }

    /// Sets the create latency.
    pub fn with_create(mut self, latency: Latency) -> Self {
        self.create = latency;
        self
    }

    /// Sets the update latency.
    pub fn with_update(mut self, latency: Latency) -> Self {
        self.update = latency;
        self
    }

    /// Sets the delete latency.
    pub fn with_delete(mut self, latency: Latency) -> Self {
        self.delete = latency;
        self
    }

    /// Sets the latency of answering calls, reads and writes.
    pub fn with_calls(mut self, read: Latency, write: Latency) -> Self {
        self.read_call = read;
        self.write_call = write;
        self
    }
}
