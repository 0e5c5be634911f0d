//! The example repository in `examples/fleet` loads, plans cleanly against the demo clouds,
//! and rejects exactly the over-quota request.

use std::collections::BTreeMap;
use std::time::SystemTime;

use fleet::plan::{Action, plan};
use fleet::repository::Repository;

#[test]
fn the_example_repository_plans_and_rejects_the_over_quota_request() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fleet");
    let repository = Repository::load_dir(dir).unwrap();
    let clouds = fleet_examples::demo_clouds(&repository, 1);
    let names: Vec<&str> = clouds.iter().map(|cloud| cloud.info().name.as_str()).collect();
    assert_eq!(names, ["sim-aws", "sim-azure", "sim-gcp"], "one simulated cloud per provider the repository names");
    let infos: Vec<_> = clouds.iter().map(|cloud| cloud.info().clone()).collect();
    let desired = repository.desired(&infos).unwrap();

    assert_eq!(desired.rejected.len(), 1, "{:?}", desired.rejected);
    assert_eq!(desired.rejected[0].request.as_str(), "bob-backfill");
    assert_eq!(desired.rejected[0].rule, "quota.nodes");

    let providers: std::collections::BTreeSet<_> =
        desired.fleet.specs().map(|spec| spec.provider.to_string()).collect();
    assert_eq!(providers.len(), 3, "the fleet spans three providers");
    for spec in desired.fleet.specs() {
        assert!(spec.audit_logging && spec.network.private_endpoint, "{}: ops security reaches every cluster", spec.id);
    }
    let web = desired.fleet.clusters.iter().find(|c| c.spec.id.as_str() == "web-us-east-1-0").unwrap();
    assert!(web.addons.contains_key("default-deny"), "add-on files are read in");

    assert_eq!(
        desired.failover.keys().map(String::as_str).collect::<Vec<_>>(),
        ["template/api", "template/pipeline", "template/web"],
        "every template declares failover"
    );
    let capabilities: BTreeMap<_, _> = infos.iter().map(|info| (info.name.clone(), info.capabilities)).collect();
    let plan = plan(&desired.fleet, &[], &capabilities, SystemTime::now());
    assert_eq!(plan.summary().create, desired.fleet.clusters.len());
    assert!(plan.actions.iter().all(|action| matches!(action, Action::Create { .. })));
}

/// Provider infos standing in for EKS, GKE and AKS as their providers describe themselves: every
/// setting applied, Kubernetes 1.33 to 1.37 offered, and a system pool required on AKS.
fn cloud_infos(capabilities: fleet::provider::Capabilities) -> Vec<fleet::provider::ProviderInfo> {
    let versions: Vec<fleet::model::KubernetesVersion> =
        (33..=37).map(|minor| fleet::model::KubernetesVersion::new(1, minor, None)).collect();
    [("eks", ["us-east-1", "eu-west-1"]), ("gke", ["europe-west1", "us-central1"]), ("aks", ["westeurope", "eastus"])]
        .into_iter()
        .map(|(name, regions)| {
            let regions: Vec<fleet::model::Region> =
                regions.iter().map(|r| fleet::model::Region::new(*r).unwrap()).collect();
            let mut info =
                fleet::provider::ProviderInfo::new(fleet::model::ProviderName::new(name).unwrap(), regions.clone())
                    .with_capabilities(capabilities)
                    .with_system_pool_required(name == "aks");
            for region in regions {
                info = info.with_offered_versions(region, versions.clone());
            }
            info
        })
        .collect()
}

#[test]
fn the_clouds_repository_plans_a_cluster_per_cloud_with_each_clouds_machine_types() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fleet-clouds");
    let repository = Repository::load_dir(dir).unwrap();
    let desired = repository.desired(&cloud_infos(fleet::provider::Capabilities::all())).unwrap();
    assert_eq!(desired.fleet.clusters.len(), 6);
    for spec in desired.fleet.specs() {
        assert_eq!(spec.kubernetes_version.to_string(), "1.35");
        assert!(spec.audit_logging && spec.network.network_policy, "{}", spec.id);
        assert_eq!(spec.system_pool().map(|pool| pool.name.as_str()), Some("system"), "{}", spec.id);
        assert!(spec.node_pools.iter().all(|pool| pool.machine_type.is_some()), "{}: machine types named", spec.id);
        let private = spec.id.as_str().starts_with("secure");
        assert_eq!(spec.network.private_endpoint, private, "{}", spec.id);
        assert_eq!(spec.network.allowed_cidrs.is_empty(), private, "{}", spec.id);
    }

    let without_private = fleet::provider::Capabilities::all().with_private_endpoint(false);
    let errors = repository.desired(&cloud_infos(without_private)).unwrap_err().to_string();
    assert_eq!(errors.matches("network.privateEndpoint").count(), 3 * 2, "{errors}");
    assert!(errors.contains("locked by layer `access`"), "{errors}");
}
