//! Placements: where each logical cluster is wanted, and which of its clusters is active.
//!
//! A logical cluster (an identity) is served by one cluster at a time. When failover moves it,
//! its placement records the new place first, then, once the replacement serves, the switch
//! of the active cluster. Every write names the generation it read and bumps it by one
//! (compare-and-swap), so two writers acting on the same view never both succeed: the
//! generation is the fencing token of the switch.

use serde::{Deserialize, Serialize};

use super::StateStore;
use crate::Location;
use crate::{ClusterId, ClusterIdentity, Error, Result};

/// The cluster that serves a logical cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActiveCluster {
    /// Its name at its provider.
    pub cluster: ClusterId,
    /// Where it runs.
    pub location: Location,
}

impl ActiveCluster {
    /// The active cluster `cluster` at `location`.
    pub fn new(cluster: ClusterId, location: Location) -> Self {
        Self { cluster, location }
    }
}

/// Where one logical cluster is wanted and which cluster serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Placement {
    /// The logical cluster.
    pub identity: ClusterIdentity,
    /// Where it is wanted now.
    pub location: Location,
    /// The place its spec names, while failover keeps it elsewhere (`None` when it is home).
    pub home: Option<Location>,
    /// The cluster serving it, once one does.
    pub active: Option<ActiveCluster>,
    /// Bumped by every write; 0 for a placement not yet stored.
    pub generation: u64,
}

impl Placement {
    /// A new placement of `identity` at its home `location`, not yet stored.
    pub fn new(identity: ClusterIdentity, location: Location) -> Self {
        Self { identity, location, home: None, active: None, generation: 0 }
    }

    /// Whether failover keeps it away from the place its spec names.
    pub fn is_relocated(&self) -> bool {
        self.home.as_ref().is_some_and(|home| *home != self.location)
    }
}

/// The error of a write whose generation is not the stored one.
pub(crate) fn stale_generation(identity: &ClusterIdentity, expected: u64, stored: u64) -> Error {
    Error::Conflict {
        message: format!(
            "placement of `{identity}` was written at generation {expected}, but the store holds generation {stored}"
        ),
    }
}

/// Writes are retried this often when another writer got in between.
const CONFLICT_RETRIES: usize = 8;

/// Applies `change` to the stored placement of `identity` (a new one at `location` if none is
/// stored) and writes it, re-reading and retrying when another writer got in between. `change`
/// returns `false` when nothing needs writing. Returns the placement as stored.
pub async fn update_placement(
    store: &dyn StateStore,
    identity: &ClusterIdentity,
    location: &Location,
    mut change: impl FnMut(&mut Placement) -> bool,
) -> Result<Placement> {
    let mut last_conflict = None;
    for _ in 0..CONFLICT_RETRIES {
        let stored = store.placement(identity).await?;
        let mut next = stored.clone().unwrap_or_else(|| Placement::new(identity.clone(), location.clone()));
        if !change(&mut next) && stored.is_some() {
            return Ok(next);
        }
        match store.write_placement(&next).await {
            Ok(written) => return Ok(written),
            Err(err @ Error::Conflict { .. }) => last_conflict = Some(err),
            Err(err) => return Err(err),
        }
    }
    Err(last_conflict.unwrap_or_else(|| Error::Conflict { message: format!("placement of `{identity}` is contended") }))
}

/// Ends the placement of `cluster`'s identity if `cluster`, now deleted, was its active one.
pub async fn release_placement(store: &dyn StateStore, identity: &ClusterIdentity, cluster: &ClusterId) -> Result<()> {
    for _ in 0..CONFLICT_RETRIES {
        let Some(placement) = store.placement(identity).await? else { return Ok(()) };
        if placement.active.as_ref().is_none_or(|active| active.cluster != *cluster) {
            return Ok(());
        }
        match store.remove_placement(identity, placement.generation).await {
            Err(Error::Conflict { .. }) => continue,
            other => return other,
        }
    }
    Ok(())
}
