//! Choosing new placements for lost clusters: fallback order, priority under shortage,
//! anti-affinity, and degraded clusters reported with the reason.

use std::collections::BTreeMap;

use fleet_core::failover::{
    Decision, Displaced, FailoverPolicy, Fallback, Location, PlacementView, Room, choose_placements,
};
use fleet_core::fleet_spec::AntiAffinity;
use fleet_core::*;

fn loc(provider: &str, region: &str) -> Location {
    Location::new(ProviderName::new(provider).unwrap(), Region::new(region).unwrap())
}

fn displaced(id: &str, provider: &str, region: &str, template: &str, priority: i32) -> Displaced {
    let spec = ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new(provider).unwrap(),
        Region::new(region).unwrap(),
        "1.31".parse().unwrap(),
    )
    .node_pool(
        NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 2)
            .unwrap()
            .with_machine_type("m7i.large"),
    )
    .build()
    .unwrap();
    Displaced::new(spec, template, priority)
}

fn policy(fallbacks: &[(&str, &[&str])]) -> FailoverPolicy {
    FailoverPolicy::new(
        fallbacks
            .iter()
            .map(|(p, regions)| {
                Fallback::new(
                    ProviderName::new(*p).unwrap(),
                    regions.iter().map(|r| Region::new(*r).unwrap()).collect(),
                )
            })
            .collect(),
    )
}

fn view(room: &[(&str, &str, u32)], lost: &[(&str, &str)]) -> PlacementView {
    let mut view = PlacementView::default();
    view.room = room.iter().map(|(p, r, n)| (loc(p, r), Room { clusters: *n, nodes: u64::from(*n) * 10 })).collect();
    view.lost = lost.iter().map(|(p, r)| loc(p, r)).collect();
    view
}

fn moves(decisions: &[Decision]) -> BTreeMap<String, String> {
    decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Move { identity, to, .. } => {
                Some((identity.to_string(), format!("{}/{}", to.provider, to.region)))
            }
            _ => None,
        })
        .collect()
}

fn degraded(decisions: &[Decision]) -> BTreeMap<String, String> {
    decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Degraded { identity, reason } => Some((identity.to_string(), reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn fallbacks_are_tried_in_order_skipping_lost_places() {
    let policies = BTreeMap::from([("web".to_owned(), policy(&[("aws", &["east", "west"]), ("gcp", &["europe"])]))]);
    let lost = [displaced("a", "aws", "east", "web", 0)];
    let decisions =
        choose_placements(&lost, &policies, &view(&[("aws", "west", 5), ("gcp", "europe", 5)], &[("aws", "east")]));
    assert_eq!(moves(&decisions), BTreeMap::from([("a".into(), "aws/west".into())]));
    let Decision::Move { spec, from, .. } = &decisions[0] else { panic!() };
    assert_eq!(from, &loc("aws", "east"));
    assert_eq!(spec.node_pools[0].machine_type.as_deref(), Some("m7i.large"), "same provider keeps its machine types");
    assert_eq!(spec.identity().as_str(), "a");
}

#[test]
fn a_provider_wide_loss_moves_clusters_to_another_provider_or_reports_them_degraded() {
    let policies = BTreeMap::from([
        ("web".to_owned(), policy(&[("aws", &["west"]), ("gcp", &["europe"])])),
        ("db".to_owned(), policy(&[("aws", &["west"])])),
    ]);
    let lost = [displaced("w1", "aws", "east", "web", 0), displaced("d1", "aws", "east", "db", 0)];
    let mut view = view(&[("aws", "west", 5), ("gcp", "europe", 5)], &[("aws", "east")]);
    view.lost_providers.insert(ProviderName::new("aws").unwrap());
    let decisions = choose_placements(&lost, &policies, &view);
    assert_eq!(moves(&decisions), BTreeMap::from([("w1".into(), "gcp/europe".into())]));
    let Decision::Move { spec, .. } = decisions.iter().find(|d| matches!(d, Decision::Move { .. })).unwrap() else {
        panic!()
    };
    assert_eq!(spec.node_pools[0].machine_type, None, "another provider maps the size class itself");
    assert_eq!(spec.node_pools[0].size, SizeClass::Small);
    let reasons = degraded(&decisions);
    assert_eq!(reasons["d1"], "no fallback fits: aws/west: provider lost");
}

#[test]
fn under_a_shortage_higher_priority_goes_first_and_the_shortfall_is_reported() {
    let policies = BTreeMap::from([("web".to_owned(), policy(&[("aws", &["west"])]))]);
    let lost: Vec<_> = (0..5).map(|i| displaced(&format!("c{i}"), "aws", "east", "web", i)).collect();
    let decisions = choose_placements(&lost, &policies, &view(&[("aws", "west", 2)], &[("aws", "east")]));
    assert_eq!(moves(&decisions).keys().cloned().collect::<Vec<_>>(), ["c3", "c4"], "the two highest priorities");
    let reasons = degraded(&decisions);
    assert_eq!(reasons.keys().cloned().collect::<Vec<_>>(), ["c0", "c1", "c2"]);
    assert!(reasons["c0"].contains("aws/west: no capacity"), "{reasons:?}");
}

#[test]
fn anti_affinity_spreads_the_new_placements() {
    let policies = BTreeMap::from([(
        "web".to_owned(),
        policy(&[("aws", &["west", "north"]), ("gcp", &["europe"])]).with_anti_affinity(AntiAffinity::Region),
    )]);
    let lost = [
        displaced("a", "aws", "east", "web", 0),
        displaced("b", "aws", "east", "web", 0),
        displaced("c", "aws", "east", "web", 0),
    ];
    let mut view = view(&[("aws", "west", 9), ("aws", "north", 9), ("gcp", "europe", 9)], &[("aws", "east")]);
    view.occupied.insert("web".into(), vec![loc("aws", "north")]);
    let decisions = choose_placements(&lost, &policies, &view);
    assert_eq!(
        moves(&decisions),
        BTreeMap::from([("a".into(), "aws/west".into()), ("b".into(), "gcp/europe".into())]),
        "north already holds one, west takes one, europe the next"
    );
    assert!(degraded(&decisions)["c"].contains("anti-affinity"));
}

#[test]
fn a_template_without_a_policy_is_degraded_with_the_reason() {
    let decisions =
        choose_placements(&[displaced("a", "aws", "east", "batch", 0)], &BTreeMap::new(), &PlacementView::default());
    assert_eq!(degraded(&decisions)["a"], "template `batch` has no failover policy");
}
