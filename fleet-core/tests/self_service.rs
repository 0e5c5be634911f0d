//! Self-service environments: scoped credentials, quotas, ops locks and TTL expiry.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fleet_core::engine::Engine;
use fleet_core::fleet_spec::EnvironmentRequest;
use fleet_core::repository::Repository;
use fleet_core::self_service::{SelfService, SubmitError};
use fleet_core::sim::{LatencyModel, RegionCapacity, SimCloud};
use fleet_core::*;

const REPOSITORY: &str = r#"
kind: Layer
spec:
  name: base
  owner: ops
  set:
    kubernetesVersion: "1.31"
    nodePools: {workers: {size: small, minCount: 1, maxCount: 3}}
  lock: [nodePools]
---
kind: Blueprint
spec:
  name: dev
  layers: [{use: base}]
---
kind: FleetSpec
spec:
  name: selfserve
  templates:
    - {name: shared, blueprint: dev, team: payments, placements: [{provider: sim, regions: [east]}]}
---
kind: TeamPolicy
spec:
  team: payments
  quota: {clusters: 3, nodes: 20}
  maxTtl: 8h
"#;

fn request(name: &str, size: Option<&str>) -> EnvironmentRequest {
    let mut value = serde_json::json!({
        "name": name, "team": "payments", "blueprint": "dev", "provider": "sim", "region": "east", "ttl": "2h"
    });
    if let Some(size) = size {
        value["size"] = size.into();
    }
    serde_json::from_value(value).unwrap()
}

fn setup() -> (SimCloud, Engine, SelfService) {
    setup_with(REPOSITORY)
}

fn setup_with(repository: &str) -> (SimCloud, Engine, SelfService) {
    let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .latency(LatencyModel::zero())
        .build();
    let fleet = FleetName::new("selfserve").unwrap();
    let provider: Arc<dyn ClusterProvider> = Arc::new(cloud.provider(fleet.clone()));
    let clock = cloud.clone();
    let engine = Engine::builder(fleet).provider(provider.clone()).clock(move || clock.wall_clock()).build().unwrap();
    let repository = Repository::from_sources(&[(PathBuf::from("repo.yaml"), repository)]).unwrap();
    let service = SelfService::new(repository, engine.clone()).unwrap();
    (cloud, engine, service)
}

#[tokio::test(start_paused = true)]
async fn a_team_gets_a_real_cluster_with_credentials_for_its_namespace_only() {
    let (cloud, _engine, service) = setup();
    let environment = service.submit(request("alice", None)).await.unwrap();
    assert_eq!(environment.id.as_str(), "alice");
    assert_eq!(
        environment.credentials.scope(),
        &CredentialScope::Namespace { namespace: "payments".into(), role: "fleet-team-edit".into() }
    );
    assert!(environment.credentials.expose_kubeconfig().contains("namespace: \"payments\""));
    assert_eq!(format!("{:?}", environment.credentials), "Credentials([redacted])");
    let alice = cloud.clusters().into_iter().find(|c| c.id.as_str() == "alice").unwrap();
    assert!(alice.phase.is_running());
    assert_eq!(alice.tags.get("team").map(String::as_str), Some("payments"));
}

#[tokio::test(start_paused = true)]
async fn requests_over_quota_are_rejected_with_the_rule() {
    let (_cloud, _engine, service) = setup();
    service.submit(request("dev1", None)).await.unwrap();
    service.submit(request("dev2", None)).await.unwrap();
    let err = service.submit(request("dev3", None)).await.unwrap_err();
    let SubmitError::Rejected(rejection) = err else { panic!("{err}") };
    assert_eq!(rejection.rule, "quota.clusters", "the shared template cluster counts too: {rejection}");
}

#[tokio::test(start_paused = true)]
async fn a_request_cannot_change_an_ops_locked_setting() {
    let (cloud, _engine, service) = setup();
    let err = service.submit(request("big", Some("large"))).await.unwrap_err();
    let SubmitError::Rejected(rejection) = err else { panic!("{err}") };
    assert_eq!(rejection.rule, "locked");
    assert!(rejection.message.contains("locked by layer `base`"), "{}", rejection.message);
    assert!(cloud.clusters().iter().all(|c| c.id.as_str() != "big"), "nothing was created");
}

#[tokio::test(start_paused = true)]
async fn an_environment_expires_with_its_ttl() {
    let (cloud, engine, service) = setup();
    service.submit(request("brief", None)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2 * 3600 + 1)).await;
    let report = engine.run_once().await.unwrap();
    assert_eq!(report.planned.delete, 1, "{report:?}");
    assert!(cloud.clusters().iter().all(|c| c.id.as_str() != "brief"));
    assert!(engine.run_once().await.unwrap().converged, "and it is not created again");
}

/// Ops lock the system pool; the team sizes its workers within its allowed sizes.
const LOCKED_SYSTEM_POOL: &str = r#"
kind: Layer
spec:
  name: base
  owner: ops
  set:
    kubernetesVersion: "1.31"
    nodePools:
      system: {size: small, minCount: 1, maxCount: 3, system: true}
      workers: {size: small, minCount: 1, maxCount: 3}
  lock: [nodePools.system]
---
kind: Blueprint
spec:
  name: dev
  layers: [{use: base}]
---
kind: FleetSpec
spec:
  name: selfserve
  templates: []
---
kind: TeamPolicy
spec:
  team: payments
  quota: {clusters: 3, nodes: 20}
  allowedSizes: [small, medium]
  maxTtl: 8h
"#;

#[tokio::test(start_paused = true)]
async fn a_requested_size_goes_to_the_pools_ops_did_not_lock() {
    let (cloud, _engine, service) = setup_with(LOCKED_SYSTEM_POOL);
    service.submit(request("sized", Some("medium"))).await.unwrap();
    let sized = cloud.clusters().into_iter().find(|c| c.id.as_str() == "sized").unwrap();
    let sizes: Vec<(String, SizeClass)> = sized.node_pools.iter().map(|p| (p.name.to_string(), p.size)).collect();
    assert_eq!(
        sizes,
        [("system".to_owned(), SizeClass::Small), ("workers".to_owned(), SizeClass::Medium)],
        "the locked system pool keeps its size"
    );
    // A size the team may not use is still the policy's to refuse, by its rule.
    let err = service.submit(request("huge", Some("large"))).await.unwrap_err();
    let SubmitError::Rejected(rejection) = err else { panic!("{err}") };
    assert_eq!(rejection.rule, "allowedSizes", "{rejection}");
}
