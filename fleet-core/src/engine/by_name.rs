//! Finding observed clusters by name in a pass's observation, which is kept sorted by name:
//! each lookup is a binary search, so that work done per action never scans the fleet.

use crate::{Cluster, ClusterId};

/// The clusters of `observed` (sorted by id) named `id`: none, one, or one per provider that
/// has a cluster of that name.
pub(crate) fn named<'a>(observed: &'a [Cluster], id: &ClusterId) -> &'a [Cluster] {
    let start = observed.partition_point(|c| c.id < *id);
    let rest = observed.get(start..).unwrap_or_default();
    &rest[..rest.partition_point(|c| c.id == *id)]
}

/// The first cluster of `observed` (sorted by id) named `id`.
pub(crate) fn first_named<'a>(observed: &'a [Cluster], id: &ClusterId) -> Option<&'a Cluster> {
    named(observed, id).first()
}
