//! What the engine remembers between passes and between its tasks, behind one lock.
//!
//! One mutex guards all of it ([`EngineInner::state`](super::EngineInner::state)): every use is
//! short (a lookup, an insert, a copy for admission), none is held across an `.await`, and none
//! calls out of the engine while holding it, so one lock costs no concurrency, and admission
//! reads failures, grace timers, actions in flight and the rollout at one moment. The API
//! budgets keep locks of their own (`budget.rs`): a call waiting for its provider's token must
//! not hold up another provider's calls, or the pass.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::time::Instant;

use super::{addons, rollout, version_ahead};
use crate::fleet_spec::{DesiredCluster, DesiredFleet};
use crate::{Cluster, ClusterId, ClusterIdentity, FleetName};

/// The engine's state between passes.
pub(crate) struct EngineState {
    /// What the engine wants: `base` with the accepted `environments` beside it (`base`
    /// itself, shared, when there are none).
    pub(crate) desired: Arc<DesiredFleet>,
    /// The desired fleet as last set ([`Engine::set_desired`](super::Engine::set_desired)).
    pub(crate) base: Arc<DesiredFleet>,
    /// The accepted self-service environments' clusters, as last read from the store.
    pub(crate) environments: Vec<DesiredCluster>,
    /// When each unwanted cluster was first seen unwanted (for the GC grace period).
    pub(crate) unwanted_since: BTreeMap<ClusterId, Instant>,
    /// Clusters whose last action failed for good: the error, and the blueprint version it
    /// was for.
    pub(crate) failed: BTreeMap<ClusterId, (String, String)>,
    /// Per cluster, updates in a row that reported success without taking.
    pub(crate) updates_not_taken: BTreeMap<ClusterId, u32>,
    /// Clusters an action or an add-on install runs on.
    pub(crate) in_flight: BTreeSet<ClusterId>,
    /// Identities whose TTL ended (from the store's `cluster_expired` events of record), once
    /// read.
    pub(crate) expired: Option<BTreeSet<ClusterIdentity>>,
    /// Identities already warned of their expiry.
    pub(crate) warned: BTreeSet<ClusterIdentity>,
    /// Clusters reported ahead of their spec, with the version they were reported at.
    pub(crate) versions_ahead: version_ahead::Reported,
    /// What the last pass observed.
    pub(crate) last_observed: Arc<Vec<Cluster>>,
    /// The rollout of the desired fleet as last set.
    pub(crate) rollout: rollout::Rollout,
    /// Which add-on set each cluster got, and when.
    pub(crate) installed: addons::Installed,
    /// The objects (and fields) that had drifted at each cluster's last add-on install.
    pub(crate) drift: BTreeMap<ClusterId, Vec<String>>,
    /// Ownership as judged first in this pass, so that one pass sees one split of the fleet.
    pub(crate) owned_this_pass: BTreeMap<ClusterIdentity, bool>,
    /// What the engine read from the store, kept while the store does not change.
    pub(crate) store_reads: super::store_reads::StoreReads,
    /// The cluster gauges set so far, by provider and phase (see [`crate::telemetry::CLUSTERS`]).
    pub(crate) cluster_gauges: crate::telemetry::ClusterGauges,
}

impl EngineState {
    /// The state of a new engine of `fleet`: nothing wanted, nothing seen.
    pub(crate) fn new(fleet: &FleetName) -> Self {
        Self {
            desired: Arc::new(DesiredFleet::new(fleet.clone(), Vec::new())),
            base: Arc::new(DesiredFleet::new(fleet.clone(), Vec::new())),
            environments: Vec::new(),
            unwanted_since: BTreeMap::new(),
            failed: BTreeMap::new(),
            updates_not_taken: BTreeMap::new(),
            in_flight: BTreeSet::new(),
            expired: None,
            warned: BTreeSet::new(),
            versions_ahead: BTreeMap::new(),
            last_observed: Arc::new(Vec::new()),
            rollout: rollout::Rollout::default(),
            installed: BTreeMap::new(),
            drift: BTreeMap::new(),
            owned_this_pass: BTreeMap::new(),
            store_reads: super::store_reads::StoreReads::default(),
            cluster_gauges: crate::telemetry::ClusterGauges::default(),
        }
    }
}
