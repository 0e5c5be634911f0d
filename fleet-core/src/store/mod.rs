//! The state store: the engine's journal of intents, the last observed state of every cluster,
//! and events of record. [`MemoryStore`] for tests, `SqliteStore` (feature `sqlite`, on by
//! default) as the embedded default.
//!
//! Before every mutating provider call the engine records an [`Intent`]; after it, the
//! outcome. After a crash, unresolved intents say which calls may have taken effect unseen.
//! Accepted self-service environments ([`AcceptedEnvironment`]) are kept here too, until their
//! TTL ends or their team deletes them.
//! Nothing secret is ever stored: specs and observed clusters hold no credentials.

mod environment;
mod memory;
mod move_report;
mod placement;
mod record_kind;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::time::SystemTime;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use environment::AcceptedEnvironment;
pub use memory::MemoryStore;
pub use move_report::MoveReport;
pub use placement::{ActiveCluster, Placement, release_placement, update_placement};
pub use record_kind::RecordKind;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::{BlueprintVersion, Cluster, ClusterId, ClusterIdentity, ClusterSpec, Result};

/// The key of a failover move: when it started, then its identity, so that keys sort as
/// moves began.
pub(crate) fn move_key(report: &MoveReport) -> (u64, ClusterIdentity) {
    (report.started_millis(), report.identity.clone())
}

/// The mutating provider call an intent announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
#[allow(missing_docs)] // each is the `ClusterProvider` method of the same name
pub enum IntentOperation {
    Create,
    Update,
    Delete,
    Hibernate,
    Resume,
}

impl IntentOperation {
    /// Lowercase name, as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            IntentOperation::Create => "create",
            IntentOperation::Update => "update",
            IntentOperation::Delete => "delete",
            IntentOperation::Hibernate => "hibernate",
            IntentOperation::Resume => "resume",
        }
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn parse(text: &str) -> Option<Self> {
        [
            IntentOperation::Create,
            IntentOperation::Update,
            IntentOperation::Delete,
            IntentOperation::Hibernate,
            IntentOperation::Resume,
        ]
        .into_iter()
        .find(|op| op.as_str() == text)
    }
}

/// An intent about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewIntent {
    /// The cluster.
    pub cluster: ClusterId,
    /// The call.
    pub operation: IntentOperation,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    /// The spec the call works towards (none for deletes).
    pub spec: Option<ClusterSpec>,
}

impl NewIntent {
    /// An intent to call `operation` on `cluster`.
    pub fn new(cluster: ClusterId, operation: IntentOperation, attempt: u32, spec: Option<ClusterSpec>) -> Self {
        Self { cluster, operation, attempt, spec }
    }

    /// The blueprint version the call works towards.
    pub fn target_version(&self) -> Option<&BlueprintVersion> {
        self.spec.as_ref().map(|spec| &spec.blueprint_version)
    }
}

/// A recorded intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Intent {
    /// Its id, increasing in recording order.
    pub id: u64,
    /// What was announced.
    pub intent: NewIntent,
    /// When it was recorded.
    pub recorded_at: SystemTime,
    /// How it ended, once it has.
    pub outcome: Option<IntentOutcome>,
}

/// How an intent ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
#[non_exhaustive]
pub enum IntentOutcome {
    /// The call succeeded.
    Succeeded,
    /// The call failed without effect, or gave up.
    Failed {
        /// Why.
        reason: String,
    },
    /// Found unresolved after a restart and settled by observing the provider.
    Recovered {
        /// What the provider showed.
        finding: String,
    },
}

/// An event of record: what happened to the fleet, kept for audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventRecord {
    /// Position, increasing from 1.
    pub seq: u64,
    /// When.
    pub at: SystemTime,
    /// What happened.
    pub kind: RecordKind,
    /// The cluster it is about, if one, by name: a cluster's name at its provider, or for an
    /// event about a logical cluster (its expiry, placement, rollout, version or failover) the
    /// name of that identity ([`ClusterIdentity::first_name`]); see [`EventRecord::identity`].
    pub cluster: Option<ClusterId>,
    /// A human description (never a secret).
    pub message: String,
}

impl EventRecord {
    /// The logical cluster an event about one names (see [`EventRecord::cluster`]).
    pub fn identity(&self) -> Option<ClusterIdentity> {
        self.cluster.as_ref().map(ClusterIdentity::of)
    }
}

/// Where the engine keeps its journal and its last view of the fleet.
///
/// Implementations are shared by every task of an engine (`Arc<dyn StateStore>`), keep each
/// call atomic, and keep blocking work off the async threads.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Records an intent before its call, `at` the time of the caller's clock (the engine's);
    /// returns its id.
    async fn record_intent(&self, intent: NewIntent, at: SystemTime) -> Result<u64>;

    /// Records how an intent ended.
    async fn resolve_intent(&self, id: u64, outcome: IntentOutcome) -> Result<()>;

    /// Intents without an outcome, oldest first.
    async fn pending_intents(&self) -> Result<Vec<Intent>>;

    /// Every intent, oldest first (for audit and tests).
    async fn intents(&self) -> Result<Vec<Intent>>;

    /// Stores the last observation of a cluster, replacing the previous one.
    async fn put_observed(&self, cluster: &Cluster) -> Result<()>;

    /// Forgets a cluster that is gone.
    async fn remove_observed(&self, id: &ClusterId) -> Result<()>;

    /// Every stored observation, ordered by cluster id.
    async fn observed(&self) -> Result<Vec<Cluster>>;

    /// Appends an event of record that happened `at` (the caller's clock: the engine's);
    /// returns its sequence number.
    async fn append_event(
        &self,
        kind: RecordKind,
        cluster: Option<&ClusterId>,
        message: &str,
        at: SystemTime,
    ) -> Result<u64>;

    /// Events with a sequence number above `after`, oldest first.
    async fn events_after(&self, after: u64) -> Result<Vec<EventRecord>>;

    /// Every placement, ordered by identity.
    async fn placements(&self) -> Result<Vec<Placement>>;

    /// The placement of `identity`, if one is stored.
    async fn placement(&self, identity: &ClusterIdentity) -> Result<Option<Placement>>;

    /// Writes `placement` if the stored one still has `placement.generation` (0: none is
    /// stored), storing it with the generation bumped by one; otherwise fails with
    /// [`crate::Error::Conflict`] and changes nothing. Returns what was stored.
    async fn write_placement(&self, placement: &Placement) -> Result<Placement>;

    /// Removes the placement of `identity` if the stored one has `generation`; removing a
    /// missing placement succeeds, a stale generation is [`crate::Error::Conflict`].
    async fn remove_placement(&self, identity: &ClusterIdentity, generation: u64) -> Result<()>;

    /// Stores an accepted self-service environment, replacing one with the same id.
    async fn put_environment(&self, environment: &AcceptedEnvironment) -> Result<()>;

    /// Forgets the environment `id` (its TTL ended, or its team deleted it); forgetting a
    /// missing one succeeds.
    async fn remove_environment(&self, id: &ClusterId) -> Result<()>;

    /// Every stored environment, ordered by id.
    async fn environments(&self) -> Result<Vec<AcceptedEnvironment>>;

    /// Stores a failover move as it stands, replacing the record of the same move (the same
    /// identity and `started_at`).
    async fn put_failover_move(&self, report: &MoveReport) -> Result<()>;

    /// Every failover move recorded, ordered by `started_at`, then identity.
    async fn failover_moves(&self) -> Result<Vec<MoveReport>>;

    /// A number that changes whenever anything the store keeps changes, whoever wrote it: the
    /// same number read before and after a read means the store did not change in between,
    /// so a reader may keep what it read (a steady engine pass then reads the store's
    /// observations and placements not at all). `None`, the default: the store cannot tell
    /// without reading, and readers read again each time.
    fn revision(&self) -> Option<u64> {
        None
    }
}

/// A store failure as Fleet's error.
pub(crate) fn store_error(what: &str, err: impl std::fmt::Display) -> crate::Error {
    crate::Error::Store { message: format!("{what}: {err}"), source: None }
}
