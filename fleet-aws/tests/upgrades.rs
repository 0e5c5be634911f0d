//! The stand-in's upgrades refuse what EKS refuses: a skipped minor version, a control-plane
//! upgrade while a node group is behind, a node group past its control plane. The provider's
//! upgrades through it run in the conformance kit (tests/conformance.rs).

mod common;

use aws_sdk_eks::error::ProvideErrorMetadata;

/// The EKS error code of a refusal (the provider maps both codes below to `InvalidSpec`).
fn code(err: impl ProvideErrorMetadata) -> String {
    err.code().unwrap_or("no code").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stand_in_upgrades_one_minor_at_a_time_with_node_groups_in_step() {
    let moto = common::Moto::start();
    let proxies = common::RegionProxies::start(&moto).await;
    let client = common::client(&proxies.proxy("us-east-1").url, "us-east-1");
    let vpc = aws_sdk_eks::types::VpcConfigRequest::builder().subnet_ids("subnet-0a").subnet_ids("subnet-0b").build();
    client
        .create_cluster()
        .name("web-1")
        .role_arn(common::ROLE)
        .version("1.34")
        .resources_vpc_config(vpc)
        .send()
        .await
        .unwrap();
    client
        .create_nodegroup()
        .cluster_name("web-1")
        .nodegroup_name("workers")
        .node_role(common::NODE_ROLE)
        .subnets("subnet-0a")
        .version("1.34")
        .send()
        .await
        .unwrap();
    let cluster_to = |version: &str| client.update_cluster_version().name("web-1").version(version).send();
    let group_to = |version: &str| {
        client.update_nodegroup_version().cluster_name("web-1").nodegroup_name("workers").version(version).send()
    };

    assert_eq!(code(cluster_to("1.36").await.unwrap_err()), "InvalidParameterException", "a skipped minor");
    assert_eq!(code(cluster_to("1.33").await.unwrap_err()), "InvalidParameterException", "a downgrade");
    assert_eq!(
        code(group_to("1.35").await.unwrap_err()),
        "InvalidParameterException",
        "a node group past its control plane"
    );
    cluster_to("1.35").await.unwrap();
    let described = client.describe_cluster().name("web-1").send().await.unwrap();
    assert_eq!(described.cluster().unwrap().version(), Some("1.35"), "moto's answer carries the upgrade");
    assert_eq!(code(cluster_to("1.36").await.unwrap_err()), "InvalidRequestException", "a node group is behind");
    group_to("1.35").await.unwrap();
    let group = client.describe_nodegroup().cluster_name("web-1").nodegroup_name("workers").send().await.unwrap();
    assert_eq!(group.nodegroup().unwrap().version(), Some("1.35"));
    cluster_to("1.36").await.unwrap();
    assert_eq!(code(cluster_to("1.37").await.unwrap_err()), "InvalidParameterException", "1.37 is not offered");
}
