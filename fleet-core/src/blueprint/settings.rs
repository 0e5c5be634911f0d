//! The effective settings of a resolved blueprint, and how they become a [`ClusterSpec`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{
    BlueprintVersion, ClusterId, ClusterSpec, KubernetesVersion, Network, NodePool, NodePoolName, ProviderName, Region,
    Result, SizeClass, TeamName,
};

/// The top-level keys of [`Settings`], which lock paths must start with.
pub const SETTING_KEYS: [&str; 8] =
    ["kubernetesVersion", "nodePools", "network", "auditLogging", "hibernation", "labels", "providers", "addons"];

/// Everything a resolved blueprint says about a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Settings {
    /// The Kubernetes version.
    pub kubernetes_version: KubernetesVersion,
    /// Node pools by name.
    pub node_pools: BTreeMap<NodePoolName, PoolSettings>,
    /// Control-plane network settings.
    #[serde(default)]
    pub network: Network,
    /// Whether control-plane audit logs are kept.
    #[serde(default)]
    pub audit_logging: bool,
    /// Whether idle clusters may be hibernated (needs the provider's hibernation capability).
    #[serde(default)]
    pub hibernation: bool,
    /// Labels on every cluster.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Per-provider overrides, by provider name.
    #[serde(default)]
    pub providers: BTreeMap<ProviderName, ProviderOverrides>,
    /// Kubernetes manifests applied into every cluster, by add-on name.
    #[serde(default)]
    pub addons: BTreeMap<String, Addon>,
}

/// One node pool's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct PoolSettings {
    /// The abstract machine size.
    pub size: SizeClass,
    /// Fewest nodes.
    pub min_count: u32,
    /// Most nodes.
    pub max_count: u32,
    /// A machine type that replaces the size mapping on every provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_type: Option<String>,
    /// Whether this is the system pool (see [`crate::NodePool::system`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub system: bool,
}

/// Settings that apply on one provider only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct ProviderOverrides {
    /// Machine types for size classes on this provider.
    #[serde(default)]
    pub machine_types: BTreeMap<SizeClass, String>,
    /// Another Kubernetes version on this provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<KubernetesVersion>,
}

/// A Kubernetes manifest (one or more YAML documents) applied into every cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Addon {
    /// The manifest text (a `file:` reference is read into it when the repository loads).
    pub manifest: String,
}

impl Addon {
    /// An add-on of one or more YAML documents.
    pub fn new(manifest: impl Into<String>) -> Self {
        Self { manifest: manifest.into() }
    }
}

/// One cluster a resolved blueprint becomes: its name, where it runs, for whom and for how
/// long (a template's placement, or a self-service request, gives each).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BlueprintInstance {
    /// The cluster's id.
    pub id: ClusterId,
    /// Its provider.
    pub provider: ProviderName,
    /// Its region.
    pub region: Region,
    /// Its owning team.
    pub owner_team: Option<TeamName>,
    /// Its time to live.
    pub ttl: Option<Duration>,
}

impl BlueprintInstance {
    /// Cluster `id` on `provider` in `region`.
    pub fn new(id: ClusterId, provider: ProviderName, region: Region) -> Self {
        Self { id, provider, region, owner_team: None, ttl: None }
    }

    /// Sets the owning team.
    pub fn with_owner_team(mut self, team: Option<TeamName>) -> Self {
        self.owner_team = team;
        self
    }

    /// Sets the time to live.
    pub fn with_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.ttl = ttl;
        self
    }
}

impl Settings {
    /// The cluster spec these settings give for `instance`, tagged with `version`: provider
    /// overrides applied, size classes mapped to that provider's machine types where given.
    pub fn cluster_spec(&self, instance: &BlueprintInstance, version: &BlueprintVersion) -> Result<ClusterSpec> {
        let overrides = self.providers.get(&instance.provider).cloned().unwrap_or_default();
        let kubernetes_version = overrides.kubernetes_version.unwrap_or(self.kubernetes_version);
        let mut builder = ClusterSpec::builder(
            instance.id.clone(),
            instance.provider.clone(),
            instance.region.clone(),
            kubernetes_version,
        )
        .network(self.network.clone())
        .audit_logging(self.audit_logging)
        .blueprint_version(version.clone());
        for (name, pool) in &self.node_pools {
            let mut node_pool =
                NodePool::new(name.clone(), pool.size, pool.min_count, pool.max_count)?.with_system(pool.system);
            if let Some(machine_type) = pool.machine_type.as_ref().or(overrides.machine_types.get(&pool.size)) {
                node_pool = node_pool.with_machine_type(machine_type.clone());
            }
            builder = builder.node_pool(node_pool);
        }
        for (key, value) in &self.labels {
            builder = builder.label(key.clone(), value.clone());
        }
        if let Some(team) = &instance.owner_team {
            builder = builder.owner_team(team.clone()).label("team", team.as_str());
        }
        if let Some(ttl) = instance.ttl {
            builder = builder.ttl(ttl);
        }
        builder.build()
    }
}
