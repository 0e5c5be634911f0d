//! End to end against real Kind: runs only with `FLEET_KIND_E2E=1` where `kind` and a working
//! container engine exist; otherwise says why it skipped. Creates real clusters (minutes).

use std::sync::Arc;
use std::time::Duration;

use fleet_core::conformance::{CHECKS, ConformanceContext, ConformanceHooks, run_all};
use fleet_core::{FleetName, Region, WaitOptions};
use fleet_kind::KindProvider;

/// Real Kind clusters run a Kubernetes API server, so team access can be set up in them; no
/// other hook is implemented against real Kind.
struct RealKind;

impl ConformanceHooks for RealKind {
    fn clusters_serve_kubernetes_api(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn the_kit_passes_against_real_kind() {
    if std::env::var("FLEET_KIND_E2E").as_deref() != Ok("1") {
        println!("skipped: set FLEET_KIND_E2E=1 to run against real Kind (needs `kind` and Docker or Podman)");
        return;
    }
    let provider = match KindProvider::builder(FleetName::new("fleet-e2e").unwrap()).build() {
        Ok(provider) => provider,
        Err(err) => {
            println!("skipped: {err}");
            return;
        }
    };
    let engine_ok = ["docker", "podman"]
        .iter()
        .any(|engine| std::process::Command::new(engine).arg("info").output().is_ok_and(|out| out.status.success()));
    if !engine_ok {
        println!("skipped: neither `docker info` nor `podman info` succeeds: no container engine is running");
        return;
    }
    let other = Arc::new(KindProvider::builder(FleetName::new("fleet-e2e-other").unwrap()).build().unwrap());
    let context = ConformanceContext::new("e2e", Region::new("local").unwrap(), other)
        .unwrap()
        .with_hooks(Arc::new(RealKind))
        .with_wait(WaitOptions::with_timeout(Duration::from_secs(900)));
    // The checks that need other hooks skip, saying so; any failure panics.
    let report = run_all(&provider, &context).await;
    assert_eq!(report.passed.len() + report.skipped.len(), CHECKS.len(), "{report}");
}
