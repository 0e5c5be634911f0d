//! Self-service under any ordering: random batches of environment requests from two teams,
//! submitted all at once on a multi-threaded runtime, can never change an ops-locked setting,
//! take a team over its quota, or hand a team cluster-admin credentials.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use fleet_core::engine::Engine;
use fleet_core::fleet_spec::EnvironmentRequest;
use fleet_core::repository::Repository;
use fleet_core::self_service::{Environment, SelfService, SubmitError};
use fleet_core::sim::{LatencyModel, RegionCapacity, SimCloud};
use fleet_core::*;
use proptest::prelude::*;

/// Ops lock the Kubernetes version and audit logging; the team layer tries to set both from
/// variables a request chooses, and sizes the pool from another.
const REPOSITORY: &str = r#"
kind: Layer
spec:
  name: base
  owner: ops
  set: {kubernetesVersion: "1.31", auditLogging: true}
  lock: [kubernetesVersion, auditLogging]
---
kind: Blueprint
spec:
  name: dev
  variables:
    workers: {type: integer, default: 2, min: 1, max: 8}
    version: {type: string, default: "1.31"}
    audit: {type: boolean, default: true}
  layers:
    - use: base
    - name: team
      owner: payments
      set:
        kubernetesVersion: "${version}"
        auditLogging: "${audit}"
        nodePools: {workers: {size: small, minCount: 1, maxCount: "${workers}"}}
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
  quota: {clusters: 3, nodes: 12}
  allowedSizes: [small, medium]
  maxTtl: 8h
---
kind: TeamPolicy
spec:
  team: search
  quota: {clusters: 2, nodes: 6}
  allowedRegions: [east]
"#;

fn quota(team: &str) -> (usize, u64) {
    if team == "payments" { (3, 12) } else { (2, 6) }
}

fn request_strategy() -> impl Strategy<Value = serde_json::Value> {
    (
        0..6u32,
        prop::sample::select(vec!["payments", "search"]),
        prop::option::of(prop::sample::select(vec!["small", "medium", "large"])),
        (1..6i64, prop::sample::select(vec!["1.31", "1.32"]), any::<bool>()),
        prop::sample::select(vec!["east", "west"]),
        prop::option::of(prop::sample::select(vec!["1h", "10h"])),
    )
        .prop_map(|(name, team, size, (workers, version, audit), region, ttl)| {
            let mut value = serde_json::json!({
                "name": format!("env{name}"), "team": team, "blueprint": "dev", "provider": "sim", "region": region,
                "variables": {"workers": workers, "version": version, "audit": audit},
            });
            if let Some(size) = size {
                value["size"] = size.into();
            }
            if let Some(ttl) = ttl {
                value["ttl"] = ttl.into();
            }
            value
        })
}

/// Submits every request at once; returns the cloud, the engine and each outcome.
fn submit_all(requests: Vec<EnvironmentRequest>) -> (SimCloud, Engine, Vec<Result<Environment, SubmitError>>) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    runtime.block_on(async {
        let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
            .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
            .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
            .latency(LatencyModel::zero())
            .unlimited_rate()
            .build();
        let fleet = FleetName::new("selfserve").unwrap();
        let provider: Arc<dyn ClusterProvider> = Arc::new(cloud.provider(fleet.clone()));
        let clock = cloud.clone();
        let engine =
            Engine::builder(fleet).provider(provider.clone()).clock(move || clock.wall_clock()).build().unwrap();
        let repository = Repository::from_sources(&[(PathBuf::from("repo.yaml"), REPOSITORY)]).unwrap();
        let service = Arc::new(SelfService::new(repository, engine.clone()).unwrap());
        let cancel = tokio_util::sync::CancellationToken::new();
        let running = tokio::spawn({
            let (engine, cancel) = (engine.clone(), cancel.clone());
            async move { engine.run(cancel).await }
        });
        while !engine.is_running() {
            tokio::task::yield_now().await;
        }
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|request| {
                let service = Arc::clone(&service);
                tokio::spawn(async move { service.submit(request).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        cancel.cancel();
        running.await.unwrap();
        // One more pass, so that the cloud holds what was accepted even if nothing was.
        engine.run_once().await.unwrap();
        (cloud, engine, outcomes)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_ordering_breaks_a_lock_a_quota_or_the_credential_scope(
        values in prop::collection::vec(request_strategy(), 1..9)
    ) {
        let requests: Vec<EnvironmentRequest> =
            values.iter().map(|v| serde_json::from_value(v.clone()).unwrap()).collect();
        let (cloud, engine, outcomes) = submit_all(requests.clone());
        let admin_tokens: Vec<String> =
            cloud.issued_tokens().into_iter().filter(|t| !t.starts_with("sim-team-")).collect();

        for (request, outcome) in requests.iter().zip(&outcomes) {
            match outcome {
                Ok(environment) => {
                    let scope = environment.credentials.scope();
                    prop_assert_eq!(
                        scope,
                        &CredentialScope::Namespace { namespace: request.team.to_string(), role: "fleet-team-edit".into() }
                    );
                    let kubeconfig = environment.credentials.expose_kubeconfig();
                    prop_assert!(admin_tokens.iter().all(|token| !kubeconfig.contains(token.as_str())), "an admin token was handed out");
                }
                Err(SubmitError::Rejected(rejection)) => {
                    let variables = &request.variables;
                    let breaks_lock = variables["version"] != "1.31" || variables["audit"] != true;
                    if breaks_lock {
                        // A request that would change a locked setting is always refused, if
                        // not by the lock then by a rule checked before it.
                        prop_assert!(["locked", "allowedRegions", "maxTtl", "name"].contains(&rejection.rule.as_str()), "{}", rejection);
                    }
                }
                Err(other) => prop_assert!(false, "only rejections are expected: {}", other),
            }
        }

        // What the engine wants and what the cloud holds keep the locks and the quotas.
        let desired = engine.desired();
        let mut used: BTreeMap<String, (usize, u64)> = BTreeMap::new();
        for cluster in &desired.clusters {
            let spec = &cluster.spec;
            prop_assert_eq!(spec.kubernetes_version, KubernetesVersion::new(1, 31, None), "the version lock held");
            prop_assert!(spec.audit_logging, "the audit-logging lock held");
            if let Some(team) = &spec.owner_team {
                let entry = used.entry(team.to_string()).or_default();
                entry.0 += 1;
                entry.1 += spec.max_nodes();
            }
        }
        for (team, (clusters, nodes)) in &used {
            let (max_clusters, max_nodes) = quota(team);
            prop_assert!(*clusters <= max_clusters && *nodes <= max_nodes, "{team} uses {clusters} clusters and {nodes} nodes");
        }
        let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
        let held = cloud.clusters().iter().filter(|c| c.tags.contains_key("team")).count();
        prop_assert_eq!(held, accepted + 1, "the shared cluster and one per accepted request, nothing for a rejected one");
    }
}
