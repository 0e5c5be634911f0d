//! The provider's types and requests held against the official API description and examples
//! of `Azure/azure-rest-api-specs` (copies in `tests/data/azure-rest-api-specs`): every managed
//! cluster an example answers with parses, maps to a phase and keeps every field; the list of
//! read-only properties the provider strips is the description's.

#[path = "../tests/common/api_description.rs"]
mod api_description;
#[path = "../tests/common/official_examples.rs"]
mod official_examples;

use std::collections::BTreeSet;

use fleet_core::{ClusterPhase, FleetName, Region};
use serde_json::Value;

use crate::model::{ManagedCluster, Page};
use crate::read_only::{READ_ONLY, without_read_only};
use crate::{API_VERSION, AksProvider, AksProviderBuilder};
use api_description::{Side, description};
use official_examples::{answered_clusters, example};

fn provider() -> AksProvider {
    AksProviderBuilder::new(FleetName::new("prod").unwrap(), "00000000-0000-0000-0000-000000000000")
        .with_regions(vec![Region::new("location1").unwrap()])
        .with_resource_group("rg1")
        .with_base_url("http://127.0.0.1:9")
        .with_anonymous_credentials()
        .build()
        .unwrap()
}

/// The phase a provisioning state (and power state) stands for, as AKS documents them.
fn expected_phase(cluster: &Value) -> &'static str {
    let stopped = cluster["properties"]["powerState"]["code"] == "Stopped";
    match cluster["properties"]["provisioningState"].as_str().unwrap_or_default() {
        "Creating" => "creating",
        "Deleting" => "deleting",
        "Succeeded" if stopped => "hibernated",
        "Succeeded" => "running",
        "Failed" | "Canceled" => "failed",
        "" => "pending",
        _ => "updating",
    }
}

#[test]
fn the_read_only_properties_stripped_are_the_api_descriptions() {
    let described = description(API_VERSION).read_only_paths("ManagedCluster");
    let stripped: BTreeSet<String> = READ_ONLY.iter().map(|path| (*path).to_owned()).collect();
    assert_eq!(stripped, described, "the provider's list and the {API_VERSION} API description differ");
}

#[test]
fn every_official_cluster_answer_parses_maps_to_a_phase_and_keeps_every_field() {
    let provider = provider();
    let answers = answered_clusters();
    assert_eq!(answers.len(), 8, "the get, list, create and update answers of the examples");
    for (at, body) in answers {
        let parsed: ManagedCluster =
            serde_json::from_value(body.clone()).unwrap_or_else(|err| panic!("{at}: does not parse: {err}"));
        let cluster = provider.view(&parsed).unwrap_or_else(|err| panic!("{at}: does not map: {err}"));
        let phase = match cluster.phase {
            ClusterPhase::Creating => "creating",
            ClusterPhase::Deleting => "deleting",
            ClusterPhase::Hibernated => "hibernated",
            ClusterPhase::Running => "running",
            ClusterPhase::Failed { .. } => "failed",
            ClusterPhase::Pending => "pending",
            _ => "updating",
        };
        assert_eq!(phase, expected_phase(&body), "{at}: phase");
        assert_eq!(cluster.id.as_str(), body["name"].as_str().unwrap(), "{at}: name");
        let pools = body["properties"]["agentPoolProfiles"].as_array().map_or(0, Vec::len);
        assert_eq!(cluster.node_pools.len(), pools, "{at}: every agent pool is a node pool");
        assert!(cluster.kubernetes_version.is_some(), "{at}: the version is read");
        assert_eq!(serde_json::to_value(&parsed).unwrap(), body, "{at}: a field was lost or changed");
    }
}

#[test]
fn the_official_list_pages_parse() {
    for (version, file) in [
        ("2026-08-01", "ManagedClustersList.json"),
        ("2025-07-01", "ManagedClustersList.json"),
        ("2025-07-01", "ManagedClustersListByResourceGroup.json"),
    ] {
        let body = &example(version, file)["responses"]["200"]["body"];
        let page: Page = serde_json::from_value(body.clone()).unwrap_or_else(|err| panic!("{file}: {err}"));
        assert_eq!(page.value.len(), body["value"].as_array().unwrap().len(), "{version}/{file}");
    }
}

#[test]
fn the_official_create_request_is_valid_and_passes_through_the_types_whole() {
    let example = example("2025-07-01", "ManagedClustersCreate_Update.json");
    let request = &example["parameters"]["parameters"];
    let violations = description("2025-07-01").violations(request, "ManagedCluster", Side::Create);
    assert!(violations.is_empty(), "the checker refuses the official request: {violations:#?}");
    let parsed: ManagedCluster = serde_json::from_value(request.clone()).unwrap();
    assert_eq!(without_read_only(serde_json::to_value(&parsed).unwrap()), *request);
}

#[test]
fn every_official_answer_is_valid_by_its_api_description() {
    for (at, body) in answered_clusters() {
        let version = &at[..10];
        let violations = description(version).violations(&body, "ManagedCluster", Side::Answer);
        assert!(violations.is_empty(), "{at}: the checker refuses an official answer: {violations:#?}");
    }
}

#[test]
fn an_update_sent_from_an_official_answer_carries_nothing_read_only() {
    for (at, body) in answered_clusters().into_iter().filter(|(at, _)| at.starts_with(API_VERSION)) {
        let parsed: ManagedCluster = serde_json::from_value(body).unwrap();
        let sent = without_read_only(serde_json::to_value(&parsed).unwrap());
        let violations = description(API_VERSION).violations(&sent, "ManagedCluster", Side::Update);
        assert!(violations.is_empty(), "{at}: {violations:#?}");
    }
}
