//! Hostile answers: malformed, oversized and adversarial bodies, and mutants of a managed
//! cluster as ARM describes it, under success and error statuses. Every call of the AKS
//! provider ends with an error or a sane result: no panic, no hang.

use std::sync::Arc;
use std::time::Duration;

use fleet_core::conformance::hostile::{HostileServer, run_hostile_answers, web_spec};
use fleet_core::*;

const MANAGED_CLUSTER: &str = r#"{"id": "/subscriptions/6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c/resourceGroups/fleet-rg/providers/Microsoft.ContainerService/managedClusters/web-1", "name": "web-1", "type": "Microsoft.ContainerService/ManagedClusters", "location": "westeurope", "tags": {"fleet-name": "prod", "fleet-cluster-id": "web-1", "fleet-blueprint-version": "v1"}, "properties": {"provisioningState": "Succeeded", "powerState": {"code": "Running"}, "kubernetesVersion": "1.31.5", "dnsPrefix": "web-1", "fqdn": "web-1-abc.hcp.westeurope.azmk8s.io", "agentPoolProfiles": [{"name": "workers", "count": 1, "minCount": 1, "maxCount": 3, "enableAutoScaling": true, "vmSize": "Standard_D2s_v5", "mode": "System"}]}, "value": [], "kubeconfigs": [{"name": "clusterUser", "value": "YXBpVmVyc2lvbjogdjEK"}], "status": "Succeeded"}"#;

#[tokio::test(flavor = "multi_thread")]
async fn every_call_ends_whatever_the_api_answers() {
    let server = HostileServer::start();
    let provider =
        fleet_azure::AksProviderBuilder::new(FleetName::new("prod").unwrap(), "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c")
            .with_regions(vec![Region::new("westeurope").unwrap()])
            .with_resource_group("fleet-rg")
            .with_base_url(&server.url)
            .with_anonymous_credentials()
            .with_poll_interval(Duration::from_millis(5))
            .with_operation_timeout(Duration::from_secs(1))
            .without_client_retries()
            .build()
            .unwrap();
    let spec = web_spec("azure", "westeurope").unwrap();
    let problems = run_hostile_answers(&server, Arc::new(provider), &spec, MANAGED_CLUSTER.as_bytes(), 150).await;
    assert!(problems.is_empty(), "{problems:#?}");
}
