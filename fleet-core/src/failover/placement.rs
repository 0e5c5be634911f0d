//! Choosing where lost clusters go: ordered fallbacks per template, anti-affinity, capacity
//! and quotas, higher priority first. Pure: the caller supplies what is free and what is lost.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Location;
use crate::fleet_spec::AntiAffinity;
use crate::{ClusterId, ClusterSpec, ProviderName, Region};

/// What happens when a lost region or provider comes back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum OnReturn {
    /// Clusters stay where they failed over to; the old ones are deleted.
    #[default]
    Stay,
    /// Clusters move back to their original placement.
    FailBack,
}

/// A place a template's clusters may fail over to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Fallback {
    /// The provider.
    pub provider: ProviderName,
    /// Its regions, in order of preference.
    pub regions: Vec<Region>,
}

impl Fallback {
    /// Fallback regions of `provider`.
    pub fn new(provider: ProviderName, regions: Vec<Region>) -> Self {
        Self { provider, regions }
    }
}

/// How one template's clusters fail over; in a fleet spec, a template's `failover:` block
/// (`fallbacks`, `rto`, `maxParallel`, `onReturn`; the anti-affinity is the template's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct FailoverPolicy {
    /// Places to go, in order: usually other regions of the same provider, then other providers.
    pub fallbacks: Vec<Fallback>,
    /// Spread rule the new placements must keep.
    #[serde(skip)]
    pub anti_affinity: AntiAffinity,
    /// The recovery time objective.
    #[serde(with = "crate::serde_duration", default = "default_rto")]
    pub rto: Duration,
    /// Most failovers of this template at once.
    #[serde(default = "default_max_parallel")]
    pub max_parallel: usize,
    /// What happens when the lost place returns.
    #[serde(default)]
    pub on_return: OnReturn,
}

fn default_rto() -> Duration {
    Duration::from_secs(1800)
}

fn default_max_parallel() -> usize {
    10
}

impl FailoverPolicy {
    /// A policy with these fallbacks, no anti-affinity, a 30-minute RTO, 10 in parallel, and
    /// staying put when the old place returns.
    pub fn new(fallbacks: Vec<Fallback>) -> Self {
        Self {
            fallbacks,
            anti_affinity: AntiAffinity::None,
            rto: default_rto(),
            max_parallel: default_max_parallel(),
            on_return: OnReturn::Stay,
        }
    }

    /// Sets the anti-affinity.
    pub fn with_anti_affinity(mut self, anti_affinity: AntiAffinity) -> Self {
        self.anti_affinity = anti_affinity;
        self
    }

    /// Sets the recovery time objective.
    pub fn with_rto(mut self, rto: Duration) -> Self {
        self.rto = rto;
        self
    }

    /// Sets the most failovers of the template at once (at least one).
    pub fn with_max_parallel(mut self, max_parallel: usize) -> Self {
        self.max_parallel = max_parallel.max(1);
        self
    }

    /// Sets what happens when the lost place returns.
    pub fn with_on_return(mut self, on_return: OnReturn) -> Self {
        self.on_return = on_return;
        self
    }
}

/// Free room in one place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Room {
    /// Clusters that still fit.
    pub clusters: u32,
    /// Nodes that still fit.
    pub nodes: u64,
}

impl Room {
    /// Room without limit, for places whose provider cannot tell.
    pub fn unlimited() -> Self {
        Self { clusters: u32::MAX, nodes: u64::MAX }
    }
}

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
        /// The cluster's identity.
        id: ClusterId,
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
        /// The cluster's identity.
        id: ClusterId,
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
}

/// `spec` moved to `to`: same blueprint version and settings; when the provider changes, the
/// node pools keep their abstract size classes and drop machine types the old provider named.
pub(crate) fn relocate(spec: &ClusterSpec, to: &Location) -> ClusterSpec {
    let mut spec = spec.clone();
    if spec.provider != to.provider {
        for pool in &mut spec.node_pools {
            pool.machine_type = None;
        }
    }
    spec.provider = to.provider.clone();
    spec.region = to.region.clone();
    spec
}

/// Chooses new places for `displaced` clusters under `policies` (by template), highest priority
/// first (then by id). A cluster whose template has no policy, or whose fallbacks are all lost,
/// full or excluded by anti-affinity, is [`Decision::Degraded`] with the reason.
pub fn choose_placements(
    displaced: &[Displaced],
    policies: &BTreeMap<String, FailoverPolicy>,
    view: &PlacementView,
) -> Vec<Decision> {
    let mut order: Vec<&Displaced> = displaced.iter().collect();
    order.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.spec.identity().cmp(b.spec.identity())));
    let mut room = view.room.clone();
    let mut occupied = view.occupied.clone();
    let mut decisions = Vec::new();
    for cluster in order {
        let id = cluster.spec.identity().clone();
        let from = Location::new(cluster.spec.provider.clone(), cluster.spec.region.clone());
        let Some(policy) = policies.get(&cluster.template) else {
            decisions.push(Decision::Degraded {
                id,
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
                    Some("lost")
                } else if view.lost_providers.contains(&to.provider) {
                    Some("provider lost")
                } else if match policy.anti_affinity {
                    AntiAffinity::Region => taken.contains(&to),
                    AntiAffinity::Provider => taken.iter().any(|l| l.provider == to.provider),
                    _ => false,
                } {
                    Some("anti-affinity")
                } else {
                    let free = room.get(&to).copied().unwrap_or_default();
                    (free.clusters == 0 || free.nodes < cluster.spec.max_nodes()).then_some("no capacity")
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
                decisions.push(Decision::Move { id, from, to, spec: Box::new(spec) });
            }
            None => decisions.push(Decision::Degraded {
                id,
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
