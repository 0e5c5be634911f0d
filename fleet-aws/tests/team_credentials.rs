//! Team credentials against moto behind the stand-in, whose `DescribeCluster` answers name a
//! simulated Kubernetes API server as the clusters' endpoint: team access is set up there with
//! the provider's EKS token, and a private endpoint seen from outside its VPC is a named
//! `Unavailable`.

mod common;

use std::time::{Duration, Instant};

use fleet_core::*;
use secrecy::ExposeSecret;

fn spec(id: &str, private_endpoint: bool) -> ClusterSpec {
    let mut spec = common::spec_builder(id, "us-east-1", "1.34").build().unwrap();
    spec.network.private_endpoint = private_endpoint;
    spec
}

/// Creates `spec` and drives it with `get` until it runs.
async fn create_running(provider: &fleet_aws::EksProvider, spec: &ClusterSpec) {
    provider.create(spec).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !provider.get(&spec.id).await.unwrap().phase.is_running() {
        assert!(Instant::now() < deadline, "`{}` never ran", spec.id);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn team_access_is_set_up_with_the_eks_token_and_scoped_to_the_team() {
    let moto = common::Moto::start();
    let proxies = common::RegionProxies::start(&moto).await;
    let api = proxies.serve_kube_api();
    let provider = proxies.builder("prod").build().await.unwrap();
    assert!(provider.info().capabilities.team_credentials);
    let spec = spec("web-1", false);
    create_running(&provider, &spec).await;

    let team = TeamName::new("payments").unwrap();
    let scoped = provider.team_credentials(&spec.id, &team).await.unwrap();
    assert_eq!(scoped.endpoint(), api.url(), "the team reaches the cluster's own endpoint");
    assert!(
        matches!(scoped.scope(), CredentialScope::Namespace { namespace, .. } if namespace == "team-payments"),
        "{:?}",
        scoped.scope()
    );
    assert!(!scoped.expose_kubeconfig().contains("k8s-aws-v1."), "the team kubeconfig holds no admin token");
    assert!(
        api.object("/apis/rbac.authorization.k8s.io/v1/namespaces/team-payments/rolebindings/payments-edit").is_some()
    );
    assert_eq!(api.token_requests(), vec![("team-payments/payments".to_owned(), 24 * 3600)]);
    let applied_with = api.requests().iter().filter(|r| r.method == "PATCH").count();
    assert_eq!(applied_with, 4, "namespace, service account, role and binding applied");
    assert!(
        api.requests().iter().all(|r| r
            .headers
            .iter()
            .any(|(name, value)| name == "authorization" && value.starts_with("Bearer k8s-aws-v1."))),
        "every call carried an EKS token"
    );
}

#[test]
fn the_simulated_api_server_takes_eks_tokens_only() {
    let aws = aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
    let token = fleet_aws::eks_token(&aws, "us-east-1", "web-1", std::time::SystemTime::now()).unwrap();
    assert!(common::is_eks_token(token.expose_secret()));
    assert!(!common::is_eks_token("simulated-admin-token"));
    assert!(!common::is_eks_token("k8s-aws-v1.bm90IGEgdXJs"), "`not a url` is no presigned URL");
    let unsigned = token.expose_secret().replace("k8s-aws-v1.", "k8s-aws-v1.x");
    assert!(!common::is_eks_token(&unsigned), "a token that does not decode");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_endpoint_unreachable_from_outside_its_vpc_is_unavailable_naming_the_route() {
    let moto = common::Moto::start();
    let proxies = common::RegionProxies::start(&moto).await;
    let api = proxies.serve_kube_api();
    let provider = proxies.builder("prod").build().await.unwrap();
    let spec = spec("secure-1", true);
    create_running(&provider, &spec).await;
    let endpoint = provider.credentials(&spec.id).await.unwrap().endpoint().to_owned();
    assert_ne!(endpoint, api.url(), "a private-only cluster is not reached at the public address");

    let err = provider.team_credentials(&spec.id, &TeamName::new("payments").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let message = err.to_string();
    for named in ["secure-1", endpoint.as_str(), "direct", "private endpoint"] {
        assert!(message.contains(named), "the error names `{named}`: {message}");
    }
    assert!(!message.contains("k8s-aws-v1."), "no token in the error: {message}");
    assert!(api.requests().is_empty(), "nothing reached the simulated API server");
}

#[tokio::test(flavor = "multi_thread")]
async fn team_access_goes_over_the_builders_route() {
    let moto = common::Moto::start();
    let proxies = common::RegionProxies::start(&moto).await;
    let api = proxies.serve_kube_api();
    // A proxy into the VPC that is down: nothing listens where it should.
    let proxy = fleet_core::conformance::SimulatedKubeApi::closed_endpoint();
    let route = std::sync::Arc::new(fleet_core::addons::ProxyRoute::new(&proxy).unwrap());
    let provider = proxies.builder("prod").with_api_route(route).build().await.unwrap();
    let spec = spec("web-2", false);
    create_running(&provider, &spec).await;

    let err = provider.team_credentials(&spec.id, &TeamName::new("payments").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let message = err.to_string();
    assert!(message.contains(&format!("through proxy {proxy}")), "names the route: {message}");
    assert!(api.requests().is_empty(), "the API server was not reached directly: {:?}", api.requests());
}
