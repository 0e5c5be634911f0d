//! Deciding: what the engine wants of what it observed (its desired fleet and environments, the
//! clusters it owns, without the expired ones, moved where failover relocated them), the
//! placements that decision follows, and the plan to get there.

use std::collections::HashSet;
use std::sync::Arc;

use super::placement_view::PlacementView;
use super::{Engine, placements, store_reads};
use crate::fleet_spec::DesiredFleet;
use crate::plan::{Plan, plan};
use crate::store::ActiveCluster;
use crate::{Cluster, ClusterId, ClusterIdentity, Error, Location, Result};

/// What [`Engine::decide`] does with placements a ready cluster takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placements {
    /// Writes them (a pass).
    Activate,
    /// Works them out in memory (a dry run).
    AsTheyWouldBe,
}

impl Engine {
    /// What the engine wants of `observed` now (its desired fleet and environments, the
    /// clusters it owns, without the expired ones, moved where failover relocated them) and the
    /// plan to get there: the one decision a pass acts on and a dry run shows.
    /// `present` holds the names of the clusters observed.
    pub(super) async fn decide(
        &self,
        observed: &[Cluster],
        present: &HashSet<&ClusterId>,
        placements: Placements,
    ) -> Result<(Arc<DesiredFleet>, Plan)> {
        let inner = &self.inner;
        let mut wanted = Arc::clone(&inner.state().desired);
        if !inner.ownership.owns_everything() {
            let owned =
                wanted.clusters.iter().filter(|cluster| inner.owns(&cluster.spec.identity())).cloned().collect();
            wanted = Arc::new(DesiredFleet::new(wanted.name.clone(), owned));
        }
        let identities: HashSet<ClusterIdentity> = wanted.specs().map(crate::ClusterSpec::identity).collect();
        let read = store_reads::placements(inner).await?;
        let placements = self.placements(&read, observed, present, &identities, placements).await?;
        let desired = placements::follow_relocations(self.without_expired(wanted).await?, &placements);
        let capabilities =
            inner.slots.iter().map(|(name, slot)| (name.clone(), slot.provider.info().capabilities)).collect();
        let plan = plan(&desired, observed, &capabilities, inner.now());
        Ok((desired, plan))
    }

    /// The stored placements by identity (`present`: the names of the clusters observed), after
    /// giving every wanted identity that has a ready cluster but no placement (adopted, or
    /// created before placements were kept) one: written in `mode` [`Placements::Activate`],
    /// worked out in memory in [`Placements::AsTheyWouldBe`].
    pub(super) async fn placements<'a>(
        &self,
        read: &'a [crate::store::Placement],
        observed: &[Cluster],
        present: &HashSet<&ClusterId>,
        wanted: &HashSet<ClusterIdentity>,
        mode: Placements,
    ) -> Result<PlacementView<'a>> {
        let mut placements = PlacementView::new(read, |identity| self.inner.owns(identity));
        // An identity no spec wants whose clusters are all gone keeps no placement: the one a
        // pass stopped from releasing after its delete (a crash between the two) is released
        // now, so that the identity, if it returns, goes where its spec says.
        let identities: Vec<ClusterIdentity> = observed.iter().map(Cluster::identity).collect();
        let seen: HashSet<&ClusterIdentity> = identities.iter().collect();
        let stale: Vec<crate::store::Placement> = placements
            .values()
            .filter(|p| !wanted.contains(&p.identity) && !seen.contains(&p.identity))
            .cloned()
            .collect();
        for placement in stale {
            placements.remove(&placement.identity);
            // Removed as read: a placement written since (another writer's) is kept.
            if mode == Placements::Activate {
                match self.inner.store.remove_placement(&placement.identity, placement.generation).await {
                    Ok(()) | Err(Error::Conflict { .. }) => {}
                    Err(err) => return Err(err),
                }
            }
        }
        for (cluster, identity) in observed.iter().zip(&identities).filter(|(c, _)| c.phase.is_ready()) {
            // A placement whose active cluster is gone (deleted by a pass that stopped before
            // it could switch) is taken over by a ready cluster of its identity.
            // (Most often the active cluster is this one, which is present: no lookup then.)
            let serves = |p: &crate::store::Placement| {
                p.active.as_ref().is_some_and(|a| a.cluster == cluster.id || present.contains(&a.cluster))
            };
            if !wanted.contains(identity) || placements.get(identity).is_some_and(serves) {
                continue;
            }
            match mode {
                Placements::Activate => {
                    placements::activate(&self.inner, cluster).await?;
                    if let Some(placement) = self.inner.store.placement(identity).await? {
                        placements.insert(placement);
                    }
                }
                Placements::AsTheyWouldBe => {
                    let location = Location::of(cluster);
                    let placement = placements
                        .make_mut(identity, || crate::store::Placement::new(identity.clone(), location.clone()));
                    placements::make_active(placement, &ActiveCluster::new(cluster.id.clone(), location), true);
                }
            }
        }
        Ok(placements)
    }
}
