//! The placements a decision follows: the store's as read (borrowed, not copied: a fleet of a
//! million has a million of them), with what this pass changed over them.

use std::collections::HashMap;

use crate::ClusterIdentity;
use crate::store::Placement;

/// The store's placements by identity, and this pass's changes over them.
pub(crate) struct PlacementView<'a> {
    read: HashMap<&'a ClusterIdentity, &'a Placement>,
    /// Written or worked out this pass (`None`: removed).
    changed: HashMap<ClusterIdentity, Option<Placement>>,
}

impl<'a> PlacementView<'a> {
    /// The placements of `read` whose identity `keep` keeps.
    pub(crate) fn new(read: &'a [Placement], keep: impl Fn(&ClusterIdentity) -> bool) -> Self {
        let read = read.iter().filter(|p| keep(&p.identity)).map(|p| (&p.identity, p)).collect();
        Self { read, changed: HashMap::new() }
    }

    /// The placement of `identity`, if it has one.
    pub(crate) fn get(&self, identity: &ClusterIdentity) -> Option<&Placement> {
        match self.changed.get(identity) {
            Some(changed) => changed.as_ref(),
            None => self.read.get(identity).copied(),
        }
    }

    /// Every placement.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Placement> {
        let read = self.read.values().copied().filter(|p| !self.changed.contains_key(&p.identity));
        read.chain(self.changed.values().flatten())
    }

    /// Puts `placement` in place of its identity's.
    pub(crate) fn insert(&mut self, placement: Placement) {
        self.changed.insert(placement.identity.clone(), Some(placement));
    }

    /// Removes the placement of `identity`.
    pub(crate) fn remove(&mut self, identity: &ClusterIdentity) {
        self.changed.insert(identity.clone(), None);
    }

    /// The placement of `identity` to change: its own copy, made by `new` when it has none.
    pub(crate) fn make_mut(&mut self, identity: &ClusterIdentity, new: impl FnOnce() -> Placement) -> &mut Placement {
        let current = self.get(identity).cloned();
        self.changed.entry(identity.clone()).or_insert(None).get_or_insert_with(|| current.unwrap_or_else(new))
    }
}
