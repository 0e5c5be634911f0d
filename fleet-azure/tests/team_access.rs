//! Team credentials of the AKS provider, set up in the simulated Kubernetes API server behind
//! the local ARM's clusters: what is applied, what the team gets, and a private cluster whose
//! API server Fleet cannot reach.

mod common;

use std::sync::Arc;

use common::{KUBECONFIG_TOKEN, LocalArm};
use fleet_core::addons::EndpointRewrite;
use fleet_core::conformance::SimulatedKubeApi;
use fleet_core::*;

fn spec(id: &str) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new("azure").unwrap(),
        Region::new("westeurope").unwrap(),
        "1.34".parse().unwrap(),
    )
    .node_pool(NodePool::new(NodePoolName::new("system").unwrap(), SizeClass::Small, 1, 3).unwrap().with_system(true))
    .build()
    .unwrap()
}

fn team() -> TeamName {
    TeamName::new("payments").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn team_credentials_set_the_team_up_with_the_user_kubeconfig_and_name_the_aks_server() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    provider.create(&spec("web-1")).await.unwrap();
    let id = ClusterId::new("web-1").unwrap();

    let scoped = provider.team_credentials(&id, &team()).await.unwrap();

    match scoped.scope() {
        CredentialScope::Namespace { namespace, .. } => assert_eq!(namespace, "team-payments"),
        other => panic!("team credentials have scope {other:?}"),
    }
    let kubeconfig = scoped.expose_kubeconfig();
    assert!(kubeconfig.contains("https://web-1-d1k3x9.hcp.westeurope.azmk8s.io:443"), "{kubeconfig}");
    assert!(!kubeconfig.contains(KUBECONFIG_TOKEN), "the team kubeconfig holds the user kubeconfig's token");
    assert!(!format!("{scoped:?}").contains("token:"), "{scoped:?}");
    for path in [
        "/api/v1/namespaces/team-payments",
        "/api/v1/namespaces/team-payments/serviceaccounts/payments",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/team-payments/roles/payments-edit",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/team-payments/rolebindings/payments-edit",
    ] {
        assert!(arm.kube.object(path).is_some(), "{path} applied: {:?}", arm.kube.objects().keys());
    }
    assert_eq!(arm.kube.token_requests(), [("team-payments/payments".to_owned(), 24 * 3600)]);
    let authorized = arm.kube.requests().iter().all(|request| {
        request.headers.iter().any(|(name, value)| name == "authorization" && value.ends_with(KUBECONFIG_TOKEN))
    });
    assert!(authorized, "every request to the API server carries the user kubeconfig's token");
    let posts: Vec<String> = arm.requests().into_iter().filter(|r| r.method == "POST").map(|r| r.path).collect();
    assert!(posts.iter().all(|path| path.ends_with("/web-1/listClusterUserCredential")), "{posts:?}");
    assert!(arm.violations().is_empty(), "{:?}", arm.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_cluster_whose_api_server_is_out_of_reach_is_unavailable_naming_the_route() {
    let arm = LocalArm::start();
    let closed = SimulatedKubeApi::closed_endpoint();
    let route = EndpointRewrite::new().endpoint("secure-1", &closed).unwrap();
    let provider = arm.builder("prod").with_api_route(Arc::new(route)).build().unwrap();
    let mut private = spec("secure-1");
    private.network.private_endpoint = true;
    provider.create(&private).await.unwrap();
    let stored = arm.cluster(common::GROUP, "secure-1").unwrap();
    assert_eq!(stored["properties"]["apiServerAccessProfile"]["enablePrivateCluster"], true);

    let err = provider.team_credentials(&ClusterId::new("secure-1").unwrap(), &team()).await.unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let text = err.to_string();
    assert!(text.contains("secure-1"), "names the cluster: {text}");
    assert!(text.contains(&format!("through {closed}")), "names the route: {text}");
    assert!(!text.contains(KUBECONFIG_TOKEN), "{text}");
    assert!(arm.kube.requests().is_empty(), "nothing reached the API server");
}

#[tokio::test(flavor = "multi_thread")]
async fn team_credentials_undeclared_are_unsupported_without_a_call() {
    let arm = LocalArm::start();
    let capabilities = Capabilities::all().with_audit_logging(false).with_team_credentials(false);
    let provider = arm.builder("prod").with_capabilities(capabilities).build().unwrap();
    provider.create(&spec("web-1")).await.unwrap();
    let before = arm.requests().len();

    let err = provider.team_credentials(&ClusterId::new("web-1").unwrap(), &team()).await.unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert_eq!(arm.requests().len(), before, "no call to ARM");
    assert!(arm.kube.requests().is_empty(), "no call to the API server");
}
