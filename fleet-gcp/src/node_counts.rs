//! Node counts as GKE counts them. In a regional cluster a node pool runs in several zones
//! (three that GKE picks, unless the cluster names its `locations`), and `initialNodeCount`,
//! `minNodeCount` and `maxNodeCount` count nodes **per zone**. Fleet's counts are totals, so
//! the autoscaler gets `totalMinNodeCount`/`totalMaxNodeCount` (never beside the per-zone
//! limits, which GKE refuses; with the `BALANCED` location policy, which spreads nodes evenly
//! over the zones), and the initial count per zone is the smallest that gives the pool at
//! least its minimum: a regional pool starts with at least one node in each of its zones.

use google_cloud_container_v1::model;

use fleet_core::NodePool;

/// The zones GKE spreads a regional cluster's nodes over when the cluster names none.
pub(crate) const DEFAULT_REGIONAL_ZONES: u32 = 3;

/// How many zones a node pool in `location` runs in: the zones configured for it, else one
/// for a zone (`europe-west1-b`) and [`DEFAULT_REGIONAL_ZONES`] for a region.
pub(crate) fn zone_count(location: &str, configured: Option<&[String]>) -> u32 {
    match configured {
        Some(zones) if !zones.is_empty() => zones.len() as u32,
        _ if is_zone(location) => 1,
        _ => DEFAULT_REGIONAL_ZONES,
    }
}

/// Whether `location` names a zone (`europe-west1-b`) rather than a region (`europe-west1`).
pub(crate) fn is_zone(location: &str) -> bool {
    location.split('-').count() >= 3
}

/// The per-zone `initialNodeCount` giving the pool at least its minimum (and at least one
/// node) in `zones` zones: `ceil(max(min, 1) / zones)`.
pub(crate) fn initial_per_zone(pool: &NodePool, zones: u32) -> i32 {
    let wanted = pool.min_count.max(1);
    let zones = zones.max(1);
    wanted.div_ceil(zones).min(i32::MAX as u32) as i32
}

/// The autoscaler of a pool: its total bounds, balanced over the zones.
pub(crate) fn autoscaling(pool: &NodePool) -> model::NodePoolAutoscaling {
    model::NodePoolAutoscaling::new()
        .set_enabled(true)
        .set_location_policy(model::node_pool_autoscaling::LocationPolicy::Balanced)
        .set_total_min_node_count(pool.min_count.min(i32::MAX as u32) as i32)
        .set_total_max_node_count(pool.max_count.get().min(i32::MAX as u32) as i32)
}

/// The total `(min, max)` nodes of a GKE node pool: its total limits, else its per-zone
/// limits (or fixed per-zone count) times its zones.
pub(crate) fn total_bounds(gke: &model::NodePool) -> (u32, u32) {
    let zones = (gke.locations.len() as u32).max(1);
    let count = |n: i32| (n.max(0) as u32).saturating_mul(zones);
    match &gke.autoscaling {
        Some(a) if a.enabled && (a.total_max_node_count > 0 || a.total_min_node_count > 0) => {
            (a.total_min_node_count.max(0) as u32, a.total_max_node_count.max(1) as u32)
        }
        Some(a) if a.enabled => (count(a.min_node_count), count(a.max_node_count).max(1)),
        _ => (count(gke.initial_node_count), count(gke.initial_node_count).max(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_core::{NodePoolName, SizeClass};

    fn pool(min: u32, max: u32) -> NodePool {
        NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, min, max).unwrap()
    }

    #[test]
    fn a_regional_pool_counts_per_zone_and_fleet_sends_totals() {
        assert_eq!(zone_count("europe-west1", None), 3);
        assert_eq!(zone_count("europe-west1-b", None), 1);
        assert_eq!(zone_count("europe-west1", Some(&["europe-west1-b".into(), "europe-west1-c".into()])), 2);
        assert_eq!(initial_per_zone(&pool(4, 9), 3), 2, "2 a zone: 6 nodes, the fewest at or above 4");
        assert_eq!(initial_per_zone(&pool(0, 3), 3), 1);
        assert_eq!(initial_per_zone(&pool(6, 9), 1), 6);
        let scaling = autoscaling(&pool(4, 9));
        assert_eq!((scaling.total_min_node_count, scaling.total_max_node_count), (4, 9));
        assert_eq!((scaling.min_node_count, scaling.max_node_count), (0, 0), "no per-zone limits beside totals");

        let zones = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let per_zone = model::NodePool::new().set_locations(zones.clone()).set_autoscaling(
            model::NodePoolAutoscaling::new().set_enabled(true).set_min_node_count(1).set_max_node_count(3),
        );
        assert_eq!(total_bounds(&per_zone), (3, 9), "per-zone limits of a pool in three zones");
        let totals = model::NodePool::new().set_locations(zones).set_autoscaling(scaling);
        assert_eq!(total_bounds(&totals), (4, 9));
    }
}
