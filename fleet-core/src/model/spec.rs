//! What one cluster should be: [`ClusterSpec`], its [`NodePool`]s and abstract [`SizeClass`]es.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    BlueprintVersion, ClusterId, ClusterIdentity, KubernetesVersion, NodePoolName, ProviderName, Region, TeamName,
};
use crate::{Error, Result};

/// An abstract machine size. Each provider maps it to one of its machine types, so that one
/// spec is portable across clouds; a node pool can name a provider-specific type instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SizeClass {
    /// About 2 vCPU and 4-8 GiB.
    Small,
    /// About 4 vCPU and 16 GiB.
    Medium,
    /// About 8 vCPU and 32 GiB.
    Large,
    /// About 16 vCPU and 64 GiB.
    Xlarge,
}

impl SizeClass {
    /// Every size class, smallest first.
    pub const ALL: [SizeClass; 4] = [SizeClass::Small, SizeClass::Medium, SizeClass::Large, SizeClass::Xlarge];

    /// The lowercase name used in files and tags.
    pub fn as_str(&self) -> &'static str {
        match self {
            SizeClass::Small => "small",
            SizeClass::Medium => "medium",
            SizeClass::Large => "large",
            SizeClass::Xlarge => "xlarge",
        }
    }
}

impl fmt::Display for SizeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for SizeClass {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self> {
        SizeClass::ALL.into_iter().find(|size| size.as_str() == value).ok_or_else(|| Error::InvalidSpec {
            path: "size".into(),
            reason: format!(
                "unknown size class `{}`, expected one of small, medium, large, xlarge",
                value.chars().take(64).collect::<String>()
            ),
        })
    }
}

/// A group of identical worker nodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct NodePool {
    /// The pool's name, unique within its cluster.
    pub name: NodePoolName,
    /// The abstract machine size.
    pub size: SizeClass,
    /// A provider-specific machine type that replaces the size class mapping, e.g. `m7i.large`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_type: Option<String>,
    /// The fewest nodes (0 lets an autoscaler empty the pool).
    pub min_count: u32,
    /// The most nodes.
    pub max_count: NonZeroU32,
    /// Whether this is the cluster's system pool, where the provider runs its system pods (AKS
    /// needs exactly one, with at least one node; see [`crate::ProviderInfo::system_pool_required`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub system: bool,
}

impl NodePool {
    /// A node pool of `min_count..=max_count` nodes of `size`.
    ///
    /// ```
    /// use fleet_core::{NodePool, NodePoolName, SizeClass};
    /// let pool = NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Medium, 1, 5).unwrap();
    /// assert_eq!(pool.max_count.get(), 5);
    /// assert!(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Medium, 6, 5).is_err());
    /// ```
    pub fn new(name: NodePoolName, size: SizeClass, min_count: u32, max_count: u32) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidSpec { path: format!("nodePools.{name}"), reason };
        let max_count = NonZeroU32::new(max_count).ok_or_else(|| invalid("maxCount must be at least 1".into()))?;
        if min_count > max_count.get() {
            return Err(invalid(format!("minCount {min_count} is greater than maxCount {max_count}")));
        }
        Ok(Self { name, size, machine_type: None, min_count, max_count, system: false })
    }

    /// Marks (or unmarks) this pool as the cluster's system pool.
    pub fn with_system(mut self, system: bool) -> Self {
        self.system = system;
        self
    }

    /// Replaces the size class mapping with a provider-specific machine type.
    pub fn with_machine_type(mut self, machine_type: impl Into<String>) -> Self {
        self.machine_type = Some(machine_type.into());
        self
    }
}

/// Network settings of a cluster's control plane.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Network {
    /// Whether the API server is reachable only from private networks.
    #[serde(default)]
    pub private_endpoint: bool,
    /// CIDR blocks allowed to reach the API server (empty: the provider's default).
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
    /// Whether Kubernetes network policies are enforced.
    #[serde(default)]
    pub network_policy: bool,
}

/// Label keys reserved for Fleet's own tags (see [`crate::FleetTags`]).
pub const RESERVED_LABEL_PREFIX: &str = "fleet-";

/// What one cluster should be.
///
/// Built with [`ClusterSpec::builder`], which validates it; fields are public for reading.
///
/// ```
/// use fleet_core::*;
/// let spec = ClusterSpec::builder(
///     ClusterId::new("web-eu-1").unwrap(),
///     ProviderName::new("aws").unwrap(),
///     Region::new("eu-west-1").unwrap(),
///     "1.31".parse().unwrap(),
/// )
/// .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
/// .label("env", "prod")
/// .build()
/// .unwrap();
/// assert_eq!(spec.node_pools.len(), 1);
/// // Without a blueprint, the version is the content hash of the spec itself.
/// assert_eq!(spec.blueprint_version.as_str().len(), 32);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct ClusterSpec {
    /// The cluster's name at its provider: Fleet's stable id, or for a replacement, another
    /// name (see [`ClusterSpec::identity`]).
    pub id: ClusterId,
    /// For a replacement created under another name: the identity it serves (that of the
    /// cluster it replaces), carried in Fleet's tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_id: Option<ClusterIdentity>,
    /// The provider that runs it.
    pub provider: ProviderName,
    /// Where it runs.
    pub region: Region,
    /// The Kubernetes version of its control plane and nodes.
    pub kubernetes_version: KubernetesVersion,
    /// Its worker node pools (at least one).
    pub node_pools: Vec<NodePool>,
    /// User labels, carried to the cloud beside Fleet's own tags.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The team that owns it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_team: Option<TeamName>,
    /// How long it may live after creation; `None` keeps it until no spec wants it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "super::serde_opt_duration")]
    pub ttl: Option<Duration>,
    /// Control-plane network settings.
    #[serde(default)]
    pub network: Network,
    /// Whether control-plane audit logs are kept.
    #[serde(default)]
    pub audit_logging: bool,
    /// Whether it should be hibernated: scaled to zero and stopped, its configuration kept
    /// (needs the provider's hibernation capability).
    #[serde(default)]
    pub hibernated: bool,
    /// The version of the resolved blueprint it was made from.
    pub blueprint_version: BlueprintVersion,
}

impl ClusterSpec {
    /// Starts a spec with its required parts.
    pub fn builder(
        id: ClusterId,
        provider: ProviderName,
        region: Region,
        kubernetes_version: KubernetesVersion,
    ) -> ClusterSpecBuilder {
        ClusterSpecBuilder {
            id,
            provider,
            region,
            kubernetes_version,
            node_pools: Vec::new(),
            labels: BTreeMap::new(),
            owner_team: None,
            ttl: None,
            network: Network::default(),
            audit_logging: false,
            hibernated: false,
            blueprint_version: None,
        }
    }

    /// The logical cluster this one serves: [`ClusterSpec::logical_id`] for a replacement,
    /// else the identity named [`ClusterSpec::id`].
    pub fn identity(&self) -> ClusterIdentity {
        self.logical_id.clone().unwrap_or_else(|| ClusterIdentity::of(&self.id))
    }

    /// The text of [`ClusterSpec::identity`], borrowed from the spec (for the planner, which
    /// groups clusters by it without a copy).
    pub(crate) fn identity_text(&self) -> &str {
        self.logical_id.as_ref().map_or(self.id.as_str(), ClusterIdentity::as_str)
    }

    /// This spec, to be created at the provider under the name `name` while keeping its
    /// identity (how a replacement runs beside the cluster it replaces).
    pub fn named(&self, name: ClusterId) -> ClusterSpec {
        let identity = self.identity();
        ClusterSpec { logical_id: (!identity.is_named(&name)).then_some(identity), id: name, ..self.clone() }
    }

    /// The node pool marked [`NodePool::system`], if any.
    pub fn system_pool(&self) -> Option<&NodePool> {
        self.node_pools.iter().find(|pool| pool.system)
    }

    /// Total nodes the spec may use at most: the sum of every pool's `max_count`.
    pub fn max_nodes(&self) -> u64 {
        self.node_pools.iter().map(|pool| u64::from(pool.max_count.get())).sum()
    }

    /// A hash of the settings no provider changes in place and no `get` reports (network, audit
    /// logging), carried as a tag so that a plan sees when they change.
    pub fn fixed_settings_hash(&self) -> BlueprintVersion {
        BlueprintVersion::of(&(&self.network, self.audit_logging))
    }

    /// Checks the invariants [`ClusterSpecBuilder::build`] checks; useful after editing fields.
    pub fn validate(&self) -> Result<()> {
        if self.node_pools.is_empty() {
            return Err(Error::InvalidSpec {
                path: "nodePools".into(),
                reason: "a cluster needs at least one node pool".into(),
            });
        }
        for (index, pool) in self.node_pools.iter().enumerate() {
            if self.node_pools[..index].iter().any(|earlier| earlier.name == pool.name) {
                return Err(Error::InvalidSpec {
                    path: format!("nodePools[{index}].name"),
                    reason: format!("duplicate node pool name `{}`", pool.name),
                });
            }
            if pool.system && self.node_pools[..index].iter().any(|earlier| earlier.system) {
                return Err(Error::InvalidSpec {
                    path: format!("nodePools[{index}].system"),
                    reason: format!("pool `{}` is a second system pool; a cluster has at most one", pool.name),
                });
            }
            if pool.min_count > pool.max_count.get() {
                return Err(Error::InvalidSpec {
                    path: format!("nodePools[{index}].minCount"),
                    reason: format!("minCount {} is greater than maxCount {}", pool.min_count, pool.max_count),
                });
            }
        }
        for (key, value) in &self.labels {
            validate_label(key, value)?;
        }
        Ok(())
    }
}

/// Label keys and values must be valid on every cloud (GCP's label rules are the strictest).
fn validate_label(key: &str, value: &str) -> Result<()> {
    let shown: String = key.chars().take(64).collect();
    let invalid = |reason: &str| Error::InvalidSpec { path: format!("labels.{shown}"), reason: reason.into() };
    let label_chars = |s: &str| s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if key.is_empty() || key.len() > 63 || !key.starts_with(|c: char| c.is_ascii_lowercase()) || !label_chars(key) {
        return Err(invalid("a label key must be 1-63 lowercase letters, digits, '-' or '_', starting with a letter"));
    }
    if key.starts_with(RESERVED_LABEL_PREFIX) {
        return Err(invalid("label keys starting with `fleet-` are reserved for Fleet's own tags"));
    }
    if value.len() > 63 || !label_chars(value) {
        return Err(invalid("a label value must be at most 63 lowercase letters, digits, '-' or '_'"));
    }
    Ok(())
}

/// Builds a validated [`ClusterSpec`]; see [`ClusterSpec::builder`].
#[derive(Debug, Clone)]
pub struct ClusterSpecBuilder {
    id: ClusterId,
    provider: ProviderName,
    region: Region,
    kubernetes_version: KubernetesVersion,
    node_pools: Vec<NodePool>,
    labels: BTreeMap<String, String>,
    owner_team: Option<TeamName>,
    ttl: Option<Duration>,
    network: Network,
    audit_logging: bool,
    hibernated: bool,
    blueprint_version: Option<BlueprintVersion>,
}

impl ClusterSpecBuilder {
    /// Adds a node pool.
    pub fn node_pool(mut self, pool: NodePool) -> Self {
        self.node_pools.push(pool);
        self
    }

    /// Adds a user label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Sets the owning team.
    pub fn owner_team(mut self, team: TeamName) -> Self {
        self.owner_team = Some(team);
        self
    }

    /// Sets how long the cluster may live.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Sets the network settings.
    pub fn network(mut self, network: Network) -> Self {
        self.network = network;
        self
    }

    /// Sets whether audit logs are kept.
    pub fn audit_logging(mut self, enabled: bool) -> Self {
        self.audit_logging = enabled;
        self
    }

    /// Sets whether the cluster should be hibernated.
    pub fn hibernated(mut self, hibernated: bool) -> Self {
        self.hibernated = hibernated;
        self
    }

    /// Sets the blueprint version; without one, the spec's own content hash is used.
    pub fn blueprint_version(mut self, version: BlueprintVersion) -> Self {
        self.blueprint_version = Some(version);
        self
    }

    /// Validates and builds the spec.
    pub fn build(self) -> Result<ClusterSpec> {
        let mut spec = ClusterSpec {
            id: self.id,
            logical_id: None,
            provider: self.provider,
            region: self.region,
            kubernetes_version: self.kubernetes_version,
            node_pools: self.node_pools,
            labels: self.labels,
            owner_team: self.owner_team,
            ttl: self.ttl,
            network: self.network,
            audit_logging: self.audit_logging,
            hibernated: self.hibernated,
            blueprint_version: BlueprintVersion::new("0").unwrap_or_else(|_| unreachable!("\"0\" is valid")),
        };
        spec.validate()?;
        spec.blueprint_version = match self.blueprint_version {
            Some(version) => version,
            None => BlueprintVersion::of(&spec),
        };
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ClusterSpecBuilder {
        ClusterSpec::builder(
            ClusterId::new("c1").unwrap(),
            ProviderName::new("sim").unwrap(),
            Region::new("r1").unwrap(),
            "1.31".parse().unwrap(),
        )
    }

    fn pool(name: &str) -> NodePool {
        NodePool::new(NodePoolName::new(name).unwrap(), SizeClass::Small, 1, 2).unwrap()
    }

    #[test]
    fn a_spec_needs_a_node_pool() {
        let err = builder().build().unwrap_err();
        assert!(matches!(err, Error::InvalidSpec { ref path, .. } if path == "nodePools"), "{err}");
    }

    #[test]
    fn duplicate_pool_names_are_rejected_with_their_index() {
        let err = builder().node_pool(pool("a")).node_pool(pool("a")).build().unwrap_err();
        assert!(matches!(err, Error::InvalidSpec { ref path, .. } if path == "nodePools[1].name"), "{err}");
    }

    #[test]
    fn labels_must_be_portable_and_not_reserved() {
        assert!(builder().node_pool(pool("a")).label("env", "prod").build().is_ok());
        for (key, value) in [("Env", "x"), ("env", "Prod"), ("fleet-name", "x"), ("", "x"), ("e.nv", "x")] {
            let err = builder().node_pool(pool("a")).label(key, value).build().unwrap_err();
            assert!(matches!(err, Error::InvalidSpec { .. }), "{key}={value}: {err}");
        }
    }

    #[test]
    fn the_default_version_follows_the_content() {
        let a = builder().node_pool(pool("a")).build().unwrap();
        let same = builder().node_pool(pool("a")).build().unwrap();
        let other = builder().node_pool(pool("b")).build().unwrap();
        assert_eq!(a.blueprint_version, same.blueprint_version);
        assert_ne!(a.blueprint_version, other.blueprint_version);
    }

    #[test]
    fn an_explicit_version_is_kept() {
        let version = BlueprintVersion::new("abc123").unwrap();
        let spec = builder().node_pool(pool("a")).blueprint_version(version.clone()).build().unwrap();
        assert_eq!(spec.blueprint_version, version);
    }

    #[test]
    fn json_round_trip_rejects_unknown_fields() {
        let spec = builder().node_pool(pool("a")).ttl(Duration::from_secs(3600)).build().unwrap();
        let json = serde_json::to_value(&spec).unwrap();
        let back: ClusterSpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, spec);
        let mut bad = json;
        bad["colour"] = "blue".into();
        assert!(serde_json::from_value::<ClusterSpec>(bad).unwrap_err().to_string().contains("colour"));
    }

    #[test]
    fn size_classes_parse_by_name() {
        assert_eq!("large".parse::<SizeClass>().unwrap(), SizeClass::Large);
        assert!("huge".parse::<SizeClass>().unwrap_err().to_string().contains("expected one of"));
    }
}
