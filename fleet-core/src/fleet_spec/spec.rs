//! [`FleetSpec`]: templates (a blueprint plus variable values) times placements, giving the
//! desired clusters with stable ids.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::blueprint::Addon;
use crate::{BlueprintVersion, ClusterId, ClusterSpec, FleetName, ProviderName, Region, TeamName};

/// Which clusters of one template may share a place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum AntiAffinity {
    /// Any number per region and provider.
    #[default]
    None,
    /// At most one cluster of the template per region.
    Region,
    /// At most one cluster of the template per provider.
    Provider,
}

/// Where a template's clusters go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct PlacementSpec {
    /// The provider.
    pub provider: ProviderName,
    /// Its regions.
    pub regions: Vec<Region>,
    /// Clusters per region.
    #[serde(default = "one")]
    pub count: NonZeroU32,
    /// Higher goes first when capacity is short.
    #[serde(default)]
    pub priority: i32,
}

fn one() -> NonZeroU32 {
    NonZeroU32::MIN
}

/// A blueprint plus variable values, placed in regions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Template {
    /// The template's name, the first part of its clusters' ids.
    pub name: String,
    /// The blueprint it uses.
    pub blueprint: String,
    /// The owning team.
    #[serde(default)]
    pub team: Option<TeamName>,
    /// Values of the blueprint's variables.
    #[serde(default)]
    pub variables: BTreeMap<String, Value>,
    /// Spread rule between its clusters.
    #[serde(default)]
    pub anti_affinity: AntiAffinity,
    /// Where its clusters go.
    pub placements: Vec<PlacementSpec>,
    /// Where its clusters go when their place is lost.
    #[serde(default)]
    pub failover: Option<super::FailoverPolicy>,
}

/// Which clusters a fleet should have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct FleetSpec {
    /// The fleet's name, carried as a tag on every cluster.
    pub name: FleetName,
    /// Its templates.
    pub templates: Vec<Template>,
    /// Where each template's variable values are written in the file (by template index and
    /// variable: line and column), as the repository loader read them; empty otherwise.
    #[serde(skip)]
    pub(crate) variable_places: BTreeMap<(usize, String), (u64, u64)>,
}

/// One cluster the fleet should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DesiredCluster {
    /// What it should be.
    pub spec: ClusterSpec,
    /// The template or environment request it comes from.
    pub origin: String,
    /// Higher goes first when capacity is short.
    pub priority: i32,
    /// Manifests applied into it.
    pub addons: BTreeMap<String, Addon>,
}

impl DesiredCluster {
    /// A desired cluster from `origin` (a template or request name) with no add-ons.
    pub fn new(spec: ClusterSpec, origin: impl Into<String>, priority: i32) -> Self {
        Self { spec, origin: origin.into(), priority, addons: BTreeMap::new() }
    }

    /// Sets the add-ons.
    pub fn with_addons(mut self, addons: BTreeMap<String, Addon>) -> Self {
        self.addons = addons;
        self
    }
}

/// Every cluster a fleet should have, ordered by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DesiredFleet {
    /// The fleet's name.
    pub name: FleetName,
    /// Its clusters, ordered by id.
    pub clusters: Vec<DesiredCluster>,
}

impl DesiredFleet {
    /// A fleet from its clusters (sorted by id here).
    pub fn new(name: FleetName, mut clusters: Vec<DesiredCluster>) -> Self {
        clusters.sort_by(|a, b| a.spec.id.cmp(&b.spec.id));
        Self { name, clusters }
    }

    /// The cluster specs alone.
    pub fn specs(&self) -> impl Iterator<Item = &ClusterSpec> {
        self.clusters.iter().map(|cluster| &cluster.spec)
    }
}

/// The stable id of the `index`-th cluster of `template` in `region`: `<template>-<region>-<index>`,
/// or, when that is longer than a cluster id may be, the template name with a hash of the rest.
pub fn cluster_id(template: &str, provider: &ProviderName, region: &Region, index: u32) -> Option<ClusterId> {
    ClusterId::new(format!("{template}-{region}-{index}")).ok().or_else(|| {
        let hash = BlueprintVersion::of(&(provider, region));
        let short = &hash.as_str()[..8];
        let keep = 40usize.saturating_sub(short.len() + 2 + index.to_string().len());
        let prefix: String = template.chars().take(keep).collect();
        ClusterId::new(format!("{}-{short}-{index}", prefix.trim_end_matches('-'))).ok()
    })
}
