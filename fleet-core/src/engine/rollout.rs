//! Rollouts of replacements in waves: after each change of the desired fleet, a canary wave
//! first, then waves of at most `max_unavailable` clusters, one wave per pass. Every new
//! cluster must pass the health gate before the old one is deleted; one that fails halts the
//! rollout, is deleted, and leaves the old clusters serving.

use std::time::Duration;

use crate::Cluster;
use crate::health::{Health, HealthCheck};

/// How replacements roll out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RolloutOptions {
    /// Clusters replaced (and gated) before any other of the same version.
    pub canary: usize,
    /// Most clusters of one version replaced at once after the canaries.
    pub max_unavailable: usize,
    /// Health checks of a new cluster before it is judged failed.
    pub gate_checks: u32,
    /// Time between those checks.
    pub gate_interval: Duration,
}

impl Default for RolloutOptions {
    fn default() -> Self {
        Self { canary: 1, max_unavailable: 10, gate_checks: 3, gate_interval: Duration::from_secs(10) }
    }
}

/// The progress of the rollout of the current desired fleet: a new one begins each time the
/// desired fleet changes.
#[derive(Debug, Default)]
pub(crate) struct Rollout {
    /// Replacements that passed the gate.
    passed: usize,
    /// Why the rollout halted, if it did.
    halted: Option<String>,
}

impl Rollout {
    /// How many replacements may start in this pass: the canaries left, or a wave after them;
    /// none when halted.
    pub(crate) fn wave(&self, options: &RolloutOptions) -> usize {
        if self.halted.is_some() {
            return 0;
        }
        let canary = options.canary.max(1);
        if self.passed < canary { canary - self.passed } else { options.max_unavailable.max(1) }
    }

    pub(crate) fn passed(&mut self) {
        self.passed += 1;
    }

    pub(crate) fn halt(&mut self, reason: String) {
        self.halted.get_or_insert(reason);
    }

    pub(crate) fn halted(&self) -> Option<&String> {
        self.halted.as_ref()
    }

    pub(crate) fn resume(&mut self) {
        self.halted = None;
    }
}

/// Checks a new cluster up to `options.gate_checks` times; `Err` with the last reason when it
/// never passes.
pub(crate) async fn gate(check: &dyn HealthCheck, cluster: &Cluster, options: &RolloutOptions) -> Result<(), String> {
    let mut reason = String::from("not checked");
    for attempt in 0..options.gate_checks.max(1) {
        if attempt > 0 {
            tokio::time::sleep(options.gate_interval).await;
        }
        match check.check(cluster).await {
            Health::Healthy => return Ok(()),
            Health::Unhealthy { reason: why } | Health::Unknown { reason: why } => reason = why,
        }
    }
    Err(reason)
}
