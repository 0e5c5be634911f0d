//! Blueprint settings, access, system pools, pool names, versions and busy clusters against
//! the local ARM: each setting reaches its AKS field or is refused before any write.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{GROUP, LocalArm, waits};
use fleet_core::conformance::{CHECKS, ConformanceContext, run_all};
use fleet_core::*;

const WORKSPACE: &str = "/subscriptions/6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c/resourceGroups/ops/providers/Microsoft.OperationalInsights/workspaces/fleet-audit";

fn pool(name: &str, min: u32) -> NodePool {
    NodePool::new(NodePoolName::new(name).unwrap(), SizeClass::Small, min, 3).unwrap()
}

fn spec(id: &str) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new("azure").unwrap(),
        Region::new("westeurope").unwrap(),
        "1.34".parse().unwrap(),
    )
    .node_pool(pool("batch", 0))
    .node_pool(pool("system", 1).with_system(true))
    .build()
    .unwrap()
}

fn puts(arm: &LocalArm) -> Vec<common::Seen> {
    arm.requests().into_iter().filter(|r| r.method == "PUT").collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_setting_reaches_its_aks_field() {
    let arm = LocalArm::start();
    let provider = arm.builder("prod").with_audit_log_workspace(WORKSPACE).with_entra_id_rbac().build().unwrap();
    let caps = provider.info().capabilities;
    assert!(caps.audit_logging && caps.private_endpoint && caps.allowed_cidrs && caps.network_policy);
    assert!(provider.info().system_pool_required);
    let mut public = spec("web-1");
    public.audit_logging = true;
    public.network.network_policy = true;
    public.network.allowed_cidrs = vec!["203.0.113.0/24".into()];
    provider.create(&public).await.unwrap();
    let put = &puts(&arm)[0];
    let properties = &put.body["properties"];
    assert_eq!(properties["apiServerAccessProfile"]["authorizedIPRanges"][0], "203.0.113.0/24");
    assert_eq!(properties["apiServerAccessProfile"].get("enablePrivateCluster"), None);
    assert_eq!(properties["networkProfile"]["networkPlugin"], "azure");
    assert_eq!(properties["networkProfile"]["networkDataplane"], "cilium");
    assert_eq!(properties["networkProfile"]["networkPolicy"], "cilium");
    assert_eq!(properties["aadProfile"]["managed"], true);
    assert_eq!(properties["aadProfile"]["enableAzureRBAC"], true);
    assert_eq!(properties["disableLocalAccounts"], true);
    let pools = properties["agentPoolProfiles"].as_array().unwrap();
    assert_eq!((pools[0]["name"].as_str(), pools[0]["mode"].as_str()), (Some("batch"), Some("User")));
    assert_eq!((pools[1]["name"].as_str(), pools[1]["mode"].as_str()), (Some("system"), Some("System")));
    let audit = &arm.diagnostic_settings(GROUP, "web-1")["fleet-audit"];
    assert_eq!(audit["properties"]["logs"][0]["category"], "kube-audit");
    let diagnostic = arm.requests().into_iter().find(|r| r.path.contains("diagnosticSettings")).unwrap();
    assert!(diagnostic.query.contains("api-version=2021-05-01-preview"), "{}", diagnostic.query);
    let applied = arm.applied_settings(GROUP, "web-1").unwrap();
    assert!(applied.audit_logging && applied.network.network_policy && !applied.network.private_endpoint);

    let mut private = spec("db-1");
    private.network.private_endpoint = true;
    provider.create(&private).await.unwrap();
    let put = puts(&arm).pop().unwrap();
    assert_eq!(put.body["properties"]["apiServerAccessProfile"]["enablePrivateCluster"], true);
    assert_eq!(put.body["properties"]["networkProfile"]["networkPolicy"], "none");
    assert!(arm.diagnostic_settings(GROUP, "db-1").is_empty(), "no audit log asked, none set");
    assert!(arm.violations().is_empty(), "{:?}", arm.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_aks_cannot_apply_are_refused_before_any_write() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    assert!(!provider.info().capabilities.audit_logging, "no workspace, no audit logging");
    let mut audited = spec("web-1");
    audited.audit_logging = true;
    let err = provider.create(&audited).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSpec);
    assert!(err.to_string().contains("auditLogging"), "{err}");

    let mut both = spec("web-1");
    both.network.private_endpoint = true;
    both.network.allowed_cidrs = vec!["203.0.113.0/24".into()];
    let err = provider.create(&both).await.unwrap_err();
    assert!(err.to_string().contains("authorized IP ranges on a private cluster"), "{err}");

    let mut no_system = spec("web-1");
    no_system.node_pools[1].system = false;
    let err = provider.create(&no_system).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSpec);
    assert!(err.to_string().contains("needs a system pool"), "{err}");

    for bad in ["web-workers", "workersforbatch", "pool_1"] {
        let Ok(name) = NodePoolName::new(bad) else { continue };
        let mut named = spec("web-1");
        named.node_pools[0].name = name;
        let err = provider.create(&named).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSpec, "{bad}: {err}");
        assert!(err.to_string().contains("not an AKS agent pool name"), "{err}");
    }
    assert!(puts(&arm).is_empty(), "nothing written: {:?}", puts(&arm));

    let err = arm.builder("prod").with_capabilities(Capabilities::all().with_team_credentials(false)).build();
    assert!(err.unwrap_err().to_string().contains("with_audit_log_workspace"));
    let err = arm.builder("prod").with_audit_log_workspace("audit").build().unwrap_err();
    assert!(err.to_string().contains("not a Log Analytics workspace"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_local_arm_refuses_what_aks_refuses() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    let mut old = spec("web-1");
    old.kubernetes_version = "1.31".parse().unwrap();
    let err = provider.create(&old).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSpec);
    assert!(err.to_string().contains("K8sVersionNotSupported"), "{err}");
    provider.create(&spec("web-1")).await.unwrap();
    assert!(arm.set_provisioning_state(GROUP, "web-1", "Succeeded"));
    assert!(arm.cluster(GROUP, "web-1").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_are_the_locations_list_and_upgrades_go_one_minor_at_a_time() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    let west = Region::new("westeurope").unwrap();
    let offered: Vec<String> =
        provider.offered_versions(&west).await.unwrap().unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(offered, ["1.33", "1.34", "1.35", "1.36", "1.37"]);
    let path = arm.requests().pop().unwrap().path;
    assert!(path.ends_with("/providers/Microsoft.ContainerService/locations/westeurope/kubernetesVersions"), "{path}");

    provider.create(&spec("web-1")).await.unwrap();
    let mut target = spec("web-1");
    target.kubernetes_version = "1.36".parse().unwrap();
    let first = provider.update(&target).await.unwrap();
    assert_eq!(first.phase, ClusterPhase::Updating, "an update answers 200 and runs on");
    assert_eq!(first.kubernetes_version.unwrap().minor(), 34, "the version runs once the update is done");
    let first = provider.wait_until_running(&target.id, waits()).await.unwrap();
    assert_eq!(first.kubernetes_version.unwrap().minor(), 35, "one minor first");
    provider.update(&target).await.unwrap();
    let second = provider.wait_until_running(&target.id, waits()).await.unwrap();
    assert_eq!(second.kubernetes_version.unwrap().minor(), 36);
    let versions: Vec<String> =
        puts(&arm).iter().map(|put| put.body["properties"]["kubernetesVersion"].as_str().unwrap().to_owned()).collect();
    assert_eq!(versions, ["1.34", "1.35", "1.36"]);

    arm.serve_versions_example();
    let example: Vec<String> =
        provider.offered_versions(&west).await.unwrap().unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(example, ["1.23", "1.24", "1.25"], "the official example: 1.26 is a preview");
    assert!(arm.violations().is_empty(), "{:?}", arm.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_cluster_is_retried_within_a_bound_then_reported() {
    let arm = LocalArm::start();
    let provider = arm.provider("prod");
    provider.create(&spec("web-1")).await.unwrap();
    let mut relabelled = spec("web-1");
    relabelled.labels.insert("tier".into(), "gold".into());
    arm.busy_puts(2);
    let updated = provider.update(&relabelled).await.unwrap();
    assert_eq!(updated.tags["tier"], "gold", "two 409s, then the third try goes through");
    assert_eq!(puts(&arm).len(), 4, "the create and three tries of the update");

    arm.busy_puts(10);
    let mut again = relabelled.clone();
    again.labels.insert("tier".into(), "silver".into());
    let err = provider.update(&again).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("stayed stopped or busy through 4 tries"), "{err}");
    assert!(err.to_string().contains("OperationNotAllowed"), "{err}");
    assert_eq!(puts(&arm).len(), 8, "one try and three retries, then no more");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kit_passes_with_every_setting_declared() {
    let arm = LocalArm::start();
    let provider = arm.builder_per_region("conformance").with_audit_log_workspace(WORKSPACE).build().unwrap();
    let other = arm.builder_per_region("conformance-other").with_audit_log_workspace(WORKSPACE).build().unwrap();
    let [first, second] = common::REGIONS.map(|r| Region::new(r).unwrap());
    let context = ConformanceContext::new("conf", first, Arc::new(other))
        .unwrap()
        .with_second_region(second)
        .with_hooks(Arc::new(arm.hooks()))
        .with_wait(
            WaitOptions::with_timeout(Duration::from_secs(60))
                .with_intervals(Duration::from_millis(5), Duration::from_millis(50)),
        );
    let report = run_all(&provider, &context).await;
    assert_eq!(report.skipped_checks(), ["undeclared_settings_are_refused"], "{report}");
    let skipped = ["undeclared_settings_are_refused"];
    let all: Vec<&str> = CHECKS.iter().map(|c| c.name).filter(|name| !skipped.contains(name)).collect();
    assert_eq!(report.passed, all, "{report}");
    assert!(arm.violations().is_empty(), "{:?}", arm.violations());
}
