//! The EKS provider against moto's EKS API: pagination past 100 clusters, tag filtering,
//! delete ordering, tags kept within EKS's rules, and error mapping with moto's real error
//! responses. The conformance kit runs in tests/conformance.rs.

mod common;

use aws_sdk_eks::error::ProvideErrorMetadata;
use fleet_core::*;

fn spec(id: &str, region: &str) -> ClusterSpec {
    common::spec_builder(id, region, "1.31")
        .node_pool(NodePool::new(NodePoolName::new("batch").unwrap(), SizeClass::Large, 0, 2).unwrap())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn list_pages_past_a_hundred_clusters_and_keeps_only_this_fleets() {
    let moto = common::Moto::start();
    // A read rate that lets the 200-odd calls of this list go at once.
    let provider = common::builder("prod", &moto.url)
        .with_capabilities(common::moto_capabilities())
        .with_rate_limits(RateLimits::new(RateLimit::new(1000.0, 1000), RateLimit::new(2.0, 5)))
        .build()
        .await
        .unwrap();
    let other = moto.provider("staging").await;
    // 103 of this fleet's clusters in us-east-1, made directly (no node pools) to keep it quick.
    let client = moto.client("us-east-1");
    for i in 0..103 {
        common::make_fleet_cluster(&client, "prod", &format!("web-{i}")).await;
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
    assert!(listed.is_complete(), "{:?}", listed.unreachable);
    let listed = listed.into_clusters();
    assert_eq!(listed.len(), 104, "103 in us-east-1 over two pages, one in eu-west-1");
    assert!(listed.iter().all(|c| c.fleet_tags().is_some_and(|t| t.fleet.as_str() == "prod")));
    assert!(listed.iter().all(|c| c.phase.is_running()), "active, with every node group it should have");
    let eu = listed.iter().find(|c| c.id.as_str() == "eu-0").unwrap();
    assert_eq!(eu.region.as_str(), "eu-west-1");
    assert_eq!(eu.node_pools.len(), 2);
    assert_eq!(other.list().await.unwrap().clusters.len(), 4);

    moto.reset();
    assert!(provider.list().await.unwrap().clusters.is_empty(), "moto was reset");
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
    assert_eq!(refused.code(), Some("ResourceInUseException"), "{refused:?}");

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
    let refused = raw.unwrap_err();
    assert_eq!(refused.code(), Some("ResourceNotFoundException"), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn list_keeps_within_the_read_rate() {
    let moto = common::Moto::start();
    let client = moto.client("us-east-1");
    for i in 0..10 {
        common::make_fleet_cluster(&client, "prod", &format!("web-{i}")).await;
    }
    // 2 pages of names (one a region) and 2 calls a cluster: 22 calls, 20 of them past the
    // burst of 2, at 40 a second.
    let provider = common::builder("prod", &moto.url)
        .with_rate_limits(RateLimits::new(RateLimit::new(40.0, 2), RateLimit::new(2.0, 5)))
        .build()
        .await
        .unwrap();
    let start = std::time::Instant::now();
    let listed = provider.list().await.unwrap();
    let took = start.elapsed();
    assert_eq!(listed.clusters.len(), 10);
    assert!(took >= std::time::Duration::from_millis(450), "22 calls at 40/s with a burst of 2 took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_follow_the_spec_and_bookkeeping_stays_out_of_sight() {
    let moto = common::Moto::start();
    let provider = moto.provider("prod").await;
    let mut wanted = spec("web-1", "us-east-1");
    wanted.labels.insert("team".into(), "payments".into());
    wanted.labels.insert("tier".into(), "gold".into());
    provider.create(&wanted).await.unwrap();
    let arn = provider.get(&ClusterId::new("web-1").unwrap()).await.unwrap().provider_id;
    let raw = moto.client("us-east-1").list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    let raw: std::collections::BTreeMap<String, String> =
        raw.tags().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(raw["fleet-node-pools"], "workers:small:1:3/batch:large:0:2", "the node pools' record");

    // New labels and blueprint version, one label gone, a resized pool.
    let mut changed = wanted.clone();
    changed.labels.remove("tier");
    changed.labels.insert("team".into(), "checkout".into());
    changed.blueprint_version = BlueprintVersion::new("v2").unwrap();
    changed.node_pools[0] = NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 2, 5).unwrap();
    let updated = provider.update(&changed).await.unwrap();
    assert_eq!(updated.tags, FleetTags::cluster_tags(&FleetName::new("prod").unwrap(), &changed), "exactly the spec's");
    assert_eq!(updated.node_pools, changed.node_pools);
    let group = moto
        .client("us-east-1")
        .describe_nodegroup()
        .cluster_name("web-1")
        .nodegroup_name("workers")
        .send()
        .await
        .unwrap();
    let scaling = group.nodegroup().unwrap().scaling_config().unwrap();
    assert_eq!((scaling.min_size(), scaling.max_size(), scaling.desired_size()), (Some(2), Some(5), Some(2)));

    // A change needing a replacement changes nothing, tags included.
    let mut moved = changed.clone();
    moved.labels.insert("team".into(), "elsewhere".into());
    moved.region = Region::new("eu-west-1").unwrap();
    let refused = provider.update(&moved).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unsupported, "{refused}");
    let after = provider.get(&ClusterId::new("web-1").unwrap()).await.unwrap();
    assert_eq!(after.tags, updated.tags);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_once_started_is_finished_by_get_and_never_undone() {
    let moto = common::Moto::start();
    let provider = moto.provider("prod").await;
    let id = ClusterId::new("web-1").unwrap();
    provider.create(&spec("web-1", "us-east-1")).await.unwrap();
    let client = moto.client("us-east-1");
    // As the first `delete` leaves a cluster on real EKS: marked, node groups going.
    let arn = provider.get(&id).await.unwrap().provider_id;
    client.tag_resource().resource_arn(&arn).tags("fleet-deleting", "true").send().await.unwrap();
    client.delete_nodegroup().cluster_name("web-1").nodegroup_name("batch").send().await.unwrap();

    let create = provider.create(&spec("web-1", "us-east-1")).await.unwrap_err();
    assert_eq!(create.kind(), ErrorKind::Conflict, "create during a deletion: {create}");
    assert!(create.is_retryable());
    let update = provider.update(&spec("web-1", "us-east-1")).await.unwrap_err();
    assert_eq!(update.kind(), ErrorKind::Conflict, "update during a deletion: {update}");
    // `get` goes on with the deletion instead of making the missing node group again.
    let err = provider.get(&id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(client.list_clusters().send().await.unwrap().clusters().is_empty());
}

/// A cluster of fleet `prod` made on moto directly, without node pools, to keep it quick.
#[tokio::test(flavor = "multi_thread")]
async fn a_resize_keeps_the_current_desired_size_within_the_new_bounds() {
    let moto = common::Moto::start();
    let provider = moto.provider("prod").await;
    let mut wanted = spec("web-1", "us-east-1");
    wanted.node_pools[0] = NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 5).unwrap();
    provider.create(&wanted).await.unwrap();
    let client = moto.client("us-east-1");
    let desired = || async {
        let group = client.describe_nodegroup().cluster_name("web-1").nodegroup_name("workers").send().await.unwrap();
        group.nodegroup().unwrap().scaling_config().unwrap().desired_size()
    };
    // The autoscaler has grown the group to 4 nodes.
    client
        .update_nodegroup_config()
        .cluster_name("web-1")
        .nodegroup_name("workers")
        .scaling_config(
            aws_sdk_eks::types::NodegroupScalingConfig::builder().min_size(1).max_size(5).desired_size(4).build(),
        )
        .send()
        .await
        .unwrap();
    let mut grown = wanted.clone();
    grown.node_pools[0] = NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 2, 6).unwrap();
    provider.update(&grown).await.unwrap();
    assert_eq!(desired().await, Some(4), "kept, never reset to the minimum");
    let mut shrunk = wanted.clone();
    shrunk.node_pools[0] = NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap();
    provider.update(&shrunk).await.unwrap();
    assert_eq!(desired().await, Some(3), "clamped into the new bounds");
}
