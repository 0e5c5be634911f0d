//! Failover readiness: before any outage, whether each template's clusters could be recreated
//! at their fallbacks, and how fast.
//!
//! For every place that runs clusters of a template with a failover policy, two outages are
//! judged: the loss of that region, and the loss of its whole provider. Each outage displaces
//! the clusters there; [`choose_placements`] (what the failover controller decides with)
//! places them under the providers' room, higher priorities first, passing over any place whose
//! provider would refuse the moved cluster (a Kubernetes version it does not offer there, a
//! setting it does not apply, a system node pool it needs), as the controller does; each move's
//! add-on manifests must parse. A template is ready for an outage when
//! every one of its clusters has a move that passes, and its expected recovery time (detection,
//! then each create waiting for its provider's write budget and operation slots, as the
//! failover report's lower bound counts them, and for the waves its template's `maxParallel`
//! makes) is compared with its recovery objective.
//!
//! [`readiness`] is pure; [`ProviderFacts::gather`] asks live providers for what it needs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::lower_bound::earliest_finishes;
use super::placement::{Decision, Displaced, PlacementView, choose_placements};
use crate::addons::AddonSet;
use crate::fleet_spec::{DesiredCluster, DesiredFleet, FailoverPolicy};
use crate::{
    ClusterIdentity, ClusterProvider, Location, ProviderInfo, ProviderName, RateLimit, Region, Result, Room,
    format_duration, serde_duration, serde_opt_duration,
};

/// What readiness knows of one provider: its info (regions, offered versions, latency) and the
/// room of each region, with the write budget and operation slots its creates wait for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProviderFacts {
    /// The provider's info, with its offered versions.
    pub info: ProviderInfo,
    /// Room per region; a region missing here has room without limit (unknown).
    pub room: BTreeMap<Region, Room>,
    /// The write budget creates wait for.
    pub writes: RateLimit,
    /// Operations at once.
    pub concurrency: usize,
}

impl ProviderFacts {
    /// Facts of a provider with `info`: no room reported, its own write limit, 16 operations
    /// at once (the engine's default).
    pub fn new(info: ProviderInfo) -> Self {
        let writes = info.rate_limits.writes;
        Self { info, room: BTreeMap::new(), writes, concurrency: 16 }
    }

    /// Sets the room of `region`.
    pub fn with_room(mut self, region: Region, room: Room) -> Self {
        self.room.insert(region, room);
        self
    }

    /// Sets the write budget and operations at once (as the engine's budget for the provider).
    pub fn with_budget(mut self, writes: RateLimit, concurrency: usize) -> Self {
        self.writes = writes;
        self.concurrency = concurrency.max(1);
        self
    }

    /// Asks each provider for its offered versions and the room of each of its regions.
    ///
    /// # Errors
    /// The first error a provider answered, naming it.
    pub async fn gather(providers: &[Arc<dyn ClusterProvider>]) -> Result<BTreeMap<ProviderName, ProviderFacts>> {
        use crate::ClusterProviderExt;
        let mut facts = BTreeMap::new();
        for provider in providers {
            let mut known = ProviderFacts::new(provider.info_with_offered_versions().await);
            for region in known.info.regions.clone() {
                if let Some(room) = provider.room(&region).await? {
                    known.room.insert(region, room);
                }
            }
            facts.insert(known.info.name.clone(), known);
        }
        Ok(facts)
    }
}

/// An outage readiness is judged against.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "lost", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Outage {
    /// One region of one provider is lost.
    Region {
        /// The place lost.
        location: Location,
    },
    /// A whole provider is lost.
    Provider {
        /// The provider lost.
        provider: ProviderName,
    },
}

impl Outage {
    /// Whether `place` is lost in this outage.
    pub fn loses(&self, place: &Location) -> bool {
        match self {
            Outage::Region { location } => location == place,
            Outage::Provider { provider } => *provider == place.provider,
        }
    }
}

impl fmt::Display for Outage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outage::Region { location } => write!(f, "loss of {location}"),
            Outage::Provider { provider } => write!(f, "loss of {provider}"),
        }
    }
}

/// Whether one template recovers from one outage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OutageReadiness {
    /// The outage.
    pub outage: Outage,
    /// The template's clusters it displaces.
    pub displaced: usize,
    /// Where they would go, and how many to each place (in JSON keyed `provider/region`).
    #[serde(serialize_with = "by_place")]
    pub moves: BTreeMap<Location, usize>,
    /// Why it is not ready, one reason per problem (empty when ready).
    pub reasons: Vec<String>,
    /// From the first failed check until the last moved cluster could serve, at the earliest;
    /// `None` when nothing can move.
    #[serde(with = "serde_opt_duration")]
    pub expected_recovery: Option<Duration>,
}

impl OutageReadiness {
    /// Whether every displaced cluster has a place that takes it.
    pub fn is_ready(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// Whether one template recovers from every outage judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TemplateReadiness {
    /// The template.
    pub template: String,
    /// Its recovery time objective.
    #[serde(with = "serde_duration")]
    pub objective: Duration,
    /// Each outage that displaces some of its clusters.
    pub outages: Vec<OutageReadiness>,
}

impl TemplateReadiness {
    /// Whether it recovers from every outage.
    pub fn is_ready(&self) -> bool {
        self.outages.iter().all(OutageReadiness::is_ready)
    }

    /// Whether every expected recovery is within the objective (an outage it cannot recover
    /// from does not meet it).
    pub fn meets_objective(&self) -> bool {
        self.outages.iter().all(|o| o.is_ready() && o.expected_recovery.is_some_and(|t| t <= self.objective))
    }
}

/// The readiness of a fleet: every template with a failover policy that has clusters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Readiness {
    /// By template name.
    pub templates: Vec<TemplateReadiness>,
}

impl Readiness {
    /// The readiness of `template`, if it has clusters and a policy.
    pub fn template(&self, template: &str) -> Option<&TemplateReadiness> {
        self.templates.iter().find(|t| t.template == template)
    }
}

/// A table: a line per template and outage, then the reasons.
impl fmt::Display for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<24} {:<28} {:>9} {:>10} {:>10}  verdict",
            "template", "outage", "displaced", "expected", "objective"
        )?;
        for template in &self.templates {
            for outage in &template.outages {
                let expected = outage.expected_recovery.map_or_else(|| "-".to_owned(), format_duration);
                let verdict = match (outage.is_ready(), outage.expected_recovery) {
                    (false, _) => "not ready",
                    (true, Some(t)) if t > template.objective => "ready, misses objective",
                    (true, _) => "ready",
                };
                writeln!(
                    f,
                    "{:<24} {:<28} {:>9} {:>10} {:>10}  {verdict}",
                    template.template,
                    outage.outage.to_string(),
                    outage.displaced,
                    expected,
                    format_duration(template.objective),
                )?;
                for reason in &outage.reasons {
                    writeln!(f, "    - {reason}")?;
                }
            }
        }
        Ok(())
    }
}

/// Judges whether `desired`'s templates recover from every single-region and single-provider
/// outage under their `policies`, given what `providers` offer; `detection` is how long a loss
/// takes to be judged ([`super::FailoverOptions::detection_time`]).
pub fn readiness(
    desired: &DesiredFleet,
    policies: &BTreeMap<String, FailoverPolicy>,
    providers: &BTreeMap<ProviderName, ProviderFacts>,
    detection: Duration,
) -> Readiness {
    let covered: Vec<&DesiredCluster> = desired.clusters.iter().filter(|c| policies.contains_key(&c.origin)).collect();
    let places: BTreeSet<Location> = covered.iter().map(|c| Location::of_spec(&c.spec)).collect();
    let lost_providers: BTreeSet<ProviderName> = places.iter().map(|l| l.provider.clone()).collect();
    let outages = places
        .into_iter()
        .map(|location| Outage::Region { location })
        .chain(lost_providers.into_iter().map(|provider| Outage::Provider { provider }));
    let mut by_template: BTreeMap<String, Vec<OutageReadiness>> = BTreeMap::new();
    for outage in outages {
        for (template, judged) in judge_outage(&outage, &covered, policies, providers, detection) {
            by_template.entry(template).or_default().push(judged);
        }
    }
    Readiness {
        templates: by_template
            .into_iter()
            .map(|(template, outages)| {
                let objective = policies.get(&template).map_or(Duration::ZERO, |p| p.rto);
                TemplateReadiness { template, objective, outages }
            })
            .collect(),
    }
}

/// Each template's readiness for `outage`, for the templates it displaces clusters of.
fn judge_outage(
    outage: &Outage,
    covered: &[&DesiredCluster],
    policies: &BTreeMap<String, FailoverPolicy>,
    providers: &BTreeMap<ProviderName, ProviderFacts>,
    detection: Duration,
) -> BTreeMap<String, OutageReadiness> {
    let (hit, spared): (Vec<&DesiredCluster>, Vec<&DesiredCluster>) =
        covered.iter().copied().partition(|c| outage.loses(&Location::of_spec(&c.spec)));
    let displaced: Vec<Displaced> =
        hit.iter().map(|c| Displaced::new(c.spec.clone(), c.origin.clone(), c.priority)).collect();
    let view = placement_view(outage, &hit, &spared, policies, providers);
    let decisions = choose_placements(&displaced, policies, &view);
    let by_identity: BTreeMap<ClusterIdentity, &DesiredCluster> = hit.iter().map(|c| (c.spec.identity(), *c)).collect();

    let mut judged: BTreeMap<String, OutageReadiness> = BTreeMap::new();
    for cluster in &hit {
        let entry = judged.entry(cluster.origin.clone()).or_insert_with(|| OutageReadiness {
            outage: outage.clone(),
            displaced: 0,
            moves: BTreeMap::new(),
            reasons: Vec::new(),
            expected_recovery: None,
        });
        entry.displaced += 1;
    }
    // Creates per target provider, in decision order (higher priorities first), for the
    // budget each waits for, with their wave: a template moves at most `max_parallel` clusters
    // at once, its later moves waiting for a batch to finish.
    let mut creates: BTreeMap<ProviderName, Vec<(String, u32)>> = BTreeMap::new();
    let mut moved: BTreeMap<&str, usize> = BTreeMap::new();
    for decision in &decisions {
        match decision {
            Decision::Degraded { identity, reason } => {
                let Some(cluster) = by_identity.get(identity) else { continue };
                if let Some(entry) = judged.get_mut(&cluster.origin) {
                    entry.reasons.push(format!("`{identity}`: {reason}"));
                }
            }
            Decision::Move { identity, to, .. } => {
                let Some(cluster) = by_identity.get(identity) else { continue };
                let Some(entry) = judged.get_mut(&cluster.origin) else { continue };
                // Placement checked the provider would take the spec; its add-ons must parse.
                if let Err(err) = AddonSet::parse(&cluster.addons) {
                    entry.reasons.push(format!("`{identity}` at {to}: its add-ons do not apply: {err}"));
                    continue;
                }
                *entry.moves.entry(to.clone()).or_default() += 1;
                let order = moved.entry(cluster.origin.as_str()).or_default();
                let parallel = policies.get(&cluster.origin).map_or(1, |p| p.max_parallel.max(1));
                let wave = u32::try_from(*order / parallel).unwrap_or(u32::MAX);
                *order += 1;
                creates.entry(to.provider.clone()).or_default().push((cluster.origin.clone(), wave));
            }
        }
    }
    for (provider, templates) in creates {
        let Some(facts) = providers.get(&provider) else { continue };
        let finishes = earliest_finishes(templates.len(), facts.writes, facts.concurrency, facts.info.latency.create);
        for ((template, wave), finish) in templates.into_iter().zip(finishes) {
            if let Some(entry) = judged.get_mut(&template) {
                let recovery = detection + facts.info.latency.create.saturating_mul(wave) + finish;
                entry.expected_recovery = Some(entry.expected_recovery.map_or(recovery, |t| t.max(recovery)));
            }
        }
    }
    judged
}

/// What the controller would place with: room at every fallback place (as reported, else
/// without limit), the lost places, and where each template's spared clusters run.
fn placement_view(
    outage: &Outage,
    hit: &[&DesiredCluster],
    spared: &[&DesiredCluster],
    policies: &BTreeMap<String, FailoverPolicy>,
    providers: &BTreeMap<ProviderName, ProviderFacts>,
) -> PlacementView {
    let mut view = PlacementView::default();
    for policy in policies.values() {
        for fallback in &policy.fallbacks {
            for region in &fallback.regions {
                let place = Location::new(fallback.provider.clone(), region.clone());
                let room = providers.get(&fallback.provider).map_or(Room { clusters: 0, nodes: 0 }, |facts| {
                    facts.room.get(region).copied().unwrap_or_else(Room::unlimited)
                });
                view.room.insert(place, room);
            }
        }
    }
    // As the controller judges it: the lost region; or the lost provider, with each of its
    // regions that ran clusters judged lost too (all of their clusters fail).
    match outage {
        Outage::Region { location } => {
            view.lost.insert(location.clone());
        }
        Outage::Provider { provider } => {
            view.lost.extend(hit.iter().map(|c| Location::of_spec(&c.spec)));
            view.lost_providers.insert(provider.clone());
        }
    }
    view.offers = providers.iter().map(|(name, facts)| (name.clone(), facts.info.clone())).collect();
    for cluster in spared {
        view.occupied.entry(cluster.origin.clone()).or_default().push(Location::of_spec(&cluster.spec));
    }
    view
}

/// Moves per place as a JSON object keyed `provider/region`.
fn by_place<S: serde::Serializer>(
    moves: &BTreeMap<Location, usize>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_map(moves.iter().map(|(place, count)| (place.to_string(), count)))
}
