//! The blueprint's control-plane settings and access against moto behind the stand-in: what
//! moto and the stand-in recorded of a create (`logging`, `resourcesVpcConfig`, `accessConfig`,
//! access entries, the `vpc-cni` add-on), what EKS refuses and the provider refuses first, and
//! what the stand-in refuses as EKS does.

mod common;

use aws_sdk_eks::error::ProvideErrorMetadata;
use fleet_core::*;

fn spec(id: &str) -> ClusterSpec {
    common::spec_builder(id, "us-east-1", "1.34").build().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_setting_is_sent_with_its_eks_field_and_recorded() {
    let moto = common::Moto::start();
    let proxies = common::RegionProxies::start(&moto).await;
    let provider = proxies.builder("prod").build().await.unwrap();
    let region = Region::new("us-east-1").unwrap();

    let mut public = spec("web-1");
    public.audit_logging = true;
    public.network.allowed_cidrs = vec!["203.0.113.0/24".into()];
    public.network.network_policy = true;
    let created = provider.create(&public).await.unwrap();
    assert!(created.phase.is_running(), "{}", created.phase);
    let applied = common::applied_settings(&moto.url, &proxies.stand_in, &public.id, &region).await.unwrap();
    assert_eq!(applied, AppliedSettings::new(public.network.clone(), true), "moto's DescribeCluster and the add-on");
    let sent = proxies.stand_in.create_body("us-east-1", "web-1").unwrap();
    assert_eq!(sent["logging"]["clusterLogging"], serde_json::json!([{"types": ["audit"], "enabled": true}]));
    assert_eq!(sent["resourcesVpcConfig"]["publicAccessCidrs"], serde_json::json!(["203.0.113.0/24"]));
    assert_eq!(sent["resourcesVpcConfig"]["endpointPublicAccess"], true);
    assert_eq!(
        sent["accessConfig"],
        serde_json::json!({"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": true})
    );
    let addon = proxies.stand_in.addon("us-east-1", "web-1", "vpc-cni").unwrap();
    assert_eq!(addon["configurationValues"], r#"{"enableNetworkPolicy":"true"}"#);
    assert_eq!(addon["resolveConflicts"], "OVERWRITE");
    assert_eq!(
        proxies.stand_in.access_policies("us-east-1", "web-1"),
        [(
            common::ENGINE_ROLE.to_owned(),
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy".to_owned()
        )],
        "the engine's role is a cluster admin through an access entry"
    );
    assert!(
        !created.tags.contains_key("fleet-network-policy"),
        "the add-on's bookkeeping tag stays out of sight: {:?}",
        created.tags
    );

    let mut private = spec("web-2");
    private.network.private_endpoint = true;
    provider.create(&private).await.unwrap();
    let sent = proxies.stand_in.create_body("us-east-1", "web-2").unwrap();
    assert_eq!(sent["resourcesVpcConfig"]["endpointPrivateAccess"], true);
    assert_eq!(sent["resourcesVpcConfig"]["endpointPublicAccess"], false);
    assert!(sent.get("logging").is_none(), "no audit asked, no logging sent: {sent}");
    assert!(proxies.stand_in.addon("us-east-1", "web-2", "vpc-cni").is_none());

    // EKS limits only a public endpoint by CIDR: the combination is refused before any call.
    let mut both = spec("web-3");
    both.network.private_endpoint = true;
    both.network.allowed_cidrs = vec!["203.0.113.0/24".into()];
    let refused = provider.create(&both).await.unwrap_err();
    assert!(matches!(&refused, Error::InvalidSpec { path, .. } if path == "network.allowedCidrs"), "{refused}");
    assert!(proxies.stand_in.create_body("us-east-1", "web-3").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_not_declared_are_refused_never_dropped() {
    let moto = common::Moto::start();
    let proxies = common::RegionProxies::start(&moto).await;
    let provider = proxies
        .builder("prod")
        .with_capabilities(Capabilities::default().with_node_pool_resize(true))
        .build()
        .await
        .unwrap();
    for (path, change) in [
        ("auditLogging", (|s: &mut ClusterSpec| s.audit_logging = true) as fn(&mut ClusterSpec)),
        ("network.privateEndpoint", |s| s.network.private_endpoint = true),
        ("network.allowedCidrs", |s| s.network.allowed_cidrs = vec!["203.0.113.0/24".into()]),
        ("network.networkPolicy", |s| s.network.network_policy = true),
    ] {
        let mut asked = spec("web-1");
        change(&mut asked);
        let refused = provider.create(&asked).await.unwrap_err();
        assert!(matches!(&refused, Error::InvalidSpec { path: p, .. } if p == path), "{path}: {refused}");
        assert!(refused.to_string().contains("aws"), "the provider is named: {refused}");
    }
    assert!(proxies.stand_in.create_body("us-east-1", "web-1").is_none(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stand_in_refuses_what_eks_refuses() {
    let moto = common::Moto::start();
    let proxies = common::RegionProxies::start(&moto).await;
    let client = common::client(&proxies.proxy("us-east-1").url, "us-east-1");
    let vpc = || aws_sdk_eks::types::VpcConfigRequest::builder().subnet_ids("subnet-0a").subnet_ids("subnet-0b");
    let create = |name: &str| client.create_cluster().name(name).role_arn(common::ROLE).version("1.34");

    let unoffered = create("old").version("1.25").resources_vpc_config(vpc().build()).send().await.unwrap_err();
    assert_eq!(unoffered.code(), Some("InvalidParameterException"), "{unoffered:?}");

    let hidden =
        vpc().endpoint_public_access(false).endpoint_private_access(true).public_access_cidrs("203.0.113.0/24");
    let refused = create("hidden").resources_vpc_config(hidden.build()).send().await.unwrap_err();
    assert_eq!(refused.code(), Some("InvalidParameterException"), "{refused:?}");

    let long = create("long").resources_vpc_config(vpc().build()).tags("team", "x".repeat(257)).send().await;
    assert!(long.is_err(), "a tag value of 257 characters is refused");
    let mut many = create("many").resources_vpc_config(vpc().build());
    for i in 0..51 {
        many = many.tags(format!("k{i}"), "v");
    }
    assert!(many.send().await.is_err(), "51 tags are refused");
    assert!(moto.client("us-east-1").list_clusters().send().await.unwrap().clusters().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn offered_versions_are_those_in_standard_support() {
    let moto = common::Moto::start();
    let proxies = common::RegionProxies::start(&moto).await;
    let provider = proxies.builder("prod").build().await.unwrap();
    let offered = provider.offered_versions(&Region::new("eu-west-1").unwrap()).await.unwrap().unwrap();
    let expected: Vec<KubernetesVersion> = common::stand_in::STANDARD.iter().map(|v| v.parse().unwrap()).collect();
    assert_eq!(offered, expected, "extended-support versions are left out");

    let declared = proxies
        .builder("prod")
        .with_offered_versions(Region::new("us-east-1").unwrap(), vec!["1.35".parse().unwrap()])
        .build()
        .await
        .unwrap();
    assert_eq!(declared.info().offers(&Region::new("us-east-1").unwrap(), "1.35".parse().unwrap()), Some(true));
    assert_eq!(
        declared.offered_versions(&Region::new("us-east-1").unwrap()).await.unwrap(),
        Some(vec!["1.35".parse().unwrap()])
    );
}
