//! The whole provider conformance kit against the fake `kind`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use fleet_core::conformance::{CHECKS, ConformanceContext, run_all};
use fleet_core::{Region, WaitOptions};

/// The checks that cannot run against Kind, each for a reason of Kind's own (the kit prints it):
/// - Kind upgrades and resizes nothing in place, and has no hibernation (capabilities undeclared);
/// - Kind applies none of the control-plane settings (it refuses each, which
///   `undeclared_settings_are_refused` checks);
/// - team credentials need a Kubernetes API server, which the fake's clusters do not run
///   (`tests/e2e.rs` runs that check against real Kind);
/// - Kind needs no system pool;
/// - Kind has one region, the local machine: no second region to cut;
/// - `kind` is a local command line with no API that throttles.
const SKIPPED: &[&str] = &[
    "create_without_a_required_system_pool_is_rejected",
    "upgrade_in_place_reaches_the_spec",
    "resize_in_place_reaches_the_spec",
    "upgrade_goes_one_minor_at_a_time",
    "hibernate_and_resume_round_trip",
    "declared_settings_are_applied",
    "team_credentials_are_scoped",
    "unreachable_region_is_reported",
    "throttling_is_rate_limited",
];

#[tokio::test]
async fn the_kind_provider_passes_the_conformance_kit_against_a_fake_kind() {
    let kind = common::FakeKind::new();
    let provider = kind.provider("conformance");
    let other = Arc::new(kind.provider("conformance-other"));
    let context = ConformanceContext::new("conf", Region::new("local").unwrap(), other)
        .unwrap()
        .with_hooks(Arc::new(kind.hooks()))
        .with_wait(
            WaitOptions::with_timeout(Duration::from_secs(60))
                .with_intervals(Duration::from_millis(10), Duration::from_millis(100)),
        );
    let report = run_all(&provider, &context).await;
    assert_eq!(report.skipped_checks(), SKIPPED, "{report}");
    let ran: Vec<&str> = CHECKS.iter().map(|check| check.name).filter(|name| !SKIPPED.contains(name)).collect();
    assert_eq!(report.passed, ran, "{report}");
    assert!(kind.take_calls().iter().any(|call| call.starts_with("create cluster --name conf-")));
    assert!(
        std::fs::read_dir(kind.path().join("state/clusters")).unwrap().next().is_none(),
        "the kit left clusters behind"
    );
}
