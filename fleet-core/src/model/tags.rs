//! Fleet's tags: how a cluster is found again at its provider after anything, a crash included.

use std::collections::BTreeMap;

use super::{BlueprintVersion, ClusterIdentity, ClusterSpec, FleetName};

/// The tags every cluster Fleet creates carries: the fleet that owns it, the identity it serves and the version
/// of the blueprint it was made from.
///
/// Keys and values follow the strictest cloud rules (GCP labels: lowercase letters, digits, `-`
/// and `_`), so the same tags work on EKS, AKS, GKE and Kind.
///
/// ```
/// use fleet_core::*;
/// let tags = FleetTags {
///     fleet: FleetName::new("prod").unwrap(),
///     identity: ClusterIdentity::new("web-1").unwrap(),
///     blueprint_version: BlueprintVersion::new("abc").unwrap(),
/// };
/// let map = tags.to_map();
/// assert_eq!(map[FleetTags::FLEET_KEY], "prod");
/// assert_eq!(FleetTags::from_tags(&map), Some(tags));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FleetTags {
    /// The owning fleet.
    pub fleet: FleetName,
    /// The logical cluster it serves (a replacement serves the identity of the cluster it
    /// replaces, though its name at the provider differs).
    pub identity: ClusterIdentity,
    /// The blueprint version the cluster was made from.
    pub blueprint_version: BlueprintVersion,
}

impl FleetTags {
    /// Tag key holding the fleet name.
    pub const FLEET_KEY: &'static str = "fleet-name";
    /// Tag key holding the identity.
    pub const IDENTITY_KEY: &'static str = "fleet-cluster-id";
    /// Tag key holding the blueprint version.
    pub const BLUEPRINT_VERSION_KEY: &'static str = "fleet-blueprint-version";

    /// The tags for a cluster of `fleet` made from `spec`.
    pub fn for_spec(fleet: &FleetName, spec: &ClusterSpec) -> Self {
        Self { fleet: fleet.clone(), identity: spec.identity(), blueprint_version: spec.blueprint_version.clone() }
    }

    /// The three tags as a map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (Self::FLEET_KEY.to_owned(), self.fleet.to_string()),
            (Self::IDENTITY_KEY.to_owned(), self.identity.to_string()),
            (Self::BLUEPRINT_VERSION_KEY.to_owned(), self.blueprint_version.to_string()),
        ])
    }

    /// Tag key holding [`ClusterSpec::fixed_settings_hash`].
    pub const FIXED_SETTINGS_KEY: &'static str = "fleet-fixed-settings";

    /// Every tag a provider puts on the cluster made from `spec`: the spec's labels, Fleet's
    /// tags, and the hash of its fixed settings (spec labels cannot use Fleet's keys, see
    /// [`ClusterSpec::validate`]).
    pub fn cluster_tags(fleet: &FleetName, spec: &ClusterSpec) -> BTreeMap<String, String> {
        let mut tags = spec.labels.clone();
        tags.extend(Self::for_spec(fleet, spec).to_map());
        tags.insert(Self::FIXED_SETTINGS_KEY.to_owned(), spec.fixed_settings_hash().to_string());
        tags
    }

    /// Whether `key` is one of Fleet's own tag keys (not a spec label).
    pub fn is_own_key(key: &str) -> bool {
        key.starts_with(super::RESERVED_LABEL_PREFIX)
    }

    /// Labels as a spec declared them: `tags` without Fleet's own keys.
    pub fn user_labels(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        tags.iter().filter(|(key, _)| !Self::is_own_key(key)).map(|(key, value)| (key.clone(), value.clone())).collect()
    }

    /// The identity (identity tag) of a cluster whose tags are `fleet`'s, without
    /// allocating; `None` unless all three of Fleet's tags are present and valid and name
    /// `fleet` (as [`FleetTags::from_tags`] and [`FleetTags::belongs_to`] judge).
    pub fn identity_in<'a>(tags: &'a BTreeMap<String, String>, fleet: &FleetName) -> Option<&'a str> {
        TagView::of(tags, fleet).map(|view| view.identity)
    }

    /// Reads Fleet's tags back; `None` unless all three are present and valid.
    pub fn from_tags(tags: &BTreeMap<String, String>) -> Option<Self> {
        Some(Self {
            fleet: FleetName::new(tags.get(Self::FLEET_KEY)?.as_str()).ok()?,
            identity: ClusterIdentity::new(tags.get(Self::IDENTITY_KEY)?.as_str()).ok()?,
            blueprint_version: BlueprintVersion::new(tags.get(Self::BLUEPRINT_VERSION_KEY)?.as_str()).ok()?,
        })
    }

    /// Whether `tags` mark a cluster that belongs to `fleet`.
    pub fn belongs_to(tags: &BTreeMap<String, String>, fleet: &FleetName) -> bool {
        // As `identity_in` judges, by three lookups: every listing asks it of every cluster.
        tags.get(Self::FLEET_KEY).is_some_and(|name| name == fleet.as_str())
            && tags.get(Self::IDENTITY_KEY).is_some_and(|identity| ClusterIdentity::is_valid(identity))
            && tags.get(Self::BLUEPRINT_VERSION_KEY).is_some_and(|version| BlueprintVersion::is_valid(version))
    }
}

/// What Fleet reads of a cluster's tags, in one ordered pass over them (each key is touched
/// once: the planner reads this for every cluster of a fleet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TagView<'a> {
    /// The identity tag.
    pub identity: &'a str,
    /// The fixed settings hash tag (empty when missing).
    pub fixed: &'a str,
    /// The blueprint version tag.
    pub blueprint: &'a str,
    /// How many tags are spec labels (not Fleet's own).
    pub user_labels: usize,
}

impl<'a> TagView<'a> {
    /// `None` unless all three of Fleet's tags are present and valid and name `fleet`.
    pub fn of(tags: &'a BTreeMap<String, String>, fleet: &FleetName) -> Option<Self> {
        Self::unchecked(tags, fleet).filter(TagView::is_valid)
    }

    /// As [`TagView::of`], without checking that the identity and blueprint version tags
    /// are valid names (see [`TagView::is_valid`]): for callers that compare them with valid
    /// names first, which is a check of its own.
    pub fn unchecked(tags: &'a BTreeMap<String, String>, fleet: &FleetName) -> Option<Self> {
        let (mut name, mut identity, mut blueprint, mut fixed, mut user_labels) = (None, None, None, "", 0);
        for (key, value) in tags {
            match key.as_str() {
                FleetTags::FLEET_KEY => name = Some(value.as_str()),
                FleetTags::IDENTITY_KEY => identity = Some(value.as_str()),
                FleetTags::BLUEPRINT_VERSION_KEY => blueprint = Some(value.as_str()),
                FleetTags::FIXED_SETTINGS_KEY => fixed = value.as_str(),
                other if !FleetTags::is_own_key(other) => user_labels += 1,
                _ => {}
            }
        }
        (name == Some(fleet.as_str())).then_some(Self {
            identity: identity?,
            fixed,
            blueprint: blueprint?,
            user_labels,
        })
    }

    /// Whether the identity and blueprint version tags are valid names.
    pub fn is_valid(&self) -> bool {
        ClusterIdentity::is_valid(self.identity) && BlueprintVersion::is_valid(self.blueprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_or_invalid_tags_are_not_fleet_tags() {
        let mut map = FleetTags {
            fleet: FleetName::new("prod").unwrap(),
            identity: ClusterIdentity::new("c").unwrap(),
            blueprint_version: BlueprintVersion::new("1").unwrap(),
        }
        .to_map();
        assert!(FleetTags::belongs_to(&map, &FleetName::new("prod").unwrap()));
        assert!(!FleetTags::belongs_to(&map, &FleetName::new("dev").unwrap()));
        map.insert(FleetTags::IDENTITY_KEY.into(), "Not Valid".into());
        assert_eq!(FleetTags::from_tags(&map), None);
        map.remove(FleetTags::IDENTITY_KEY);
        assert_eq!(FleetTags::from_tags(&map), None);
    }
}
