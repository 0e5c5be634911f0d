//! Hostile answers: malformed, oversized and adversarial bodies, and mutants of a cluster as
//! the GKE API describes it, under success and error statuses. Every call of the GKE provider
//! ends with an error or a sane result: no panic, no hang.

use std::sync::Arc;
use std::time::Duration;

use fleet_core::conformance::hostile::{HostileServer, run_hostile_answers, web_spec};
use fleet_core::*;

const CLUSTER: &str = r#"{"name": "web-1", "location": "europe-west1", "status": "RUNNING", "currentMasterVersion": "1.31.5-gke.1000", "endpoint": "34.77.0.1", "createTime": "2026-01-01T00:00:00Z", "resourceLabels": {"fleet-name": "prod", "fleet-cluster-id": "web-1", "fleet-blueprint-version": "v1"}, "masterAuth": {"clusterCaCertificate": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="}, "nodePools": [{"name": "workers", "config": {"machineType": "e2-standard-2"}, "initialNodeCount": 1, "autoscaling": {"enabled": true, "minNodeCount": 1, "maxNodeCount": 3}, "status": "RUNNING"}], "clusters": [{"name": "web-1", "location": "europe-west1", "status": "RUNNING"}], "done": true, "status_": "DONE"}"#;

#[tokio::test(flavor = "multi_thread")]
async fn every_call_ends_whatever_the_api_answers() {
    let server = HostileServer::start();
    let provider = fleet_gcp::GkeProviderBuilder::new(FleetName::new("prod").unwrap(), "fleet-test")
        .with_locations(vec![Region::new("europe-west1").unwrap()])
        .with_endpoint(&server.url)
        .with_anonymous_credentials()
        .with_access_token("ya29.test-token".to_owned().into())
        .with_poll_interval(Duration::from_millis(5))
        .with_operation_timeout(Duration::from_secs(1))
        .without_client_retries()
        .build()
        .await
        .unwrap();
    let spec = web_spec("gcp", "europe-west1").unwrap();
    let problems = run_hostile_answers(&server, Arc::new(provider), &spec, CLUSTER.as_bytes(), 150).await;
    assert!(problems.is_empty(), "{problems:#?}");
}
