//! The example repository `examples/fleet-clouds` on EKS (moto behind the stand-in): its `eks`
//! clusters are planned, applied by the engine until the fleet converges, and planned again to
//! an empty plan. The repository names the provider `eks`; the builder takes that name.

mod common;

use std::sync::Arc;

use fleet_core::conformance::{converge_repository, stand_in_info};
use fleet_core::fleet_spec::DesiredFleet;
use fleet_core::repository::Repository;
use fleet_core::*;

const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/fleet-clouds");

#[tokio::test(flavor = "multi_thread")]
async fn the_clouds_repository_converges_on_eks_and_plans_empty() {
    let moto = common::Moto::start();
    let proxies = common::RegionProxies::start(&moto).await;
    let provider = proxies
        .builder("clouds")
        .with_name(ProviderName::new("eks").unwrap())
        .with_rate_limits(RateLimits::new(RateLimit::new(500.0, 500), RateLimit::new(100.0, 100)))
        .build()
        .await
        .unwrap();
    let others =
        [stand_in_info("gke", &["europe-west1", "us-central1"]), stand_in_info("aks", &["westeurope", "eastus"])];
    let run = converge_repository(REPOSITORY, Arc::new(provider), &others).await.unwrap();
    assert!(!run.info.offered_versions.is_empty(), "the offered versions are read from DescribeClusterVersions");
    let ids: Vec<&str> = run.clusters.iter().map(|c| c.as_str()).collect();
    assert_eq!(ids.len(), 2, "web in us-east-1 and secure in eu-west-1: {ids:?}");
    assert_eq!(run.first_plan.summary().create, 2, "{}", run.first_plan);

    let mut infos = others.to_vec();
    infos.push(run.info.clone());
    let desired = Repository::load_dir(REPOSITORY).unwrap().desired(&infos).unwrap().fleet;
    let desired = DesiredFleet::new(
        desired.name,
        desired.clusters.into_iter().filter(|c| c.spec.provider == run.info.name).collect(),
    );
    // What EKS was asked for: the ops layers' settings, each with its EKS field.
    for cluster in &desired.clusters {
        let spec = &cluster.spec;
        let applied = common::applied_settings(&moto.url, &proxies.stand_in, &spec.id, &spec.region).await.unwrap();
        assert_eq!(applied, AppliedSettings::new(spec.network.clone(), spec.audit_logging), "{}", spec.id);
    }
}
