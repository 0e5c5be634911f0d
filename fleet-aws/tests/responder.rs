//! What moto lacks, against a local responder serving EKS's documented responses: the
//! `UpdateClusterVersion` call of an in-place upgrade, and the error codes moto never returns
//! (throttling, access denied, limits).

mod common;

use common::{Canned, Responder};
use fleet_core::*;

fn cluster_json(version: &str) -> String {
    serde_json::json!({"cluster": {
        "name": "web-1",
        "arn": "arn:aws:eks:us-east-1:123456789012:cluster/web-1",
        "version": version,
        "endpoint": "https://ABC.gr7.us-east-1.eks.amazonaws.com",
        "status": "ACTIVE",
        "createdAt": 1767225600.0,
        "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"},
        "tags": {
            "fleet-name": "prod", "fleet-cluster-id": "web-1", "fleet-blueprint-version": "v1",
            "fleet-node-pools": "workers:small:1:3"
        }
    }})
    .to_string()
}

fn cluster_answers(version: &str) -> Vec<Canned> {
    vec![
        Canned {
            method: "GET",
            path_prefix: "/clusters/web-1/node-groups/workers".into(),
            status: 200,
            error_type: None,
            body: serde_json::json!({"nodegroup": {"nodegroupName": "workers", "status": "ACTIVE"}}).to_string(),
        },
        Canned {
            method: "GET",
            path_prefix: "/clusters/web-1/node-groups".into(),
            status: 200,
            error_type: None,
            body: r#"{"nodegroups":["workers"]}"#.into(),
        },
        Canned {
            method: "GET",
            path_prefix: "/clusters/web-1".into(),
            status: 200,
            error_type: None,
            body: cluster_json(version),
        },
    ]
}

fn spec(minor: u32) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new("web-1").unwrap(),
        ProviderName::new("aws").unwrap(),
        Region::new("us-east-1").unwrap(),
        KubernetesVersion::new(1, minor, None),
    )
    .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
    .build()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_in_place_upgrade_calls_update_cluster_version() {
    let mut answers = vec![Canned {
        method: "POST",
        path_prefix: "/clusters/web-1/updates".into(),
        status: 200,
        error_type: None,
        body: serde_json::json!({"update": {
            "id": "b5f0ba18-9a87-4450-b5a0-825e6e84496f", "status": "InProgress", "type": "VersionUpdate",
            "params": [{"type": "Version", "value": "1.32"}, {"type": "PlatformVersion", "value": "eks.1"}],
            "createdAt": 1767225600.0, "errors": []
        }})
        .to_string(),
    }];
    answers.extend(cluster_answers("1.31"));
    let responder = Responder::start(answers);
    let provider = common::builder("prod", &responder.url).build().await.unwrap();
    assert!(provider.info().capabilities.in_place_version_upgrade);
    provider.update(&spec(32)).await.unwrap();
    let requests = responder.requests();
    let update = requests.iter().find(|(line, _)| line.starts_with("POST /clusters/web-1/updates")).unwrap();
    let body: serde_json::Value = serde_json::from_str(&update.1).unwrap();
    assert_eq!(body["version"], "1.32");
    assert!(body["clientRequestToken"].as_str().is_some_and(|t| t.len() == 32), "{body}");

    let credentials = provider.credentials(&ClusterId::new("web-1").unwrap()).await.unwrap();
    assert_eq!(credentials.endpoint(), "https://ABC.gr7.us-east-1.eks.amazonaws.com");
    assert!(credentials.expose_kubeconfig().contains("k8s-aws-v1."));
    assert!(credentials.expose_kubeconfig().contains("certificate-authority-data"), "the CA is carried");
}

async fn error_of(status: u16, error_type: &'static str) -> Error {
    let responder = Responder::start(vec![Canned {
        method: "GET",
        path_prefix: "/clusters/web-1".into(),
        status,
        error_type: Some(error_type),
        body: format!(r#"{{"message":"{error_type} from the responder"}}"#),
    }]);
    let provider = common::builder("prod", &responder.url).build().await.unwrap();
    let mut retry = provider.get(&ClusterId::new("web-1").unwrap()).await.unwrap_err();
    // The SDK retries throttling and server errors itself; the final error is what counts.
    if let Error::Provider { .. } = retry {
        retry = provider.get(&ClusterId::new("web-1").unwrap()).await.unwrap_err();
    }
    retry
}

#[tokio::test(flavor = "multi_thread")]
async fn documented_error_codes_map_to_fleets_kinds() {
    for (status, code, kind) in [
        (429, "ThrottlingException", ErrorKind::RateLimited),
        (403, "AccessDeniedException", ErrorKind::PermissionDenied),
        (400, "ResourceLimitExceededException", ErrorKind::QuotaExceeded),
        (400, "InvalidParameterException", ErrorKind::InvalidSpec),
        (409, "ResourceInUseException", ErrorKind::Conflict),
        (403, "UnrecognizedClientException", ErrorKind::Unauthenticated),
        (400, "SomethingNewException", ErrorKind::Provider),
    ] {
        let err = error_of(status, code).await;
        assert_eq!(err.kind(), kind, "{code}: {err}");
    }
}
