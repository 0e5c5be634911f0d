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
    // The clusters' endpoint: a simulated Kubernetes API server taking EKS tokens, where the
    // kit sets team access up.
    let kube_api = proxies.serve_kube_api();
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
    // What EKS cannot do, and nothing else: EKS needs no system pool and has no hibernation,
    // the provider declares every setting (so none is left to refuse; tests/settings.rs checks
    // the refusal with fewer declared).
    let skipped = [
        "create_without_a_required_system_pool_is_rejected",
        "hibernate_and_resume_round_trip",
        "undeclared_settings_are_refused",
    ];
    assert_eq!(report.skipped_checks(), skipped, "{report}");
    assert_eq!(report.passed.len(), CHECKS.len() - skipped.len(), "{report}");
    assert!(
        kube_api.object("/api/v1/namespaces/team-conformance").is_some(),
        "team access was set up in the simulated API server"
    );
    for region in [first, second] {
        let left = moto.client(region.as_str()).list_clusters().send().await.unwrap();
        assert!(left.clusters().is_empty(), "the kit left clusters behind in {region}: {:?}", left.clusters());
    }
}
