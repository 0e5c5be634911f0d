//! What reaches GKE's own fields, and what GKE (and so the local GKE API) refuses: the
//! control-plane settings, versions and release channels, node counts over zones, and the
//! network clusters join.

mod common;

use std::sync::Arc;
use std::time::Duration;

use fleet_core::conformance::{ConformanceContext, Outcome, undeclared_settings_are_refused};
use fleet_core::*;
use serde_json::{Value, json};

fn spec(id: &str, location: &str, version: &str) -> ClusterSpec {
    common::spec_builder(id, location, version).build().unwrap()
}

/// The body of the last request to a path ending in `suffix`.
fn last_body(gke: &common::Gke, method: &str, suffix: &str) -> Value {
    gke.requests().into_iter().rev().find(|(m, p, _)| m == method && p.ends_with(suffix)).map(|(_, _, b)| b).unwrap()
}

/// Requests after the first `since` that change something, as `METHOD path`.
fn changes_since(gke: &common::Gke, since: usize) -> Vec<String> {
    gke.requests().into_iter().skip(since).filter(|(m, _, _)| m != "GET").map(|(m, p, _)| format!("{m} {p}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_setting_reaches_its_gke_field_and_an_undeclared_one_is_refused() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    let mut public = spec("web-1", "europe-west1", "1.34");
    public.audit_logging = true;
    public.network.allowed_cidrs = vec!["203.0.113.0/24".into(), "198.51.100.0/24".into()];
    public.network.network_policy = true;
    provider.create(&public).await.unwrap();
    let body = &last_body(&gke, "POST", "/clusters")["cluster"];
    assert_eq!(
        body["masterAuthorizedNetworksConfig"],
        json!({"enabled": true, "cidrBlocks": [{"cidrBlock": "203.0.113.0/24"}, {"cidrBlock": "198.51.100.0/24"}]})
    );
    assert_eq!(body["networkConfig"]["datapathProvider"], "ADVANCED_DATAPATH");
    assert_eq!(body["ipAllocationPolicy"]["useIpAliases"], true, "Dataplane V2 needs a VPC-native cluster");
    assert_eq!(
        body["loggingConfig"]["componentConfig"]["enableComponents"],
        json!(["SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER"])
    );
    assert!(body.get("privateClusterConfig").is_none() && body.get("networkPolicy").is_none(), "{body}");
    let applied = common::applied_settings(&gke.cluster("europe-west1", "web-1").unwrap());
    assert_eq!(applied, AppliedSettings::new(public.network.clone(), true));

    let mut private = spec("internal-1", "europe-west1", "1.34");
    private.network.private_endpoint = true;
    private.network.network_policy = true;
    let calico = gke
        .builder("prod")
        .with_master_ipv4_cidr_block("10.10.0.16/28")
        .with_network_policy_provider(fleet_gcp::NetworkPolicyProvider::Calico)
        .build()
        .await
        .unwrap();
    calico.create(&private).await.unwrap();
    let body = &last_body(&gke, "POST", "/clusters")["cluster"];
    assert_eq!(
        body["privateClusterConfig"],
        json!({"enablePrivateNodes": true, "enablePrivateEndpoint": true, "masterIpv4CidrBlock": "10.10.0.16/28"})
    );
    assert_eq!(body["networkPolicy"], json!({"enabled": true, "provider": "CALICO"}));
    assert_eq!(body["addonsConfig"]["networkPolicyConfig"], json!({}), "Calico needs its add-on (not disabled)");
    assert!(body.get("networkConfig").is_none() && body.get("loggingConfig").is_none(), "{body}");
    let applied = common::applied_settings(&gke.cluster("europe-west1", "internal-1").unwrap());
    assert!(applied.network.private_endpoint && applied.network.network_policy && !applied.audit_logging);

    let err = gke.builder("prod").with_master_ipv4_cidr_block("10.10.0.0/24").build().await.unwrap_err();
    assert!(err.to_string().contains("/28"), "{err}");
    assert!(
        common::rules::settings_problem(&json!({"networkPolicy": {"enabled": true},
        "networkConfig": {"datapathProvider": "ADVANCED_DATAPATH"}, "ipAllocationPolicy": {"useIpAliases": true}}))
        .is_some(),
        "the local GKE API refuses Calico beside Dataplane V2, as GKE does"
    );

    // A provider declaring fewer settings refuses the others by name, before any request.
    let limited = gke
        .builder("prod")
        .with_capabilities(Capabilities::default().with_in_place_version_upgrade(true).with_network_policy(true))
        .build()
        .await
        .unwrap();
    let since = gke.requests().len();
    let err = limited.create(&private).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidSpec { path, .. } if path == "network.privateEndpoint"), "{err}");
    assert_eq!(gke.requests().len(), since, "refused before asking GKE");
    let other = Arc::new(gke.provider("prod-other").await);
    let context = ConformanceContext::new("lim", Region::new("europe-west1").unwrap(), other)
        .unwrap()
        .with_hooks(gke.hooks())
        .with_wait(
            WaitOptions::with_timeout(Duration::from_secs(30))
                .with_intervals(Duration::from_millis(5), Duration::from_millis(50)),
        );
    assert_eq!(undeclared_settings_are_refused(&limited, &context).await, Outcome::Passed);
    assert!(gke.violations().is_empty(), "{:?}", gke.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_come_from_the_server_config_and_upgrades_step_through_release_channels() {
    let gke = common::Gke::start();
    let provider = gke.provider("prod").await;
    let europe = Region::new("europe-west1").unwrap();
    let offered = provider.offered_versions(&europe).await.unwrap().unwrap();
    let minors: Vec<u32> = offered.iter().map(|v| v.minor()).collect();
    assert_eq!(minors.first(), Some(&33), "EXTENDED's 1.31 and 1.32 are not offered without that channel: {offered:?}");
    assert_eq!(minors.last(), Some(&36), "{offered:?}");

    let since = gke.requests().len();
    let err = provider.create(&spec("old-1", "europe-west1", "1.31")).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidSpec { path, .. } if path == "kubernetesVersion"), "{err}");
    assert!(changes_since(&gke, since).is_empty(), "nothing created: {:?}", changes_since(&gke, since));

    let stable = gke.builder("prod").with_release_channel(fleet_gcp::ReleaseChannel::Stable).build().await.unwrap();
    let stable_minors: Vec<u32> =
        stable.offered_versions(&europe).await.unwrap().unwrap().iter().map(|v| v.minor()).collect();
    assert_eq!(stable_minors, [33, 34]);
    let err = stable.create(&spec("new-1", "europe-west1", "1.36")).await.unwrap_err();
    assert!(err.to_string().contains("STABLE"), "{err}");

    // 1.34 goes to STABLE; to reach 1.36 it moves to REGULAR for 1.35, then to RAPID.
    let mut web = spec("web-1", "europe-west1", "1.34");
    provider.create(&web).await.unwrap();
    assert_eq!(gke.cluster("europe-west1", "web-1").unwrap()["releaseChannel"]["channel"], "STABLE");
    web.kubernetes_version = "1.36".parse().unwrap();
    let since = gke.requests().len();
    let first = provider.update(&web).await.unwrap();
    assert_eq!(first.kubernetes_version.unwrap().minor(), 35, "one minor a call");
    let sent: Vec<Value> = gke
        .requests()
        .into_iter()
        .skip(since)
        .filter(|(m, _, _)| m == "PUT")
        .map(|(_, _, b)| b["update"].clone())
        .collect();
    assert_eq!(
        sent,
        [json!({"desiredReleaseChannel": {"channel": "REGULAR"}}), json!({"desiredMasterVersion": "1.35"})]
    );
    let second = provider.update(&web).await.unwrap();
    assert_eq!(second.kubernetes_version.unwrap().to_string(), "1.36.1");
    assert_eq!(gke.cluster("europe-west1", "web-1").unwrap()["releaseChannel"]["channel"], "RAPID");
    assert_eq!(gke.cluster("europe-west1", "web-1").unwrap()["nodePools"][0]["version"], "1.36.1-gke.1200");

    // GKE upgraded a cluster ahead of its spec: left there, its labels still applied.
    let mut api = spec("api-1", "europe-west1", "1.34");
    provider.create(&api).await.unwrap();
    gke.auto_upgrade("europe-west1", "api-1", "1.35.2-gke.1500");
    api.labels.insert("tier".into(), "gold".into());
    let since = gke.requests().len();
    let kept = provider.update(&api).await.unwrap();
    assert_eq!(kept.kubernetes_version.unwrap().minor(), 35);
    assert_eq!(kept.tags.get("tier").map(String::as_str), Some("gold"));
    assert_eq!(
        changes_since(&gke, since),
        ["POST projects/fleet-test/locations/europe-west1/clusters/api-1:setResourceLabels"]
    );

    // What the local GKE API refuses, as GKE does.
    assert!(common::versions::upgrade("1.34.4-gke.1800", "1.36", "RAPID").is_err(), "a skipped minor");
    assert!(common::versions::upgrade("1.35.2-gke.1500", "1.34", "RAPID").is_err(), "a downgrade");
    assert!(common::versions::upgrade("1.34.4-gke.1800", "1.35", "STABLE").is_err(), "not in the channel");
    assert!(common::versions::channel_change_problem("1.36.1-gke.1200", "STABLE").is_some());
    assert!(common::versions::enrol("1.36", Some("STABLE")).is_err());
    assert!(gke.violations().is_empty(), "{:?}", gke.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn node_counts_are_totals_over_the_zones_of_a_regional_cluster() {
    let gke = common::Gke::start();
    gke.set_node_quota(6);
    let provider = gke.provider("prod").await;
    let mut big = spec("big-1", "europe-west1", "1.34");
    big.node_pools[0].min_count = 4;
    big.node_pools[0].max_count = std::num::NonZeroU32::new(9).unwrap();
    let created = provider.create(&big).await.unwrap();
    assert_eq!((created.node_pools[0].min_count, created.node_pools[0].max_count.get()), (4, 9), "reported as totals");
    let stored = gke.cluster("europe-west1", "big-1").unwrap();
    let pool = &stored["nodePools"][0];
    assert_eq!(pool["initialNodeCount"], 2, "2 in each of 3 zones: 6 nodes, not 4 x 3");
    assert_eq!(pool["locations"].as_array().map(Vec::len), Some(3));
    assert_eq!(pool["autoscaling"]["totalMinNodeCount"], 4);
    assert_eq!(pool["autoscaling"]["totalMaxNodeCount"], 9);
    assert_eq!(pool["autoscaling"]["locationPolicy"], "BALANCED");
    assert_eq!(stored["currentNodeCount"], 6);

    let err = provider.create(&spec("more-1", "europe-west1", "1.34")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QuotaExceeded, "3 more nodes (one a zone) exceed the quota: {err}");

    let mut resized = big.clone();
    resized.node_pools[0].max_count = std::num::NonZeroU32::new(12).unwrap();
    let after = provider.update(&resized).await.unwrap();
    assert_eq!(after.node_pools[0].max_count.get(), 12);
    let sent = last_body(&gke, "POST", ":setAutoscaling");
    assert_eq!(sent["autoscaling"]["totalMaxNodeCount"], 12);
    assert!(sent["autoscaling"].get("maxNodeCount").is_none(), "{sent}");

    let zonal = gke
        .builder("prod")
        .with_zones(Region::new("us-central1").unwrap(), vec!["us-central1-a".into(), "us-central1-f".into()])
        .build()
        .await
        .unwrap();
    let mut two_zones = big.clone();
    two_zones.id = ClusterId::new("two-1").unwrap();
    two_zones.region = Region::new("us-central1").unwrap();
    zonal.create(&two_zones).await.unwrap();
    let stored = gke.cluster("us-central1", "two-1").unwrap();
    assert_eq!(stored["locations"], json!(["us-central1-a", "us-central1-f"]));
    assert_eq!(stored["nodePools"][0]["initialNodeCount"], 2);
    let err = gke
        .builder("prod")
        .with_zones(Region::new("us-central1").unwrap(), vec!["europe-west1-b".into()])
        .build()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("europe-west1-b"), "{err}");

    let mixed = json!({"enabled": true, "minNodeCount": 1, "totalMaxNodeCount": 3});
    assert!(common::rules::autoscaling_problem(&mixed).is_some(), "totals and per-zone limits are exclusive");
    assert!(!common::rules::valid_pool_name("Workers_1") && common::rules::valid_pool_name("workers-1"));
    assert!(gke.violations().is_empty(), "{:?}", gke.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn clusters_join_the_builders_network_and_a_missing_default_network_is_refused() {
    let gke = common::Gke::start();
    gke.remove_network("default");
    let err = gke.provider("prod").await.create(&spec("web-1", "europe-west1", "1.34")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSpec, "{err}");
    assert!(err.to_string().contains("default"), "{err}");
    let provider = gke.builder("prod").with_network("fleet-vpc").with_subnetwork("fleet-eu").build().await.unwrap();
    provider.create(&spec("web-1", "europe-west1", "1.34")).await.unwrap();
    let stored = gke.cluster("europe-west1", "web-1").unwrap();
    assert_eq!((stored["network"].as_str(), stored["subnetwork"].as_str()), (Some("fleet-vpc"), Some("fleet-eu")));
}
