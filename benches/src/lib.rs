//! Workloads shared by Fleet's benchmarks: simulated clouds and fleets of cluster specs of a
//! given size.

pub mod api_shapes;
pub mod blueprint_cost;
pub mod charts;
pub mod convergence;
pub mod etcd_scale;
pub mod failover_scale;
pub mod incremental;
pub mod million;
pub mod plan_scale;
pub mod store_rate;
pub mod table;

use fleet::model::{ClusterId, NodePool, NodePoolName, ProviderName, Region, SizeClass};
use fleet::sim::{LatencyModel, RegionCapacity, SimCloud};
use fleet::{ClusterSpec, Result};

/// A simulated cloud named `name` with `regions` regions (`r0`, `r1`, ...), unlimited capacity
/// and rate, and instant operations: it measures Fleet's own cost, not a cloud's.
pub fn instant_cloud(name: &str, regions: usize, seed: u64) -> Result<SimCloud> {
    let mut builder =
        SimCloud::builder(ProviderName::new(name)?).latency(LatencyModel::zero()).unlimited_rate().seed(seed);
    for index in 0..regions {
        builder = builder.region(Region::new(format!("r{index}"))?, RegionCapacity::unlimited());
    }
    Ok(builder.build())
}

/// `count` cluster specs `c0`, `c1`, ... for `cloud`, spread round-robin over its regions.
pub fn cluster_specs(cloud: &SimCloud, count: usize) -> Result<Vec<ClusterSpec>> {
    let info = cloud.info();
    let pool = NodePool::new(NodePoolName::new("workers")?, SizeClass::Small, 1, 3)?;
    (0..count)
        .map(|index| {
            let region = info.regions[index % info.regions.len().max(1)].clone();
            ClusterSpec::builder(ClusterId::new(format!("c{index}"))?, info.name.clone(), region, "1.31".parse()?)
                .node_pool(pool.clone())
                .build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_spread_over_regions() {
        let cloud = instant_cloud("bench", 3, 1).unwrap();
        let specs = cluster_specs(&cloud, 7).unwrap();
        assert_eq!(specs.len(), 7);
        assert_eq!(specs[0].region.as_str(), "r0");
        assert_eq!(specs[4].region.as_str(), "r1");
    }
}
