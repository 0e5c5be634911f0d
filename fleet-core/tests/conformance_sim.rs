//! The simulated cloud passes the whole provider conformance kit with every hook, with every
//! capability and with none, under realistic latencies and rate limits.

use std::sync::Arc;

use fleet_core::conformance::{CHECKS, ConformanceContext, ConformanceReport, SimHooks, run_all};
use fleet_core::sim::{ApiShape, LatencyModel, RegionCapacity, SimCloud};
use fleet_core::{Capabilities, FleetName, KubernetesVersion, ProviderName, RateLimit, RateLimits, Region};

fn backend(capabilities: Capabilities, seed: u64) -> SimCloud {
    SimCloud::builder(ProviderName::new("sim-conf").unwrap())
        .region(Region::new("eu-west-1").unwrap(), RegionCapacity::new(10, 100))
        .region(Region::new("us-east-1").unwrap(), RegionCapacity::new(10, 100))
        .capabilities(capabilities)
        .offered_versions((33..=37).map(|minor| KubernetesVersion::new(1, minor, None)).collect())
        .system_pool_required(true)
        .latency(LatencyModel::realistic())
        .seed(seed)
        .build()
}

fn context(cloud: &SimCloud) -> ConformanceContext {
    let other = Arc::new(cloud.provider(FleetName::new("conformance-other").unwrap()));
    ConformanceContext::new("conf", Region::new("eu-west-1").unwrap(), other)
        .unwrap()
        .with_second_region(Region::new("us-east-1").unwrap())
        .with_hooks(Arc::new(SimHooks::new(cloud.clone())))
}

async fn run_kit(cloud: &SimCloud) -> ConformanceReport {
    let provider = cloud.provider(FleetName::new("conformance").unwrap());
    let report = run_all(&provider, &context(cloud)).await;
    assert!(cloud.clusters().is_empty(), "the kit left clusters behind: {:?}", cloud.clusters());
    report
}

#[tokio::test(start_paused = true)]
async fn sim_with_every_capability_passes_every_check() {
    let cloud = backend(Capabilities::all(), 1);
    let report = run_kit(&cloud).await;
    let every_check_but_refusals: Vec<&str> =
        CHECKS.iter().map(|c| c.name).filter(|name| *name != "undeclared_settings_are_refused").collect();
    assert_eq!(report.passed, every_check_but_refusals, "{report}");
    assert_eq!(report.skipped_checks(), ["undeclared_settings_are_refused"], "nothing undeclared to refuse");
    assert!(CHECKS.len() >= 30);
}

/// Each shape's list and get (pages, describes kept between lists) keep every promise of the
/// kit. The kit calls the provider without an API budget, as no engine stands in front of it,
/// so the shapes' rate limits are raised here; the engine's tests and the report run under
/// them.
#[tokio::test(start_paused = true)]
async fn sim_of_every_api_shape_passes_every_check() {
    for (seed, shape) in (10..).zip(ApiShape::ALL) {
        let cloud = SimCloud::builder(ProviderName::new("sim-conf").unwrap())
            .api_shape(shape)
            .rate_limits(RateLimits::new(RateLimit::new(100.0, 200), RateLimit::new(20.0, 50)))
            .region(Region::new("eu-west-1").unwrap(), RegionCapacity::new(10, 100))
            .region(Region::new("us-east-1").unwrap(), RegionCapacity::new(10, 100))
            .offered_versions((33..=37).map(|minor| KubernetesVersion::new(1, minor, None)).collect())
            .system_pool_required(true)
            .seed(seed)
            .build();
        let report = run_kit(&cloud).await;
        assert!(report.failed.is_empty(), "{shape}: {report}");
        assert_eq!(report.skipped_checks(), ["undeclared_settings_are_refused"], "{shape}: {report}");
    }
}

#[tokio::test(start_paused = true)]
async fn sim_without_capabilities_passes_and_skips_what_it_does_not_declare() {
    let cloud = backend(Capabilities::default(), 2);
    let report = run_kit(&cloud).await;
    assert!(report.failed.is_empty(), "{report}");
    assert_eq!(
        report.skipped_checks(),
        [
            "upgrade_in_place_reaches_the_spec",
            "resize_in_place_reaches_the_spec",
            "upgrade_goes_one_minor_at_a_time",
            "hibernate_and_resume_round_trip",
            "declared_settings_are_applied",
            "team_credentials_are_scoped"
        ],
        "{report}"
    );
    assert!(report.skipped.iter().all(|s| s.reason.contains("declares no")), "{report}");
    assert!(report.passed.contains(&"undeclared_settings_are_refused"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn sim_with_instant_operations_and_one_region_passes_the_kit() {
    let cloud = SimCloud::builder(ProviderName::new("sim-fast").unwrap())
        .region(Region::new("eu-west-1").unwrap(), RegionCapacity::unlimited())
        .capabilities(Capabilities::all())
        .latency(LatencyModel::zero())
        .unlimited_rate()
        .build();
    let provider = cloud.provider(FleetName::new("conformance").unwrap());
    let other = Arc::new(cloud.provider(FleetName::new("conformance-other").unwrap()));
    let ctx = ConformanceContext::new("conf", Region::new("eu-west-1").unwrap(), other)
        .unwrap()
        .with_hooks(Arc::new(SimHooks::new(cloud.clone())));
    let report = run_all(&provider, &ctx).await;
    assert_eq!(
        report.skipped_checks(),
        [
            "create_of_an_unoffered_version_is_rejected",
            "create_without_a_required_system_pool_is_rejected",
            "offered_versions_include_the_kits",
            "undeclared_settings_are_refused",
            "unreachable_region_is_reported"
        ],
        "{report}"
    );
    assert!(report.skipped[4].reason.contains("second region"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn without_hooks_the_checks_that_need_them_are_skipped_by_name() {
    let cloud = backend(Capabilities::all(), 4);
    let provider = cloud.provider(FleetName::new("conformance").unwrap());
    let other = Arc::new(cloud.provider(FleetName::new("conformance-other").unwrap()));
    let ctx = ConformanceContext::new("conf", Region::new("eu-west-1").unwrap(), other)
        .unwrap()
        .with_second_region(Region::new("us-east-1").unwrap());
    let report = fleet_core::conformance::run_checks(&provider, &ctx).await;
    assert!(report.failed.is_empty(), "{report}");
    let skipped: Vec<(&str, &str)> = report.skipped.iter().map(|s| (s.check, s.reason.as_str())).collect();
    assert_eq!(
        report.skipped_checks(),
        [
            "untagged_clusters_are_left_alone",
            "removed_clusters_leave_the_next_list",
            "declared_settings_are_applied",
            "undeclared_settings_are_refused",
            "team_credentials_are_scoped",
            "unreachable_region_is_reported",
            "transient_failures_are_retryable",
            "throttling_is_rate_limited"
        ],
        "{report}"
    );
    for (check, reason) in skipped.into_iter().filter(|(check, _)| *check != "undeclared_settings_are_refused") {
        assert!(reason.contains("hook `"), "{check} skipped without naming its hook: {reason}");
    }
    assert!(report.to_string().contains("SKIPPED  throttling_is_rate_limited: needs hook `throttle_next_calls`"));
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "does not list the test region")]
async fn a_single_check_fails_naming_itself_and_the_caller() {
    let cloud = backend(Capabilities::all(), 3);
    let provider = cloud.provider(FleetName::new("conformance").unwrap());
    let other = Arc::new(cloud.provider(FleetName::new("conformance-other").unwrap()));
    let ctx = ConformanceContext::new("conf", Region::new("ap-south-1").unwrap(), other).unwrap();
    fleet_core::conformance::info_is_consistent(&provider, &ctx).await;
}
