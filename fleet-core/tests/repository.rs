//! Loading repositories: path-precise errors, variables, locks, providers and regions checked
//! against `info()`, and self-service requests against team policies.

use std::path::PathBuf;

use fleet_core::repository::{Desired, Repository};
use fleet_core::sim::{RegionCapacity, SimCloud};
use fleet_core::{Capabilities, ProviderInfo, ProviderName, Region, SpecErrors};

const LAYERS: &str = r#"
kind: Layer
spec:
  name: base
  owner: ops
  set:
    kubernetesVersion: "1.31"
    nodePools: {system: {size: small, minCount: 1, maxCount: 2}}
  lock: [kubernetesVersion]
---
kind: Layer
spec:
  name: security
  owner: ops
  set: {auditLogging: true, network: {privateEndpoint: true}}
  lock: [auditLogging, network.privateEndpoint]
"#;

const BLUEPRINT: &str = r#"
kind: Blueprint
spec:
  name: app
  variables:
    workers: {type: integer, default: 2, min: 1, max: 8}
  layers:
    - use: base
    - use: security
    - name: team
      owner: payments
      set:
        nodePools: {workers: {size: small, minCount: 1, maxCount: "${workers}"}}
"#;

const POLICY: &str = r#"
kind: TeamPolicy
spec:
  team: payments
  quota: {clusters: 3, nodes: 12}
  allowedProviders: [sim]
  allowedRegions: [east]
  allowedSizes: [small]
  maxTtl: 8h
"#;

fn providers() -> Vec<ProviderInfo> {
    let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
        .capabilities(Capabilities::default().with_audit_logging(true).with_private_endpoint(true))
        .build();
    let other = SimCloud::builder(ProviderName::new("other").unwrap())
        .region(Region::new("north").unwrap(), RegionCapacity::unlimited())
        .build();
    vec![cloud.info().clone(), other.info().clone()]
}

fn fleet(templates: &str) -> String {
    format!("kind: FleetSpec\nspec:\n  name: test\n  templates:\n{templates}")
}

const ONE_TEMPLATE: &str = "    - name: web\n      blueprint: app\n      team: payments\n      placements: [{provider: sim, regions: [east]}]\n";

fn load(files: &[(&str, &str)]) -> Result<Repository, SpecErrors> {
    let owned: Vec<(PathBuf, &str)> = files.iter().map(|(name, text)| (PathBuf::from(name), *text)).collect();
    Repository::from_sources(&owned)
}

fn desired(files: &[(&str, &str)]) -> Result<Desired, SpecErrors> {
    load(files)?.desired(&providers())
}

fn with_request(request: &str) -> Desired {
    let request = format!("kind: EnvironmentRequest\nspec:\n{request}");
    desired(&[
        ("layers.yaml", LAYERS),
        ("app.yaml", BLUEPRINT),
        ("policy.yaml", POLICY),
        ("fleet.yaml", &fleet(ONE_TEMPLATE)),
        ("req.yaml", &request),
    ])
    .unwrap()
}

fn rejected_rule(request: &str) -> String {
    let desired = with_request(request);
    assert_eq!(desired.rejected.len(), 1, "expected one rejection, got {:?}", desired.rejected);
    desired.rejected[0].rule.clone()
}

const GOOD_REQUEST: &str =
    "  name: alice\n  team: payments\n  blueprint: app\n  provider: sim\n  region: east\n  ttl: 4h\n";

#[test]
fn a_complete_repository_resolves_to_its_clusters() {
    let desired = with_request(GOOD_REQUEST);
    assert!(desired.rejected.is_empty(), "{:?}", desired.rejected);
    let ids: Vec<_> = desired.fleet.specs().map(|s| s.id.to_string()).collect();
    assert_eq!(ids, ["alice", "web-east-0"]);
    let alice = desired.fleet.specs().next().unwrap();
    assert_eq!(alice.ttl, Some(std::time::Duration::from_secs(4 * 3600)));
    assert!(alice.audit_logging && alice.network.private_endpoint, "ops settings reach every cluster");
}

#[test]
fn wrong_types_and_unknown_fields_name_file_line_column_and_path() {
    let bad_type = "kind: TeamPolicy\nspec:\n  team: payments\n  quota:\n    clusters: lots\n    nodes: 1\n";
    let errors = load(&[("policies/team.yaml", bad_type)]).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    let text = errors.0[0].to_string();
    assert!(text.starts_with("policies/team.yaml:5:15: `spec.quota.clusters`:"), "{text}");

    let unknown = fleet(
        "    - name: web\n      blueprint: app\n      placements:\n        - {provider: sim, regions: [east], colour: red}\n",
    );
    let errors = load(&[("fleet.yaml", &unknown)]).unwrap_err();
    let text = errors.to_string();
    assert!(text.contains("fleet.yaml:8:"), "{text}");
    assert!(text.contains("fleet.yaml:8:44: `spec.templates[0].placements[0].colour`"), "{text}");
    assert!(text.contains("unknown field `colour`"), "{text}");
}

#[test]
fn every_file_error_is_reported_not_just_the_first() {
    let errors = load(&[
        ("a.yaml", "kind: TeamPolicy\nspec: {team: x, quota: {clusters: -1, nodes: 1}}\n"),
        ("b.yaml", "kind: Nonsense\nspec: {}\n---\nkind: Layer\nspec: {name: l, owner: ops, set: [1]}\n"),
    ])
    .unwrap_err();
    assert_eq!(errors.0.len(), 3, "{errors}");
    let files: Vec<_> = errors.0.iter().map(|e| e.file.clone().unwrap()).collect();
    assert_eq!(files, [PathBuf::from("a.yaml"), PathBuf::from("b.yaml"), PathBuf::from("b.yaml")]);
    assert_eq!(errors.0[2].line, Some(5), "line numbers count from the top of the file: {errors}");
}

#[test]
fn a_team_layer_cannot_change_what_ops_locked() {
    let sneaky = BLUEPRINT.replace("nodePools: {workers:", "auditLogging: false\n        nodePools: {workers:");
    let errors =
        desired(&[("layers.yaml", LAYERS), ("app.yaml", &sneaky), ("fleet.yaml", &fleet(ONE_TEMPLATE))]).unwrap_err();
    let text = errors.to_string();
    assert!(
        text.contains("app.yaml: `auditLogging`: layer `team` (app.yaml) (owner payments) changes `auditLogging`"),
        "{text}"
    );
    assert!(text.contains("locked by layer `security` (layers.yaml) (owner ops)"), "{text}");
}

#[test]
fn variable_errors_name_the_template_and_variable() {
    let templates = "    - name: web\n      blueprint: app\n      variables: {workers: 50, extra: 1}\n      placements: [{provider: sim, regions: [east]}]\n";
    let errors =
        desired(&[("layers.yaml", LAYERS), ("app.yaml", BLUEPRINT), ("fleet.yaml", &fleet(templates))]).unwrap_err();
    let text = errors.to_string();
    // The values are written in the fleet spec: its file and their lines are named, never the
    // blueprint's file.
    assert!(
        text.contains("fleet.yaml:7:28: `spec.templates[0].variables.workers`: 50 is greater than the maximum 8"),
        "{text}"
    );
    assert!(text.contains("fleet.yaml:7:39: `spec.templates[0].variables.extra`: unknown variable"), "{text}");
    assert!(errors.0.iter().all(|e| e.file == Some(PathBuf::from("fleet.yaml"))), "{errors:?}");
    let required = BLUEPRINT.replace("default: 2, ", "");
    let errors =
        desired(&[("layers.yaml", LAYERS), ("app.yaml", &required), ("fleet.yaml", &fleet(ONE_TEMPLATE))]).unwrap_err();
    assert!(
        errors
            .to_string()
            .contains("fleet.yaml: `spec.templates[0].variables.workers`: required variable has no value"),
        "{errors}"
    );
}

#[test]
fn unknown_providers_and_regions_are_rejected_against_info() {
    let templates = "    - name: web\n      blueprint: app\n      placements:\n        - {provider: sim, regions: [east, mars]}\n        - {provider: nimbus, regions: [east]}\n";
    let errors =
        desired(&[("layers.yaml", LAYERS), ("app.yaml", BLUEPRINT), ("fleet.yaml", &fleet(templates))]).unwrap_err();
    let text = errors.to_string();
    assert!(
        text.contains("fleet.yaml: `spec.templates[0].placements[0].regions[1]`: provider `sim` has no region `mars`"),
        "{text}"
    );
    assert!(
        text.contains("`spec.templates[0].placements[1].provider`: unknown provider `nimbus`; known: other, sim"),
        "{text}"
    );
}

#[test]
fn capabilities_a_blueprint_needs_are_checked() {
    let hibernating = BLUEPRINT.replace("nodePools: {workers:", "hibernation: true\n        nodePools: {workers:");
    let errors = desired(&[("layers.yaml", LAYERS), ("app.yaml", &hibernating), ("fleet.yaml", &fleet(ONE_TEMPLATE))])
        .unwrap_err();
    assert!(errors.to_string().contains("provider `sim` cannot do"), "{errors}");
}

#[test]
fn anti_affinity_allows_one_cluster_per_region() {
    let templates = "    - name: web\n      blueprint: app\n      antiAffinity: region\n      placements: [{provider: sim, regions: [east], count: 2}]\n";
    let errors =
        desired(&[("layers.yaml", LAYERS), ("app.yaml", BLUEPRINT), ("fleet.yaml", &fleet(templates))]).unwrap_err();
    assert!(errors.to_string().contains("one cluster of template `web` per region"), "{errors}");
}

#[test]
fn requests_outside_guardrails_are_rejected_with_the_rule() {
    let cases = [
        ("provider: sim", "provider: other", "allowedProviders"),
        ("region: east", "region: west", "allowedRegions"),
        ("ttl: 4h", "ttl: 2d", "maxTtl"),
        ("  ttl: 4h\n", "", "maxTtl"),
        ("ttl: 4h", "ttl: 4h\n  size: large", "allowedSizes"),
        ("team: payments", "team: strangers", "policy"),
        ("blueprint: app", "blueprint: nothing", "blueprint"),
        ("name: alice", "name: web-east-0", "name"),
    ];
    for (from, to, rule) in cases {
        assert_eq!(rejected_rule(&GOOD_REQUEST.replace(from, to)), rule, "{from} -> {to}");
    }
}

#[test]
fn requests_over_quota_are_rejected() {
    assert_eq!(rejected_rule(&GOOD_REQUEST.replace("ttl: 4h", "ttl: 4h\n  variables: {workers: 8}")), "quota.nodes");
    let three = (0..3)
        .map(|i| format!("kind: EnvironmentRequest\nspec:\n{}", GOOD_REQUEST.replace("alice", &format!("dev{i}"))))
        .collect::<Vec<_>>()
        .join("---\n");
    let desired = desired(&[
        ("layers.yaml", LAYERS),
        ("app.yaml", BLUEPRINT),
        ("policy.yaml", POLICY),
        ("fleet.yaml", &fleet(ONE_TEMPLATE)),
        ("reqs.yaml", &three),
    ])
    .unwrap();
    assert_eq!(desired.rejected.len(), 1, "{:?}", desired.rejected);
    assert_eq!(desired.rejected[0].rule, "quota.clusters");
    assert_eq!(desired.rejected[0].request.as_str(), "dev2", "requests are scheduled in file order");
}

#[test]
fn a_request_cannot_change_an_ops_locked_setting() {
    let locked_size = LAYERS.replace("lock: [kubernetesVersion]", "lock: [kubernetesVersion, nodePools]");
    let request =
        format!("kind: EnvironmentRequest\nspec:\n{}", GOOD_REQUEST.replace("ttl: 4h", "ttl: 4h\n  size: medium"));
    let desired = desired(&[
        ("layers.yaml", &locked_size),
        (
            "app.yaml",
            &BLUEPRINT.replace(
                "\n        nodePools: {workers: {size: small, minCount: 1, maxCount: \"${workers}\"}}",
                "\n        labels: {a: b}",
            ),
        ),
        ("policy.yaml", POLICY),
        ("fleet.yaml", &fleet(ONE_TEMPLATE)),
        ("req.yaml", &request),
    ])
    .unwrap();
    assert_eq!(desired.rejected.len(), 1, "{:?}", desired.rejected);
    assert_eq!(desired.rejected[0].rule, "locked");
    assert!(desired.rejected[0].message.contains("locked by layer `base`"), "{}", desired.rejected[0].message);
}

#[test]
fn a_directory_loads_with_addon_files_inlined() {
    let dir = std::env::temp_dir().join(format!("fleet-repo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("layers")).unwrap();
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(dir.join("manifests/ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: tools}\n")
        .unwrap();
    let layers =
        LAYERS.replace("auditLogging: true,", "auditLogging: true, addons: {ns: {file: ../manifests/ns.yaml}},");
    std::fs::write(dir.join("layers/all.yaml"), layers).unwrap();
    std::fs::write(dir.join("app.yml"), BLUEPRINT).unwrap();
    std::fs::write(dir.join("fleet.yaml"), fleet(ONE_TEMPLATE)).unwrap();
    std::fs::write(dir.join(".hidden.yaml"), "not: [valid").unwrap();
    let desired = Repository::load_dir(&dir).unwrap().desired(&providers()).unwrap();
    let addons = &desired.fleet.clusters[0].addons;
    assert!(addons["ns"].manifest.contains("kind: Namespace"), "{addons:?}");

    std::fs::write(
        dir.join("layers/all.yaml"),
        LAYERS.replace("auditLogging: true,", "auditLogging: true, addons: {x: {file: ../../etc/passwd}},"),
    )
    .unwrap();
    let errors = Repository::load_dir(&dir).unwrap_err();
    assert!(errors.to_string().contains("is outside the repository"), "{errors}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_template_declares_its_failover_policy() {
    let templates = "    - name: web\n      blueprint: app\n      antiAffinity: region\n      placements: [{provider: sim, regions: [east]}]\n      failover:\n        fallbacks:\n          - {provider: sim, regions: [west]}\n          - {provider: other, regions: [north]}\n        rto: 15m\n        maxParallel: 3\n        onReturn: failBack\n    - name: batch\n      blueprint: app\n      placements: [{provider: sim, regions: [west]}]\n      failover: {fallbacks: [{provider: sim, regions: [east]}]}\n";
    let desired =
        desired(&[("layers.yaml", LAYERS), ("app.yaml", BLUEPRINT), ("fleet.yaml", &fleet(templates))]).unwrap();
    let web = &desired.failover["template/web"];
    assert_eq!(web.fallbacks.len(), 2);
    assert_eq!(web.fallbacks[1].provider.as_str(), "other");
    assert_eq!(web.rto, std::time::Duration::from_secs(900));
    assert_eq!(web.max_parallel, 3);
    assert_eq!(web.on_return, fleet_core::failover::OnReturn::FailBack);
    assert_eq!(web.anti_affinity, fleet_core::fleet_spec::AntiAffinity::Region, "the template's spread applies");
    let batch = &desired.failover["template/batch"];
    assert_eq!((batch.rto, batch.max_parallel), (std::time::Duration::from_secs(1800), 10), "defaults");
    let origins: Vec<&str> = desired.fleet.clusters.iter().map(|c| c.origin.as_str()).collect();
    assert!(origins.iter().all(|o| desired.failover.contains_key(*o)), "policies are keyed by origin: {origins:?}");
}

#[test]
fn failover_fallbacks_are_checked_against_the_providers() {
    let templates = "    - name: web\n      blueprint: app\n      placements: [{provider: sim, regions: [east]}]\n      failover:\n        fallbacks:\n          - {provider: sim, regions: [mars]}\n          - {provider: nimbus, regions: [north]}\n        rto: soon\n";
    let errors =
        desired(&[("layers.yaml", LAYERS), ("app.yaml", BLUEPRINT), ("fleet.yaml", &fleet(templates))]).unwrap_err();
    assert!(errors.to_string().contains("rto"), "{errors}");
    let templates = templates.replace("        rto: soon\n", "");
    let errors =
        desired(&[("layers.yaml", LAYERS), ("app.yaml", BLUEPRINT), ("fleet.yaml", &fleet(&templates))]).unwrap_err();
    let text = errors.to_string();
    assert!(
        text.contains("`spec.templates[0].failover.fallbacks[0].regions[0]`: provider `sim` has no region `mars`"),
        "{text}"
    );
    assert!(text.contains("`spec.templates[0].failover.fallbacks[1].provider`: unknown provider `nimbus`"), "{text}");
}

#[test]
fn a_setting_the_provider_cannot_apply_is_refused_naming_setting_provider_and_locking_layer() {
    let plain = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .capabilities(Capabilities::default().with_audit_logging(true))
        .build();
    let repository =
        load(&[("layers.yaml", LAYERS), ("app.yaml", BLUEPRINT), ("fleet.yaml", &fleet(ONE_TEMPLATE))]).unwrap();
    let errors = repository.desired(&[plain.info().clone()]).unwrap_err().to_string();
    assert!(errors.contains("network.privateEndpoint"), "{errors}");
    assert!(errors.contains("provider `sim` cannot apply"), "{errors}");
    assert!(errors.contains("locked by layer `security`") && errors.contains("(owner ops)"), "{errors}");
    assert!(!errors.contains("auditLogging"), "audit logging is applied, so not refused: {errors}");
}

#[test]
fn a_version_the_provider_does_not_offer_is_refused_at_plan_time() {
    let east = Region::new("east").unwrap();
    let info = ProviderInfo::new(ProviderName::new("sim").unwrap(), vec![east.clone()])
        .with_capabilities(Capabilities::all())
        .with_offered_versions(east.clone(), vec!["1.34".parse().unwrap(), "1.35".parse().unwrap()]);
    let repository =
        load(&[("layers.yaml", LAYERS), ("app.yaml", BLUEPRINT), ("fleet.yaml", &fleet(ONE_TEMPLATE))]).unwrap();
    let errors = repository.desired(std::slice::from_ref(&info)).unwrap_err().to_string();
    assert!(
        errors.contains("Kubernetes 1.31 is not offered by provider `sim` in `east`; it offers: 1.34, 1.35"),
        "{errors}"
    );
    assert!(errors.contains("locked by layer `base`"), "{errors}");
    let offered = LAYERS.replace("\"1.31\"", "\"1.35\"");
    let repository =
        load(&[("layers.yaml", &offered), ("app.yaml", BLUEPRINT), ("fleet.yaml", &fleet(ONE_TEMPLATE))]).unwrap();
    assert!(repository.desired(&[info]).is_ok());
}

#[test]
fn a_provider_needing_a_system_pool_refuses_a_blueprint_without_one() {
    let east = Region::new("east").unwrap();
    let info = ProviderInfo::new(ProviderName::new("sim").unwrap(), vec![east])
        .with_capabilities(Capabilities::all())
        .with_system_pool_required(true);
    let repository =
        load(&[("layers.yaml", LAYERS), ("app.yaml", BLUEPRINT), ("fleet.yaml", &fleet(ONE_TEMPLATE))]).unwrap();
    let errors = repository.desired(std::slice::from_ref(&info)).unwrap_err().to_string();
    assert!(errors.contains("needs a system pool: mark one node pool `system: true`"), "{errors}");
    let marked = LAYERS.replace("minCount: 1, maxCount: 2}", "minCount: 1, maxCount: 2, system: true}");
    let repository =
        load(&[("layers.yaml", &marked), ("app.yaml", BLUEPRINT), ("fleet.yaml", &fleet(ONE_TEMPLATE))]).unwrap();
    let desired = repository.desired(std::slice::from_ref(&info)).unwrap();
    let spec = desired.fleet.specs().next().unwrap();
    assert_eq!(spec.system_pool().map(|pool| pool.name.as_str()), Some("system"));
    let empty = LAYERS.replace("minCount: 1, maxCount: 2}", "minCount: 0, maxCount: 2, system: true}");
    let repository =
        load(&[("layers.yaml", &empty), ("app.yaml", BLUEPRINT), ("fleet.yaml", &fleet(ONE_TEMPLATE))]).unwrap();
    let errors = repository.desired(&[info]).unwrap_err().to_string();
    assert!(errors.contains("the system pool `system` needs at least one node"), "{errors}");
}

#[test]
fn a_missing_add_on_file_of_a_shared_layer_is_named_once_and_files_can_be_given_in_memory() {
    let layer = "kind: Layer\nspec:\n  name: base\n  owner: ops\n  set:\n    kubernetesVersion: '1.34'\n    nodePools: {workers: {size: small, minCount: 1, maxCount: 3}}\n    addons: {deny: {file: ../manifests/deny.yaml}}\n";
    let blueprints = "kind: Blueprint\nspec: {name: a, layers: [{use: base}]}\n---\nkind: Blueprint\nspec: {name: b, layers: [{use: base}]}\n";
    let sources = [(PathBuf::from("layers/base.yaml"), layer), (PathBuf::from("blueprints.yaml"), blueprints)];
    let errors = Repository::from_sources(&sources).unwrap().with_files(&[]).unwrap_err();
    assert_eq!(errors.0.len(), 1, "one missing file, named once although two blueprints use the layer: {errors}");
    let repository = Repository::from_sources(&sources)
        .unwrap()
        .with_files(&[(PathBuf::from("manifests/deny.yaml"), "kind: NetworkPolicy\n")])
        .unwrap();
    for blueprint in repository.blueprints.values() {
        assert_eq!(blueprint.layers[0].set["addons"]["deny"]["manifest"], "kind: NetworkPolicy\n");
    }
}
