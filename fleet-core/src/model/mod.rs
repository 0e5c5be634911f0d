//! The cluster model: names, versions, what a cluster should be and what was observed.
//!
//! Pure data and validation: no IO, no async.

mod cluster;
mod content_hash;
mod credentials;
mod duration_text;
mod location;
mod names;
mod spec;
mod tag_map;
mod tags;
mod version;

pub use cluster::{Cluster, ClusterPhase};
pub use credentials::{CredentialScope, Credentials};
pub(crate) use duration_text::{format_duration, serde_duration, serde_opt_duration};
pub(crate) use location::relocate;
pub use location::{Location, Room};
pub use names::{
    BlueprintVersion, ClusterId, ClusterIdentity, FleetName, NameError, NodePoolName, ProviderName, Region, TeamName,
};
pub use spec::{ClusterSpec, ClusterSpecBuilder, Network, NodePool, RESERVED_LABEL_PREFIX, SizeClass};
pub use tag_map::Tags;
pub use tags::FleetTags;
pub(crate) use tags::TagView;
pub use version::{KubernetesVersion, VersionError};
