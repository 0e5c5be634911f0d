//! The fleet's status: by phase, blueprint version and Kubernetes version; failed clusters with
//! their reasons; clusters expiring soon; placements away from home; add-on drift; and JSON.

use std::sync::Arc;
use std::time::Duration;

use fleet_core::engine::{Engine, EngineOptions};
use fleet_core::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet_core::sim::{InjectedError, LatencyModel, Operation, RegionCapacity, SimCloud};
use fleet_core::store::{MemoryStore, StateStore, update_placement};
use fleet_core::*;

fn fleet() -> FleetName {
    FleetName::new("ops").unwrap()
}

fn spec(id: &str, region: &str, minor: u32) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new("sim").unwrap(),
        Region::new(region).unwrap(),
        KubernetesVersion::new(1, minor, None),
    )
    .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
    .build()
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_status_says_where_the_fleet_stands_and_what_to_close() {
    let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
        .latency(LatencyModel::zero())
        .seed(3)
        .build();
    cloud.fail_next(Operation::Create, 1, InjectedError::PermissionDenied);
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let mut options = EngineOptions::default();
    options.expiry_warning = Duration::from_secs(3 * 3600);
    let clock = cloud.clone();
    let engine = Engine::builder(fleet())
        .provider(Arc::new(cloud.provider(fleet())))
        .store(Arc::clone(&store))
        .options(options)
        .clock(move || clock.wall_clock())
        .build()
        .unwrap();
    let mut temporary = spec("tmp", "east", 34);
    temporary.ttl = Some(Duration::from_secs(2 * 3600));
    let clusters = vec![spec("denied", "east", 34), spec("old", "west", 33), temporary, spec("web", "east", 34)];
    engine
        .set_desired(DesiredFleet::new(fleet(), clusters.into_iter().map(|s| DesiredCluster::new(s, "t", 0)).collect()))
        .unwrap();
    engine.run_once().await.unwrap();
    engine.run_once().await.unwrap();
    // A past failover keeps `web` in the west.
    let east = Location::new(ProviderName::new("sim").unwrap(), Region::new("east").unwrap());
    let west = Location::new(ProviderName::new("sim").unwrap(), Region::new("west").unwrap());
    let web = ClusterIdentity::new("web").unwrap();
    update_placement(store.as_ref(), &web, &east, |placement| {
        placement.home = Some(east.clone());
        placement.location = west.clone();
        true
    })
    .await
    .unwrap();

    let status = engine.status().await.unwrap();
    assert_eq!(status.desired, 4);
    assert_eq!(status.by_phase.get("running"), Some(&3), "{status}");
    assert_eq!(status.by_kubernetes_version.get("1.33"), Some(&1), "{status}");
    assert_eq!(status.by_kubernetes_version.get("1.34"), Some(&2), "{status}");
    assert_eq!(status.by_blueprint_version.values().sum::<usize>(), 3, "every observed cluster counted: {status}");
    let denied = status.failed.get(&ClusterId::new("denied").unwrap()).expect("the failed cluster is listed");
    assert!(denied.contains("permission denied"), "{denied}");
    assert_eq!(status.expiring.len(), 1, "{status}");
    assert_eq!(status.expiring[0].identity.as_str(), "tmp");
    assert!(status.expiring[0].ends_in <= Duration::from_secs(2 * 3600), "{status}");
    assert_eq!(status.away_from_home.len(), 1, "{status}");
    assert_eq!((&status.away_from_home[0].home, &status.away_from_home[0].at), (&east, &west));
    assert!(status.addon_drift.is_empty());

    let text = status.to_string();
    assert!(text.contains("by Kubernetes version: 1.33: 1, 1.34: 2"), "{text}");
    assert!(text.contains("away from home: web at sim/west (home sim/east)"), "{text}");
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["byKubernetesVersion"]["1.33"], 1);
    assert_eq!(json["awayFromHome"][0]["identity"], "web");
    assert!(json["failed"]["denied"].as_str().unwrap().contains("permission denied"));
}
