//! The GKE provider against the local GKE API: the conformance kit, operation polling, label
//! filtering, error mapping, and the kubeconfig it hands out. Every request body must match the
//! public discovery document.

mod common;

use std::sync::Arc;
use std::time::Duration;

use fleet_core::conformance::{CHECKS, ConformanceContext, run_all};
use fleet_core::*;

fn spec(id: &str, location: &str) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new("gcp").unwrap(),
        Region::new(location).unwrap(),
        "1.31".parse().unwrap(),
    )
    .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
    .label("team", "payments")
    .build()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gke_provider_passes_the_conformance_kit() {
    let gke = common::Gke::start();
    let provider = gke.provider("conformance").await;
    let other = Arc::new(gke.provider("conformance-other").await);
    let context = ConformanceContext::new("conf", Region::new("europe-west1").unwrap(), other).unwrap().with_wait(
        WaitOptions::with_timeout(Duration::from_secs(60))
            .with_intervals(Duration::from_millis(5), Duration::from_millis(50)),
    );
    assert_eq!(run_all(&provider, &context).await.passed, CHECKS);
    assert!(gke.violations().is_empty(), "fields the discovery document does not define: {:?}", gke.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_are_followed_until_done_and_requests_match_the_discovery_document() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    let created = provider.create(&spec("web-1", "europe-west1")).await.unwrap();
    assert!(created.phase.is_running(), "create returns once its operation is done: {}", created.phase);
    let requests = gke.requests();
    let calls: Vec<String> = requests.iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    assert_eq!(
        calls,
        [
            "POST projects/fleet-test/locations/europe-west1/clusters",
            "GET projects/fleet-test/locations/europe-west1/operations/operation-2",
            "GET projects/fleet-test/locations/europe-west1/operations/operation-2",
            "GET projects/fleet-test/locations/europe-west1/clusters/web-1",
        ]
    );
    let body = &requests[0].2["cluster"];
    assert_eq!(body["name"], "web-1");
    assert_eq!(body["initialClusterVersion"], "1.31");
    assert_eq!(body["resourceLabels"]["fleet-name"], "prod");
    assert_eq!(body["resourceLabels"]["team"], "payments");
    assert_eq!(body["nodePools"][0]["config"]["machineType"], "e2-standard-2");
    assert_eq!(body["nodePools"][0]["autoscaling"]["maxNodeCount"], 3);
    assert!(gke.violations().is_empty(), "{:?}", gke.violations());
    assert!(
        common::unknown_fields(&serde_json::json!({"cluster": {"nmae": "typo"}}), "CreateClusterRequest")
            .iter()
            .any(|field| field.ends_with("cluster.nmae")),
        "the checker itself catches unknown fields"
    );
    assert_eq!(created.kubernetes_version.unwrap().to_string(), "1.31.5");
    assert_eq!(created.endpoint.as_deref(), Some("https://34.77.0.1"));

    let mut upgraded = spec("web-1", "europe-west1");
    upgraded.kubernetes_version = "1.32".parse().unwrap();
    upgraded.node_pools[0].max_count = std::num::NonZeroU32::new(5).unwrap();
    let done = provider.update(&upgraded).await.unwrap();
    assert_eq!(done.kubernetes_version.unwrap().minor(), 32);
    assert_eq!(done.node_pools[0].max_count.get(), 5);
    provider.delete(&ClusterId::new("web-1").unwrap()).await.unwrap();
    let err = provider.get(&ClusterId::new("web-1").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "the delete operation was followed to the end");
    assert!(gke.violations().is_empty(), "{:?}", gke.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn list_asks_every_location_and_keeps_this_fleets_clusters_by_label() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    provider.create(&spec("web-1", "europe-west1")).await.unwrap();
    provider.create(&spec("web-2", "us-central1")).await.unwrap();
    gke.provider("staging").await.create(&spec("theirs", "europe-west1")).await.unwrap();
    gke.add_cluster("europe-west1", "hand-made", serde_json::json!({}));
    gke.add_cluster(
        "asia-east1",
        "far-away",
        serde_json::json!({"fleet-name": "prod", "fleet-cluster-id": "far-away", "fleet-blueprint-version": "v1"}),
    );
    let listed: Vec<String> = provider.list().await.unwrap().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(listed, ["web-1", "web-2"], "other fleets, unlabelled clusters and unconfigured locations are left out");
    let list_call = gke.requests().into_iter().rev().find(|(m, _, _)| m == "GET").unwrap();
    assert_eq!(list_call.1, "projects/fleet-test/locations/-/clusters");
}

#[tokio::test(flavor = "multi_thread")]
async fn google_status_codes_map_to_fleets_kinds() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    for (http, status, message, kind) in [
        (404, "NOT_FOUND", "Not found", ErrorKind::NotFound),
        (403, "PERMISSION_DENIED", "Required 'container.clusters.get' permission", ErrorKind::PermissionDenied),
        (401, "UNAUTHENTICATED", "Request had invalid authentication credentials", ErrorKind::Unauthenticated),
        (400, "FAILED_PRECONDITION", "Cluster is running incompatible operation", ErrorKind::Conflict),
        (429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Create requests'", ErrorKind::QuotaExceeded),
        (429, "RESOURCE_EXHAUSTED", "Too many requests", ErrorKind::RateLimited),
        (503, "UNAVAILABLE", "The service is currently unavailable", ErrorKind::Unavailable),
        (400, "INVALID_ARGUMENT", "Cluster.initial_node_count must be greater than zero", ErrorKind::InvalidSpec),
    ] {
        gke.fail_next(http, status, message);
        let err = provider.get(&ClusterId::new("web-1").unwrap()).await.unwrap_err();
        gke.clear_failures();
        assert_eq!(err.kind(), kind, "{status} {message}: {err}");
    }
    provider.create(&spec("web-1", "europe-west1")).await.unwrap();
    let taken = gke.provider("staging").await.create(&spec("web-1", "europe-west1")).await.unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::AlreadyExists, "ALREADY_EXISTS on create: {taken}");
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_a_kubeconfig_with_endpoint_ca_and_token() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    provider.create(&spec("web-1", "europe-west1")).await.unwrap();
    let credentials = provider.credentials(&ClusterId::new("web-1").unwrap()).await.unwrap();
    assert_eq!(credentials.endpoint(), "https://34.77.0.1");
    let kubeconfig = credentials.expose_kubeconfig();
    assert!(kubeconfig.contains("server: \"https://34.77.0.1\""), "{kubeconfig}");
    assert!(kubeconfig.contains("certificate-authority-data"), "the cluster CA is carried");
    assert!(kubeconfig.contains("token: \"ya29.test-token\""));
    assert_eq!(format!("{credentials:?}"), "Credentials([redacted])");

    let without_token = fleet_gcp::GkeProviderBuilder::new(FleetName::new("prod").unwrap(), common::PROJECT)
        .with_locations(vec![Region::new("europe-west1").unwrap()])
        .with_endpoint(&gke.url)
        .with_anonymous_credentials()
        .build()
        .await
        .unwrap();
    let err = without_token.credentials(&ClusterId::new("web-1").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "anonymous credentials give no token: {err}");
}
