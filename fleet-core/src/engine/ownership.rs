//! [`Ownership`]: which logical clusters an engine may act on. One engine alone owns every
//! cluster ([`OwnsAll`]); replicas sharing one store (see the `fleet-etcd` crate) each own
//! the clusters of the shards they hold, and the engine leaves the others alone: it neither
//! observes, plans, acts on, recovers intents of, nor stores anything about them.

use std::sync::Arc;

use crate::{Cluster, ClusterId, ClusterIdentity, ClusterSpec};

/// Decides whether this engine may act on a logical cluster (a [`ClusterIdentity`]: what a
/// cluster and its replacements share).
///
/// ```
/// use fleet_core::engine::{Ownership, OwnsAll};
/// use fleet_core::ClusterIdentity;
/// assert!(OwnsAll.owns(&ClusterIdentity::new("web-1").unwrap()));
/// assert!(OwnsAll.owns_everything(), "the engine need not ask");
/// ```
pub trait Ownership: Send + Sync {
    /// Whether this engine may act on `identity` now.
    fn owns(&self, identity: &ClusterIdentity) -> bool;

    /// Whether this engine owns every identity, whatever it is ([`OwnsAll`]): the engine then
    /// asks about none, which saves reading each cluster's identity on every pass. Default:
    /// `false`.
    fn owns_everything(&self) -> bool {
        false
    }
}

/// Owns every cluster: the ownership of a single engine.
#[derive(Debug, Clone, Copy, Default)]
pub struct OwnsAll;

impl Ownership for OwnsAll {
    fn owns(&self, _identity: &ClusterIdentity) -> bool {
        true
    }

    fn owns_everything(&self) -> bool {
        true
    }
}

impl<T: Ownership + ?Sized> Ownership for Arc<T> {
    fn owns(&self, identity: &ClusterIdentity) -> bool {
        (**self).owns(identity)
    }

    fn owns_everything(&self) -> bool {
        (**self).owns_everything()
    }
}

/// The identity an intent is about: its spec's, else that of the observed cluster it names
/// (`observed` sorted by id), else the cluster id itself.
pub(crate) fn identity_of_call(
    cluster: &ClusterId,
    spec: Option<&ClusterSpec>,
    observed: &[Cluster],
) -> ClusterIdentity {
    match spec {
        Some(spec) => spec.identity(),
        None => super::by_name::first_named(observed, cluster)
            .map_or_else(|| ClusterIdentity::of(cluster), Cluster::identity),
    }
}
