//! The chaos suite's random fleets and spec changes, drawn from the run's seed, and the
//! foreign clusters planted beside them.

use std::collections::{BTreeMap, BTreeSet};

use crate::fleet_spec::{DesiredCluster, DesiredFleet};
use crate::sim::SimCloud;
use crate::sim::rng::SimRng;
use crate::{
    BlueprintVersion, ClusterId, ClusterIdentity, ClusterSpec, FleetName, FleetTags, KubernetesVersion, NodePool,
    NodePoolName, ProviderName, Region, SizeClass,
};

/// The template every chaos cluster belongs to (its failover policy's key).
pub const TEMPLATE: &str = "svc";

fn pick_place(places: &[(ProviderName, Region)], rng: &mut SimRng) -> (ProviderName, Region) {
    places[pick_index(rng, places.len())].clone()
}

/// An index in `0..len` (`len` > 0).
pub(crate) fn pick_index(rng: &mut SimRng, len: usize) -> usize {
    (rng.next_u64() % len.max(1) as u64) as usize
}

/// What one spec change did, for the checks: whether it needs a new cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A cluster was added: one create.
    Added(ClusterIdentity),
    /// A cluster was removed.
    Removed(ClusterIdentity),
    /// A change made in place (version, node counts).
    InPlace(ClusterIdentity),
    /// A change that replaces the cluster (machine size, place): one more create.
    Replacing(ClusterIdentity),
}

/// The fleet a chaos run wants, and how it changes: clusters `c0`, `c1`, ... at random places,
/// versions, sizes and node counts, changed at random (added, removed, upgraded, resized,
/// hibernated or woken, given another machine size or moved), all from one seed.
#[derive(Debug, Clone)]
pub struct Scenario {
    rng: SimRng,
    fleet: FleetName,
    places: Vec<(ProviderName, Region)>,
    specs: BTreeMap<ClusterIdentity, ClusterSpec>,
    next_id: usize,
    revision: u64,
    max_clusters: usize,
}

impl Scenario {
    /// A random fleet of `fleet`, of 1 to `max_clusters` clusters at `places`, from `seed`.
    pub fn new(fleet: FleetName, places: Vec<(ProviderName, Region)>, max_clusters: usize, seed: u64) -> Self {
        let mut scenario = Self {
            rng: SimRng::new(seed),
            fleet,
            places,
            specs: BTreeMap::new(),
            next_id: 0,
            revision: 0,
            max_clusters: max_clusters.max(1),
        };
        let count = 1 + pick_index(&mut scenario.rng, scenario.max_clusters);
        for _ in 0..count {
            scenario.add();
        }
        scenario
    }

    /// The desired fleet now, every cluster with `addons`.
    pub fn desired(&self, addons: &BTreeMap<String, crate::blueprint::Addon>) -> DesiredFleet {
        let clusters = self
            .specs
            .values()
            .map(|spec| DesiredCluster::new(spec.clone(), TEMPLATE, 0).with_addons(addons.clone()))
            .collect();
        DesiredFleet::new(self.fleet.clone(), clusters)
    }

    /// Identities the fleet wants now.
    pub fn identities(&self) -> impl Iterator<Item = &ClusterIdentity> {
        self.specs.keys()
    }

    fn version(&mut self) -> BlueprintVersion {
        self.revision += 1;
        BlueprintVersion::new(format!("chaos-v{}", self.revision)).expect("`chaos-v<n>` is a valid version")
    }

    fn add(&mut self) -> Change {
        let rng = &mut self.rng;
        let id = ClusterIdentity::new(format!("c{}", self.next_id)).expect("`c<n>` is a valid identity");
        self.next_id += 1;
        let (provider, region) = pick_place(&self.places, rng);
        let minor = 29 + pick_index(rng, 3) as u32;
        let size = [SizeClass::Small, SizeClass::Medium][pick_index(rng, 2)];
        let pool = NodePool::new(pool_name(), size, 1, 2 + pick_index(rng, 4) as u32).expect("valid pool");
        let version = self.version();
        let spec = ClusterSpec::builder(id.first_name(), provider, region, KubernetesVersion::new(1, minor, None))
            .node_pool(pool)
            .blueprint_version(version)
            .build()
            .expect("a chaos spec is valid");
        self.specs.insert(id.clone(), spec);
        Change::Added(id)
    }

    /// One random change of the wanted fleet.
    pub fn change(&mut self) -> Change {
        let roll = pick_index(&mut self.rng, 7);
        if self.specs.is_empty() || (roll == 0 && self.specs.len() < self.max_clusters) {
            return self.add();
        }
        let id = self.specs.keys().nth(pick_index(&mut self.rng, self.specs.len())).cloned().expect("not empty");
        if roll == 1 {
            self.specs.remove(&id);
            return Change::Removed(id);
        }
        let version = self.version();
        let rng = &mut self.rng;
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
            6 => {
                spec.hibernated = !spec.hibernated;
                Change::InPlace(id)
            }
            4 => {
                let pool = &mut spec.node_pools[0];
                pool.size = if pool.size == SizeClass::Small { SizeClass::Medium } else { SizeClass::Small };
                Change::Replacing(id)
            }
            _ => {
                let (provider, region) = pick_place(&self.places, rng);
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

/// Every region of every cloud, as places a scenario may use.
pub fn places_of(clouds: &[SimCloud]) -> Vec<(ProviderName, Region)> {
    clouds
        .iter()
        .flat_map(|cloud| cloud.info().regions.iter().map(|r| (cloud.info().name.clone(), r.clone())))
        .collect()
}

/// Clusters no chaos call may touch: an untagged one and another fleet's in every region.
pub fn plant_foreign_clusters(clouds: &[SimCloud]) -> BTreeSet<ClusterId> {
    let other = FleetName::new("other").expect("a valid fleet name");
    let mut planted = BTreeSet::new();
    for cloud in clouds {
        for place in &cloud.info().regions {
            let version = KubernetesVersion::new(1, 30, None);
            let untagged = ClusterId::new(format!("untagged-{place}")).expect("a valid id");
            cloud.insert_unmanaged_cluster(untagged.clone(), place.clone(), version, BTreeMap::new());
            let theirs = ClusterId::new(format!("other-{place}")).expect("a valid id");
            let spec = ClusterSpec::builder(theirs.clone(), cloud.info().name.clone(), place.clone(), version)
                .node_pool(
                    NodePool::new(NodePoolName::new("workers").expect("valid"), SizeClass::Small, 1, 1).expect("valid"),
                )
                .build()
                .expect("a valid spec");
            cloud.insert_unmanaged_cluster(
                theirs.clone(),
                place.clone(),
                version,
                FleetTags::cluster_tags(&other, &spec),
            );
            planted.extend([untagged, theirs]);
        }
    }
    planted
}
