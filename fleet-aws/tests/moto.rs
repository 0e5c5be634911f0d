//! The EKS provider against moto's EKS API: the conformance kit, pagination past 100 clusters,
//! tag filtering, delete ordering, and error mapping with moto's real error responses.

mod common;

use std::sync::Arc;
use std::time::Duration;

use fleet_aws::map_sdk_error;
use fleet_core::conformance::{CHECKS, ConformanceContext, run_all};
use fleet_core::*;

fn spec(id: &str, region: &str) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new("aws").unwrap(),
        Region::new(region).unwrap(),
        "1.31".parse().unwrap(),
    )
    .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
    .node_pool(NodePool::new(NodePoolName::new("batch").unwrap(), SizeClass::Large, 0, 2).unwrap())
    .build()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_eks_provider_passes_the_conformance_kit_against_moto() {
    let moto = common::Moto::start();
    let provider = moto.provider("conformance").await;
    let other = Arc::new(moto.provider("conformance-other").await);
    let context = ConformanceContext::new("conf", Region::new("us-east-1").unwrap(), other).unwrap().with_wait(
        WaitOptions::with_timeout(Duration::from_secs(60))
            .with_intervals(Duration::from_millis(20), Duration::from_millis(200)),
    );
    assert_eq!(run_all(&provider, &context).await.passed, CHECKS);
    let left = moto.client("us-east-1").list_clusters().send().await.unwrap();
    assert!(left.clusters().is_empty(), "the kit left clusters behind: {:?}", left.clusters());
}

#[tokio::test(flavor = "multi_thread")]
async fn list_pages_past_a_hundred_clusters_and_keeps_only_this_fleets() {
    let moto = common::Moto::start();
    let provider = moto.provider("prod").await;
    let other = moto.provider("staging").await;
    // 103 of this fleet's clusters in us-east-1, made directly (no node pools) to keep it quick.
    let client = moto.client("us-east-1");
    for i in 0..103 {
        let name = format!("web-{i}");
        client
            .create_cluster()
            .name(&name)
            .role_arn(common::ROLE)
            .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().subnet_ids("subnet-0a").build())
            .tags(FleetTags::FLEET_KEY, "prod")
            .tags(FleetTags::CLUSTER_ID_KEY, &name)
            .tags(FleetTags::BLUEPRINT_VERSION_KEY, "v1")
            .send()
            .await
            .unwrap();
    }
    provider.create(&spec("eu-0", "eu-west-1")).await.unwrap();
    for i in 0..4 {
        other.create(&spec(&format!("theirs-{i}"), "us-east-1")).await.unwrap();
    }
    // A cluster made outside Fleet, without tags.
    client
        .create_cluster()
        .name("hand-made")
        .role_arn(common::ROLE)
        .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().subnet_ids("subnet-0a").build())
        .send()
        .await
        .unwrap();

    let listed = provider.list().await.unwrap();
    assert_eq!(listed.len(), 104, "103 in us-east-1 over two pages, one in eu-west-1");
    assert!(listed.iter().all(|c| c.fleet_tags().is_some_and(|t| t.fleet.as_str() == "prod")));
    assert!(listed.iter().all(|c| c.phase.is_running()), "active, with every node group it should have");
    let eu = listed.iter().find(|c| c.id.as_str() == "eu-0").unwrap();
    assert_eq!(eu.region.as_str(), "eu-west-1");
    assert_eq!(eu.node_pools.len(), 2);
    assert_eq!(other.list().await.unwrap().len(), 4);

    moto.reset();
    assert!(provider.list().await.unwrap().is_empty(), "moto was reset");
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_removes_node_groups_before_the_cluster() {
    let moto = common::Moto::start();
    let provider = moto.provider("prod").await;
    let created = provider.create(&spec("web-1", "us-east-1")).await.unwrap();
    assert!(created.phase.is_running(), "{}", created.phase);
    let client = moto.client("us-east-1");
    let groups = client.list_nodegroups().cluster_name("web-1").send().await.unwrap();
    assert_eq!(groups.nodegroups().len(), 2, "one managed node group per node pool");

    // EKS refuses to delete a cluster that still has node groups: the provider's order matters.
    let refused = client.delete_cluster().name("web-1").send().await.unwrap_err();
    let mapped = map_sdk_error("delete cluster `web-1`", false, refused);
    assert_eq!(mapped.kind(), ErrorKind::Conflict, "{mapped}");

    provider.delete(&ClusterId::new("web-1").unwrap()).await.unwrap();
    let err = provider.get(&ClusterId::new("web-1").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn moto_errors_map_to_fleets_kinds() {
    let moto = common::Moto::start();
    let provider = moto.provider("prod").await;
    let missing = provider.get(&ClusterId::new("nope").unwrap()).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);

    provider.create(&spec("web-1", "us-east-1")).await.unwrap();
    let other = moto.provider("staging").await;
    let taken = other.create(&spec("web-1", "us-east-1")).await.unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::AlreadyExists, "ResourceInUseException on create: {taken}");

    let bad_role = common::builder("prod", &moto.url).with_cluster_role_arn("not-a-role").build().await.unwrap();
    let invalid = bad_role.create(&spec("web-2", "us-east-1")).await.unwrap_err();
    assert_eq!(invalid.kind(), ErrorKind::InvalidSpec, "InvalidParameterException: {invalid}");

    let raw = moto.client("us-east-1").describe_nodegroup().cluster_name("web-1").nodegroup_name("ghost").send().await;
    let mapped = map_sdk_error("describe node group", false, raw.unwrap_err());
    assert_eq!(mapped.kind(), ErrorKind::NotFound, "{mapped}");
}
