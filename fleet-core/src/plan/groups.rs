//! The observed clusters of a fleet grouped by identity, for the planner: most identities
//! have one cluster, a replacement in progress two. Built in one pass with a compact index
//! (identity to position), so that a fleet of 100,000 clusters is grouped without an
//! allocation per cluster.

use std::collections::HashMap;

use crate::model::TagView;
use crate::{BlueprintVersion, Cluster, ClusterId, ClusterPhase, ClusterSpec, FleetName};

const NONE: u32 = u32::MAX;

/// One live cluster, with the next of its identity.
struct Entry<'a> {
    cluster: &'a Cluster,
    tags: TagView<'a>,
    next: u32,
}

/// Every observed cluster of one fleet, by identity.
pub(super) struct Groups<'a> {
    heads: HashMap<&'a str, u32, BuildIdHasher>,
    entries: Vec<Entry<'a>>,
    /// Names of clusters being deleted, by identity (usually none).
    deleting: HashMap<&'a str, Vec<&'a ClusterId>>,
}

impl<'a> Groups<'a> {
    /// Groups `fleet`'s clusters of `observed`. Tags are checked to be valid names lazily: a
    /// cluster id tag equal to a spec's identity is valid, and so is a blueprint version tag
    /// equal to the spec's (see [`Group::ours`]); the rest are checked in [`Groups::rest`].
    pub fn new(observed: &'a [Cluster], fleet: &FleetName) -> Self {
        let mut groups = Groups {
            heads: HashMap::with_capacity_and_hasher(observed.len(), BuildIdHasher),
            entries: Vec::with_capacity(observed.len()),
            deleting: HashMap::new(),
        };
        for cluster in observed {
            let Some(tags) = TagView::unchecked(&cluster.tags, fleet) else { continue };
            if matches!(cluster.phase, ClusterPhase::Deleting | ClusterPhase::Deleted) {
                groups.deleting.entry(tags.identity).or_default().push(&cluster.id);
                continue;
            }
            let index = u32::try_from(groups.entries.len()).unwrap_or(NONE);
            let next = groups.heads.insert(tags.identity, index).unwrap_or(NONE);
            groups.entries.push(Entry { cluster, tags, next });
        }
        groups
    }

    /// Takes the group of `identity`, if it has any cluster.
    pub fn take(&mut self, identity: &str) -> Option<Group<'a>> {
        let deleting =
            if self.deleting.is_empty() { Vec::new() } else { self.deleting.remove(identity).unwrap_or_default() };
        let head = self.heads.remove(identity);
        if head.is_none() && deleting.is_empty() {
            return None;
        }
        Some(self.group(head.unwrap_or(NONE), deleting))
    }

    fn group(&self, head: u32, deleting: Vec<&'a ClusterId>) -> Group<'a> {
        let mut group = Group { first: None, more: Vec::new(), deleting };
        let mut at = head;
        while let Some(entry) = self.entries.get(at as usize) {
            match group.first {
                None => group.first = Some((entry.cluster, entry.tags)),
                Some(_) => group.more.push((entry.cluster, entry.tags)),
            }
            at = entry.next;
        }
        group
    }

    /// The groups no spec took.
    pub fn rest(self) -> impl Iterator<Item = Group<'a>> {
        let heads: Vec<u32> = self.heads.values().copied().collect();
        heads.into_iter().map(move |head| self.group(head, Vec::new()))
    }
}

/// The clusters of one identity: the live ones and the names of those being deleted.
pub(super) struct Group<'a> {
    pub first: Option<(&'a Cluster, TagView<'a>)>,
    pub more: Vec<(&'a Cluster, TagView<'a>)>,
    pub deleting: Vec<&'a ClusterId>,
}

impl<'a> Group<'a> {
    pub fn live(&self) -> impl Iterator<Item = (&'a Cluster, TagView<'a>)> + '_ {
        self.first.into_iter().chain(self.more.iter().copied())
    }

    /// The group of `spec`'s identity without clusters whose blueprint version tag is not a
    /// valid name (they are not Fleet's); the identity is valid, being the spec's.
    pub fn ours(mut self, spec: &ClusterSpec) -> Self {
        let valid = |(_, tags): &(&Cluster, TagView<'_>)| {
            tags.blueprint == spec.blueprint_version.as_str() || BlueprintVersion::is_valid(tags.blueprint)
        };
        if self.live().all(|entry| valid(&entry)) {
            return self;
        }
        let kept: Vec<_> = self.live().filter(valid).collect();
        self.first = kept.first().copied();
        self.more = kept.into_iter().skip(1).collect();
        self
    }
}

/// FNV-1a for cluster ids: short keys Fleet wrote itself, where SipHash's protection against
/// chosen keys costs more than it guards.
#[derive(Clone, Copy, Default)]
struct BuildIdHasher;

impl std::hash::BuildHasher for BuildIdHasher {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0xcbf2_9ce4_8422_2325)
    }
}

struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
