//! The observed clusters of a fleet grouped by identity, for the planner: most identities
//! have one cluster, a replacement in progress two. Built in one pass without an allocation
//! per cluster, and read with a cursor while clusters and specs come in identity order.

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

/// Every observed cluster of one fleet, by identity. When the clusters come sorted by
/// identity (as listed, in the usual case) and are asked for in order, a cursor walks them;
/// otherwise an index (identity to position) is built once.
pub(super) struct Groups<'a> {
    entries: Vec<Entry<'a>>,
    /// Whether `entries` are sorted by identity.
    sorted: bool,
    /// Sorted mode: the first entry not yet taken or passed, and the entries passed.
    cursor: usize,
    passed: Vec<usize>,
    last: Option<&'a str>,
    /// Index mode: the last entry of each identity (entries chain through `next`).
    heads: Option<HashMap<&'a str, u32, BuildIdHasher>>,
    /// Names of clusters being deleted, by identity (usually none).
    deleting: HashMap<&'a str, Vec<&'a ClusterId>>,
}

impl<'a> Groups<'a> {
    /// Groups `fleet`'s clusters of `observed`. Tags are checked to be valid names lazily: a
    /// cluster id tag equal to a spec's identity is valid, and so is a blueprint version tag
    /// equal to the spec's (see [`Group::ours`]); the rest are checked in [`Groups::rest`].
    pub fn new(observed: &'a [Cluster], fleet: &FleetName) -> Self {
        let mut groups = Groups {
            entries: Vec::with_capacity(observed.len()),
            sorted: true,
            cursor: 0,
            passed: Vec::new(),
            last: None,
            heads: None,
            deleting: HashMap::new(),
        };
        for cluster in observed {
            let Some(tags) = TagView::unchecked(&cluster.tags, fleet) else { continue };
            if matches!(cluster.phase, ClusterPhase::Deleting | ClusterPhase::Deleted) {
                groups.deleting.entry(tags.identity).or_default().push(&cluster.id);
                continue;
            }
            if groups.entries.last().is_some_and(|last| last.tags.identity > tags.identity) {
                groups.sorted = false;
            }
            groups.entries.push(Entry { cluster, tags, next: NONE });
        }
        if !groups.sorted {
            groups.index();
        }
        groups
    }

    /// Switches to index mode over the entries not yet taken.
    fn index(&mut self) {
        let mut heads = HashMap::with_capacity_and_hasher(self.entries.len(), BuildIdHasher);
        let open = self.passed.iter().copied().chain(self.cursor..self.entries.len()).collect::<Vec<_>>();
        for at in open {
            let index = u32::try_from(at).unwrap_or(NONE);
            let entry = &mut self.entries[at];
            entry.next = heads.insert(entry.tags.identity, index).unwrap_or(NONE);
        }
        self.heads = Some(heads);
        self.passed.clear();
        self.cursor = self.entries.len();
    }

    /// Takes the group of `identity`, if it has any cluster.
    pub fn take(&mut self, identity: &'a str) -> Option<Group<'a>> {
        let deleting =
            if self.deleting.is_empty() { Vec::new() } else { self.deleting.remove(identity).unwrap_or_default() };
        if self.heads.is_none() && self.last.is_some_and(|last| last > identity) {
            self.index();
        }
        let mut group = Group { first: None, more: Vec::new(), deleting };
        match &mut self.heads {
            None => {
                self.last = Some(identity);
                while let Some(entry) = self.entries.get(self.cursor) {
                    match entry.tags.identity.cmp(identity) {
                        std::cmp::Ordering::Less => self.passed.push(self.cursor),
                        std::cmp::Ordering::Equal => group.add(entry.cluster, entry.tags),
                        std::cmp::Ordering::Greater => break,
                    }
                    self.cursor += 1;
                }
            }
            Some(heads) => {
                let mut at = heads.remove(identity).unwrap_or(NONE);
                while let Some(entry) = self.entries.get(at as usize) {
                    group.add(entry.cluster, entry.tags);
                    at = entry.next;
                }
            }
        }
        (group.first.is_some() || !group.deleting.is_empty()).then_some(group)
    }

    /// The live clusters no spec took.
    pub fn rest(self) -> impl Iterator<Item = (&'a Cluster, TagView<'a>)> {
        let open: Vec<usize> = match &self.heads {
            None => self.passed.iter().copied().chain(self.cursor..self.entries.len()).collect(),
            Some(heads) => {
                let mut open = Vec::new();
                for head in heads.values() {
                    let mut at = *head;
                    while let Some(entry) = self.entries.get(at as usize) {
                        open.push(at as usize);
                        at = entry.next;
                    }
                }
                open
            }
        };
        open.into_iter().map(move |at| (self.entries[at].cluster, self.entries[at].tags))
    }
}

/// The clusters of one identity: the live ones and the names of those being deleted.
pub(super) struct Group<'a> {
    pub first: Option<(&'a Cluster, TagView<'a>)>,
    pub more: Vec<(&'a Cluster, TagView<'a>)>,
    pub deleting: Vec<&'a ClusterId>,
}

impl<'a> Group<'a> {
    fn add(&mut self, cluster: &'a Cluster, tags: TagView<'a>) {
        match self.first {
            None => self.first = Some((cluster, tags)),
            Some(_) => self.more.push((cluster, tags)),
        }
    }

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
