//! The example repository `examples/fleet-clouds` against the local GKE API: its `gke`
//! clusters (public ones behind authorized networks, private ones, all with network policy
//! and audit logging locked by ops) are planned, applied by the engine until the fleet
//! converges, and planned again to nothing. Every setting the blueprints lock reaches GKE's
//! own fields.

mod common;

use std::sync::Arc;

use fleet_core::conformance::{converge_repository, stand_in_info};
use fleet_core::*;

const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/fleet-clouds");

#[tokio::test(flavor = "multi_thread")]
async fn the_clouds_repository_converges_on_gke_and_then_plans_nothing() {
    let gke = common::Gke::start();
    // The project has no `default` network: the builder names the network and subnetwork.
    gke.remove_network("default");
    let provider = gke
        .builder("clouds")
        .with_name(ProviderName::new("gke").unwrap())
        .with_network("fleet-vpc")
        .with_subnetwork("fleet-subnet")
        .build()
        .await
        .unwrap();
    let others = [stand_in_info("eks", &["us-east-1", "eu-west-1"]), stand_in_info("aks", &["westeurope", "eastus"])];
    let run = converge_repository(REPOSITORY, Arc::new(provider), &others).await.unwrap();
    let ids: Vec<&str> = run.clusters.iter().map(|c| c.as_str()).collect();
    assert_eq!(ids, ["secure-us-central1-0", "web-europe-west1-0"]);
    assert_eq!(run.first_plan.summary().create, 2, "{}", run.first_plan);

    let web = gke.cluster("europe-west1", "web-europe-west1-0").unwrap();
    let secure = gke.cluster("us-central1", "secure-us-central1-0").unwrap();
    for cluster in [&web, &secure] {
        assert_eq!(cluster["network"], "fleet-vpc");
        assert_eq!(cluster["subnetwork"], "fleet-subnet");
        assert_eq!(cluster["networkConfig"]["datapathProvider"], "ADVANCED_DATAPATH", "network policy: Dataplane V2");
        assert!(common::applied_settings(cluster).audit_logging, "auditLogging: the API server's logs kept");
        assert_eq!(
            cluster["currentMasterVersion"], "1.35.2-gke.1500",
            "1.35 of REGULAR, the most mature channel with it"
        );
        assert_eq!(cluster["releaseChannel"]["channel"], "REGULAR");
        for pool in cluster["nodePools"].as_array().unwrap() {
            assert_eq!(pool["config"]["machineType"].as_str().map(|m| m.starts_with("e2-standard-")), Some(true));
            assert!(pool["autoscaling"].get("maxNodeCount").is_none(), "totals only: {pool}");
        }
    }
    assert_eq!(common::applied_settings(&web).network.allowed_cidrs, ["203.0.113.0/24"]);
    assert!(!common::applied_settings(&web).network.private_endpoint);
    assert!(common::applied_settings(&secure).network.private_endpoint);
    assert_eq!(secure["privateClusterConfig"]["masterIpv4CidrBlock"], fleet_gcp::DEFAULT_MASTER_IPV4_CIDR_BLOCK);
    assert!(gke.violations().is_empty(), "{:?}", gke.violations());
}
