//! The example repository `examples/fleet-clouds` against the local ARM: its `aks` clusters
//! (a public one behind authorized IP ranges, a private one, both with network policy and
//! audit logging locked by ops, and a marked system pool) are planned, applied by the engine
//! until the fleet converges, and planned again to nothing. Every setting the blueprints lock
//! reaches AKS's own fields.

mod common;

use std::sync::Arc;

use fleet_core::conformance::{converge_repository, stand_in_info};
use fleet_core::*;

const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/fleet-clouds");

/// The Log Analytics workspace the audit logs go to.
const WORKSPACE: &str = "/subscriptions/6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c/resourceGroups/ops/providers/Microsoft.OperationalInsights/workspaces/fleet-audit";

#[tokio::test(flavor = "multi_thread")]
async fn the_clouds_repository_converges_on_aks_and_then_plans_nothing() {
    let arm = common::LocalArm::start();
    let provider = arm
        .builder("clouds")
        .with_name(ProviderName::new("aks").unwrap())
        .with_regions(vec![Region::new("westeurope").unwrap(), Region::new("eastus").unwrap()])
        .with_audit_log_workspace(WORKSPACE)
        .with_entra_id_rbac()
        .build()
        .unwrap();
    let others =
        [stand_in_info("eks", &["us-east-1", "eu-west-1"]), stand_in_info("gke", &["europe-west1", "us-central1"])];
    let run = converge_repository(REPOSITORY, Arc::new(provider), &others).await.unwrap();
    assert!(run.info.system_pool_required);
    assert_eq!(run.info.offers(&Region::new("westeurope").unwrap(), "1.35".parse().unwrap()), Some(true));
    let ids: Vec<&str> = run.clusters.iter().map(|c| c.as_str()).collect();
    assert_eq!(ids, ["secure-eastus-0", "web-westeurope-0"]);
    assert_eq!(run.first_plan.summary().create, 2, "{}", run.first_plan);

    let web = arm.cluster(common::GROUP, "web-westeurope-0").unwrap();
    let secure = arm.cluster(common::GROUP, "secure-eastus-0").unwrap();
    for (name, cluster) in [("web-westeurope-0", &web), ("secure-eastus-0", &secure)] {
        let properties = &cluster["properties"];
        assert_eq!(properties["networkProfile"]["networkPolicy"], "cilium", "networkPolicy: Cilium");
        assert_eq!(properties["networkProfile"]["networkDataplane"], "cilium");
        assert_eq!(properties["aadProfile"]["enableAzureRBAC"], true);
        assert_eq!(properties["disableLocalAccounts"], true);
        assert_eq!(properties["kubernetesVersion"], "1.35");
        let pools = properties["agentPoolProfiles"].as_array().unwrap();
        let modes: Vec<(&str, &str)> =
            pools.iter().map(|p| (p["name"].as_str().unwrap(), p["mode"].as_str().unwrap())).collect();
        assert_eq!(modes, [("system", "System"), ("workers", "User")], "the marked pool is the system pool");
        assert!(pools.iter().all(|p| p["vmSize"].as_str().unwrap().starts_with("Standard_D")));
        let applied = arm.applied_settings(common::GROUP, name).unwrap();
        assert!(applied.audit_logging, "auditLogging: a kube-audit diagnostic setting");
        assert!(applied.network.network_policy);
    }
    let web_applied = arm.applied_settings(common::GROUP, "web-westeurope-0").unwrap();
    assert_eq!(web_applied.network.allowed_cidrs, ["203.0.113.0/24"]);
    assert!(!web_applied.network.private_endpoint);
    let secure_applied = arm.applied_settings(common::GROUP, "secure-eastus-0").unwrap();
    assert!(secure_applied.network.private_endpoint && secure_applied.network.allowed_cidrs.is_empty());
    let audit = &arm.diagnostic_settings(common::GROUP, "web-westeurope-0")["fleet-audit"];
    assert_eq!(audit["properties"]["workspaceId"], WORKSPACE);
    assert!(arm.violations().is_empty(), "{:?}", arm.violations());
}
