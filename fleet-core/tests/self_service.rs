//! Self-service environments: scoped credentials, quotas, ops locks and TTL expiry.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fleet_core::engine::Engine;
use fleet_core::fleet_spec::EnvironmentRequest;
use fleet_core::repository::Repository;
use fleet_core::self_service::{SelfService, SubmitError};
use fleet_core::sim::{LatencyModel, RegionCapacity, SimCloud};
use fleet_core::store::{MemoryStore, SqliteStore, StateStore};
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

/// A simulated cloud, an engine running on `store` and the self-service of `repository`; the
/// engine stops when the guard drops.
struct Setup {
    cloud: SimCloud,
    engine: Engine,
    service: SelfService,
    _running: tokio_util::sync::DropGuard,
}

fn sim_cloud() -> SimCloud {
    SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .latency(LatencyModel::zero())
        .build()
}

async fn setup() -> Setup {
    setup_with(REPOSITORY, Arc::new(MemoryStore::new())).await
}

async fn setup_with(repository: &str, store: Arc<dyn StateStore>) -> Setup {
    start(sim_cloud(), repository, store).await
}

/// An engine for `cloud` on `store`, running, with the self-service of `repository`.
async fn start(cloud: SimCloud, repository: &str, store: Arc<dyn StateStore>) -> Setup {
    let fleet = FleetName::new("selfserve").unwrap();
    let provider: Arc<dyn ClusterProvider> = Arc::new(cloud.provider(fleet.clone()));
    let clock = cloud.clone();
    let engine = Engine::builder(fleet)
        .provider(provider.clone())
        .store(store)
        .clock(move || clock.wall_clock())
        .build()
        .unwrap();
    let repository = Repository::from_sources(&[(PathBuf::from("repo.yaml"), repository)]).unwrap();
    let service = SelfService::new(repository, engine.clone()).unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    tokio::spawn({
        let (engine, cancel) = (engine.clone(), cancel.clone());
        async move { engine.run(cancel).await }
    });
    while !engine.is_running() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Setup { cloud, engine, service, _running: cancel.drop_guard() }
}

#[tokio::test(start_paused = true)]
async fn a_team_gets_a_real_cluster_with_credentials_for_its_namespace_only() {
    let Setup { cloud, service, _running, .. } = setup().await;
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
    let Setup { service, _running, .. } = setup().await;
    service.submit(request("dev1", None)).await.unwrap();
    service.submit(request("dev2", None)).await.unwrap();
    let err = service.submit(request("dev3", None)).await.unwrap_err();
    let SubmitError::Rejected(rejection) = err else { panic!("{err}") };
    assert_eq!(rejection.rule, "quota.clusters", "the shared template cluster counts too: {rejection}");
    assert_eq!(rejection.field, "team", "a cluster quota is the team's");
}

#[tokio::test(start_paused = true)]
async fn a_request_is_kept_at_once_and_its_environment_followed_until_it_runs() {
    let Setup { cloud, engine, service, _running } = setup().await;
    let accepted = service.request(request("bob", None)).await.unwrap();
    assert_eq!(accepted.id().as_str(), "bob");
    assert!(engine.environments().await.unwrap().iter().any(|e| e.id().as_str() == "bob"), "kept before it exists");
    let payments = TeamName::new("payments").unwrap();
    let id = ClusterId::new("bob").unwrap();
    let mut state = service.environment(&payments, &id).await.unwrap();
    for _ in 0..200 {
        if state.phase == Some(ClusterPhase::Running) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        state = service.environment(&payments, &id).await.unwrap();
    }
    assert_eq!(state.phase, Some(ClusterPhase::Running));
    let credentials = state.credentials.expect("credentials once it runs");
    assert!(matches!(credentials.scope(), CredentialScope::Namespace { namespace, .. } if namespace == "payments"));
    assert_eq!(cloud.clusters().iter().filter(|c| c.id == id).count(), 1);

    let other = TeamName::new("search").unwrap();
    assert_eq!(service.environment(&other, &id).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    let nobody = ClusterId::new("nobody").unwrap();
    assert_eq!(service.environment(&payments, &nobody).await.unwrap_err().kind(), ErrorKind::NotFound);
    let err = service.request(request("carol", None).with_ttl(Duration::from_secs(9 * 3600))).await.unwrap_err();
    let SubmitError::Rejected(rejection) = err else { panic!("{err}") };
    assert_eq!((rejection.rule.as_str(), rejection.field.as_str()), ("maxTtl", "ttl"));
}

#[tokio::test(start_paused = true)]
async fn a_request_cannot_change_an_ops_locked_setting() {
    let Setup { cloud, service, _running, .. } = setup().await;
    let err = service.submit(request("big", Some("large"))).await.unwrap_err();
    let SubmitError::Rejected(rejection) = err else { panic!("{err}") };
    assert_eq!(rejection.rule, "locked");
    assert_eq!(rejection.field, "size", "the size asked for breaks the lock");
    assert!(rejection.message.contains("locked by layer `base`"), "{}", rejection.message);
    assert!(cloud.clusters().iter().all(|c| c.id.as_str() != "big"), "nothing was created");
}

#[tokio::test(start_paused = true)]
async fn an_environment_expires_with_its_ttl() {
    let Setup { cloud, engine, service, _running, .. } = setup().await;
    service.submit(request("brief", None)).await.unwrap();
    assert_eq!(engine.environments().await.unwrap().len(), 1);
    // The running engine deletes it once its TTL ends, and forgets the environment.
    tokio::time::sleep(Duration::from_secs(2 * 3600 + 600)).await;
    assert!(cloud.clusters().iter().all(|c| c.id.as_str() != "brief"));
    assert!(engine.environments().await.unwrap().is_empty(), "the environment left the store");
    let report = engine.run_once().await.unwrap();
    assert!(report.converged, "and it is not created again: {report:?}");
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
    let Setup { cloud, service, _running, .. } = setup_with(LOCKED_SYSTEM_POOL, Arc::new(MemoryStore::new())).await;
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
    assert_eq!(rejection.field, "size");
}

/// The repository after an ops edit that knows nothing of any environment: another template.
fn edited() -> String {
    REPOSITORY.replace("{name: shared,", "{name: shared2,")
}

#[tokio::test(start_paused = true)]
async fn an_accepted_environment_survives_reloads_of_the_repository() {
    let Setup { cloud, engine, service, _running, .. } = setup().await;
    service.submit(request("alice", None)).await.unwrap();
    // Ops edit the repository: the service reloads it, and a hand-wired reload sets the
    // engine's desired fleet straight from the repository.
    let edited = Repository::from_sources(&[(PathBuf::from("repo.yaml"), edited().as_str())]).unwrap();
    service.reload(edited.clone()).unwrap();
    let infos = vec![cloud.info().clone()];
    engine.set_desired(edited.desired(&infos).unwrap().fleet).unwrap();
    tokio::time::sleep(Duration::from_secs(1800)).await;
    let ids: Vec<String> = cloud.clusters().iter().map(|c| c.id.to_string()).collect();
    assert!(ids.contains(&"alice".to_owned()), "the team's cluster is still there: {ids:?}");
    assert!(engine.desired().clusters.iter().any(|c| c.spec.id.as_str() == "alice"));
    // A repository with errors changes nothing and says why.
    let broken = Repository::from_sources(&[(
        PathBuf::from("repo.yaml"),
        REPOSITORY.replace("blueprint: dev,", "blueprint: nope,").as_str(),
    )])
    .unwrap();
    let errors = service.reload(broken).unwrap_err();
    assert!(errors.to_string().contains("no blueprint `nope`"), "{errors}");
    let origins: Vec<String> = engine.desired().clusters.iter().map(|c| c.origin.clone()).collect();
    assert!(origins.contains(&"template/shared2".to_owned()), "the last good one stays: {origins:?}");
}

#[tokio::test(start_paused = true)]
async fn an_accepted_environment_survives_a_restart_on_sqlite_and_still_counts() {
    let path = std::env::temp_dir().join(format!("fleet-selfserve-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let fleet = FleetName::new("selfserve").unwrap();
    let cloud = sim_cloud();
    let first =
        start(cloud.clone(), REPOSITORY, Arc::new(SqliteStore::open(&path, &fleet).await.unwrap().in_caller_thread()))
            .await;
    first.service.submit(request("alice", None)).await.unwrap();
    drop(first);

    // A new process: a new engine and self-service on the same file.
    let second =
        start(cloud.clone(), &edited(), Arc::new(SqliteStore::open(&path, &fleet).await.unwrap().in_caller_thread()))
            .await;
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(cloud.clusters().iter().any(|c| c.id.as_str() == "alice"), "never deleted after the restart");
    let kept = second.engine.environments().await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].request.team.as_str(), "payments");
    // The quota counts it: shared2, alice and one more are the team's three clusters.
    second.service.submit(request("bob", None)).await.unwrap();
    let err = second.service.submit(request("carol", None)).await.unwrap_err();
    let SubmitError::Rejected(rejection) = err else { panic!("{err}") };
    assert_eq!(rejection.rule, "quota.clusters", "{rejection}");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(start_paused = true)]
async fn submitting_records_only_what_happened() {
    let Setup { engine, service, _running, .. } = setup().await;
    service.submit(request("alice", None)).await.unwrap();
    service.submit(request("bob", None)).await.unwrap();
    let events = engine.store().events_after(0).await.unwrap();
    let adopted: Vec<_> = events.iter().filter(|e| e.kind == fleet_core::store::RecordKind::ClusterAdopted).collect();
    assert!(adopted.is_empty(), "the engine created these clusters; nothing was adopted: {adopted:?}");
}

#[tokio::test(start_paused = true)]
async fn a_team_deletes_its_own_environment_and_no_other() {
    let Setup { cloud, engine, service, _running, .. } = setup().await;
    service.submit(request("alice", None)).await.unwrap();
    let alice = ClusterId::new("alice").unwrap();
    let err = service.delete(&TeamName::new("search").unwrap(), &alice).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    let err =
        service.delete(&TeamName::new("payments").unwrap(), &ClusterId::new("nobody").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(service.environments(&TeamName::new("payments").unwrap()).await.unwrap().len(), 1);

    service.delete(&TeamName::new("payments").unwrap(), &alice).await.unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(cloud.clusters().iter().all(|c| c.id != alice), "the running engine deleted it");
    assert!(engine.environments().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_request_without_a_running_engine_is_refused_and_nothing_is_kept() {
    let Setup { engine, service, _running, .. } = setup().await;
    drop(_running);
    while engine.is_running() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let err = service.submit(request("alice", None)).await.unwrap_err();
    assert!(err.to_string().contains("not running"), "{err}");
    assert!(engine.environments().await.unwrap().is_empty());
}

#[test]
fn a_request_is_built_or_parsed_one_document_at_a_time() {
    let built = EnvironmentRequest::new(
        ClusterId::new("alice").unwrap(),
        TeamName::new("payments").unwrap(),
        "dev",
        ProviderName::new("sim").unwrap(),
        Region::new("east").unwrap(),
    )
    .with_ttl(Duration::from_secs(7200));
    let parsed = EnvironmentRequest::from_yaml(
        "kind: EnvironmentRequest\nspec:\n  name: alice\n  team: payments\n  blueprint: dev\n  provider: sim\n  region: east\n  ttl: 2h\n",
    )
    .unwrap();
    assert_eq!(built, parsed);
    assert_eq!(parsed, request("alice", None));
    let err = EnvironmentRequest::from_yaml("kind: EnvironmentRequest\nspec:\n  name: alice\n  team: payments\n  blueprint: dev\n  provider: sim\n  region: east\n  colour: red\n").unwrap_err();
    assert!(err.to_string().contains("colour"), "names the unknown field: {err}");
    let err =
        EnvironmentRequest::from_yaml("kind: TeamPolicy\nspec:\n  team: payments\n  quota: {clusters: 1, nodes: 1}\n")
            .unwrap_err();
    assert!(err.to_string().contains("expected `kind: EnvironmentRequest`"), "{err}");
}
