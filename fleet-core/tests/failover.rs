//! Health checks and loss detection against the simulated cloud: region outages are detected
//! after the grace period and cleared on recovery; blips shorter than the grace period are not.

use std::sync::Arc;
use std::time::Duration;

use fleet_core::failover::{Health, HealthCheck, Location, Loss, LossDetector, LossThresholds, PhaseAndProbe};
use fleet_core::sim::{LatencyModel, RegionCapacity, SimCloud, SimProvider};
use fleet_core::*;
use tokio::time::Instant;

fn setup() -> (SimCloud, SimProvider, Vec<ClusterSpec>) {
    let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
        .latency(LatencyModel::zero())
        .unlimited_rate()
        .build();
    let provider = cloud.provider(FleetName::new("f").unwrap());
    let specs = [("e1", "east"), ("e2", "east"), ("e3", "east"), ("w1", "west")]
        .into_iter()
        .map(|(id, region)| {
            ClusterSpec::builder(
                ClusterId::new(id).unwrap(),
                ProviderName::new("sim").unwrap(),
                Region::new(region).unwrap(),
                "1.31".parse().unwrap(),
            )
            .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 2).unwrap())
            .build()
            .unwrap()
        })
        .collect();
    (cloud, provider, specs)
}

/// One round of checks: every cluster's health, and whether each region's API answered.
async fn check_round(
    provider: &SimProvider,
    check: &PhaseAndProbe,
    detector: &mut LossDetector,
    specs: &[ClusterSpec],
) {
    let now = Instant::now();
    let listed = provider.list().await.unwrap();
    for spec in specs {
        let location = Location::new(spec.provider.clone(), spec.region.clone());
        // A cluster of an unreachable region is not listed: the engine knows it from its store.
        let cluster = match listed.clusters.iter().find(|c| c.id == spec.id) {
            Some(cluster) => cluster.clone(),
            None => {
                assert!(listed.is_unreachable(&spec.region), "`{}` is neither listed nor unreachable", spec.id);
                Cluster::for_spec(spec, provider.fleet(), "", ClusterPhase::Unreachable)
            }
        };
        detector.record_cluster(&spec.id, &location, &check.check(&cluster).await, now);
        detector.record_region_api(&location, provider.get(&spec.id).await.is_ok(), now);
    }
}

#[tokio::test(start_paused = true)]
async fn the_default_check_needs_running_credentials_and_a_ready_api() {
    let (cloud, provider, specs) = setup();
    let provider = Arc::new(provider);
    for spec in &specs {
        provider.create(spec).await.unwrap();
    }
    let check = PhaseAndProbe::new(provider.clone(), Arc::new(cloud.clone()));
    let e1 = provider.get(&specs[0].id).await.unwrap();
    assert_eq!(check.check(&e1).await, Health::Healthy);
    let w1 = provider.get(&specs[3].id).await.unwrap();
    let wrong = provider.credentials(&specs[3].id).await.unwrap();
    let err = fleet_core::failover::ApiProbe::readyz(&cloud, &e1, &wrong).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "another cluster's token is refused: {err}");
    cloud.fail_region(&Region::new("east").unwrap());
    assert!(!check.check(&e1).await.is_healthy());
    assert_eq!(check.check(&w1).await, Health::Healthy, "other regions are unaffected");
    let listing = provider.list().await.unwrap();
    assert!(
        listing.is_unreachable(&Region::new("east").unwrap()) && !listing.is_unreachable(&Region::new("west").unwrap())
    );
    assert!(listing.clusters.iter().all(|c| c.region.as_str() == "west"), "only the reachable region is listed");
    let unreachable = Cluster::for_spec(&specs[0], provider.fleet(), "", ClusterPhase::Unreachable);
    assert!(matches!(check.check(&unreachable).await, Health::Unhealthy { reason } if reason.contains("unreachable")));
}

#[tokio::test(start_paused = true)]
async fn a_region_outage_is_detected_after_the_grace_period_and_cleared_on_recovery() {
    let (cloud, provider, specs) = setup();
    for spec in &specs {
        provider.create(spec).await.unwrap();
    }
    let check = PhaseAndProbe::new(Arc::new(provider.clone()), Arc::new(cloud.clone()));
    let mut detector = LossDetector::new(LossThresholds::default());
    let interval = Duration::from_secs(30);
    for _ in 0..4 {
        check_round(&provider, &check, &mut detector, &specs).await;
        tokio::time::sleep(interval).await;
    }
    assert!(detector.losses(Instant::now()).is_empty());

    let east = Region::new("east").unwrap();
    cloud.fail_region(&east);
    let outage = Instant::now();
    let detected = loop {
        check_round(&provider, &check, &mut detector, &specs).await;
        let losses = detector.losses(Instant::now());
        if !losses.is_empty() {
            break (Instant::now() - outage, losses);
        }
        tokio::time::sleep(interval).await;
    };
    let (after, losses) = detected;
    assert!(after >= LossThresholds::default().grace, "not before the grace period: {after:?}");
    assert!(after <= LossThresholds::default().grace + interval, "within one interval after it: {after:?}");
    let east_location = Location::new(ProviderName::new("sim").unwrap(), east.clone());
    assert!(losses.contains(&Loss::Region { location: east_location }), "{losses:?}");
    let lost: Vec<_> =
        losses.iter().filter_map(|l| if let Loss::Cluster { id, .. } = l { Some(id.as_str()) } else { None }).collect();
    assert_eq!(lost, ["e1", "e2", "e3"]);
    assert!(!losses.iter().any(|l| matches!(l, Loss::Provider { .. })), "the provider's other region still serves");

    cloud.restore_region(&east);
    check_round(&provider, &check, &mut detector, &specs).await;
    assert!(detector.losses(Instant::now()).is_empty(), "one healthy round clears the loss");
}

#[tokio::test(start_paused = true)]
async fn outages_shorter_than_the_grace_period_are_never_losses() {
    let (cloud, provider, specs) = setup();
    for spec in &specs {
        provider.create(spec).await.unwrap();
    }
    let check = PhaseAndProbe::new(Arc::new(provider.clone()), Arc::new(cloud.clone()));
    let mut detector = LossDetector::new(LossThresholds::default());
    let east = Region::new("east").unwrap();
    for cycle in 0..60u32 {
        // Down for 90 s of every 3 minutes: shorter than the 120 s grace period.
        for half in 0..6u32 {
            let down = half < 3;
            if down {
                cloud.fail_region(&east)
            } else {
                cloud.restore_region(&east)
            }
            check_round(&provider, &check, &mut detector, &specs).await;
            assert!(detector.losses(Instant::now()).is_empty(), "cycle {cycle}: a blip was judged a loss");
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    }
}
