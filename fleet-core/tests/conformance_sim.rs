//! The simulated cloud passes the whole provider conformance kit, with every capability and
//! with none, under realistic latencies and rate limits.

use std::sync::Arc;
use std::time::Duration;

use fleet_core::conformance::{CHECKS, ConformanceContext, run_all};
use fleet_core::sim::{LatencyModel, RegionCapacity, SimCloud};
use fleet_core::{Capabilities, FleetName, ProviderName, Region, WaitOptions};

fn backend(capabilities: Capabilities, seed: u64) -> SimCloud {
    SimCloud::builder(ProviderName::new("sim-conf").unwrap())
        .region(Region::new("eu-west-1").unwrap(), RegionCapacity::new(10, 100))
        .region(Region::new("us-east-1").unwrap(), RegionCapacity::new(10, 100))
        .capabilities(capabilities)
        .latency(LatencyModel::realistic())
        .seed(seed)
        .build()
}

async fn run_kit(cloud: &SimCloud) -> Vec<&'static str> {
    let provider = cloud.provider(FleetName::new("conformance").unwrap());
    let other = Arc::new(cloud.provider(FleetName::new("conformance-other").unwrap()));
    let ctx = ConformanceContext::new("conf", Region::new("eu-west-1").unwrap(), other)
        .unwrap()
        .with_wait(WaitOptions::with_timeout(Duration::from_secs(7200)));
    run_all(&provider, &ctx).await.passed
}

#[tokio::test(start_paused = true)]
async fn sim_with_every_capability_passes_the_kit() {
    let cloud = backend(Capabilities::all(), 1);
    assert_eq!(run_kit(&cloud).await, CHECKS);
    assert!(CHECKS.len() >= 10);
    assert!(cloud.clusters().is_empty(), "the kit left clusters behind: {:?}", cloud.clusters());
}

#[tokio::test(start_paused = true)]
async fn sim_without_capabilities_passes_the_kit() {
    let cloud = backend(Capabilities::default(), 2);
    assert_eq!(run_kit(&cloud).await, CHECKS);
}

#[tokio::test(start_paused = true)]
async fn sim_with_instant_operations_passes_the_kit() {
    let cloud = SimCloud::builder(ProviderName::new("sim-fast").unwrap())
        .region(Region::new("eu-west-1").unwrap(), RegionCapacity::unlimited())
        .latency(LatencyModel::zero())
        .unlimited_rate()
        .build();
    assert_eq!(run_kit(&cloud).await, CHECKS);
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "does not list the test region")]
async fn the_kit_fails_a_provider_that_breaks_the_contract() {
    let cloud = backend(Capabilities::all(), 3);
    let provider = cloud.provider(FleetName::new("conformance").unwrap());
    let other = Arc::new(cloud.provider(FleetName::new("conformance-other").unwrap()));
    let ctx = ConformanceContext::new("conf", Region::new("ap-south-1").unwrap(), other).unwrap();
    fleet_core::conformance::info_is_consistent(&provider, &ctx).await;
}
