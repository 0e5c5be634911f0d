//! The faults a chaos run injects into its simulated clouds, drawn from the run's seed.

use std::collections::BTreeMap;
use std::time::Duration;

use super::scenario::pick_index;
use crate::sim::rng::SimRng;
use crate::sim::{InjectedError, Operation, SimCloud};

/// Operations a fault can hit.
const TARGETS: [Operation; 6] =
    [Operation::Create, Operation::Get, Operation::List, Operation::Update, Operation::Delete, Operation::Credentials];

/// Errors a fault can fail a call with: mostly transient, some for good.
fn error(rng: &mut SimRng) -> InjectedError {
    match pick_index(rng, 8) {
        0 | 1 => InjectedError::Unavailable,
        2 => InjectedError::Conflict,
        3 | 4 => InjectedError::RateLimited(rng.duration_between(Duration::from_secs(1), Duration::from_secs(30))),
        5 => InjectedError::Internal,
        6 => InjectedError::QuotaExceeded,
        _ => InjectedError::PermissionDenied,
    }
}

/// How many faults of each kind a chaos run injected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultCounts {
    /// By kind: `error_rate`, `failed_calls`, `lost_responses`, `response_loss_rate`,
    /// `region_outage`, `provider_outage`, `restore`.
    pub by_kind: BTreeMap<&'static str, u64>,
}

impl FaultCounts {
    /// Every fault injected.
    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }

    pub(crate) fn add(&mut self, other: &FaultCounts) {
        for (kind, count) in &other.by_kind {
            *self.by_kind.entry(kind).or_default() += count;
        }
    }

    fn count(&mut self, kind: &'static str) {
        *self.by_kind.entry(kind).or_default() += 1;
    }
}

/// Injects one random fault into one of `clouds` (or lifts them all on one cloud), and counts it.
pub(crate) fn inject(clouds: &[SimCloud], rng: &mut SimRng, counts: &mut FaultCounts) {
    let cloud = &clouds[pick_index(rng, clouds.len())];
    let operation = TARGETS[pick_index(rng, TARGETS.len())];
    match pick_index(rng, 8) {
        0 => {
            let probability = 0.05 + 0.25 * rng.next_f64();
            cloud.set_error_probability(operation, probability, error(rng));
            counts.count("error_rate");
        }
        1 | 2 => {
            cloud.fail_next(operation, 1 + pick_index(rng, 3) as u32, error(rng));
            counts.count("failed_calls");
        }
        3 => {
            let writes = [Operation::Create, Operation::Update, Operation::Delete];
            cloud.lose_next_responses(writes[pick_index(rng, writes.len())], 1 + pick_index(rng, 2) as u32);
            counts.count("lost_responses");
        }
        4 => {
            let probability = 0.05 + 0.25 * rng.next_f64();
            cloud.set_response_loss_probability(operation, probability);
            counts.count("response_loss_rate");
        }
        5 => {
            let regions = &cloud.info().regions;
            cloud.fail_region(&regions[pick_index(rng, regions.len())]);
            counts.count("region_outage");
        }
        6 => {
            cloud.fail_provider();
            counts.count("provider_outage");
        }
        _ => {
            cloud.clear_faults();
            counts.count("restore");
        }
    }
}
