//! Choosing where lost clusters go: ordered fallbacks per template, anti-affinity, capacity
//! and quotas, higher priority first. Pure: the caller supplies what is free and what is lost.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::refusals::refusals;
use crate::fleet_spec::{AntiAffinity, FailoverPolicy};
use crate::{ClusterIdentity, ClusterSpec, Location, ProviderInfo, ProviderName, Room, relocate};

/// A cluster to place: its spec where it was, its template and its priority.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Displaced {
    /// The cluster as it was.
    pub spec: ClusterSpec,
    /// Its template (whose policy applies).
    pub template: String,
    /// Higher goes first.
    pub priority: i32,
}

impl Displaced {
    /// A displaced cluster.
    pub fn new(spec: ClusterSpec, template: impl Into<String>, priority: i32) -> Self {
        Self { spec, template: template.into(), priority }
    }
}

/// Where one displaced cluster goes, or why it cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Decision {
    /// Recreate it here.
    Move {
        /// The logical cluster.
        identity: ClusterIdentity,
        /// Where it was.
        from: Location,
        /// Where it goes.
        to: Location,
        /// Its spec at the new place: same blueprint version, size classes left for the new
        /// provider to map.
        spec: Box<ClusterSpec>,
    },
    /// It cannot be placed now.
    Degraded {
        /// The logical cluster.
        identity: ClusterIdentity,
        /// Why, naming every fallback considered.
        reason: String,
    },
}

/// The inputs of a placement decision besides the displaced clusters.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PlacementView {
    /// Free room per place.
    pub room: BTreeMap<Location, Room>,
    /// Places judged lost.
    pub lost: BTreeSet<Location>,
    /// Providers judged lost.
    pub lost_providers: BTreeSet<ProviderName>,
    /// Where each template's surviving clusters run (for anti-affinity).
    pub occupied: BTreeMap<String, Vec<Location>>,
    /// What each provider offers (its info, with its offered versions): a place whose provider
    /// would refuse the moved cluster (a version it does not offer there, a setting it does
    /// not apply, a system pool it needs) is passed over, naming why. A provider missing here
    /// is not checked.
    pub offers: BTreeMap<ProviderName, ProviderInfo>,
}

/// Chooses new places for `displaced` clusters under `policies` (by template), highest priority
/// first (then by id). A cluster whose template has no policy, or whose fallbacks are all lost,
/// refused by their provider, full or excluded by anti-affinity, is [`Decision::Degraded`]
/// with the reason.
pub fn choose_placements(
    displaced: &[Displaced],
    policies: &BTreeMap<String, FailoverPolicy>,
    view: &PlacementView,
) -> Vec<Decision> {
    let mut order: Vec<&Displaced> = displaced.iter().collect();
    order.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.spec.identity().cmp(&b.spec.identity())));
    let mut room = view.room.clone();
    let mut occupied = view.occupied.clone();
    let mut decisions = Vec::new();
    for cluster in order {
        let identity = cluster.spec.identity();
        let from = Location::new(cluster.spec.provider.clone(), cluster.spec.region.clone());
        let Some(policy) = policies.get(&cluster.template) else {
            decisions.push(Decision::Degraded {
                identity,
                reason: format!("template `{}` has no failover policy", cluster.template),
            });
            continue;
        };
        let taken = occupied.entry(cluster.template.clone()).or_default();
        let mut refused = Vec::new();
        let mut chosen = None;
        'search: for fallback in &policy.fallbacks {
            for region in &fallback.regions {
                let to = Location::new(fallback.provider.clone(), region.clone());
                let why = if to == from || view.lost.contains(&to) {
                    Some("lost".to_owned())
                } else if view.lost_providers.contains(&to.provider) {
                    Some("provider lost".to_owned())
                } else if let Some(problems) = view
                    .offers
                    .get(&to.provider)
                    .map(|info| refusals(&relocate(&cluster.spec, &to), &to, info))
                    .filter(|problems| !problems.is_empty())
                {
                    Some(problems.join(", "))
                } else if match policy.anti_affinity {
                    AntiAffinity::Region => taken.contains(&to),
                    AntiAffinity::Provider => taken.iter().any(|l| l.provider == to.provider),
                    _ => false,
                } {
                    Some("anti-affinity".to_owned())
                } else {
                    let free = room.get(&to).copied().unwrap_or_default();
                    (free.clusters == 0 || free.nodes < cluster.spec.max_nodes()).then(|| "no capacity".to_owned())
                };
                match why {
                    Some(why) => refused.push(format!("{}/{}: {why}", to.provider, to.region)),
                    None => {
                        chosen = Some(to);
                        break 'search;
                    }
                }
            }
        }
        match chosen {
            Some(to) => {
                let free = room.entry(to.clone()).or_default();
                free.clusters -= 1;
                free.nodes -= cluster.spec.max_nodes();
                taken.push(to.clone());
                let spec = relocate(&cluster.spec, &to);
                decisions.push(Decision::Move { identity, from, to, spec: Box::new(spec) });
            }
            None => decisions.push(Decision::Degraded {
                identity,
                reason: if refused.is_empty() {
                    "no fallback placement is configured".into()
                } else {
                    format!("no fallback fits: {}", refused.join("; "))
                },
            }),
        }
    }
    decisions
}
