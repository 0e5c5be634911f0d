//! The exact `kind` command lines the provider runs, the kind config it writes, and its errors
//! when `kind` or a container engine is missing, all against the fake `kind`.

mod common;

use fleet_core::*;
use fleet_kind::KindProvider;

fn spec(id: &str) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new("kind").unwrap(),
        Region::new("local").unwrap(),
        "1.31".parse().unwrap(),
    )
    .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 2, 4).unwrap())
    .node_pool(NodePool::new(NodePoolName::new("gpu").unwrap(), SizeClass::Large, 1, 1).unwrap())
    .blueprint_version(BlueprintVersion::new("web-v3").unwrap())
    .label("team", "payments")
    .build()
    .unwrap()
}

#[tokio::test]
async fn create_writes_a_kind_config_and_runs_exactly_these_commands() {
    let kind = common::FakeKind::new();
    let provider = kind.provider("laptop");
    let cluster = provider.create(&spec("dev-1")).await.unwrap();
    let config = kind.records().join("dev-1.kind.json");
    assert_eq!(
        kind.take_calls(),
        [
            "get clusters".to_owned(),
            format!("create cluster --name dev-1 --config {} --wait 300s", config.display()),
            "get kubeconfig --name dev-1".to_owned(),
        ]
    );
    assert!(cluster.phase.is_running());
    assert_eq!(cluster.region.as_str(), "local");
    assert!(cluster.endpoint.as_deref().unwrap().starts_with("https://127.0.0.1:"));

    let written = kind.config_of("dev-1");
    assert_eq!(written["kind"], "Cluster");
    assert_eq!(written["apiVersion"], "kind.x-k8s.io/v1alpha4");
    assert_eq!(written["name"], "dev-1");
    let nodes = written["nodes"].as_array().unwrap();
    let roles: Vec<&str> = nodes.iter().map(|n| n["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        ["control-plane", "worker", "worker", "worker"],
        "one control plane, workers at each pool's minimum"
    );
    assert!(nodes.iter().all(|n| n["image"] == "kindest/node:v1.31.12"));
    let labels = &nodes[1]["labels"];
    assert_eq!(labels["fleet.dev/fleet-name"], "laptop");
    assert_eq!(labels["fleet.dev/fleet-cluster-id"], "dev-1");
    assert_eq!(labels["fleet.dev/fleet-blueprint-version"], "web-v3");
    assert_eq!(labels["fleet.dev/team"], "payments");
    assert_eq!(labels["fleet.dev/node-pool"], "workers");
    assert_eq!(nodes[3]["labels"]["fleet.dev/node-pool"], "gpu");
}

#[tokio::test]
async fn get_credentials_and_delete_run_exactly_these_commands() {
    let kind = common::FakeKind::new();
    let provider = kind.provider("laptop");
    provider.create(&spec("dev-2")).await.unwrap();
    kind.take_calls();

    let credentials = provider.credentials(&ClusterId::new("dev-2").unwrap()).await.unwrap();
    assert_eq!(kind.take_calls(), ["get clusters", "get kubeconfig --name dev-2"]);
    assert!(credentials.expose_kubeconfig().contains("client-key-data"));
    assert_eq!(format!("{credentials:?}"), "Credentials([redacted])");

    let tags = provider.get(&ClusterId::new("dev-2").unwrap()).await.unwrap().fleet_tags().unwrap();
    assert_eq!(tags.identity.as_str(), "dev-2");
    assert_eq!(kind.take_calls(), ["get clusters"]);

    provider.delete(&ClusterId::new("dev-2").unwrap()).await.unwrap();
    assert_eq!(kind.take_calls(), ["get clusters", "delete cluster --name dev-2"]);
    assert!(!kind.records().join("dev-2.json").exists(), "the record goes with the cluster");
    provider.delete(&ClusterId::new("dev-2").unwrap()).await.unwrap();
    assert_eq!(kind.take_calls(), ["get clusters"], "deleting a missing cluster runs no delete");
}

#[tokio::test]
async fn clusters_fleet_did_not_make_are_never_listed_taken_or_deleted() {
    let kind = common::FakeKind::new();
    kind.add_foreign_cluster("hand-made");
    let provider = kind.provider("laptop");
    assert!(provider.list().await.unwrap().clusters.is_empty());
    let err = provider.create(&spec("hand-made")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    let err = provider.delete(&ClusterId::new("hand-made").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(!kind.take_calls().iter().any(|call| call.starts_with("delete") || call.starts_with("create")));
}

#[tokio::test]
async fn a_missing_kind_or_container_engine_says_what_to_install() {
    let empty = std::env::temp_dir().join(format!("fleet-no-kind-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let err = KindProvider::builder(FleetName::new("laptop").unwrap())
        .search_path(empty.as_os_str().to_owned())
        .state_dir(empty.join("records"))
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("`kind` command was not found on PATH") && err.contains("install kind"), "{err}");
    assert!(err.contains("Docker or Podman"), "{err}");
    std::fs::remove_dir_all(&empty).unwrap();

    let kind = common::FakeKind::new();
    kind.without_container_engine();
    let provider = kind.provider("laptop");
    let err = provider.create(&spec("dev-3")).await.unwrap_err().to_string();
    assert!(err.contains("found no working container engine") && err.contains("Docker or Podman"), "{err}");
    assert!(!kind.records().join("dev-3.json").exists(), "a failed create leaves no record");
}

#[tokio::test]
async fn bad_specs_are_refused_before_kind_runs() {
    let kind = common::FakeKind::new();
    let provider = kind.provider("laptop");
    let mut elsewhere = spec("dev-4");
    elsewhere.region = Region::new("eu-west-1").unwrap();
    let err = provider.create(&elsewhere).await.unwrap_err();
    assert!(err.to_string().contains("region `local`"), "{err}");
    let mut ancient = spec("dev-4");
    ancient.kubernetes_version = "1.12".parse().unwrap();
    let err = provider.create(&ancient).await.unwrap_err();
    assert!(err.to_string().contains("no node image for Kubernetes 1.12"), "{err}");
    assert!(kind.take_calls().is_empty(), "nothing ran");
    let err = provider.update(&spec("dev-4")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn update_changes_labels_and_blueprint_version_and_refuses_the_rest() {
    let kind = common::FakeKind::new();
    let provider = kind.provider("laptop");
    let created = provider.create(&spec("dev-5")).await.unwrap();
    kind.take_calls();

    let mut relabelled = spec("dev-5");
    relabelled.blueprint_version = BlueprintVersion::new("web-v4").unwrap();
    relabelled.labels.insert("team".into(), "search".into());
    relabelled.labels.insert("tier".into(), "gold".into());
    let updated = provider.update(&relabelled).await.unwrap();
    assert_eq!(kind.take_calls(), ["get clusters"], "an update of tags runs no kind command that changes anything");
    let laptop = FleetName::new("laptop").unwrap();
    assert_eq!(updated.tags, FleetTags::cluster_tags(&laptop, &relabelled));
    let seen = provider.get(&relabelled.id).await.unwrap();
    assert_eq!(seen.tags, FleetTags::cluster_tags(&laptop, &relabelled));
    assert_eq!(seen.fleet_tags().unwrap().blueprint_version.as_str(), "web-v4");
    assert_eq!((seen.created_at, seen.provider_id.as_str()), (created.created_at, created.provider_id.as_str()));
    assert!(seen.updated_at >= created.updated_at);
    let listed = provider.list().await.unwrap().clusters;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].tags["tier"], "gold");

    let mut upgraded = relabelled.clone();
    upgraded.kubernetes_version = "1.32".parse().unwrap();
    upgraded.labels.insert("tier".into(), "silver".into());
    let err = provider.update(&upgraded).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("kubernetesVersion"), "{err}");
    let mut resized = relabelled.clone();
    resized.node_pools[0] = NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 3, 4).unwrap();
    assert_eq!(provider.update(&resized).await.unwrap_err().kind(), ErrorKind::Unsupported);
    let mut moved = relabelled.clone();
    moved.region = Region::new("eu-west-1").unwrap();
    assert_eq!(provider.update(&moved).await.unwrap_err().kind(), ErrorKind::Unsupported);
    assert_eq!(provider.get(&relabelled.id).await.unwrap().tags["tier"], "gold", "a refused update changes nothing");
    assert!(!kind.take_calls().iter().any(|call| !call.starts_with("get ")), "refusals run no kind command");

    let mut elsewhere = spec("dev-5");
    elsewhere.provider = ProviderName::new("eks").unwrap();
    assert_eq!(provider.create(&elsewhere).await.unwrap_err().kind(), ErrorKind::InvalidSpec);
    let again = provider.create(&spec("dev-5")).await.unwrap();
    assert_eq!(again.tags, seen.tags, "create of an existing cluster returns it unchanged");
    assert!(kind.take_calls().iter().all(|call| !call.starts_with("create")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_id_run_kind_once() {
    let kind = common::FakeKind::new();
    kind.slow_create(0.3);
    // Two providers of one fleet sharing the state directory, as two programs would.
    let providers = [std::sync::Arc::new(kind.provider("laptop")), std::sync::Arc::new(kind.provider("laptop"))];
    let mut creates = Vec::new();
    for n in 0..8 {
        let provider = std::sync::Arc::clone(&providers[n % 2]);
        creates.push(tokio::spawn(async move { provider.create(&spec("dev-6")).await }));
    }
    let mut created = Vec::new();
    for create in creates {
        created.push(create.await.unwrap().unwrap());
    }
    assert!(created.iter().all(|c| c.phase.is_running() && c.created_at == created[0].created_at));
    let calls = kind.take_calls();
    assert_eq!(calls.iter().filter(|call| call.starts_with("create cluster")).count(), 1, "{calls:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_being_created_reports_creating_and_an_interrupted_one_failed() {
    let kind = common::FakeKind::new();
    kind.slow_create(1.0);
    let provider = std::sync::Arc::new(kind.provider("laptop"));
    let id = ClusterId::new("dev-7").unwrap();
    let creating = tokio::spawn({
        let provider = std::sync::Arc::clone(&provider);
        async move { provider.create(&spec("dev-7")).await }
    });
    let mut phase = None;
    for _ in 0..100 {
        if let Ok(cluster) = provider.get(&id).await {
            phase = Some(cluster.phase);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(phase, Some(ClusterPhase::Creating));
    let listed = provider.list().await.unwrap().clusters;
    assert_eq!(
        listed.iter().map(|c| (c.id.as_str(), c.phase.clone())).collect::<Vec<_>>(),
        [("dev-7", ClusterPhase::Creating)]
    );
    let err = provider.credentials(&id).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(creating.await.unwrap().unwrap().phase.is_running());
    assert!(provider.get(&id).await.unwrap().phase.is_running());

    // A create stopped halfway: the caller gave up (which kills `kind`), leaving a cluster.
    let id = ClusterId::new("dev-8").unwrap();
    let stopped = tokio::spawn({
        let provider = std::sync::Arc::clone(&provider);
        async move { provider.create(&spec("dev-8")).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stopped.abort();
    let _ = stopped.await;
    assert_eq!(provider.get(&id).await.unwrap_err().kind(), ErrorKind::NotFound, "kind made nothing yet");
    kind.add_foreign_cluster("dev-8");
    let seen = provider.get(&id).await.unwrap();
    assert!(matches!(seen.phase, ClusterPhase::Failed { .. }), "{:?}", seen.phase);
    assert!(matches!(provider.create(&spec("dev-8")).await.unwrap().phase, ClusterPhase::Failed { .. }));
    provider.delete(&id).await.unwrap();
    assert_eq!(provider.get(&id).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn a_container_engine_that_does_not_answer_is_retryable() {
    let kind = common::FakeKind::new();
    let provider = kind.provider("laptop");
    provider.create(&spec("dev-9")).await.unwrap();
    kind.fail_next(2);
    let err = provider.get(&ClusterId::new("dev-9").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("start Docker or Podman"), "{err}");
    let err = provider.list().await.unwrap_err();
    assert!(err.is_retryable(), "a failing `kind get clusters` fails the list: {err}");
    assert_eq!(provider.list().await.unwrap().clusters.len(), 1);
}
