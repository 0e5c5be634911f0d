//! What moto lacks, against a local responder serving EKS's documented responses: the
//! `UpdateClusterVersion` call of an in-place upgrade, and the error codes moto never returns
//! (throttling with its retry time, access denied, limits, server errors).

mod common;

use common::{Canned, Responder};
use fleet_core::*;

fn fleet() -> FleetName {
    FleetName::new("prod").unwrap()
}

fn spec(minor: u32) -> ClusterSpec {
    common::spec_builder("web-1", "us-east-1", &format!("1.{minor}"))
        .blueprint_version(BlueprintVersion::new("v1").unwrap())
        .build()
        .unwrap()
}

/// `DescribeCluster` of a cluster made from `spec(31)` by fleet `prod`, at `version`, with
/// EKS status `status`.
fn cluster_json(version: &str, status: &str) -> String {
    let mut tags = FleetTags::cluster_tags(&fleet(), &spec(31));
    tags.insert("fleet-node-pools".into(), "workers:small:1:3".into());
    serde_json::json!({"cluster": {
        "name": "web-1",
        "arn": "arn:aws:eks:us-east-1:123456789012:cluster/web-1",
        "version": version,
        "endpoint": "https://ABC.gr7.us-east-1.eks.amazonaws.com",
        "status": status,
        "createdAt": 1767225600.0,
        "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"},
        "tags": tags,
    }})
    .to_string()
}

fn cluster_answers(version: &str, status: &str) -> Vec<Canned> {
    vec![
        Canned::ok(
            "GET",
            "/clusters/web-1/node-groups/workers",
            serde_json::json!({"nodegroup": {"nodegroupName": "workers", "status": "ACTIVE",
                "scalingConfig": {"minSize": 1, "maxSize": 3, "desiredSize": 2}}})
            .to_string(),
        ),
        Canned::ok("GET", "/clusters/web-1/node-groups", r#"{"nodegroups":["workers"]}"#.into()),
        Canned::ok("GET", "/clusters/web-1", cluster_json(version, status)),
    ]
}

/// A responder that accepts `UpdateClusterVersion` and describes the cluster at `version`.
fn upgrade_responder(version: &str, status: &str) -> Responder {
    let mut answers = vec![Canned::ok(
        "POST",
        "/clusters/web-1/updates",
        serde_json::json!({"update": {
            "id": "b5f0ba18-9a87-4450-b5a0-825e6e84496f", "status": "InProgress", "type": "VersionUpdate",
            "params": [{"type": "Version", "value": "1.32"}, {"type": "PlatformVersion", "value": "eks.1"}],
            "createdAt": 1767225600.0, "errors": []
        }})
        .to_string(),
    )];
    answers.extend(cluster_answers(version, status));
    Responder::start(answers)
}

fn version_updates(responder: &Responder) -> Vec<serde_json::Value> {
    responder
        .requests()
        .iter()
        .filter(|(line, _)| line.starts_with("POST /clusters/web-1/updates"))
        .map(|(_, body)| serde_json::from_str(body).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_in_place_upgrade_calls_update_cluster_version() {
    let responder = upgrade_responder("1.31", "ACTIVE");
    let provider = common::builder("prod", &responder.url).build().await.unwrap();
    assert!(provider.info().capabilities.in_place_version_upgrade);
    provider.update(&spec(32)).await.unwrap();
    let updates = version_updates(&responder);
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["version"], "1.32");
    assert!(updates[0]["clientRequestToken"].as_str().is_some_and(|t| t.len() == 32), "{}", updates[0]);
    assert!(
        !responder
            .requests()
            .iter()
            .any(|(line, _)| line.starts_with("POST /tags") || line.starts_with("DELETE /tags")),
        "the tags already match: no tagging calls"
    );

    let credentials = provider.credentials(&ClusterId::new("web-1").unwrap()).await.unwrap();
    assert_eq!(credentials.endpoint(), "https://ABC.gr7.us-east-1.eks.amazonaws.com");
    assert!(credentials.expose_kubeconfig().contains("k8s-aws-v1."));
    assert!(credentials.expose_kubeconfig().contains("certificate-authority-data"), "the CA is carried");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upgrade_goes_one_minor_version_at_a_time() {
    // EKS upgrades a control plane by one minor version per UpdateClusterVersion.
    let responder = upgrade_responder("1.31", "ACTIVE");
    let provider = common::builder("prod", &responder.url).build().await.unwrap();
    provider.update(&spec(33)).await.unwrap();
    let updates = version_updates(&responder);
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["version"], "1.32", "the next minor version first");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_asks_nothing_of_a_cluster_that_is_not_running_or_needs_a_replacement() {
    let responder = upgrade_responder("1.31", "UPDATING");
    let provider = common::builder("prod", &responder.url).build().await.unwrap();
    let busy = provider.update(&spec(32)).await.unwrap_err();
    assert_eq!(busy.kind(), ErrorKind::Conflict, "{busy}");
    assert!(busy.is_retryable());

    let responder = upgrade_responder("1.31", "ACTIVE");
    let provider = common::builder("prod", &responder.url).build().await.unwrap();
    let mut moved = spec(31);
    moved.region = Region::new("eu-west-1").unwrap();
    let refused = provider.update(&moved).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unsupported, "{refused}");
    for (line, _) in responder.requests() {
        assert!(line.starts_with("GET "), "a refused update changed something: {line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_behind_the_cluster_keeps_its_version_and_applies_the_tags() {
    // The cloud upgraded the cluster to 1.32 while the spec still says 1.31: no downgrade.
    let mut answers = vec![Canned::ok("POST", "/tags/", "{}".into())];
    answers.extend(cluster_answers("1.32", "ACTIVE"));
    let responder = Responder::start(answers);
    let provider = common::builder("prod", &responder.url).build().await.unwrap();
    let mut behind = spec(31);
    behind.labels.insert("team".into(), "payments".into());
    provider.update(&behind).await.unwrap();
    assert!(version_updates(&responder).is_empty(), "no version request for a cluster ahead of its spec");
    let tagged: Vec<serde_json::Value> = responder
        .requests()
        .iter()
        .filter(|(line, _)| line.starts_with("POST /tags/"))
        .map(|(_, body)| serde_json::from_str(body).unwrap())
        .collect();
    assert_eq!(tagged.len(), 1, "{:?}", responder.requests());
    assert_eq!(tagged[0]["tags"]["team"], "payments");
}

fn error_answer(status: u16, error_type: &'static str, headers: Vec<(&'static str, &'static str)>) -> Canned {
    Canned {
        method: "GET",
        path_prefix: "/clusters/web-1".into(),
        status,
        error_type: Some(error_type),
        headers,
        body: format!(r#"{{"message":"{error_type} from the responder"}}"#),
    }
}

/// The error of a `get` answered with `answer`, without the SDK's retries.
async fn error_of(answer: Canned) -> Error {
    let responder = Responder::start(vec![answer]);
    let provider = common::builder("prod", &responder.url).without_client_retries().build().await.unwrap();
    provider.get(&ClusterId::new("web-1").unwrap()).await.unwrap_err()
}

#[tokio::test(flavor = "multi_thread")]
async fn documented_error_codes_map_to_fleets_kinds() {
    for (status, code, kind) in [
        (429, "ThrottlingException", ErrorKind::RateLimited),
        (400, "ThrottlingException", ErrorKind::RateLimited),
        (429, "SomethingNewException", ErrorKind::RateLimited),
        (403, "AccessDeniedException", ErrorKind::PermissionDenied),
        (400, "ResourceLimitExceededException", ErrorKind::QuotaExceeded),
        (400, "InvalidParameterException", ErrorKind::InvalidSpec),
        (409, "ResourceInUseException", ErrorKind::Conflict),
        (403, "UnrecognizedClientException", ErrorKind::Unauthenticated),
        (500, "ServerException", ErrorKind::Unavailable),
        (503, "ServiceUnavailableException", ErrorKind::Unavailable),
        (502, "SomethingNewException", ErrorKind::Unavailable),
        (400, "SomethingNewException", ErrorKind::Provider),
    ] {
        let err = error_of(error_answer(status, code, Vec::new())).await;
        assert_eq!(err.kind(), kind, "{status} {code}: {err}");
        assert_eq!(
            err.is_retryable(),
            matches!(kind, ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Conflict)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_carries_the_retry_time_eks_asks_for() {
    use std::time::Duration;
    for (headers, wait) in [
        (vec![("x-amz-retry-after", "7000")], Some(Duration::from_secs(7))),
        (vec![("Retry-After", "3")], Some(Duration::from_secs(3))),
        (Vec::new(), None),
    ] {
        let err = error_of(error_answer(429, "ThrottlingException", headers.clone())).await;
        assert!(matches!(err, Error::RateLimited { .. }), "{err}");
        assert_eq!(err.retry_after(), wait, "{headers:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn node_groups_catch_up_with_their_control_plane_before_the_next_upgrade() {
    // The control plane runs 1.32, its node group still 1.31: `get` upgrades the node group to
    // its control plane's version (EKS upgrades a control plane only once its node groups run
    // its minor version), and `update` waits for it.
    let mut answers = vec![
        Canned::ok(
            "POST",
            "/clusters/web-1/node-groups/workers/update-version",
            serde_json::json!({"update": {"id": "c6f0ba18-9a87-4450-b5a0-825e6e84496f", "status": "InProgress",
                "type": "VersionUpdate", "params": [{"type": "Version", "value": "1.32"}], "errors": []}})
            .to_string(),
        ),
        Canned::ok(
            "GET",
            "/clusters/web-1/node-groups/workers",
            serde_json::json!({"nodegroup": {"nodegroupName": "workers", "status": "ACTIVE", "version": "1.31",
                "scalingConfig": {"minSize": 1, "maxSize": 3, "desiredSize": 2}}})
            .to_string(),
        ),
    ];
    answers.extend(cluster_answers("1.32", "ACTIVE"));
    let responder = Responder::start(answers);
    let provider = common::builder("prod", &responder.url).build().await.unwrap();
    let id = ClusterId::new("web-1").unwrap();
    let before = provider.update(&spec(33)).await.unwrap_err();
    assert_eq!(before.kind(), ErrorKind::Conflict, "not running while a node group is behind: {before}");
    assert!(version_updates(&responder).is_empty());
    let seen = provider.get(&id).await.unwrap();
    assert_eq!(seen.phase, ClusterPhase::Updating, "updating until the node groups follow");
    let upgrades: Vec<serde_json::Value> = responder
        .requests()
        .iter()
        .filter(|(line, _)| line.starts_with("POST /clusters/web-1/node-groups/workers/update-version"))
        .map(|(_, body)| serde_json::from_str(body).unwrap())
        .collect();
    assert_eq!(upgrades.len(), 1, "{:?}", responder.requests());
    assert_eq!(upgrades[0]["version"], "1.32", "to the control plane's minor");
    assert!(version_updates(&responder).is_empty(), "the control plane waits for its node groups");
}
