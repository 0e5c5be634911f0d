//! Team credentials of GKE clusters, set up through the Kubernetes API of a
//! [`SimulatedKubeApi`](fleet_core::conformance::SimulatedKubeApi) behind the local GKE API:
//! scoped to the team's namespace, and a named `Unavailable` when a private cluster's API
//! server cannot be reached over the configured route.

mod common;

use std::sync::Arc;

use fleet_core::addons::ProxyRoute;
use fleet_core::conformance::SimulatedKubeApi;
use fleet_core::*;

fn spec(id: &str, private_endpoint: bool) -> ClusterSpec {
    let mut spec = common::spec_builder(id, "europe-west1", "1.34").build().unwrap();
    spec.network.private_endpoint = private_endpoint;
    spec
}

#[tokio::test(flavor = "multi_thread")]
async fn team_credentials_are_scoped_to_the_teams_namespace() {
    let gke = common::Gke::start_with_kube_api();
    let provider = gke.provider("prod").await;
    provider.create(&spec("web-1", false)).await.unwrap();
    let team = TeamName::new("payments").unwrap();
    let credentials = provider.team_credentials(&ClusterId::new("web-1").unwrap(), &team).await.unwrap();

    let admin = provider.credentials(&ClusterId::new("web-1").unwrap()).await.unwrap();
    assert_eq!(credentials.endpoint(), admin.endpoint(), "the team reaches the API server the admin does");
    assert!(
        matches!(credentials.scope(), CredentialScope::Namespace { namespace, .. } if namespace == "team-payments")
    );
    let api = gke.kube_api().unwrap();
    assert!(api.object("/api/v1/namespaces/team-payments/serviceaccounts/payments").is_some());
    assert!(
        api.object("/apis/rbac.authorization.k8s.io/v1/namespaces/team-payments/rolebindings/payments-edit").is_some()
    );
    assert_eq!(api.token_requests(), [("team-payments/payments".to_owned(), 24 * 3600)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_private_endpoint_is_unavailable_naming_the_route() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    provider.create(&spec("internal-1", true)).await.unwrap();
    let stored = gke.cluster("europe-west1", "internal-1").unwrap();
    assert_eq!(stored["endpoint"], stored["privateClusterConfig"]["privateEndpoint"], "{stored}");
    // Seen from outside the VPC network, the private endpoint refuses connections.
    let closed = SimulatedKubeApi::closed_endpoint();
    gke.set_endpoint("europe-west1", "internal-1", closed.trim_start_matches("http://"));

    let team = TeamName::new("payments").unwrap();
    let err = provider.team_credentials(&ClusterId::new("internal-1").unwrap(), &team).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let message = err.to_string();
    assert!(message.contains("internal-1"), "names the cluster: {message}");
    assert!(message.contains(closed.trim_start_matches("http://")), "names the endpoint: {message}");
    assert!(message.contains("(direct)"), "names the route: {message}");
    assert!(message.contains("private endpoint"), "says what a private endpoint needs: {message}");
    assert!(!message.contains("ya29.test-token"), "no token in errors: {message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn team_access_goes_over_the_builders_route() {
    let gke = common::Gke::start();
    // A proxy into the VPC network that is down: nothing listens where it should.
    let proxy = SimulatedKubeApi::closed_endpoint();
    let route = Arc::new(ProxyRoute::new(&proxy).unwrap());
    let provider = gke.builder("prod").with_api_route(route).build().await.unwrap();
    provider.create(&spec("internal-1", true)).await.unwrap();

    let team = TeamName::new("payments").unwrap();
    let err = provider.team_credentials(&ClusterId::new("internal-1").unwrap(), &team).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let message = err.to_string();
    assert!(message.contains(&format!("through proxy {proxy}")), "names the route: {message}");
    assert!(message.contains("https://172.16.0.34"), "names the private endpoint: {message}");
}
