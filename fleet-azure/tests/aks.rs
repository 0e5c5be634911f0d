//! The AKS provider against the local ARM: the conformance kit, long-running operations,
//! `Retry-After`, paging by `nextLink`, error mapping and the kubeconfig it hands out. Every
//! request must match the official API surface (`tests/data/aks.schema.json`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{GROUP, LocalArm, Side};
use fleet_core::conformance::{CHECKS, ConformanceContext, run_all};
use fleet_core::*;
use serde_json::json;

fn spec(id: &str, region: &str) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new("azure").unwrap(),
        Region::new(region).unwrap(),
        "1.31".parse().unwrap(),
    )
    .node_pool(NodePool::new(NodePoolName::new("system").unwrap(), SizeClass::Small, 1, 3).unwrap())
    .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Large, 0, 5).unwrap())
    .label("team", "payments")
    .build()
    .unwrap()
}

fn id(text: &str) -> ClusterId {
    ClusterId::new(text).unwrap()
}

fn assert_no_violations(arm: &LocalArm) {
    let violations = arm.violations();
    assert!(violations.is_empty(), "requests or answers off the official API surface: {violations:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aks_provider_passes_the_conformance_kit() {
    let arm = LocalArm::start();
    let provider = arm.provider("conformance");
    let other = Arc::new(arm.provider("conformance-other"));
    let context = ConformanceContext::new("conf", Region::new("westeurope").unwrap(), other).unwrap().with_wait(
        WaitOptions::with_timeout(Duration::from_secs(60))
            .with_intervals(Duration::from_millis(5), Duration::from_millis(50)),
    );
    assert_eq!(run_all(&provider, &context).await.passed, CHECKS);
    assert_no_violations(&arm);
}

#[tokio::test(flavor = "multi_thread")]
async fn create_puts_the_cluster_once_and_follows_its_operation_to_the_end() {
    let arm = LocalArm::start();
    arm.set_polls(3);
    let provider = arm.provider("prod");
    let created = provider.create(&spec("web-1", "westeurope")).await.unwrap();
    assert!(created.phase.is_running(), "create returns once its operation succeeded: {}", created.phase);
    let requests = arm.requests();
    let calls: Vec<String> = requests.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    let cluster = format!(
        "/subscriptions/{}/resourceGroups/{GROUP}/providers/Microsoft.ContainerService/managedClusters/web-1",
        common::SUBSCRIPTION
    );
    let operation = "/subscriptions/6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c/providers/Microsoft.ContainerService/locations/westeurope/operations/00000001-0000-4000-8000-000000000001";
    assert_eq!(
        calls,
        [
            format!("PUT {cluster}"),
            format!("GET {operation}"),
            format!("GET {operation}"),
            format!("GET {operation}"),
            format!("GET {cluster}"),
        ],
        "one PUT, the operation polled until Succeeded, then the cluster read"
    );
    let put = &requests[0];
    assert_eq!(put.header("if-none-match"), Some("*"), "create never overwrites an existing cluster");
    assert_eq!(put.body["location"], "westeurope");
    assert_eq!(put.body["tags"]["fleet-name"], "prod");
    assert_eq!(put.body["tags"]["fleet-cluster-id"], "web-1");
    assert_eq!(put.body["tags"]["team"], "payments");
    assert_eq!(put.body["identity"]["type"], "SystemAssigned");
    let properties = &put.body["properties"];
    assert_eq!(properties["kubernetesVersion"], "1.31");
    assert_eq!(properties["dnsPrefix"], "web-1");
    let pools = properties["agentPoolProfiles"].as_array().unwrap();
    assert_eq!(pools[0]["mode"], "System");
    assert_eq!(pools[0]["vmSize"], "Standard_D2s_v5");
    assert_eq!((pools[0]["minCount"].clone(), pools[0]["maxCount"].clone()), (json!(1), json!(3)));
    assert_eq!(pools[1]["mode"], "User");
    assert_eq!(pools[1]["vmSize"], "Standard_D8s_v5");
    assert_eq!(pools[1]["enableAutoScaling"], true);
    assert_eq!(pools[1]["nodeLabels"]["fleet-size-class"], "large");
    assert_no_violations(&arm);
    assert!(
        common::violations(
            &json!({"location": "x", "properties": {"fqdn": "set", "kubernetesVerison": "1"}}),
            "ManagedCluster",
            Side::Create
        )
        .len()
            == 2,
        "the checker itself catches read-only and unknown fields"
    );

    assert_eq!(created.kubernetes_version.unwrap().to_string(), "1.31.5");
    assert_eq!(created.endpoint.as_deref(), Some("https://web-1-d1k3x9.hcp.westeurope.azmk8s.io"));
    assert_eq!(created.node_pools.len(), 2);
    assert_eq!(created.node_pools[1].max_count.get(), 5);
    assert_eq!(created.node_pools[1].machine_type.as_deref(), Some("Standard_D8s_v5"));
    assert_eq!(created.tags["team"], "payments");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operation_that_fails_is_an_error_and_quota_failures_say_so() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    arm.fail_next_operation(
        "QuotaExceeded",
        "Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota.",
    );
    let err = provider.create(&spec("web-1", "westeurope")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded, "{err}");
    assert!(err.to_string().contains("standardDSv5Family"), "{err}");
    let failed = provider.get(&id("web-1")).await.unwrap();
    assert!(matches!(failed.phase, ClusterPhase::Failed { .. }), "{}", failed.phase);

    arm.fail_next_operation("InternalOperationError", "Something went wrong in the control plane.");
    let err = provider.create(&spec("web-2", "westeurope")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider, "{err}");
    assert!(err.to_string().contains("ended Failed"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn polls_wait_as_long_as_retry_after_asks() {
    let arm = LocalArm::start();
    arm.set_retry_after(Some(1));
    let provider = arm.provider("prod");
    let started = tokio::time::Instant::now();
    provider.create(&spec("web-1", "westeurope")).await.unwrap();
    let waited = started.elapsed();
    // Two polls, each after the one second ARM asked for, though the poll interval is 5 ms.
    assert!(waited >= Duration::from_secs(2), "Retry-After honoured between polls: waited {waited:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_rate_limited_with_retry_after_or_retried_by_the_pipeline() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    arm.fail_next_after(429, "TooManyRequests", "The request is being throttled.", Some(7));
    let err = provider.get(&id("web-1")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)), "the Retry-After reaches the engine");

    let retrying = arm.builder_with_retries("prod").build().unwrap();
    arm.add_cluster(
        GROUP,
        "web-9",
        "westeurope",
        json!({"fleet-name": "prod", "fleet-cluster-id": "web-9", "fleet-blueprint-version": "v1"}),
    );
    let before = arm.requests().len();
    arm.fail_next_after(429, "TooManyRequests", "The request is being throttled.", Some(1));
    let started = tokio::time::Instant::now();
    let found = retrying.get(&id("web-9")).await.unwrap();
    assert_eq!(found.id.as_str(), "web-9");
    assert_eq!(arm.requests().len() - before, 2, "one throttled request, one retry");
    assert!(started.elapsed() >= Duration::from_secs(1), "the retry waited for Retry-After");
}

#[tokio::test(flavor = "multi_thread")]
async fn list_follows_next_link_and_keeps_this_fleets_clusters_by_tag() {
    let arm = LocalArm::start();
    arm.set_page_size(2);
    let provider = arm.provider("prod");
    for n in 0..5 {
        let tags = json!({"fleet-name": "prod", "fleet-cluster-id": format!("c-{n}"), "fleet-blueprint-version": "v1"});
        arm.add_cluster(GROUP, &format!("c-{n}"), common::REGIONS[n % 2], tags);
    }
    arm.add_cluster(GROUP, "hand-made", "westeurope", json!({"team": "ops"}));
    arm.add_cluster(
        GROUP,
        "theirs",
        "westeurope",
        json!({"fleet-name": "staging", "fleet-cluster-id": "theirs", "fleet-blueprint-version": "v1"}),
    );
    arm.add_cluster(
        GROUP,
        "far-away",
        "japaneast",
        json!({"fleet-name": "prod", "fleet-cluster-id": "far-away", "fleet-blueprint-version": "v1"}),
    );
    arm.add_cluster(
        "other-rg",
        "elsewhere",
        "westeurope",
        json!({"fleet-name": "prod", "fleet-cluster-id": "elsewhere", "fleet-blueprint-version": "v1"}),
    );
    let listed: Vec<String> = provider.list().await.unwrap().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(
        listed,
        ["c-0", "c-1", "c-2", "c-3", "c-4"],
        "other fleets, untagged clusters, other regions and groups are left out"
    );
    let pages = arm.requests().iter().filter(|r| r.method == "GET" && r.path.ends_with("/managedClusters")).count();
    assert_eq!(pages, 4, "8 clusters in the group, 2 a page");
    assert_no_violations(&arm);

    let wide = arm.builder("prod").with_subscription_wide_list().build().unwrap();
    let listed: Vec<String> = wide.list().await.unwrap().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(listed, ["c-0", "c-1", "c-2", "c-3", "c-4"], "a subscription-wide list keeps the configured group only");
    let last = arm.requests().into_iter().rev().find(|r| r.method == "GET").unwrap();
    assert!(last.path.starts_with(&format!("/subscriptions/{}/providers/", common::SUBSCRIPTION)), "{}", last.path);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_next_link_to_another_host_is_not_followed() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    let evil = fleet_core::conformance::http::serve(|_| {
        fleet_core::conformance::http::TestResponse::json(200, r#"{"value": []}"#)
    });
    let lure = fleet_core::conformance::http::serve(move |_| {
        fleet_core::conformance::http::TestResponse::json(
            200,
            json!({"value": [], "nextLink": format!("{evil}/steal")}).to_string(),
        )
    });
    let misled = arm.builder("prod").with_base_url(&lure).build().unwrap();
    let err = misled.list().await.unwrap_err();
    assert!(err.to_string().contains("another host"), "{err}");
    assert!(provider.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn arm_errors_map_to_fleets_kinds() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    for (status, code, message, kind) in [
        (404, "ResourceNotFound", "The Resource was not found.", ErrorKind::NotFound),
        (
            403,
            "AuthorizationFailed",
            "The client does not have authorization to perform action",
            ErrorKind::PermissionDenied,
        ),
        (
            401,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
            ErrorKind::Unauthenticated,
        ),
        (
            409,
            "OperationNotAllowed",
            "Operation is not allowed because there's an in progress create managed cluster operation",
            ErrorKind::Conflict,
        ),
        (
            409,
            "OperationNotAllowed",
            "Provisioning failed: exceeding approved Total Regional Cores quota",
            ErrorKind::QuotaExceeded,
        ),
        (429, "TooManyRequests", "The request is being throttled.", ErrorKind::RateLimited),
        (500, "InternalServerError", "An internal error occurred.", ErrorKind::Unavailable),
        (503, "ServiceUnavailable", "The service is unavailable.", ErrorKind::Unavailable),
        (400, "InvalidParameter", "The value of parameter agentPoolProfile.vmSize is invalid.", ErrorKind::InvalidSpec),
    ] {
        arm.fail_next(status, code, message);
        // Each resource group is asked in turn; the first answer decides.
        let err = provider.get(&id("web-1")).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{status} {code}: {err}");
    }
    provider.create(&spec("web-1", "westeurope")).await.unwrap();
    let taken = arm.provider("staging").create(&spec("web-1", "westeurope")).await.unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::AlreadyExists, "412 on If-None-Match: {taken}");
    let again = provider.create(&spec("web-1", "westeurope")).await.unwrap();
    assert!(again.phase.is_running(), "creating one's own cluster again finds it");
    let refused = arm.provider("staging").delete(&id("web-1")).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied, "another fleet's cluster is never deleted");
    assert!(arm.cluster(GROUP, "web-1").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn update_upgrades_and_scales_in_one_put_and_delete_follows_location() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    provider.create(&spec("web-1", "westeurope")).await.unwrap();
    let mut wanted = spec("web-1", "westeurope");
    wanted.kubernetes_version = "1.32".parse().unwrap();
    wanted.node_pools[1].max_count = std::num::NonZeroU32::new(8).unwrap();
    let before = arm.requests().len();
    let updated = provider.update(&wanted).await.unwrap();
    assert_eq!(updated.kubernetes_version.unwrap().minor(), 32);
    assert_eq!(updated.node_pools[1].max_count.get(), 8);
    let puts: Vec<_> = arm.requests()[before..].iter().filter(|r| r.method == "PUT").cloned().collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].header("if-none-match"), None, "an update is not a create");
    assert_eq!(puts[0].body["properties"]["agentPoolProfiles"][0]["orchestratorVersion"], "1.32");
    assert_eq!(puts[0].body["properties"]["networkProfile"], serde_json::Value::Null);
    assert_eq!(provider.update(&wanted).await.unwrap().kubernetes_version.unwrap().minor(), 32);
    assert_eq!(arm.requests().iter().filter(|r| r.method == "PUT").count(), 2, "nothing to change, nothing sent");

    let mut fewer = wanted.clone();
    fewer.node_pools.pop();
    assert_eq!(provider.update(&fewer).await.unwrap_err().kind(), ErrorKind::Unsupported);

    provider.delete(&id("web-1")).await.unwrap();
    assert!(arm.cluster(GROUP, "web-1").is_none(), "the delete was followed through its Location");
    let last = arm.requests().into_iter().last().unwrap();
    assert!(last.path.contains("/operationresults/"), "{}", last.path);
    provider.delete(&id("web-1")).await.unwrap();
    assert_no_violations(&arm);
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_and_start_are_hibernation() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    provider.create(&spec("web-1", "westeurope")).await.unwrap();
    assert_eq!(provider.hibernate(&id("web-1")).await.unwrap().phase, ClusterPhase::Hibernated);
    assert!(arm.requests().iter().any(|r| r.method == "POST" && r.path.ends_with("/web-1/stop")));
    assert!(provider.resume(&id("web-1")).await.unwrap().phase.is_running());
    let without = arm.builder("prod").with_capabilities(Capabilities::default()).build().unwrap();
    assert_eq!(without.hibernate(&id("web-1")).await.unwrap_err().kind(), ErrorKind::Unsupported);
    assert_no_violations(&arm);
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_the_decoded_user_kubeconfig_and_stay_secret() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    provider.create(&spec("web-1", "westeurope")).await.unwrap();
    let credentials = provider.credentials(&id("web-1")).await.unwrap();
    assert_eq!(credentials.endpoint(), "https://web-1-d1k3x9.hcp.westeurope.azmk8s.io");
    let kubeconfig = credentials.expose_kubeconfig();
    assert!(kubeconfig.contains("server: https://web-1-d1k3x9.hcp.westeurope.azmk8s.io:443"), "{kubeconfig}");
    assert!(kubeconfig.contains(common::KUBECONFIG_TOKEN));
    assert!(!format!("{credentials:?}").contains(common::KUBECONFIG_TOKEN));
    let post = arm.requests().into_iter().find(|r| r.method == "POST").unwrap();
    assert!(post.path.ends_with("/web-1/listClusterUserCredential"), "{}", post.path);
    assert_no_violations(&arm);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_system_pool_without_nodes_is_refused_before_any_call() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    let mut system_zero = spec("web-1", "westeurope");
    system_zero.node_pools[0].min_count = 0;
    let err = provider.create(&system_zero).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSpec);
    assert!(err.to_string().contains("node_pools[0].min_count"), "{err}");
    assert!(arm.requests().is_empty());
}

#[test]
fn the_builder_names_every_problem_and_never_shows_a_secret() {
    let builder = fleet_azure::AksProviderBuilder::new(FleetName::new("prod").unwrap(), common::SUBSCRIPTION)
        .with_regions(vec![Region::new("westeurope").unwrap(), Region::new("eastus2").unwrap()])
        .with_region_resource_group(Region::new("westeurope").unwrap(), "bad/group")
        .with_base_url("http://127.0.0.1:9")
        .with_client_secret("tenant", "client", "s3cr3t-value".to_owned().into());
    assert!(!format!("{builder:?}").contains("s3cr3t-value"));
    let text = builder.build().unwrap_err().to_string();
    assert!(text.contains("bad/group"), "{text}");
    assert!(text.contains("`eastus2` has no resource group"), "{text}");
    assert!(text.contains("tokens are only sent over https"), "{text}");
    assert!(!text.contains("s3cr3t-value"), "{text}");
}
