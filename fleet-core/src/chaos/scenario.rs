//! The chaos suite's random fleets and spec changes, drawn from the run's seed.

use std::collections::BTreeMap;

use crate::fleet_spec::{DesiredCluster, DesiredFleet};
use crate::sim::rng::SimRng;
use crate::{
    BlueprintVersion, ClusterId, ClusterSpec, FleetName, KubernetesVersion, NodePool, NodePoolName, ProviderName,
    Region, SizeClass,
};

/// The template every chaos cluster belongs to (its failover policy's key).
pub(crate) const TEMPLATE: &str = "svc";

/// The places a chaos fleet can use: every region of every simulated cloud.
#[derive(Debug, Clone)]
pub(crate) struct Places {
    pub(crate) all: Vec<(ProviderName, Region)>,
}

impl Places {
    fn pick(&self, rng: &mut SimRng) -> (ProviderName, Region) {
        self.all[pick_index(rng, self.all.len())].clone()
    }
}

/// An index in `0..len` (`len` > 0).
pub(crate) fn pick_index(rng: &mut SimRng, len: usize) -> usize {
    (rng.next_u64() % len.max(1) as u64) as usize
}

/// What one spec change did, for the checks: whether it needs a new cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// A cluster was added: one create.
    Added(ClusterId),
    /// A cluster was removed.
    Removed(ClusterId),
    /// A change made in place (version, node counts).
    InPlace(ClusterId),
    /// A change that replaces the cluster (machine size, place): one more create.
    Replacing(ClusterId),
}

/// The fleet a chaos run wants, and how it changes.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    fleet: FleetName,
    places: Places,
    specs: BTreeMap<ClusterId, ClusterSpec>,
    next_id: usize,
    revision: u64,
    max_clusters: usize,
}

impl Scenario {
    /// A random fleet of 1 to `max_clusters` clusters.
    pub(crate) fn new(fleet: FleetName, places: Places, max_clusters: usize, rng: &mut SimRng) -> Self {
        let mut scenario =
            Self { fleet, places, specs: BTreeMap::new(), next_id: 0, revision: 0, max_clusters: max_clusters.max(1) };
        let count = 1 + pick_index(rng, scenario.max_clusters);
        for _ in 0..count {
            scenario.add(rng);
        }
        scenario
    }

    /// The desired fleet now.
    pub(crate) fn desired(&self, addons: &BTreeMap<String, crate::blueprint::Addon>) -> DesiredFleet {
        let clusters = self
            .specs
            .values()
            .map(|spec| DesiredCluster::new(spec.clone(), TEMPLATE, 0).with_addons(addons.clone()))
            .collect();
        DesiredFleet::new(self.fleet.clone(), clusters)
    }

    /// Identities the fleet wants now.
    pub(crate) fn identities(&self) -> impl Iterator<Item = &ClusterId> {
        self.specs.keys()
    }

    fn version(&mut self) -> BlueprintVersion {
        self.revision += 1;
        BlueprintVersion::new(format!("chaos-v{}", self.revision)).expect("`chaos-v<n>` is a valid version")
    }

    fn add(&mut self, rng: &mut SimRng) -> Change {
        let id = ClusterId::new(format!("c{}", self.next_id)).expect("`c<n>` is a valid cluster id");
        self.next_id += 1;
        let (provider, region) = self.places.pick(rng);
        let minor = 29 + pick_index(rng, 3) as u32;
        let size = [SizeClass::Small, SizeClass::Medium][pick_index(rng, 2)];
        let pool = NodePool::new(pool_name(), size, 1, 2 + pick_index(rng, 4) as u32).expect("valid pool");
        let version = self.version();
        let spec = ClusterSpec::builder(id.clone(), provider, region, KubernetesVersion::new(1, minor, None))
            .node_pool(pool)
            .blueprint_version(version)
            .build()
            .expect("a chaos spec is valid");
        self.specs.insert(id.clone(), spec);
        Change::Added(id)
    }

    /// One random change of the wanted fleet.
    pub(crate) fn change(&mut self, rng: &mut SimRng) -> Change {
        let roll = pick_index(rng, 6);
        if self.specs.is_empty() || (roll == 0 && self.specs.len() < self.max_clusters) {
            return self.add(rng);
        }
        let id = self.specs.keys().nth(pick_index(rng, self.specs.len())).cloned().expect("not empty");
        if roll == 1 {
            self.specs.remove(&id);
            return Change::Removed(id);
        }
        let version = self.version();
        let places = self.places.clone();
        let spec = self.specs.get_mut(&id).expect("picked from the map");
        spec.blueprint_version = version;
        match roll {
            2 if spec.kubernetes_version.minor() < 33 => {
                spec.kubernetes_version = KubernetesVersion::new(1, spec.kubernetes_version.minor() + 1, None);
                Change::InPlace(id)
            }
            3 => {
                let pool = &mut spec.node_pools[0];
                pool.max_count = std::num::NonZeroU32::new(pool.max_count.get() % 5 + 1).expect("at least 1");
                pool.min_count = pool.min_count.min(pool.max_count.get());
                Change::InPlace(id)
            }
            4 => {
                let pool = &mut spec.node_pools[0];
                pool.size = if pool.size == SizeClass::Small { SizeClass::Medium } else { SizeClass::Small };
                Change::Replacing(id)
            }
            _ => {
                let (provider, region) = places.pick(rng);
                if provider == spec.provider && region == spec.region {
                    return Change::InPlace(id);
                }
                spec.provider = provider;
                spec.region = region;
                Change::Replacing(id)
            }
        }
    }
}

fn pool_name() -> NodePoolName {
    NodePoolName::new("workers").expect("`workers` is a valid node pool name")
}
