//! The example repository in `examples/fleet` loads, plans cleanly against the demo clouds,
//! and rejects exactly the over-quota request.

use std::collections::BTreeMap;
use std::time::SystemTime;

use fleet::plan::{Action, plan};
use fleet::repository::Repository;

#[test]
fn the_example_repository_plans_and_rejects_the_over_quota_request() {
    let clouds = fleet_examples::demo_clouds(1).unwrap();
    let infos: Vec<_> = clouds.iter().map(|cloud| cloud.info().clone()).collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fleet");
    let desired = Repository::load_dir(dir).unwrap().desired(&infos).unwrap();

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
        ["template/api", "template/web"],
        "the web and api templates declare failover"
    );
    let capabilities: BTreeMap<_, _> = infos.iter().map(|info| (info.name.clone(), info.capabilities)).collect();
    let plan = plan(&desired.fleet, &[], &capabilities, SystemTime::now());
    assert_eq!(plan.summary().create, desired.fleet.clusters.len());
    assert!(plan.actions.iter().all(|action| matches!(action, Action::Create { .. })));
}
