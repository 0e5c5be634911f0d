//! The conformance kit against moto's EKS API, every region reached through a proxy of its own
//! that the hooks can cut off, fail or throttle, and with clusters planted on moto directly.

mod common;

use std::sync::Arc;
use std::time::Duration;

use fleet_core::conformance::{CHECKS, ConformanceContext, run_all};
use fleet_core::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_eks_provider_passes_the_conformance_kit_against_moto() {
    let moto = common::Moto::start();
    let proxies = common::RegionProxies::start(&moto).await;
    let provider = proxies.builder("conformance").build().await.unwrap();
    let other = Arc::new(moto.provider("conformance-other").await);
    let [first, second] = common::regions();
    let context = ConformanceContext::new("conf", first.clone(), other)
        .unwrap()
        .with_second_region(second.clone())
        .with_hooks(Arc::new(proxies.hooks()))
        .with_wait(
            WaitOptions::with_timeout(Duration::from_secs(60))
                .with_intervals(Duration::from_millis(20), Duration::from_millis(200)),
        );
    let report = run_all(&provider, &context).await;
    // What EKS on moto cannot do, and nothing else: moto has no UpdateClusterVersion (the
    // upgrade is checked against EKS's documented answer in tests/responder.rs), EKS has no
    // hibernation, and the provider declares no team credentials.
    assert_eq!(
        report.skipped_checks(),
        ["upgrade_in_place_reaches_the_spec", "hibernate_and_resume_round_trip", "team_credentials_are_scoped"],
        "{report}"
    );
    assert_eq!(report.passed.len(), CHECKS.len() - 3, "{report}");
    for region in [first, second] {
        let left = moto.client(region.as_str()).list_clusters().send().await.unwrap();
        assert!(left.clusters().is_empty(), "the kit left clusters behind in {region}: {:?}", left.clusters());
    }
}
