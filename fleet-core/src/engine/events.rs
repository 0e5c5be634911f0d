//! What the engine tells the world: typed events on a broadcast channel, and the report of a
//! reconcile pass.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::Location;
use crate::plan::Summary;
use crate::{ClusterId, ClusterIdentity, KubernetesVersion, ProviderName, Region};

/// Something that happened in the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
#[non_exhaustive]
pub enum EngineEvent {
    /// A pass ended, with what it did (every pass: [`Engine::run`](super::Engine::run)'s and
    /// [`Engine::run_once`](super::Engine::run_once)'s).
    PassCompleted {
        /// What it did.
        report: Box<ReconcileReport>,
    },
    /// A pass failed as a whole (a store that did not answer, say); [`Engine::run`](super::Engine::run)
    /// tries again on its next pass.
    PassFailed {
        /// Why.
        reason: String,
    },
    /// A pass computed its plan.
    PlanComputed {
        /// Its counts.
        summary: Summary,
    },
    /// An action began.
    ActionStarted {
        /// The cluster.
        cluster: ClusterId,
        /// `create`, `update`, `replace` or `delete`.
        action: &'static str,
    },
    /// An action finished.
    ActionSucceeded {
        /// The cluster.
        cluster: ClusterId,
        /// The action.
        action: &'static str,
    },
    /// A call failed; `retry_in` says when it is tried again, `None` when it is not.
    ActionFailed {
        /// The cluster.
        cluster: ClusterId,
        /// The action.
        action: &'static str,
        /// Why.
        error: String,
        /// When the next attempt is, if any.
        retry_in: Option<Duration>,
    },
    /// A cluster reached `Running`.
    ClusterReady {
        /// The cluster.
        cluster: ClusterId,
    },
    /// A cluster found at a provider with this fleet's tags was taken into the store.
    ClusterAdopted {
        /// The cluster.
        cluster: ClusterId,
    },
    /// A cluster no spec wants was deleted after its grace period.
    GarbageCollected {
        /// The cluster.
        cluster: ClusterId,
    },
    /// A cluster's time to live ends soon.
    ExpiringSoon {
        /// The logical cluster.
        identity: ClusterIdentity,
        /// How long it has left.
        remaining: Duration,
    },
    /// A cluster's time to live ended: it is deleted and not created again.
    ClusterExpired {
        /// The logical cluster.
        identity: ClusterIdentity,
    },
    /// A cluster became the active placement of its identity.
    PlacementSwitched {
        /// The logical cluster.
        identity: ClusterIdentity,
        /// The cluster now serving it.
        cluster: ClusterId,
        /// Where that cluster runs.
        location: Location,
        /// The placement's generation after the switch.
        generation: u64,
    },
    /// A new cluster failed the health gate: the rollout of its version stops, the old
    /// clusters keep serving.
    RolloutHalted {
        /// The blueprint version rolled out.
        version: String,
        /// The new cluster that failed (deleted since).
        cluster: ClusterId,
        /// Why it failed.
        reason: String,
    },
    /// A cluster's add-ons were installed and something changed.
    AddonsApplied {
        /// The cluster.
        cluster: ClusterId,
        /// Objects applied.
        applied: usize,
        /// Objects pruned.
        pruned: usize,
    },
    /// A cluster's add-ons could not be installed (its API server unreachable over the
    /// configured route, credentials refused, a manifest refused, ...). A new cluster stays
    /// inactive, and a cluster it replaces keeps serving, until they are; installing is tried
    /// again on the next passes when the failure is transient.
    AddonsFailed {
        /// The cluster.
        cluster: ClusterId,
        /// Why, naming the endpoint and route when it was not reached.
        reason: String,
    },
    /// An add-on object's live state differs from its manifest.
    AddonDrift {
        /// The cluster.
        cluster: ClusterId,
        /// The object, e.g. `Deployment.apps shop/web`.
        object: String,
        /// The fields that differ.
        fields: Vec<String>,
        /// Whether it was corrected.
        corrected: bool,
    },
    /// A provider could not be observed; its clusters were left alone this pass.
    ProviderUnavailable {
        /// The provider.
        provider: ProviderName,
        /// Why.
        error: String,
    },
    /// One region of a provider could not be observed; its clusters were left alone this
    /// pass, and the provider's other regions were reconciled.
    RegionUnavailable {
        /// The provider.
        provider: ProviderName,
        /// The region.
        region: Region,
        /// Why.
        error: String,
    },
    /// A cluster runs a Kubernetes version ahead of its spec's (its provider upgraded it); it
    /// is adopted at that version, never downgraded or replaced.
    VersionAhead {
        /// The cluster.
        cluster: ClusterId,
        /// The spec's version.
        spec: KubernetesVersion,
        /// The version it runs.
        running: KubernetesVersion,
    },
}

/// What one reconcile pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// The plan's counts.
    pub planned: Summary,
    /// Actions that completed.
    pub succeeded: usize,
    /// Actions that failed for good, with the reason.
    pub failed: BTreeMap<ClusterId, String>,
    /// Clusters adopted from the providers.
    pub adopted: usize,
    /// Unresolved intents found from an earlier run and settled.
    pub recovered_intents: usize,
    /// Deletes held back by the garbage-collection grace period.
    pub awaiting_grace: usize,
    /// Actions held back because their cluster cannot be reached (its region or provider is
    /// down); they run once it can be.
    pub unreachable: usize,
    /// Clusters whose add-ons were installed again (changed, or due for re-apply).
    pub addons_installed: usize,
    /// Replacements waiting for a later wave of their rollout.
    pub deferred: usize,
    /// Why the rollout is halted, when it is: replacements are left alone until
    /// [`crate::engine::Engine::resume_rollout`] or a new desired fleet.
    pub halted: Option<String>,
    /// Whether the fleet matched its spec when the pass began (nothing to do).
    pub converged: bool,
}

/// Counts for a progress display: clusters by phase, actions pending, budget used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Progress {
    /// Observed clusters by phase name.
    pub phases: BTreeMap<String, usize>,
    /// Actions started but not finished.
    pub actions_in_flight: usize,
    /// Calls made per provider.
    pub calls: BTreeMap<ProviderName, CallsMade>,
}

/// Calls made to one provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CallsMade {
    /// Read calls.
    pub reads: u64,
    /// Write calls.
    pub writes: u64,
}

impl CallsMade {
    /// `reads` read calls and `writes` write calls.
    pub fn new(reads: u64, writes: u64) -> Self {
        Self { reads, writes }
    }
}

/// The API budget an engine keeps to for one provider.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ApiBudget {
    /// Its rate limits.
    pub limits: crate::RateLimits,
    /// How many operations run at once.
    pub concurrency: usize,
}
