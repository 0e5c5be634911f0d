//! The replacement rule: which differences between a cluster and its spec cannot be made in
//! place. The plan replaces exactly these, and every provider's `update` refuses exactly these
//! with [`Error::Unsupported`], so the two never disagree.

use std::fmt;

use crate::model::TagView;
use crate::{Capabilities, Cluster, ClusterSpec, Error, FleetTags, Result};

/// A change that needs a replacement: the field and why it cannot change in place.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Replacement {
    /// The field, e.g. `region` or `nodePools.workers.size`.
    pub field: String,
    /// Why it cannot change in place.
    pub reason: String,
}

impl Replacement {
    /// The [`Error::Unsupported`] a provider's `update` returns for this change.
    pub fn refusal(&self, cluster: &crate::ClusterId) -> Error {
        Error::Unsupported {
            operation: format!("changing {self} of cluster `{cluster}` in place (needs a replacement)"),
        }
    }
}

impl fmt::Display for Replacement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ({})", self.field, self.reason)
    }
}

/// The first difference between the `current` cluster and the `desired` spec that a provider
/// with `capabilities` cannot make in place, or `None` when an update can make the cluster
/// match: the rule [`plan`](crate::plan::plan) follows to choose between an update and a
/// replacement.
///
/// Replacements are: another provider or region, an upgrade without
/// [`Capabilities::in_place_version_upgrade`], node pools added or removed, another size or
/// machine type (compared only where the spec names one), min/max counts without
/// [`Capabilities::node_pool_resize`], and other fixed settings (network, audit logging).
/// Labels and the blueprint version change in place. A cluster whose version is ahead of the
/// spec's (the cloud upgraded it) needs nothing: it is never downgraded (see [`version_ahead`]).
/// What `current` does not report (no version, no node pools) is not compared.
///
/// ```
/// use fleet_core::plan::replacement_needed;
/// use fleet_core::*;
/// let spec = ClusterSpec::builder(ClusterId::new("web-1").unwrap(), ProviderName::new("sim").unwrap(),
///         Region::new("east").unwrap(), "1.32".parse().unwrap())
///     .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
///     .build()
///     .unwrap();
/// let current = Cluster::for_spec(&spec, &FleetName::new("demo").unwrap(), "id-1", ClusterPhase::Running);
/// assert_eq!(replacement_needed(&current, &spec, Capabilities::default()), None);
///
/// let mut moved = spec.clone();
/// moved.region = Region::new("west").unwrap();
/// assert_eq!(replacement_needed(&current, &moved, Capabilities::all()).unwrap().field, "region");
///
/// let mut upgraded = spec.clone();
/// upgraded.kubernetes_version = "1.33".parse().unwrap();
/// assert!(replacement_needed(&current, &upgraded, Capabilities::default()).is_some());
/// assert!(replacement_needed(&current, &upgraded, Capabilities::all()).is_none());
/// ```
pub fn replacement_needed(current: &Cluster, desired: &ClusterSpec, capabilities: Capabilities) -> Option<Replacement> {
    differences(current, desired, capabilities)
        .into_iter()
        .find_map(|change| change.forces_replacement.map(|reason| Replacement { field: change.field, reason }))
}

/// Every difference between the `current` cluster and the `desired` spec, as the plan sees
/// it: the changes an update must make, and those that need a replacement.
pub fn differences(current: &Cluster, desired: &ClusterSpec, capabilities: Capabilities) -> Vec<super::Change> {
    let tag = |key: &str| current.tags.get(key).map_or("", String::as_str);
    let tags = TagView {
        identity: tag(FleetTags::IDENTITY_KEY),
        fixed: tag(FleetTags::FIXED_SETTINGS_KEY),
        blueprint: tag(FleetTags::BLUEPRINT_VERSION_KEY),
        user_labels: 0,
    };
    let wanted_fixed = desired.fixed_settings_hash().to_string();
    super::diff::diff(desired, current, &tags, capabilities, &wanted_fixed)
}

/// Whether `current` runs a Kubernetes version ahead of `desired`'s (a later minor, or a later
/// patch of a full version): the cloud upgraded it, and Fleet adopts that version rather than
/// downgrade or replace the cluster.
///
/// ```
/// use fleet_core::plan::version_ahead;
/// use fleet_core::*;
/// let spec = ClusterSpec::builder(ClusterId::new("web-1").unwrap(), ProviderName::new("sim").unwrap(),
///         Region::new("east").unwrap(), "1.34".parse().unwrap())
///     .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
///     .build()
///     .unwrap();
/// let mut current = Cluster::for_spec(&spec, &FleetName::new("demo").unwrap(), "id-1", ClusterPhase::Running);
/// current.kubernetes_version = Some("1.35.1".parse().unwrap());
/// assert!(version_ahead(&current, &spec));
/// assert_eq!(fleet_core::plan::replacement_needed(&current, &spec, Capabilities::all()), None);
/// ```
pub fn version_ahead(current: &Cluster, desired: &ClusterSpec) -> bool {
    current.kubernetes_version.is_some_and(|version| version.is_ahead_of(desired.kubernetes_version))
}

/// `Ok` when an update can make `current` match `desired`, else the [`Error::Unsupported`] of
/// [`replacement_needed`]: the check every provider's `update` makes before changing anything.
pub fn ensure_in_place(current: &Cluster, desired: &ClusterSpec, capabilities: Capabilities) -> Result<()> {
    match replacement_needed(current, desired, capabilities) {
        Some(replacement) => Err(replacement.refusal(&desired.id)),
        None => Ok(()),
    }
}
