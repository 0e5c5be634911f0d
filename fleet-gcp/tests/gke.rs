//! The GKE provider against the local GKE API: the conformance kit, operation polling, label
//! filtering, missing locations, updates of labels, error mapping, and the kubeconfig it hands
//! out. Every request body must match the public discovery document.

mod common;

use std::sync::Arc;
use std::time::Duration;

use fleet_core::conformance::{CHECKS, ConformanceContext, run_all};
use fleet_core::*;

/// The requests after the first `since` that change something (neither `GET` nor a poll).
fn changes_since(gke: &common::Gke, since: usize) -> Vec<String> {
    gke.requests().into_iter().skip(since).filter(|(m, _, _)| m != "GET").map(|(m, p, _)| format!("{m} {p}")).collect()
}

fn fleet(name: &str) -> FleetName {
    FleetName::new(name).unwrap()
}

fn spec(id: &str, location: &str) -> ClusterSpec {
    common::spec_builder(id, location, "1.34").label("team", "payments").build().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gke_provider_passes_the_conformance_kit() {
    let gke = common::Gke::start_with_kube_api();
    let provider = gke.provider("conformance").await;
    let other = Arc::new(gke.provider("conformance-other").await);
    let [first, second] = common::LOCATIONS.map(|location| Region::new(location).unwrap());
    let context = ConformanceContext::new("conf", first, other)
        .unwrap()
        .with_second_region(second)
        .with_hooks(gke.hooks())
        .with_wait(
            WaitOptions::with_timeout(Duration::from_secs(60))
                .with_intervals(Duration::from_millis(5), Duration::from_millis(50)),
        );
    let report = run_all(&provider, &context).await;
    assert_eq!(report.passed.len() + report.skipped.len(), CHECKS.len());
    // The only skips: GKE needs no system pool (its system pods run on any pool), has no
    // hibernation, and this provider applies every setting.
    assert_eq!(
        report.skipped_checks(),
        [
            "create_without_a_required_system_pool_is_rejected",
            "hibernate_and_resume_round_trip",
            "undeclared_settings_are_refused",
        ]
    );
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
            "GET projects/fleet-test/locations/us-central1/clusters/web-1",
            "GET projects/fleet-test/locations/europe-west1/serverConfig",
            "POST projects/fleet-test/locations/europe-west1/clusters",
            "GET projects/fleet-test/locations/europe-west1/operations/operation-2",
            "GET projects/fleet-test/locations/europe-west1/operations/operation-2",
            "GET projects/fleet-test/locations/europe-west1/clusters/web-1",
        ]
    );
    let body = &requests[2].2["cluster"];
    assert_eq!(body["name"], "web-1");
    assert_eq!(body["initialClusterVersion"], "1.34");
    assert_eq!(body["resourceLabels"]["fleet-name"], "prod");
    assert_eq!(body["resourceLabels"]["team"], "payments");
    assert_eq!(body["nodePools"][0]["config"]["machineType"], "e2-standard-2");
    assert_eq!(body["nodePools"][0]["autoscaling"]["totalMaxNodeCount"], 3, "totals, not per zone");
    assert_eq!(body["nodePools"][0]["initialNodeCount"], 1);
    assert_eq!(body["releaseChannel"]["channel"], "STABLE", "the most mature channel offering 1.34");
    assert!(gke.violations().is_empty(), "{:?}", gke.violations());
    assert!(
        common::unknown_fields(&serde_json::json!({"cluster": {"nmae": "typo"}}), "CreateClusterRequest")
            .iter()
            .any(|field| field.ends_with("cluster.nmae")),
        "the checker itself catches unknown fields"
    );
    assert_eq!(created.kubernetes_version.unwrap().to_string(), "1.34.4", "the newest 1.34 of STABLE");
    assert_eq!(created.endpoint.as_deref(), Some("https://34.77.0.1"));

    let mut upgraded = spec("web-1", "europe-west1");
    upgraded.kubernetes_version = "1.35".parse().unwrap();
    upgraded.node_pools[0].max_count = std::num::NonZeroU32::new(5).unwrap();
    let done = provider.update(&upgraded).await.unwrap();
    assert_eq!(done.kubernetes_version.unwrap().minor(), 35);
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
    let before = gke.requests().len();
    let listed: Vec<String> = provider.list().await.unwrap().clusters.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(listed, ["web-1", "web-2"], "other fleets, unlabelled clusters and unconfigured locations are left out");
    let calls = &gke.requests()[before..];
    assert_eq!(calls.len(), 1, "a list is one call, whatever the fleet's size: {calls:?}");
    assert_eq!(calls[0].1, "projects/fleet-test/locations/-/clusters");
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

#[tokio::test(flavor = "multi_thread")]
async fn locations_gke_reports_missing_are_unreachable_and_a_list_with_none_fails() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    provider.create(&spec("web-1", "europe-west1")).await.unwrap();
    provider.create(&spec("web-2", "us-central1")).await.unwrap();
    let (europe, us) = (Region::new("europe-west1").unwrap(), Region::new("us-central1").unwrap());

    gke.cut("us-central1");
    let listing = provider.list().await.unwrap();
    let listed: Vec<String> = listing.clusters.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(listed, ["web-1"]);
    assert!(listing.is_unreachable(&us) && !listing.is_unreachable(&europe), "{:?}", listing.unreachable);
    assert!(listing.unreachable[0].error.is_retryable());
    let err = provider.get(&ClusterId::new("web-2").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "a cut location answers 503: {err}");
    gke.restore("us-central1");

    // A zone of a configured region is that region's; a location not configured is ignored.
    let clusters = vec![gke.cluster("europe-west1", "web-1").unwrap(), gke.cluster("us-central1", "web-2").unwrap()];
    gke.answer_next(
        200,
        serde_json::json!({"clusters": clusters, "missingZones": ["europe-west1-b", "asia-east1", "europe-west10-a"]}),
        Vec::new(),
    );
    let listing = provider.list().await.unwrap();
    let listed: Vec<String> = listing.clusters.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(listed, ["web-2"], "the clusters of a location GKE may have missed are left out");
    let unreachable: Vec<&str> = listing.unreachable.iter().map(|u| u.region.as_str()).collect();
    assert_eq!(unreachable, ["europe-west1"]);

    gke.cut("europe-west1");
    gke.cut("us-central1");
    let err = provider.list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("no region could be listed"), "{err}");
    let all_missing = gke.requests().last().map(|(_, path, _)| path.clone()).unwrap();
    assert_eq!(all_missing, "projects/fleet-test/locations/-/clusters", "one aggregated call, answered 200");

    gke.restore("europe-west1");
    gke.restore("us-central1");
    let listing = provider.list().await.unwrap();
    assert!(listing.is_complete());
    assert_eq!(listing.clusters.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_sets_the_specs_labels_with_the_label_fingerprint() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    let original = spec("web-1", "europe-west1");
    provider.create(&original).await.unwrap();
    let fingerprint = gke.cluster("europe-west1", "web-1").unwrap()["labelFingerprint"].clone();
    assert!(fingerprint.as_str().is_some_and(|f| f.len() == 8), "{fingerprint}");

    let mut relabelled = original.clone();
    relabelled.labels.insert("team".into(), "checkout".into());
    relabelled.labels.insert("tier".into(), "gold".into());
    relabelled.blueprint_version = BlueprintVersion::of(&"another blueprint");
    let since = gke.requests().len();
    let updated = provider.update(&relabelled).await.unwrap();
    let wanted = FleetTags::cluster_tags(&fleet("prod"), &relabelled);
    assert_eq!(updated.tags, wanted, "the cluster carries exactly the spec's tags");
    assert_eq!(
        changes_since(&gke, since),
        ["POST projects/fleet-test/locations/europe-west1/clusters/web-1:setResourceLabels"]
    );
    let sent = gke.requests().into_iter().find(|(_, p, _)| p.ends_with(":setResourceLabels")).unwrap().2;
    assert_eq!(sent["labelFingerprint"], fingerprint, "the fingerprint of the labels replaced");
    assert_eq!(sent["resourceLabels"]["fleet-blueprint-version"], relabelled.blueprint_version.as_str());
    let stored = gke.cluster("europe-west1", "web-1").unwrap();
    assert_ne!(stored["labelFingerprint"], fingerprint, "GKE gives new labels a new fingerprint");
    assert_eq!(stored["resourceLabels"]["tier"], "gold");

    let mut unlabelled = relabelled.clone();
    unlabelled.labels.clear();
    let updated = provider.update(&unlabelled).await.unwrap();
    assert!(!updated.tags.contains_key("team") && !updated.tags.contains_key("tier"), "{:?}", updated.tags);
    assert!(FleetTags::belongs_to(&updated.tags, &fleet("prod")));

    // A fingerprint gone stale between the read and the write is read again, once.
    gke.fail_next_to(
        ":setResourceLabels",
        400,
        "FAILED_PRECONDITION",
        "Labels could not be set due to fingerprint mismatch; try again with the proper fingerprint: incorrect \
         fingerprint supplied was \"00000000\", the expected one is \"11111111\".",
    );
    let since = gke.requests().len();
    let updated = provider.update(&relabelled).await.unwrap();
    assert_eq!(updated.tags, wanted);
    assert_eq!(changes_since(&gke, since).len(), 2, "{:?}", changes_since(&gke, since));

    // Nothing to change: nothing sent.
    let since = gke.requests().len();
    provider.update(&relabelled).await.unwrap();
    assert!(changes_since(&gke, since).is_empty(), "{:?}", changes_since(&gke, since));
    assert!(gke.violations().is_empty(), "{:?}", gke.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn update_refuses_replacements_and_busy_clusters_before_changing_anything() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    let original = spec("web-1", "europe-west1");
    provider.create(&original).await.unwrap();
    let since = gke.requests().len();

    let mut bigger = original.clone();
    bigger.node_pools[0].size = SizeClass::Large;
    bigger.labels.insert("tier".into(), "gold".into());
    let err = provider.update(&bigger).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("nodePools.workers.size"), "{err}");

    // A spec behind the cluster is no replacement: the version is kept, nothing else differs.
    let mut older = original.clone();
    older.kubernetes_version = "1.33".parse().unwrap();
    assert_eq!(provider.update(&older).await.unwrap().kubernetes_version.unwrap().minor(), 34);

    let mut moved = original.clone();
    moved.region = Region::new("us-central1").unwrap();
    assert_eq!(provider.update(&moved).await.unwrap_err().kind(), ErrorKind::Unsupported);

    let mut audited = original.clone();
    audited.audit_logging = !audited.audit_logging;
    assert_eq!(provider.update(&audited).await.unwrap_err().kind(), ErrorKind::Unsupported);

    let fixed = gke_provider_without_in_place_changes(&gke).await;
    let mut upgraded = original.clone();
    upgraded.kubernetes_version = "1.35".parse().unwrap();
    assert_eq!(fixed.update(&upgraded).await.unwrap_err().kind(), ErrorKind::Unsupported);
    assert!(changes_since(&gke, since).is_empty(), "refusals change nothing: {:?}", changes_since(&gke, since));

    gke.set_status("europe-west1", "web-1", "RECONCILING");
    let mut relabelled = original.clone();
    relabelled.labels.insert("tier".into(), "gold".into());
    let err = provider.update(&relabelled).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.is_retryable());
    assert!(changes_since(&gke, since).is_empty(), "{:?}", changes_since(&gke, since));
    gke.set_status("europe-west1", "web-1", "RUNNING");

    // What GKE itself refuses while an operation runs is a retryable conflict too.
    gke.fail_next_to(
        ":setResourceLabels",
        400,
        "FAILED_PRECONDITION",
        "Cluster is running incompatible operation operation-9.",
    );
    let err = provider.update(&relabelled).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.is_retryable());
    assert!(provider.update(&relabelled).await.is_ok());
}

async fn gke_provider_without_in_place_changes(gke: &common::Gke) -> fleet_gcp::GkeProvider {
    gke.builder("prod").with_capabilities(Capabilities::default()).build().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_returns_this_fleets_cluster_as_it_is_and_waits_out_a_deletion() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    let web = spec("web-1", "europe-west1");
    let first = provider.create(&web).await.unwrap();
    let stored = gke.cluster("europe-west1", "web-1").unwrap();

    let mut changed = web.clone();
    changed.labels.insert("tier".into(), "gold".into());
    let since = gke.requests().len();
    let again = provider.create(&changed).await.unwrap();
    assert_eq!(
        (again.provider_id.as_str(), again.created_at, &again.phase),
        (first.provider_id.as_str(), first.created_at, &ClusterPhase::Running)
    );
    assert_eq!(again.tags, first.tags, "returned unchanged, not updated");
    assert_eq!(gke.cluster("europe-west1", "web-1").unwrap(), stored, "nothing changed at GKE");
    assert!(
        changes_since(&gke, since).iter().all(|c| c.starts_with("POST") && c.ends_with("/clusters")),
        "{:?}",
        changes_since(&gke, since)
    );

    // The same id in the other location is the same cluster of this fleet: no second one.
    let since = gke.requests().len();
    let there = provider.create(&spec("web-1", "us-central1")).await.unwrap();
    assert_eq!(there.region.as_str(), "europe-west1");
    assert!(changes_since(&gke, since).is_empty(), "{:?}", changes_since(&gke, since));
    assert!(gke.cluster("us-central1", "web-1").is_none());

    let mut elsewhere = web.clone();
    elsewhere.provider = ProviderName::new("aws").unwrap();
    let since = gke.requests().len();
    let err = provider.create(&elsewhere).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSpec, "{err}");
    assert_eq!(gke.requests().len(), since, "nothing was asked of GKE");

    gke.set_status("europe-west1", "web-1", "STOPPING");
    let err = provider.create(&web).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.is_retryable());
    let since = gke.requests().len();
    provider.delete(&web.id).await.unwrap();
    assert!(changes_since(&gke, since).is_empty(), "a deleting cluster is not deleted twice");

    assert!(gke.remove_cluster("europe-west1", "web-1"));
    let new = provider.create(&web).await.unwrap();
    assert!(new.phase.is_running());
    assert!(gke.violations().is_empty(), "{:?}", gke.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_carries_googles_retry_delay() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    provider.create(&spec("web-1", "europe-west1")).await.unwrap();
    let id = ClusterId::new("web-1").unwrap();

    gke.throttle_next(Duration::from_secs(7));
    let err = provider.get(&id).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)), "{err:?}");

    let retry_after = |seconds: &str| vec![("Retry-After".to_owned(), seconds.to_owned())];
    let too_many =
        serde_json::json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Too many requests"}});
    gke.answer_next(429, too_many, retry_after("3"));
    let err = provider.get(&id).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(3)), "{err:?}");

    gke.answer_next(429, serde_json::json!("<html>Rate limited</html>"), retry_after("2"));
    let err = provider.get(&id).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(2)), "{err:?}");

    let per_minute = serde_json::json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
        "message": "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'"}});
    gke.answer_next(429, per_minute, Vec::new());
    let err = provider.get(&id).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { retry_after: None }), "a per-minute quota is a rate: {err:?}");

    let cpus = serde_json::json!({"error": {"code": 403, "status": "RESOURCE_EXHAUSTED",
        "message": "Insufficient regional quota to satisfy request: resource \"CPUS\""}});
    gke.answer_next(403, cpus, Vec::new());
    let err = provider.get(&id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded, "{err}");

    assert!(provider.get(&id).await.is_ok(), "the next call is answered");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_machine_type_is_reported_only_when_the_spec_chose_it() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    let mut chosen = spec("web-1", "europe-west1");
    chosen.node_pools[0].machine_type = Some("n2-standard-4".into());
    let created = provider.create(&chosen).await.unwrap();
    assert_eq!(created.node_pools[0].machine_type.as_deref(), Some("n2-standard-4"));
    let derived = provider.create(&spec("web-2", "europe-west1")).await.unwrap();
    assert_eq!(derived.node_pools[0].machine_type, None, "e2-standard-2 comes from the size class");
    let stored = gke.cluster("europe-west1", "web-2").unwrap();
    assert_eq!(stored["nodePools"][0]["config"]["machineType"], "e2-standard-2");
    let since = gke.requests().len();
    provider.update(&chosen).await.unwrap();
    provider.update(&spec("web-2", "europe-west1")).await.unwrap();
    assert!(changes_since(&gke, since).is_empty(), "{:?}", changes_since(&gke, since));
}
