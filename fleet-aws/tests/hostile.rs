//! Hostile answers: malformed, oversized and adversarial bodies, and mutants of a documented
//! `DescribeCluster` response, under success and error statuses. Every call of the EKS
//! provider ends with an error or a sane result: no panic, no hang.

mod common;

use std::sync::Arc;

use fleet_core::conformance::hostile::{HostileServer, run_hostile_answers, web_spec};
use fleet_core::{RateLimit, RateLimits};

const DESCRIBE_CLUSTER: &str = r#"{"cluster": {"name": "web-1", "arn": "arn:aws:eks:us-east-1:123456789012:cluster/web-1", "version": "1.31", "endpoint": "https://ABC.gr7.us-east-1.eks.amazonaws.com", "status": "ACTIVE", "createdAt": 1767225600.0, "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"}, "tags": {"fleet-name": "prod", "fleet-cluster-id": "web-1", "fleet-blueprint-version": "v1", "fleet-node-pools": "workers:small:1:3"}}, "clusters": ["web-1"], "nodegroups": ["workers"]}"#;

#[tokio::test(flavor = "multi_thread")]
async fn every_call_ends_whatever_the_api_answers() {
    let server = HostileServer::start();
    // Reads unpaced: the rounds call `list` hundreds of times, and what they check is that
    // every call ends, not how fast.
    let provider = common::builder("prod", &server.url)
        .without_client_retries()
        .with_rate_limits(RateLimits::new(RateLimit::new(100_000.0, 100_000), RateLimit::new(2.0, 5)))
        .build()
        .await
        .unwrap();
    let spec = web_spec("aws", "us-east-1").unwrap();
    let problems = run_hostile_answers(&server, Arc::new(provider), &spec, DESCRIBE_CLUSTER.as_bytes(), 150).await;
    assert!(problems.is_empty(), "{problems:#?}");
}
