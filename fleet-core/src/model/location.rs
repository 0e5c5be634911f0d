//! [`Location`]: a provider and one of its regions, where clusters run; the [`Room`] left
//! there; and a spec moved to another location.

use serde::{Deserialize, Serialize};

use super::{ClusterSpec, ProviderName, Region};

/// Where a cluster runs, or is wanted: a provider and one of its regions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Location {
    /// The provider.
    pub provider: ProviderName,
    /// The region.
    pub region: Region,
}

impl Location {
    /// A location.
    pub fn new(provider: ProviderName, region: Region) -> Self {
        Self { provider, region }
    }

    /// Where `cluster` runs.
    pub fn of(cluster: &crate::Cluster) -> Self {
        Self::new(cluster.provider.clone(), cluster.region.clone())
    }

    /// Where `spec` places its cluster.
    pub fn of_spec(spec: &crate::ClusterSpec) -> Self {
        Self::new(spec.provider.clone(), spec.region.clone())
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.provider, self.region)
    }
}

/// Free room in one place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Room {
    /// Clusters that still fit.
    pub clusters: u32,
    /// Nodes that still fit.
    pub nodes: u64,
}

impl Room {
    /// Room without limit, for places whose provider cannot tell.
    pub fn unlimited() -> Self {
        Self { clusters: u32::MAX, nodes: u64::MAX }
    }
}

/// `spec` moved to `to`: same blueprint version and settings; when the provider changes, the
/// node pools keep their abstract size classes and drop machine types the old provider named.
pub(crate) fn relocate(spec: &ClusterSpec, to: &Location) -> ClusterSpec {
    let mut spec = spec.clone();
    if spec.provider != to.provider {
        for pool in &mut spec.node_pools {
            pool.machine_type = None;
        }
    }
    spec.provider = to.provider.clone();
    spec.region = to.region.clone();
    spec
}
