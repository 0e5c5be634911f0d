//! Simulated clouds for a repository (feature `yaml`): one [`SimCloud`] for each provider the
//! repository's fleet spec places clusters on, fails over to, or a request asks for, with the
//! regions it names there, so that a repository runs on simulated clouds in one call.

use std::collections::{BTreeMap, BTreeSet};

use super::{RegionCapacity, SimCloud, SimCloudBuilder};
use crate::repository::Repository;
use crate::{ProviderName, Region};

/// The room each simulated region has unless `configure` says otherwise: 50 clusters and 500
/// nodes.
pub const DEFAULT_REGION_CAPACITY: RegionCapacity = RegionCapacity::new(50, 500);

/// Every provider `repository` names, with the regions it names for each: template placements,
/// failover fallbacks and environment requests.
pub fn providers_of(repository: &Repository) -> BTreeMap<ProviderName, BTreeSet<Region>> {
    let mut providers: BTreeMap<ProviderName, BTreeSet<Region>> = BTreeMap::new();
    let mut name = |provider: &ProviderName, regions: &[Region]| {
        providers.entry(provider.clone()).or_default().extend(regions.iter().cloned());
    };
    for (_, spec) in &repository.fleet_specs {
        for template in &spec.templates {
            for placement in &template.placements {
                name(&placement.provider, &placement.regions);
            }
            for fallback in template.failover.iter().flat_map(|policy| &policy.fallbacks) {
                name(&fallback.provider, &fallback.regions);
            }
        }
    }
    for (_, request) in &repository.requests {
        name(&request.provider, std::slice::from_ref(&request.region));
    }
    providers
}

/// One simulated cloud per provider `repository` names ([`providers_of`]), in name order, each
/// with those regions ([`DEFAULT_REGION_CAPACITY`] each), every capability and setting, and
/// the seed `seed` plus its position; `configure` changes each cloud's builder before it is
/// built (capabilities, offered versions, latency, capacity).
///
/// ```
/// use fleet_core::repository::Repository;
/// use fleet_core::sim::clouds_for;
/// let repository = Repository::from_sources(&[(
///     "fleet.yaml".into(),
///     "kind: FleetSpec\nspec:\n  name: demo\n  templates:\n    - {name: web, blueprint: web, placements: [{provider: sim-a, regions: [east, west]}]}\n",
/// )])
/// .unwrap();
/// let clouds = clouds_for(&repository, 7, |_, builder| builder);
/// assert_eq!(clouds.len(), 1);
/// assert_eq!(clouds[0].info().name.as_str(), "sim-a");
/// assert_eq!(clouds[0].info().regions.len(), 2);
/// ```
pub fn clouds_for(
    repository: &Repository,
    seed: u64,
    configure: impl Fn(&ProviderName, SimCloudBuilder) -> SimCloudBuilder,
) -> Vec<SimCloud> {
    providers_of(repository)
        .into_iter()
        .enumerate()
        .map(|(index, (provider, regions))| {
            let mut builder = SimCloud::builder(provider.clone()).seed(seed.wrapping_add(index as u64));
            for region in regions {
                builder = builder.region(region, DEFAULT_REGION_CAPACITY);
            }
            configure(&provider, builder).build()
        })
        .collect()
}
