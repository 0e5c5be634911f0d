//! What a provider reports about one cluster: [`Cluster`] and its [`ClusterPhase`].

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{
    ClusterId, ClusterIdentity, ClusterSpec, FleetName, FleetTags, KubernetesVersion, NodePool, ProviderName, Region,
    Tags,
};

/// Where a cluster is in its life, as its provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "camelCase")]
#[non_exhaustive]
pub enum ClusterPhase {
    /// Accepted, not yet being built.
    Pending,
    /// Being built.
    Creating,
    /// Serving.
    Running,
    /// Being changed in place (version upgrade, node pool resize, resume from hibernation).
    Updating,
    /// Scaled to zero and stopped; its configuration is kept.
    Hibernated,
    /// Being torn down.
    Deleting,
    /// Gone; providers that keep records of deleted clusters report them so.
    Deleted,
    /// The provider gave up on it.
    Failed {
        /// The provider's reason.
        reason: String,
    },
    /// Its region or control plane cannot be reached; its real state is unknown.
    Unreachable,
}

impl ClusterPhase {
    /// Whether the cluster serves workloads.
    pub fn is_running(&self) -> bool {
        matches!(self, ClusterPhase::Running)
    }

    /// Whether the cluster is ready as a spec can ask it to be: running, or hibernated. A ready
    /// cluster can serve its identity (a hibernated one once woken).
    pub fn is_ready(&self) -> bool {
        matches!(self, ClusterPhase::Running | ClusterPhase::Hibernated)
    }

    /// Whether the cluster is being built or changed, so that a later observation will differ.
    pub fn is_in_progress(&self) -> bool {
        matches!(self, ClusterPhase::Pending | ClusterPhase::Creating | ClusterPhase::Updating | ClusterPhase::Deleting)
    }

    /// A short lowercase name, e.g. `running` or `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            ClusterPhase::Pending => "pending",
            ClusterPhase::Creating => "creating",
            ClusterPhase::Running => "running",
            ClusterPhase::Updating => "updating",
            ClusterPhase::Hibernated => "hibernated",
            ClusterPhase::Deleting => "deleting",
            ClusterPhase::Deleted => "deleted",
            ClusterPhase::Failed { .. } => "failed",
            ClusterPhase::Unreachable => "unreachable",
        }
    }
}

impl fmt::Display for ClusterPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterPhase::Failed { reason } => write!(f, "failed: {reason}"),
            other => f.pad(other.name()),
        }
    }
}

/// A cluster as its provider reports it.
///
/// Providers build one with [`Cluster::new`] and the `with_*` methods.
///
/// ```
/// use fleet_core::*;
/// let cluster = Cluster::new(
///     ClusterId::new("web-1").unwrap(),
///     ProviderName::new("aws").unwrap(),
///     "arn:aws:eks:eu-west-1:123456789012:cluster/web-1",
///     Region::new("eu-west-1").unwrap(),
///     ClusterPhase::Running,
/// )
/// .with_endpoint("https://example.eks.amazonaws.com");
/// assert!(cluster.phase.is_running());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Cluster {
    /// Fleet's id for it.
    pub id: ClusterId,
    /// The provider that runs it.
    pub provider: ProviderName,
    /// The provider's own identifier (an ARN, an Azure resource id, a GKE self link, ...).
    pub provider_id: String,
    /// Where it runs.
    pub region: Region,
    /// Where it is in its life.
    pub phase: ClusterPhase,
    /// The API server URL, once known.
    pub endpoint: Option<String>,
    /// The Kubernetes version the provider reports, once known.
    pub kubernetes_version: Option<KubernetesVersion>,
    /// The node pools the provider reports.
    pub node_pools: Vec<NodePool>,
    /// Every tag or label on the cluster, Fleet's own included.
    pub tags: Tags,
    /// When the provider created it, if it says.
    pub created_at: Option<SystemTime>,
    /// When the provider last changed it, if it says.
    pub updated_at: Option<SystemTime>,
}

impl Cluster {
    /// A cluster with its required parts and nothing else known.
    pub fn new(
        id: ClusterId,
        provider: ProviderName,
        provider_id: impl Into<String>,
        region: Region,
        phase: ClusterPhase,
    ) -> Self {
        Self {
            id,
            provider,
            provider_id: provider_id.into(),
            region,
            phase,
            endpoint: None,
            kubernetes_version: None,
            node_pools: Vec::new(),
            tags: Tags::new(),
            created_at: None,
            updated_at: None,
        }
    }

    /// The cluster a provider reports for `spec` made for `fleet`, in `phase`: its name,
    /// placement, version, node pools and every tag a provider puts on it (for previews, tests
    /// and fakes; no endpoint or timestamps).
    pub fn for_spec(
        spec: &ClusterSpec,
        fleet: &FleetName,
        provider_id: impl Into<String>,
        phase: ClusterPhase,
    ) -> Self {
        Cluster::new(spec.id.clone(), spec.provider.clone(), provider_id, spec.region.clone(), phase)
            .with_kubernetes_version(spec.kubernetes_version)
            .with_node_pools(spec.node_pools.clone())
            .with_tags(FleetTags::cluster_tags(fleet, spec))
    }

    /// Sets the API server URL.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets the reported Kubernetes version.
    pub fn with_kubernetes_version(mut self, version: KubernetesVersion) -> Self {
        self.kubernetes_version = Some(version);
        self
    }

    /// Sets the reported node pools.
    pub fn with_node_pools(mut self, node_pools: Vec<NodePool>) -> Self {
        self.node_pools = node_pools;
        self
    }

    /// Sets the tags.
    pub fn with_tags(mut self, tags: impl Into<Tags>) -> Self {
        self.tags = tags.into();
        self
    }

    /// Sets creation and last-change times.
    pub fn with_timestamps(mut self, created_at: SystemTime, updated_at: SystemTime) -> Self {
        self.created_at = Some(created_at);
        self.updated_at = Some(updated_at);
        self
    }

    /// Fleet's tags on this cluster, if it carries a complete, valid set.
    pub fn fleet_tags(&self) -> Option<FleetTags> {
        FleetTags::from_tags(&self.tags)
    }

    /// The logical cluster this one serves: the id its Fleet tags name (a replacement serves
    /// the identity of the cluster it replaces), or its own name without them.
    pub fn identity(&self) -> ClusterIdentity {
        // Judged as `fleet_tags` judges, without building them: every pass asks this of every
        // cluster, and most serve the identity they are named after (which shares the name).
        let tag = |key: &str| self.tags.get(key).map(String::as_str);
        let complete = tag(FleetTags::FLEET_KEY).is_some_and(FleetName::is_valid)
            && tag(FleetTags::BLUEPRINT_VERSION_KEY).is_some_and(super::BlueprintVersion::is_valid);
        match tag(FleetTags::IDENTITY_KEY) {
            Some(identity) if complete && identity == self.id.as_str() => ClusterIdentity::of(&self.id),
            Some(identity) if complete => {
                ClusterIdentity::new(identity).unwrap_or_else(|_| ClusterIdentity::of(&self.id))
            }
            _ => ClusterIdentity::of(&self.id),
        }
    }
}
