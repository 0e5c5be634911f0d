//! The engine's side of placements: desired clusters follow where failover moved them, a
//! cluster that comes to serve becomes its identity's active placement (one switch, fenced by
//! the placement's generation), and deleting the active cluster ends the placement.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::EngineInner;
use super::events::EngineEvent;
use super::placement_view::PlacementView;
use crate::fleet_spec::{DesiredCluster, DesiredFleet};
use crate::plan::{Action, DeleteReason};
use crate::store::{ActiveCluster, Placement, RecordKind, update_placement};
use crate::{Cluster, ClusterId, ClusterIdentity, Result};
use crate::{Location, relocate};

/// `desired` with every cluster that failover keeps away from its home moved to where its
/// placement wants it. A relocation holds while the spec still names the home it was moved
/// from; a spec that names another place overrides it.
pub(crate) fn follow_relocations(desired: Arc<DesiredFleet>, placements: &PlacementView<'_>) -> Arc<DesiredFleet> {
    let moved_to = |cluster: &DesiredCluster| {
        placements
            .get(&cluster.spec.identity())
            .filter(|p| p.is_relocated() && p.home.as_ref() == Some(&Location::of_spec(&cluster.spec)))
            .map(|p| &p.location)
    };
    // Most passes move nothing: the fleet is then shared, not copied.
    if !placements.values().any(Placement::is_relocated) || desired.clusters.iter().all(|c| moved_to(c).is_none()) {
        return desired;
    }
    let clusters = desired
        .clusters
        .iter()
        .map(|cluster| {
            let mut cluster = cluster.clone();
            if let Some(location) = moved_to(&cluster) {
                cluster.spec = relocate(&cluster.spec, location);
            }
            cluster
        })
        .collect();
    Arc::new(DesiredFleet::new(desired.name.clone(), clusters))
}

/// Makes `cluster`, now serving, the active placement of its identity, recording the switch;
/// the placement is where `cluster` is from now on.
pub(crate) async fn activate(engine: &EngineInner, cluster: &Cluster) -> Result<()> {
    switch(engine, cluster, true).await
}

/// Makes `cluster` the active placement of its identity until one where the placement wants
/// it serves: the active cluster changes, where the identity is wanted does not (a failover's
/// move stays in force).
pub(crate) async fn activate_meanwhile(engine: &EngineInner, cluster: &Cluster) -> Result<()> {
    switch(engine, cluster, false).await
}

/// Makes `active` the active cluster of `placement`, moving where the identity is wanted to
/// `active`'s location when `moves_placement`. Returns the active cluster it replaced (`None`
/// inside when there was none), or `None` when `active` was active already and nothing changed.
pub(crate) fn make_active(
    placement: &mut Placement,
    active: &ActiveCluster,
    moves_placement: bool,
) -> Option<Option<ActiveCluster>> {
    if placement.active.as_ref() == Some(active) {
        return None;
    }
    if moves_placement {
        let location = &active.location;
        if placement.location != *location {
            // Not the move failover asked for: the spec itself moved.
            placement.home = None;
        }
        placement.location = location.clone();
        if placement.home.as_ref() == Some(location) {
            placement.home = None;
        }
    }
    Some(placement.active.replace(active.clone()))
}

async fn switch(engine: &EngineInner, cluster: &Cluster, moves_placement: bool) -> Result<()> {
    let identity = cluster.identity();
    let location = Location::of(cluster);
    let active = ActiveCluster::new(cluster.id.clone(), location.clone());
    let mut previous = None;
    let mut switched = false;
    let written = update_placement(engine.store.as_ref(), &identity, &location, |placement| {
        match make_active(placement, &active, moves_placement) {
            Some(replaced) => {
                (switched, previous) = (true, replaced);
                true
            }
            None => {
                switched = false;
                false
            }
        }
    })
    .await?;
    // Only a write that made `cluster` active is a switch; one that found it active is not.
    if !switched || written.active.as_ref() != Some(&active) {
        return Ok(());
    }
    let was = previous.map_or_else(|| "none".to_owned(), |p| format!("`{}` at {}", p.cluster, p.location));
    let message = format!("active: `{}` at {location} (generation {}), was {was}", cluster.id, written.generation);
    engine
        .store
        .append_event(RecordKind::PlacementSwitched, Some(&identity.first_name()), &message, engine.now())
        .await?;
    engine.emit(EngineEvent::PlacementSwitched {
        identity,
        cluster: cluster.id.clone(),
        location,
        generation: written.generation,
    });
    Ok(())
}

/// For each cluster the plan deletes as superseded, the ready cluster of its identity that the
/// plan keeps (if one is), and whether that cluster is where the identity is wanted
/// (`desired`, after failover's moves): before the superseded cluster goes, its placement
/// passes to that one, for good or only meanwhile. Costs nothing when nothing is superseded.
pub(crate) fn successors(
    actions: &[Action],
    observed: &[Cluster],
    desired: &DesiredFleet,
) -> BTreeMap<ClusterId, (Cluster, bool)> {
    let superseded: BTreeSet<&ClusterId> = actions
        .iter()
        .filter_map(|action| match action {
            Action::Delete { id, reason: DeleteReason::Superseded, .. } => Some(id),
            _ => None,
        })
        .collect();
    if superseded.is_empty() {
        return BTreeMap::new();
    }
    let deleted: BTreeSet<&ClusterId> = actions
        .iter()
        .filter_map(|action| match action {
            Action::Delete { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    // The identity of each superseded cluster, as the first cluster of its name observed says.
    let mut identities: BTreeMap<&ClusterId, ClusterIdentity> = BTreeMap::new();
    for cluster in observed.iter().filter(|c| superseded.contains(&c.id)) {
        identities.entry(&cluster.id).or_insert_with(|| cluster.identity());
    }
    let mut by_identity: BTreeMap<ClusterIdentity, Vec<&ClusterId>> = BTreeMap::new();
    for (id, identity) in identities {
        by_identity.entry(identity).or_default().push(id);
    }
    let mut kept: BTreeMap<ClusterIdentity, &Cluster> = BTreeMap::new();
    for cluster in observed.iter().filter(|c| c.phase.is_ready() && !deleted.contains(&c.id)) {
        let identity = cluster.identity();
        if by_identity.contains_key(&identity) {
            kept.entry(identity).or_insert(cluster);
        }
    }
    let wanted_at: BTreeMap<ClusterIdentity, Location> = desired
        .specs()
        .filter(|spec| by_identity.contains_key(&spec.identity()))
        .map(|spec| (spec.identity(), Location::of_spec(spec)))
        .collect();
    let mut successors = BTreeMap::new();
    for (identity, ids) in &by_identity {
        let Some(kept) = kept.get(identity) else { continue };
        let in_place = wanted_at.get(identity) == Some(&Location::of(kept));
        for id in ids {
            successors.insert((*id).clone(), ((*kept).clone(), in_place));
        }
    }
    successors
}
