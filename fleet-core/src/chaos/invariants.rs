//! What must hold in every chaos run, checked after every step and once the fleet converges.

use std::collections::{BTreeMap, BTreeSet};

use crate::sim::{CallOutcome, Operation, SimCloud};
use crate::store::RecordKind;
use crate::store::StateStore;
use crate::{ClusterId, ClusterIdentity, FleetName, FleetTags, Result};

/// Events of record that announce a new cluster for an identity on failover.
const FAILOVER_CREATES: [RecordKind; 2] = [RecordKind::FailoverStarted, RecordKind::FailoverFailingBack];

/// A placement switch seen on the engine's events: identity, new active cluster, generation.
pub type Switch = (ClusterIdentity, ClusterId, u64);

/// The invariants of one chaos run and what is needed to judge them. Public so that other
/// stores (several replicas on etcd, say) run the same checks.
#[derive(Debug)]
pub struct Invariants {
    fleet: FleetName,
    /// Clusters no Fleet call may change: untagged, or another fleet's.
    foreign: BTreeSet<ClusterId>,
    /// Creates each identity may have caused so far (adds and replacing spec changes; failovers
    /// are counted from the store).
    allowed_creates: BTreeMap<ClusterIdentity, u64>,
    /// How many checks were made.
    checks: u64,
}

impl Invariants {
    /// The invariants of `fleet`, whose runs must never change the `foreign` clusters.
    pub fn new(fleet: FleetName, foreign: BTreeSet<ClusterId>) -> Self {
        Self { fleet, foreign, allowed_creates: BTreeMap::new(), checks: 0 }
    }

    /// `identity` may be created once more (it was added, or changed in a way that replaces it).
    pub fn allow_create(&mut self, identity: &ClusterIdentity) {
        *self.allowed_creates.entry(identity.clone()).or_default() += 1;
    }

    /// How many checks were made.
    pub fn checks(&self) -> u64 {
        self.checks
    }

    fn check(&mut self, holds: bool, what: impl FnOnce() -> String) -> std::result::Result<(), String> {
        self.checks += 1;
        if holds { Ok(()) } else { Err(what()) }
    }

    /// The checks that hold at every moment, given the placement switches heard so far; the
    /// outer error is the store's, the inner one a broken invariant.
    pub async fn check_always(
        &mut self,
        clouds: &[SimCloud],
        store: &dyn StateStore,
        switches: &[Switch],
    ) -> Result<std::result::Result<(), String>> {
        let failovers = failover_creates(store).await?;
        Ok(self.check_calls(clouds).and_then(|()| self.check_creates(clouds, &failovers)).and_then(|()| {
            self.check_foreign_intact(clouds)?;
            self.check_switches(switches)
        }))
    }

    /// No call over the API budget; no call that changes a foreign cluster.
    fn check_calls(&mut self, clouds: &[SimCloud]) -> std::result::Result<(), String> {
        for cloud in clouds {
            for call in cloud.call_log() {
                self.check(call.outcome != CallOutcome::OverBudget, || {
                    format!("no call over the API budget: {} refused call {call}", cloud.info().name)
                })?;
                let changes = !matches!(call.operation, Operation::Get | Operation::List | Operation::Room);
                let foreign = call.cluster.as_ref().is_some_and(|id| self.foreign.contains(id));
                self.check(!(changes && foreign), || {
                    format!("never a change to an untagged or foreign cluster: {} saw {call}", cloud.info().name)
                })?;
            }
        }
        Ok(())
    }

    /// No identity got more clusters than its adds, replacing changes and failovers call for.
    fn check_creates(
        &mut self,
        clouds: &[SimCloud],
        failovers: &BTreeMap<ClusterIdentity, u64>,
    ) -> std::result::Result<(), String> {
        let mut created: BTreeMap<ClusterIdentity, Vec<String>> = BTreeMap::new();
        for cloud in clouds {
            for creation in cloud.creations().into_iter().filter(|c| c.fleet == self.fleet) {
                let at = format!("`{}` at {} ({:.1}s)", creation.cluster, cloud.info().name, creation.at.as_secs_f64());
                created.entry(creation.identity).or_default().push(at);
            }
        }
        for (identity, creations) in created {
            let allowed = self.allowed_creates.get(&identity).copied().unwrap_or(0)
                + failovers.get(&identity).copied().unwrap_or(0);
            self.check(creations.len() as u64 <= allowed, || {
                format!(
                    "no duplicate create: `{identity}` was created {} times, its changes and failovers allow \
                     {allowed}: {}",
                    creations.len(),
                    creations.join(", ")
                )
            })?;
        }
        Ok(())
    }

    /// Every foreign cluster is still there.
    fn check_foreign_intact(&mut self, clouds: &[SimCloud]) -> std::result::Result<(), String> {
        let present: BTreeSet<ClusterId> = clouds.iter().flat_map(|c| c.clusters()).map(|c| c.id).collect();
        let missing: Vec<ClusterId> = self.foreign.difference(&present).cloned().collect();
        self.check(missing.is_empty(), || format!("foreign clusters are never deleted: {missing:?} are gone"))
    }

    /// Each generation of an identity's placement made one cluster active, and no switch made
    /// the active cluster active again: never two active clusters for one identity, whichever
    /// order the switches were heard in (several processes may report them).
    fn check_switches(&mut self, switches: &[Switch]) -> std::result::Result<(), String> {
        let mut by_identity: BTreeMap<&ClusterIdentity, Vec<(u64, &ClusterId)>> = BTreeMap::new();
        for (identity, cluster, generation) in switches {
            by_identity.entry(identity).or_default().push((*generation, cluster));
        }
        for (identity, mut history) in by_identity {
            history.sort();
            for pair in history.windows(2) {
                let ((before, was), (after, now)) = (pair[0], pair[1]);
                self.check(before < after && was != now, || {
                    format!(
                        "never two active placements: `{identity}` switched to `{was}` at generation {before} and \
                         to `{now}` at generation {after}"
                    )
                })?;
            }
        }
        Ok(())
    }

    /// The checks of a converged fleet (`desired`, after failover moves): exactly one cluster per
    /// wanted identity, running or hibernated as its spec asks, each
    /// its identity's active placement and known to the store; no unresolved intent.
    pub async fn check_converged(
        &mut self,
        clouds: &[SimCloud],
        store: &dyn StateStore,
        desired: &crate::fleet_spec::DesiredFleet,
    ) -> Result<std::result::Result<(), String>> {
        let wanted: BTreeMap<ClusterIdentity, bool> =
            desired.specs().map(|spec| (spec.identity(), spec.hibernated)).collect();
        let ours: Vec<crate::Cluster> = clouds
            .iter()
            .flat_map(|cloud| cloud.clusters())
            .filter(|c| FleetTags::belongs_to(&c.tags, &self.fleet))
            .collect();
        let observed: BTreeSet<ClusterId> = store.observed().await?.into_iter().map(|c| c.id).collect();
        let pending = store.pending_intents().await?;
        let placements: BTreeMap<ClusterIdentity, crate::store::Placement> =
            store.placements().await?.into_iter().map(|p| (p.identity.clone(), p)).collect();
        let result = (|| {
            let physical: BTreeSet<ClusterId> = ours.iter().map(|c| c.id.clone()).collect();
            let orphans: Vec<&ClusterId> = physical.difference(&observed).collect();
            self.check(orphans.is_empty(), || {
                format!("no orphan: {orphans:?} exist but the store does not know them")
            })?;
            let mut identities: BTreeMap<ClusterIdentity, Vec<&crate::Cluster>> = BTreeMap::new();
            for cluster in &ours {
                let identity =
                    cluster.fleet_tags().map_or_else(|| ClusterIdentity::of(&cluster.id), |tags| tags.identity);
                identities.entry(identity).or_default().push(cluster);
            }
            let held: BTreeSet<&ClusterIdentity> = identities.keys().collect();
            let asked: BTreeSet<&ClusterIdentity> = wanted.keys().collect();
            self.check(held == asked, || {
                format!("the fleet converges to what is wanted: providers hold {held:?}, the spec wants {asked:?}")
            })?;
            for (identity, clusters) in &identities {
                let names: Vec<&ClusterId> = clusters.iter().map(|c| &c.id).collect();
                self.check(clusters.len() == 1, || format!("one cluster per identity: `{identity}` has {names:?}"))?;
                let cluster = clusters[0];
                let hibernated = wanted.get(identity).copied().unwrap_or(false);
                let settled = if hibernated {
                    cluster.phase == crate::ClusterPhase::Hibernated
                } else {
                    cluster.phase.is_running()
                };
                self.check(settled, || {
                    let wants = if hibernated { "hibernated" } else { "running" };
                    format!(
                        "a converged cluster is as its spec asks: `{}` is {}, wanted {wants}",
                        cluster.id, cluster.phase
                    )
                })?;
                let active = placements.get(identity).and_then(|p| p.active.as_ref());
                self.check(active.is_some_and(|a| a.cluster == cluster.id), || {
                    format!("`{}` is the active placement of `{identity}`: the store has {active:?}", cluster.id)
                })?;
            }
            self.check(pending.is_empty(), || {
                let ids: Vec<_> = pending.iter().map(|i| (i.id, i.intent.cluster.to_string())).collect();
                format!("every intent is resolved: {ids:?} are not")
            })?;
            self.check_foreign_intact(clouds)
        })();
        Ok(result)
    }
}

/// Clusters each identity's failovers called for, from the store's events of record.
async fn failover_creates(store: &dyn StateStore) -> Result<BTreeMap<ClusterIdentity, u64>> {
    let mut counts = BTreeMap::new();
    for event in store.events_after(0).await? {
        if FAILOVER_CREATES.contains(&event.kind)
            && let Some(identity) = event.identity()
        {
            *counts.entry(identity).or_default() += 1;
        }
    }
    Ok(counts)
}
