//! What `EksProviderBuilder::build` refuses before any call.

mod common;

use fleet_core::{Error, Region};

#[tokio::test]
async fn one_subnet_is_refused_as_eks_needs_two_availability_zones() {
    let region = Region::new("us-east-1").unwrap();
    let refused = common::builder("prod", "http://127.0.0.1:9")
        .with_subnets(region, vec!["subnet-0a".into()])
        .build()
        .await
        .unwrap_err();
    let Error::InvalidSpec { reason, .. } = &refused else { panic!("{refused}") };
    assert!(
        reason.contains("one subnet for region `us-east-1`") && reason.contains("two availability zones"),
        "{reason}"
    );
}

#[tokio::test]
async fn admin_principals_must_be_iam_arns() {
    let refused = common::builder("prod", "http://127.0.0.1:9")
        .with_admin_principals(vec!["fleet-engine".into()])
        .build()
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("admin principal `fleet-engine`"), "{refused}");
}
