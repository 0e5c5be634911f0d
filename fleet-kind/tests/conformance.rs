//! The whole provider conformance kit against the fake `kind`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use fleet_core::conformance::{CHECKS, ConformanceContext, run_all};
use fleet_core::{Region, WaitOptions};

#[tokio::test]
async fn the_kind_provider_passes_the_conformance_kit_against_a_fake_kind() {
    let kind = common::FakeKind::new();
    let provider = kind.provider("conformance");
    let other = Arc::new(kind.provider("conformance-other"));
    let context = ConformanceContext::new("conf", Region::new("local").unwrap(), other).unwrap().with_wait(
        WaitOptions::with_timeout(Duration::from_secs(60))
            .with_intervals(Duration::from_millis(10), Duration::from_millis(100)),
    );
    let report = run_all(&provider, &context).await;
    assert_eq!(report.passed, CHECKS);
    assert!(kind.take_calls().iter().any(|call| call.starts_with("create cluster --name conf-")));
    assert!(
        std::fs::read_dir(kind.path().join("state/clusters")).unwrap().next().is_none(),
        "the kit left clusters behind"
    );
}
