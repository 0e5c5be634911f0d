//! [`FailoverPolicy`]: where a template's clusters may go when their place is lost, written
//! in the fleet spec beside the template.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::AntiAffinity;
use crate::{ProviderName, Region};

/// What happens when a lost region or provider comes back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum OnReturn {
    /// Clusters stay where they failed over to; the old ones are deleted.
    #[default]
    Stay,
    /// Clusters move back to their original placement.
    FailBack,
}

/// A place a template's clusters may fail over to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Fallback {
    /// The provider.
    pub provider: ProviderName,
    /// Its regions, in order of preference.
    pub regions: Vec<Region>,
}

impl Fallback {
    /// Fallback regions of `provider`.
    pub fn new(provider: ProviderName, regions: Vec<Region>) -> Self {
        Self { provider, regions }
    }
}

/// How one template's clusters fail over; in a fleet spec, a template's `failover:` block
/// (`fallbacks`, `rto`, `maxParallel`, `onReturn`; the anti-affinity is the template's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct FailoverPolicy {
    /// Places to go, in order: usually other regions of the same provider, then other providers.
    pub fallbacks: Vec<Fallback>,
    /// Spread rule the new placements must keep.
    #[serde(skip)]
    pub anti_affinity: AntiAffinity,
    /// The recovery time objective.
    #[serde(with = "crate::serde_duration", default = "default_rto")]
    pub rto: Duration,
    /// Most failovers of this template at once.
    #[serde(default = "default_max_parallel")]
    pub max_parallel: usize,
    /// What happens when the lost place returns.
    #[serde(default)]
    pub on_return: OnReturn,
}

fn default_rto() -> Duration {
    Duration::from_secs(1800)
}

fn default_max_parallel() -> usize {
    10
}

impl FailoverPolicy {
    /// A policy with these fallbacks, no anti-affinity, a 30-minute RTO, 10 in parallel, and
    /// staying put when the old place returns.
    pub fn new(fallbacks: Vec<Fallback>) -> Self {
        Self {
            fallbacks,
            anti_affinity: AntiAffinity::None,
            rto: default_rto(),
            max_parallel: default_max_parallel(),
            on_return: OnReturn::Stay,
        }
    }

    /// Sets the anti-affinity.
    pub fn with_anti_affinity(mut self, anti_affinity: AntiAffinity) -> Self {
        self.anti_affinity = anti_affinity;
        self
    }

    /// Sets the recovery time objective.
    pub fn with_rto(mut self, rto: Duration) -> Self {
        self.rto = rto;
        self
    }

    /// Sets the most failovers of the template at once (at least one).
    pub fn with_max_parallel(mut self, max_parallel: usize) -> Self {
        self.max_parallel = max_parallel.max(1);
        self
    }

    /// Sets what happens when the lost place returns.
    pub fn with_on_return(mut self, on_return: OnReturn) -> Self {
        self.on_return = on_return;
        self
    }
}
