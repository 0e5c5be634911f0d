//! The AKS provider against the local ARM: the conformance kit, long-running operations,
//! `Retry-After`, paging by `nextLink`, error mapping and the kubeconfig it hands out. Every
//! request must match the official API description (`tests/data/azure-rest-api-specs`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{GROUP, LocalArm, Side, waits};
use fleet_azure::AksProvider;
use fleet_core::conformance::{CHECKS, ConformanceContext, run_all};
use fleet_core::*;
use serde_json::json;

fn spec(id: &str, region: &str) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new("azure").unwrap(),
        Region::new(region).unwrap(),
        "1.34".parse().unwrap(),
    )
    .node_pool(NodePool::new(NodePoolName::new("system").unwrap(), SizeClass::Small, 1, 3).unwrap().with_system(true))
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

/// The context of the kit's runs: both regions, the local ARM's hooks, fast waits.
fn conformance_context(arm: &LocalArm, other: AksProvider) -> ConformanceContext {
    let [first, second] = common::REGIONS.map(|r| Region::new(r).unwrap());
    ConformanceContext::new("conf", first, Arc::new(other))
        .unwrap()
        .with_second_region(second)
        .with_hooks(Arc::new(arm.hooks()))
        .with_wait(
            WaitOptions::with_timeout(Duration::from_secs(60))
                .with_intervals(Duration::from_millis(5), Duration::from_millis(50)),
        )
}

/// Every check passes, team credentials included (set up in the simulated API server).
fn assert_all_pass(report: &fleet_core::conformance::ConformanceReport) {
    assert!(report.skipped_checks().is_empty(), "{report}");
    let all: Vec<&str> = CHECKS.iter().map(|c| c.name).collect();
    assert_eq!(report.passed, all, "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aks_provider_passes_the_conformance_kit() {
    let arm = LocalArm::start();
    let provider = arm.builder_per_region("conformance").build().unwrap();
    let other = arm.builder_per_region("conformance-other").build().unwrap();
    let context = conformance_context(&arm, other);
    let report = run_all(&provider, &context).await;
    assert_all_pass(&report);
    assert_no_violations(&arm);
    let cut = arm.requests().iter().any(|r| r.path.contains("/resourceGroups/fleet-rg-eastus2/"));
    assert!(cut, "the kit used the second region's resource group");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aks_provider_passes_the_conformance_kit_listing_the_subscription() {
    let arm = LocalArm::start();
    let provider = arm.builder_per_region("conformance").with_subscription_wide_list().build().unwrap();
    let other = arm.builder_per_region("conformance-other").with_subscription_wide_list().build().unwrap();
    let context = conformance_context(&arm, other);
    let report = run_all(&provider, &context).await;
    assert_all_pass(&report);
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
            format!("GET {cluster}"),
            format!("PUT {cluster}"),
            format!("GET {operation}"),
            format!("GET {operation}"),
            format!("GET {operation}"),
            format!("GET {cluster}"),
        ],
        "a look for an existing cluster, one PUT, the operation polled until Succeeded, then the cluster read"
    );
    let put = &requests[1];
    assert_eq!(put.header("if-none-match"), Some("*"), "create never overwrites an existing cluster");
    assert_eq!(put.body["location"], "westeurope");
    assert_eq!(put.body["tags"]["fleet-name"], "prod");
    assert_eq!(put.body["tags"]["fleet-cluster-id"], "web-1");
    assert_eq!(put.body["tags"]["team"], "payments");
    assert_eq!(put.body["identity"]["type"], "SystemAssigned");
    let properties = &put.body["properties"];
    assert_eq!(properties["kubernetesVersion"], "1.34");
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

    assert_eq!(created.kubernetes_version.unwrap().to_string(), "1.34.5");
    assert_eq!(created.endpoint.as_deref(), Some("https://web-1-d1k3x9.hcp.westeurope.azmk8s.io"));
    assert_eq!(created.node_pools.len(), 2);
    assert_eq!(created.node_pools[1].max_count.get(), 5);
    assert_eq!(created.node_pools[1].machine_type, None, "a pool made from a size class reads back as one");
    assert!(created.created_at.is_some() && created.updated_at.is_some(), "timestamps from systemData");
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
    let listed: Vec<String> = provider.list().await.unwrap().clusters.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(
        listed,
        ["c-0", "c-1", "c-2", "c-3", "c-4"],
        "other fleets, untagged clusters, other regions and groups are left out"
    );
    let pages = arm.requests().iter().filter(|r| r.method == "GET" && r.path.ends_with("/managedClusters")).count();
    assert_eq!(pages, 4, "8 clusters in the group, 2 a page");
    assert_eq!(arm.requests().len(), 4, "a list is its pages: tags and agent pools come in them, nothing per cluster");
    assert_no_violations(&arm);

    let wide = arm.builder("prod").with_subscription_wide_list().build().unwrap();
    let listed: Vec<String> = wide.list().await.unwrap().clusters.iter().map(|c| c.id.to_string()).collect();
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
    assert!(provider.list().await.unwrap().clusters.is_empty());
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
    assert_eq!(taken.kind(), ErrorKind::AlreadyExists, "another fleet's cluster: {taken}");
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
    wanted.kubernetes_version = "1.35".parse().unwrap();
    wanted.node_pools[1].max_count = std::num::NonZeroU32::new(8).unwrap();
    let before = arm.requests().len();
    assert_eq!(provider.update(&wanted).await.unwrap().phase, ClusterPhase::Updating);
    let updated = provider.wait_until_running(&wanted.id, waits()).await.unwrap();
    assert_eq!(updated.kubernetes_version.unwrap().minor(), 35);
    assert_eq!(updated.node_pools[1].max_count.get(), 8);
    let puts: Vec<_> = arm.requests()[before..].iter().filter(|r| r.method == "PUT").cloned().collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].header("if-none-match"), None, "an update is not a create");
    assert_eq!(puts[0].body["properties"]["agentPoolProfiles"][0]["orchestratorVersion"], "1.35");
    assert_eq!(puts[0].body["properties"]["networkProfile"]["networkPolicy"], "none", "the created network is kept");
    assert_eq!(provider.update(&wanted).await.unwrap().kubernetes_version.unwrap().minor(), 35);
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

    provider.hibernate(&id("web-1")).await.unwrap();
    let before = arm.requests().len();
    assert_eq!(provider.hibernate(&id("web-1")).await.unwrap().phase, ClusterPhase::Hibernated);
    assert!(arm.requests()[before..].iter().all(|r| r.method == "GET"), "a stopped cluster is not stopped again");
    assert_eq!(
        provider.update(&spec("web-1", "westeurope")).await.unwrap_err().kind(),
        ErrorKind::Conflict,
        "a stopped cluster is updated once it runs again"
    );
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
    assert!(err.to_string().contains("nodePools.system.minCount"), "{err}");
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

    let arm = LocalArm::start();
    let text = arm.builder("prod").with_capabilities(Capabilities::all()).build().unwrap_err().to_string();
    assert!(text.contains("with_audit_log_workspace"), "audit logging needs a workspace: {text}");
    let info = arm.provider("prod").info().clone();
    assert!(info.capabilities.team_credentials, "declared by default");
    assert!(info.capabilities.in_place_version_upgrade && info.capabilities.node_pool_resize);
}

fn tagged(fleet: &str, name: &str) -> serde_json::Value {
    json!({"fleet-name": fleet, "fleet-cluster-id": name, "fleet-blueprint-version": "v1"})
}

fn names(clusters: &[Cluster]) -> Vec<String> {
    clusters.iter().map(|c| c.id.to_string()).collect()
}

fn group_of(region: &str) -> String {
    common::region_groups()[&Region::new(region).unwrap()].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resource_group_out_of_reach_makes_its_region_unreachable_and_the_others_are_listed() {
    let arm = LocalArm::start();
    let provider = arm.builder_per_region("prod").build().unwrap();
    let (west, east) = (Region::new("westeurope").unwrap(), Region::new("eastus2").unwrap());
    arm.add_cluster(&group_of("westeurope"), "web-w", "westeurope", tagged("prod", "web-w"));
    arm.add_cluster(&group_of("eastus2"), "web-e", "eastus2", tagged("prod", "web-e"));
    let listing = provider.list().await.unwrap();
    assert_eq!(names(&listing.clusters), ["web-e", "web-w"]);
    assert!(listing.is_complete());

    arm.cut(&group_of("eastus2"), "eastus2");
    let listing = provider.list().await.unwrap();
    assert_eq!(names(&listing.clusters), ["web-w"], "the region that answers is listed");
    assert!(listing.is_unreachable(&east) && !listing.is_unreachable(&west), "{:?}", listing.unreachable);
    assert!(listing.unreachable[0].error.is_retryable(), "{}", listing.unreachable[0].error);
    assert!(listing.unreachable[0].error.to_string().contains("GatewayTimeout"), "{}", listing.unreachable[0].error);

    arm.cut(&group_of("westeurope"), "westeurope");
    let err = provider.list().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("no region could be listed"), "{err}");

    arm.restore(&group_of("westeurope"), "westeurope");
    arm.restore(&group_of("eastus2"), "eastus2");
    let listing = provider.list().await.unwrap();
    assert_eq!(names(&listing.clusters), ["web-e", "web-w"]);
    assert!(listing.is_complete());
    assert_no_violations(&arm);
}

#[tokio::test(flavor = "multi_thread")]
async fn regions_sharing_a_resource_group_fail_together_with_its_own_error() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    arm.add_cluster(GROUP, "web-1", "westeurope", tagged("prod", "web-1"));
    arm.throttle_next(1, 7);
    let err = provider.list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)), "the group's own error, Retry-After kept");

    // One of two groups holds both regions of a three-region provider.
    let three = arm
        .builder("prod")
        .with_regions(["westeurope", "eastus2", "japaneast"].map(|r| Region::new(r).unwrap()).to_vec())
        .with_region_resource_group(Region::new("japaneast").unwrap(), "fleet-rg-japaneast")
        .build()
        .unwrap();
    arm.add_cluster("fleet-rg-japaneast", "web-j", "japaneast", tagged("prod", "web-j"));
    arm.cut(GROUP, "westeurope");
    let listing = three.list().await.unwrap();
    assert_eq!(names(&listing.clusters), ["web-j"]);
    let mut unreachable: Vec<String> = listing.unreachable.iter().map(|u| u.region.to_string()).collect();
    unreachable.sort();
    assert_eq!(unreachable, ["eastus2", "westeurope"], "every region of the group that failed");
    assert!(listing.unreachable.iter().all(|u| u.error.is_retryable()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_subscription_wide_list_falls_back_to_each_resource_group() {
    let arm = LocalArm::start();
    let provider = arm.builder_per_region("prod").with_subscription_wide_list().build().unwrap();
    arm.add_cluster(&group_of("westeurope"), "web-w", "westeurope", tagged("prod", "web-w"));
    arm.add_cluster(&group_of("eastus2"), "web-e", "eastus2", tagged("prod", "web-e"));
    let before = arm.requests().len();
    assert_eq!(names(&provider.list().await.unwrap().clusters), ["web-e", "web-w"]);
    assert_eq!(arm.requests().len() - before, 1, "one call while everything answers");

    arm.cut(&group_of("eastus2"), "eastus2");
    let before = arm.requests().len();
    let listing = provider.list().await.unwrap();
    assert_eq!(names(&listing.clusters), ["web-w"]);
    assert!(listing.is_unreachable(&Region::new("eastus2").unwrap()));
    let paths: Vec<String> = arm.requests()[before..].iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths.len(), 3, "the subscription, then each group: {paths:#?}");
    assert!(
        paths[0].ends_with(&format!("{}/providers/Microsoft.ContainerService/managedClusters", common::SUBSCRIPTION))
    );
    arm.restore(&group_of("eastus2"), "eastus2");

    arm.throttle_next(1, 3);
    let before = arm.requests().len();
    let err = provider.list().await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)), "{err}");
    assert_eq!(arm.requests().len() - before, 1, "a throttled list is not multiplied over the groups");
    assert_no_violations(&arm);
}

#[tokio::test(flavor = "multi_thread")]
async fn get_looks_past_a_resource_group_out_of_reach() {
    let arm = LocalArm::start();
    arm.add_cluster(&group_of("westeurope"), "web-w", "westeurope", tagged("prod", "web-w"));
    arm.cut(&group_of("eastus2"), "eastus2");
    let provider = arm.builder_per_region("prod").build().unwrap();
    assert_eq!(provider.get(&id("web-w")).await.unwrap().region.as_str(), "westeurope");
    let err = provider.get(&id("web-x")).await.unwrap_err();
    assert!(err.is_retryable(), "a cluster may be in the group that did not answer, so not NotFound: {err}");
    arm.restore(&group_of("eastus2"), "eastus2");
    assert_eq!(provider.get(&id("web-x")).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn create_of_an_existing_cluster_writes_nothing() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    let first = provider.create(&spec("web-1", "westeurope")).await.unwrap();
    let before = arm.requests().len();
    let again = provider.create(&spec("web-1", "westeurope")).await.unwrap();
    assert!(arm.requests()[before..].iter().all(|r| r.method == "GET"), "no PUT over an existing cluster");
    assert_eq!((again.provider_id, again.created_at, again.phase), (first.provider_id, first.created_at, first.phase));

    let before = arm.requests().len();
    let taken = arm.provider("staging").create(&spec("web-1", "westeurope")).await.unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::AlreadyExists, "{taken}");
    assert!(arm.requests()[before..].iter().all(|r| r.method == "GET"));

    // Made between the look and the PUT: If-None-Match answers 412, and the cluster is read.
    arm.fail_next(404, "ResourceNotFound", "The Resource was not found.");
    let raced = provider.create(&spec("web-1", "westeurope")).await.unwrap();
    assert!(raced.phase.is_running());
    arm.fail_next(404, "ResourceNotFound", "The Resource was not found.");
    let err = arm.provider("staging").create(&spec("web-1", "westeurope")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");

    assert!(arm.set_provisioning_state(GROUP, "web-1", "Deleting"));
    let before = arm.requests().len();
    let deleting = provider.create(&spec("web-1", "westeurope")).await.unwrap_err();
    assert_eq!(deleting.kind(), ErrorKind::Conflict, "{deleting}");
    assert!(deleting.is_retryable());
    provider.delete(&id("web-1")).await.unwrap();
    assert!(arm.requests()[before..].iter().all(|r| r.method == "GET"), "no PUT, and no second DELETE");

    let mut elsewhere = spec("web-2", "westeurope");
    elsewhere.provider = ProviderName::new("gcp").unwrap();
    let before = arm.requests().len();
    assert_eq!(provider.create(&elsewhere).await.unwrap_err().kind(), ErrorKind::InvalidSpec);
    assert_eq!(arm.requests().len(), before, "refused before any call");
    assert_no_violations(&arm);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_refuses_before_it_writes_and_leaves_the_spec_tags() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    let original = spec("web-1", "westeurope");
    provider.create(&original).await.unwrap();

    let mut relabelled = original.clone();
    relabelled.labels.remove("team");
    relabelled.labels.insert("tier".into(), "gold".into());
    relabelled.blueprint_version = BlueprintVersion::of(&"another blueprint");
    let before = arm.requests().len();
    let updated = provider.update(&relabelled).await.unwrap();
    let fleet = FleetName::new("prod").unwrap();
    assert_eq!(updated.tags, FleetTags::cluster_tags(&fleet, &relabelled), "exactly the spec's tags");
    let puts: Vec<_> = arm.requests()[before..].iter().filter(|r| r.method == "PUT").cloned().collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].body["tags"]["tier"], "gold");
    assert_eq!(puts[0].body["tags"]["team"], serde_json::Value::Null, "a removed label is removed");
    assert_eq!(puts[0].body["properties"]["kubernetesVersion"], "1.34", "the version stays");
    let stored = arm.cluster(GROUP, "web-1").unwrap();
    assert_eq!(stored["tags"][FleetTags::BLUEPRINT_VERSION_KEY], relabelled.blueprint_version.as_str());

    let mut moved = relabelled.clone();
    moved.region = Region::new("eastus2").unwrap();
    let mut audited = relabelled.clone();
    audited.audit_logging = !audited.audit_logging;
    let mut bigger = relabelled.clone();
    bigger.node_pools[0].size = SizeClass::Large;
    let before = arm.requests().len();
    for (change, changed) in [("region", moved), ("audit", audited), ("size", bigger)] {
        let err = provider.update(&changed).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{change}: {err}");
    }
    assert!(arm.requests()[before..].iter().all(|r| r.method == "GET"), "refused before anything is written");
    let mut behind = relabelled.clone();
    behind.kubernetes_version = "1.33".parse().unwrap();
    let kept = provider.update(&behind).await.unwrap();
    assert_eq!(kept.kubernetes_version.unwrap().minor(), 34, "a spec behind its cluster never downgrades it");

    let fixed = arm.builder("prod").with_capabilities(Capabilities::default()).build().unwrap();
    let mut upgraded = relabelled.clone();
    upgraded.kubernetes_version = "1.35".parse().unwrap();
    assert_eq!(fixed.update(&upgraded).await.unwrap_err().kind(), ErrorKind::Unsupported);
    let mut resized = relabelled.clone();
    resized.node_pools[1].max_count = std::num::NonZeroU32::new(9).unwrap();
    assert_eq!(fixed.update(&resized).await.unwrap_err().kind(), ErrorKind::Unsupported);
    assert_eq!(fixed.update(&relabelled).await.unwrap().tags, updated.tags, "nothing to change is fine");

    assert!(arm.set_provisioning_state(GROUP, "web-1", "Updating"));
    let err = provider.update(&upgraded).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.is_retryable());
    assert_eq!(arm.requests().iter().filter(|r| r.method == "PUT").count(), 2, "one create, one update");
    assert!(arm.set_provisioning_state(GROUP, "web-1", "Succeeded"));
    assert_no_violations(&arm);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_finds_node_pools_by_name_whatever_their_order() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    let original = spec("web-1", "westeurope");
    provider.create(&original).await.unwrap();
    let mut reordered = original.clone();
    reordered.node_pools.reverse();
    reordered.node_pools[0].max_count = std::num::NonZeroU32::new(7).unwrap();
    let updated = provider.update(&reordered).await.unwrap();
    let workers = updated.node_pools.iter().find(|p| p.name.as_str() == "workers").unwrap();
    let system = updated.node_pools.iter().find(|p| p.name.as_str() == "system").unwrap();
    assert_eq!((workers.min_count, workers.max_count.get()), (0, 7));
    assert_eq!((system.min_count, system.max_count.get()), (1, 3));
    let put = arm.requests().into_iter().rev().find(|r| r.method == "PUT").unwrap();
    assert_eq!(put.body["properties"]["agentPoolProfiles"][0]["name"], "system", "AKS's order is kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chosen_machine_type_reads_back_and_needs_no_replacement() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    let mut chosen = spec("web-1", "westeurope");
    chosen.node_pools[0].machine_type = Some("Standard_D2s_v5".into());
    chosen.node_pools[1].machine_type = Some("Standard_E8s_v5".into());
    let created = provider.create(&chosen).await.unwrap();
    let types: Vec<_> = created.node_pools.iter().map(|p| p.machine_type.clone()).collect();
    assert_eq!(types, [Some("Standard_D2s_v5".to_owned()), Some("Standard_E8s_v5".to_owned())]);
    assert_eq!(plan::replacement_needed(&created, &chosen, provider.info().capabilities), None);
    let before = arm.requests().len();
    provider.update(&chosen).await.unwrap();
    assert!(arm.requests()[before..].iter().all(|r| r.method == "GET"), "nothing to change");

    let plain = provider.create(&spec("web-2", "westeurope")).await.unwrap();
    assert_eq!(plan::replacement_needed(&plain, &spec("web-2", "westeurope"), provider.info().capabilities), None);
    // A VM size that is not the size class's own reads back as a machine type.
    arm.add_cluster(GROUP, "hand-sized", "westeurope", tagged("prod", "hand-sized"));
    let seen = provider.get(&id("hand-sized")).await.unwrap();
    assert_eq!(seen.node_pools[0].size, SizeClass::Medium);
    assert_eq!(seen.node_pools[0].machine_type.as_deref(), Some("Standard_D2s_v5"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hooks_act_on_the_local_arm() {
    use fleet_core::conformance::ConformanceHooks;
    let arm = LocalArm::start();
    let hooks = arm.hooks();
    let west = Region::new("westeurope").unwrap();
    // One region, so that each `get` is one request.
    let provider = arm.builder_per_region("prod").with_regions(vec![west.clone()]).build().unwrap();
    hooks.plant_cluster(&id("planted"), &west, &Default::default()).await.unwrap().unwrap();
    assert!(provider.get(&id("planted")).await.unwrap().tags.is_empty());
    hooks.remove_planted(&id("planted"), &west).await.unwrap().unwrap();
    let gone = hooks.remove_planted(&id("planted"), &west).await.unwrap().unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);

    hooks.fail_next_calls(2).await.unwrap().unwrap();
    for status in ["500", "503"] {
        let err = provider.get(&id("planted")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{status}: {err}");
    }
    hooks.throttle_next_calls(1, Duration::from_millis(2500)).await.unwrap().unwrap();
    let err = provider.get(&id("planted")).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)), "whole seconds, rounded up: {err}");
    assert_eq!(provider.get(&id("planted")).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(hooks.clusters_serve_kubernetes_api(), "the local ARM's clusters serve the simulated Kubernetes API");
}
