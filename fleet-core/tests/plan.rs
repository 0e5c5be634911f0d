//! Plans: every kind of action with its reason, stable order, rendering and JSON, and that
//! clusters Fleet does not own are never touched.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use fleet_core::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet_core::plan::{Action, DeleteReason, plan};
use fleet_core::*;

fn fleet_name() -> FleetName {
    FleetName::new("prod").unwrap()
}

fn spec(id: &str, version: &str, max: u32) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new("sim").unwrap(),
        Region::new("east").unwrap(),
        version.parse().unwrap(),
    )
    .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, max).unwrap())
    .label("app", "web")
    .build()
    .unwrap()
}

fn desired(specs: Vec<ClusterSpec>) -> DesiredFleet {
    let clusters = specs.into_iter().map(|spec| DesiredCluster::new(spec, "test", 0)).collect();
    DesiredFleet::new(fleet_name(), clusters)
}

fn observed(spec: &ClusterSpec) -> Cluster {
    Cluster::for_spec(spec, &fleet_name(), format!("p/{}", spec.id), ClusterPhase::Running)
        .with_timestamps(SystemTime::UNIX_EPOCH, SystemTime::UNIX_EPOCH)
}

fn capabilities(caps: Capabilities) -> BTreeMap<ProviderName, Capabilities> {
    BTreeMap::from([(ProviderName::new("sim").unwrap(), caps)])
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(3600)
}

#[test]
fn an_empty_fleet_plans_creates_in_id_order() {
    let plan = plan(
        &desired(vec![spec("b", "1.31", 3), spec("a", "1.31", 3)]),
        &[],
        &capabilities(Capabilities::all()),
        now(),
    );
    let ids: Vec<_> = plan.actions.iter().map(|a| a.cluster_id().to_string()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert!(plan.actions.iter().all(|a| matches!(a, Action::Create { .. })));
    assert_eq!(plan.summary().create, 2);
}

#[test]
fn a_matching_fleet_plans_nothing() {
    let wanted = spec("a", "1.31", 3);
    let plan = plan(&desired(vec![wanted.clone()]), &[observed(&wanted)], &capabilities(Capabilities::all()), now());
    assert!(plan.is_empty());
    assert_eq!(plan.summary().unchanged, 1);
    assert!(plan.to_string().ends_with("Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 1 unchanged."));
}

#[test]
fn upgrades_are_in_place_only_where_the_provider_can() {
    let old = spec("a", "1.30", 3);
    let new = spec("a", "1.31", 3);
    let in_place = plan(&desired(vec![new.clone()]), &[observed(&old)], &capabilities(Capabilities::all()), now());
    let Action::Update { changes, .. } = &in_place.actions[0] else { panic!("{in_place}") };
    assert!(changes.iter().any(|c| c.field == "kubernetesVersion" && c.from == "1.30" && c.to == "1.31"));
    let replaced = plan(&desired(vec![new]), &[observed(&old)], &capabilities(Capabilities::default()), now());
    let Action::Replace { changes, .. } = &replaced.actions[0] else { panic!("{replaced}") };
    let reason = changes.iter().find_map(|c| c.forces_replacement.clone()).unwrap();
    assert_eq!(reason, "provider `sim` cannot upgrade in place");
    let text = replaced.to_string();
    assert!(text.contains("-/+ a"), "{text}");
    assert!(
        text.contains(
            "~ kubernetesVersion: 1.30 -> 1.31  (forces replacement: provider `sim` cannot upgrade in place)"
        ),
        "{text}"
    );
}

#[test]
fn size_changes_and_fixed_settings_force_replacement() {
    let current = spec("a", "1.31", 3);
    let caps = capabilities(Capabilities::all());
    let is_replace = |wanted: &ClusterSpec| {
        matches!(
            plan(&desired(vec![wanted.clone()]), &[observed(&current)], &caps, now()).actions[0],
            Action::Replace { .. }
        )
    };
    let mut bigger = current.clone();
    bigger.node_pools[0].size = SizeClass::Large;
    assert!(is_replace(&bigger));
    let mut private = current.clone();
    private.network.private_endpoint = true;
    assert!(is_replace(&private), "network settings are fixed at creation");
    let mut moved = current.clone();
    moved.region = Region::new("west").unwrap();
    assert!(is_replace(&moved));
}

#[test]
fn a_cluster_ahead_of_its_spec_is_adopted_never_downgraded_or_replaced() {
    let spec_134 = spec("a", "1.34", 3);
    let mut upgraded_by_the_cloud = observed(&spec_134);
    upgraded_by_the_cloud.kubernetes_version = Some("1.35.2".parse().unwrap());
    let caps = capabilities(Capabilities::all());
    let plan = plan(&desired(vec![spec_134.clone()]), &[upgraded_by_the_cloud.clone()], &caps, now());
    assert!(matches!(plan.actions[0], Action::Unchanged { .. }), "{plan}");
    assert!(fleet_core::plan::version_ahead(&upgraded_by_the_cloud, &spec_134));
}

#[test]
fn machine_types_are_compared_only_where_the_spec_names_one() {
    let wanted = spec("a", "1.34", 3);
    let mut running = observed(&wanted);
    running.node_pools[0].machine_type = Some("e2-standard-2".into());
    let caps = capabilities(Capabilities::all());
    let unchanged = plan(&desired(vec![wanted.clone()]), &[running.clone()], &caps, now());
    assert!(matches!(unchanged.actions[0], Action::Unchanged { .. }), "{unchanged}");
    let mut named = wanted.clone();
    named.node_pools[0].machine_type = Some("e2-standard-4".into());
    let replaced = plan(&desired(vec![named]), &[running], &caps, now());
    assert!(matches!(replaced.actions[0], Action::Replace { .. }), "{replaced}");
}

#[test]
fn resizes_and_labels_update_in_place() {
    let current = spec("a", "1.31", 3);
    let mut wanted = spec("a", "1.31", 6);
    wanted.labels.insert("tier".into(), "gold".into());
    let plan = plan(&desired(vec![wanted]), &[observed(&current)], &capabilities(Capabilities::all()), now());
    let Action::Update { changes, .. } = &plan.actions[0] else { panic!("{plan}") };
    let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["nodePools.workers.maxCount", "labels.tier", "blueprintVersion"]);
    assert!(plan.to_string().contains("~   a"), "{plan}");
}

#[test]
fn unwanted_and_expired_clusters_are_deleted_with_their_reason() {
    let gone = spec("old", "1.31", 3);
    let mut temporary = spec("tmp", "1.31", 3);
    temporary.ttl = Some(Duration::from_secs(1800));
    let plan = plan(
        &desired(vec![temporary.clone()]),
        &[observed(&gone), observed(&temporary)],
        &capabilities(Capabilities::all()),
        now(),
    );
    assert_eq!(plan.actions.len(), 2);
    assert!(
        matches!(&plan.actions[0], Action::Delete { id, reason: DeleteReason::NotWanted, .. } if id.as_str() == "old")
    );
    assert!(matches!(&plan.actions[1], Action::Delete { reason: DeleteReason::Expired { .. }, .. }));
    let text = plan.to_string();
    assert!(text.contains("(no spec wants it)") && text.contains("(its TTL of 30m has passed)"), "{text}");
}

#[test]
fn clusters_without_this_fleets_tags_are_never_touched() {
    let untagged = Cluster::new(
        ClusterId::new("legacy").unwrap(),
        ProviderName::new("sim").unwrap(),
        "x",
        Region::new("east").unwrap(),
        ClusterPhase::Running,
    );
    let mut foreign = observed(&spec("theirs", "1.31", 3));
    foreign.tags.insert(FleetTags::FLEET_KEY.into(), "other".into());
    let mut broken = observed(&spec("broken", "1.31", 3));
    broken.tags.insert(FleetTags::IDENTITY_KEY.into(), "Not A Valid Id".into());
    let plan = plan(&desired(vec![]), &[untagged, foreign, broken], &capabilities(Capabilities::all()), now());
    assert!(plan.actions.is_empty(), "{plan}");
}

#[test]
fn plans_serialise_to_json_for_machines() {
    let plan = plan(
        &desired(vec![spec("a", "1.31", 3)]),
        &[observed(&spec("z", "1.31", 3))],
        &capabilities(Capabilities::all()),
        now(),
    );
    let json: serde_json::Value = serde_json::from_str(&plan.to_json()).unwrap();
    assert_eq!(json["fleet"], "prod");
    assert_eq!(json["actions"][0]["action"], "create");
    assert_eq!(json["actions"][0]["spec"]["kubernetesVersion"], "1.31");
    assert_eq!(json["actions"][1]["action"], "delete");
    assert_eq!(json["actions"][1]["reason"], "notWanted");
}

#[test]
fn a_replacement_runs_under_another_name_and_keeps_its_identity() {
    let old = spec("a", "1.30", 3);
    let wanted = spec("a", "1.31", 3);
    let plan = plan(&desired(vec![wanted]), &[observed(&old)], &capabilities(Capabilities::default()), now());
    let Action::Replace { spec, old: old_name, .. } = &plan.actions[0] else { panic!("{plan}") };
    assert_eq!(old_name.as_str(), "a");
    assert_ne!(spec.id.as_str(), "a", "the new cluster needs its own name");
    assert_eq!(spec.identity().as_str(), "a");
    assert_eq!(FleetTags::cluster_tags(&fleet_name(), spec)[FleetTags::IDENTITY_KEY], "a");
    assert!(plan.to_string().contains(&format!("(new cluster `{}` replaces `a`)", spec.id)), "{plan}");

    // Replacing the replacement takes a third name, never the plain one: a name once left
    // may still be held by a cluster that lingers unseen at a provider that is down.
    let newer = spec_named(spec, "1.32");
    let again = fleet_core::plan::plan(
        &desired(vec![spec_named(&newer, "1.32").named(ClusterId::new("a").unwrap())]),
        &[observed(spec)],
        &capabilities(Capabilities::default()),
        now(),
    );
    let Action::Replace { spec: third, .. } = &again.actions[0] else { panic!("{again}") };
    assert!(third.id != spec.id && third.id.as_str() != "a", "{again}");
    assert!(third.id.as_str().starts_with("a-r"), "{again}");
}

#[test]
fn replacements_in_different_places_never_share_a_name() {
    let here = spec("a", "1.31", 3);
    let mut there = here.clone();
    there.region = Region::new("west").unwrap();
    let name_here = fleet_core::plan::replacement_name(&here, []);
    let name_there = fleet_core::plan::replacement_name(&there, []);
    assert_ne!(name_here, name_there, "the name carries the place");
    assert_ne!(name_here.as_str(), "a");
    let next_here = fleet_core::plan::replacement_name(&here, [&name_here]);
    assert_ne!(next_here, name_here, "a taken name is skipped");
    assert_eq!(fleet_core::plan::replacement_name(&here, []), name_here, "names are deterministic");
}

fn spec_named(base: &ClusterSpec, version: &str) -> ClusterSpec {
    let mut next = base.clone();
    next.kubernetes_version = version.parse().unwrap();
    next
}

#[test]
fn an_interrupted_replacement_keeps_the_new_cluster_and_deletes_the_old() {
    let old = spec("a", "1.30", 3);
    let wanted = spec("a", "1.31", 3);
    let replacement = wanted.named(fleet_core::plan::replacement_name(&wanted, [&old.id]));
    let plan = plan(
        &desired(vec![wanted]),
        &[observed(&old), observed(&replacement)],
        &capabilities(Capabilities::default()),
        now(),
    );
    assert_eq!(plan.actions.len(), 2, "{plan}");
    assert!(
        plan.actions
            .iter()
            .any(|a| matches!(a, Action::Delete { id, reason: DeleteReason::Superseded, .. } if id.as_str() == "a")),
        "{plan}"
    );
    assert!(plan.actions.iter().any(|a| matches!(a, Action::Unchanged { id } if *id == replacement.id)), "{plan}");
}

#[test]
fn hibernation_follows_the_spec() {
    let running = spec("a", "1.31", 3);
    let mut asleep = running.clone();
    asleep.hibernated = true;
    let caps = capabilities(Capabilities::all());
    let plan_sleep = plan(&desired(vec![asleep.clone()]), &[observed(&running)], &caps, now());
    assert!(matches!(&plan_sleep.actions[0], Action::Hibernate { id } if id.as_str() == "a"), "{plan_sleep}");
    assert!(plan_sleep.to_string().contains("~   a") && plan_sleep.to_string().contains("hibernate"), "{plan_sleep}");
    let mut stopped = observed(&running);
    stopped.phase = ClusterPhase::Hibernated;
    assert!(plan(&desired(vec![asleep]), std::slice::from_ref(&stopped), &caps, now()).is_empty());
    let wake = plan(&desired(vec![running]), &[stopped], &caps, now());
    assert!(matches!(&wake.actions[0], Action::Resume { .. }), "{wake}");
}

#[test]
fn the_plan_does_not_depend_on_the_order_of_observed_clusters() {
    // Identities `a`, `a-b` and `b`: the replacement of `a` sorts after `a-b` by name, so the
    // clusters listed by name are out of identity order.
    let wanted_a = spec("a", "1.31", 3);
    let old_a = spec("a", "1.30", 3);
    let new_a = wanted_a.named(fleet_core::plan::replacement_name(&wanted_a, [&old_a.id]));
    let mut observed_clusters = vec![
        observed(&old_a),
        observed(&spec("a-b", "1.31", 5)),
        observed(&new_a),
        observed(&spec("b", "1.31", 3)),
        observed(&spec("gone", "1.31", 3)),
    ];
    let fleet = desired(vec![wanted_a, spec("a-b", "1.31", 3), spec("b", "1.31", 3), spec("new", "1.31", 3)]);
    let caps = capabilities(Capabilities::all());
    let reference = plan(&fleet, &observed_clusters, &caps, now());
    assert!(reference.actions.iter().any(|a| matches!(a, Action::Create { spec } if spec.id.as_str() == "new")));
    assert!(reference.actions.iter().any(|a| matches!(a, Action::Delete { id, .. } if id.as_str() == "gone")));
    assert!(reference.actions.iter().any(|a| matches!(a, Action::Update { spec, .. } if spec.id.as_str() == "a-b")));
    // In identity order: read with a cursor rather than an index.
    let by_identity = [0, 2, 1, 3, 4].map(|at| observed_clusters[at].clone());
    assert_eq!(plan(&fleet, &by_identity, &caps, now()).actions, reference.actions, "identity order");
    for rotation in 1..observed_clusters.len() {
        observed_clusters.rotate_left(1);
        let other = plan(&fleet, &observed_clusters, &caps, now());
        assert_eq!(other.actions, reference.actions, "rotation {rotation}");
        observed_clusters.reverse();
        let reversed = plan(&fleet, &observed_clusters, &caps, now());
        assert_eq!(reversed.actions, reference.actions, "reversed rotation {rotation}");
        observed_clusters.reverse();
    }
}
