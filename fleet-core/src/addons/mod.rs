//! Add-ons: the blueprint's Kubernetes manifests, applied into every cluster once it runs and
//! kept there.
//!
//! An [`AddonInstaller`] puts a cluster's [`AddonSet`] into it. `KubeAddons` (feature `kube`)
//! does so through the cluster's API server with server-side apply (field manager `fleet`), in
//! dependency order (CRDs, namespaces, cluster-scoped objects, namespaced objects, custom
//! resources), labelling every object as a member of the cluster's ApplySet so that objects
//! dropped from the blueprint are pruned, and nothing Fleet did not apply is touched. Each run
//! also reports drift: objects whose live fields differ from the manifest, corrected when the
//! [`DriftPolicy`] says so. The simulated cloud implements the trait as a simulation.
//!
//! `grant_team_access` (feature `kube`) gives a team its own namespace, service account, role
//! and binding, and a kubeconfig for that account only; `team_credentials_through_admin` does
//! it all from a provider's admin credentials, the one line of a provider's
//! `ClusterProvider::team_credentials`.
//!
//! # Private endpoints: routes to the API server
//! Fleet reaches each cluster's API server over an `ApiRoute` (feature `kube`) that the user
//! configures: `DirectRoute` (the default), `ProxyRoute` (an HTTP(S) or SOCKS5 proxy inside
//! the clusters' network) or `EndpointRewrite` (a tunnel or bastion address per cluster). The
//! add-on installer (`KubeAddons::with_route`), team access (`team_credentials_over`) and
//! the failover probe (`KubeApiProbe::with_route`) take the same route. Before
//! applying anything, the installer checks the API server answers (`check_reachable`, a
//! bounded `GET /version`): one it cannot reach is an [`Error::Unavailable`](crate::Error)
//! naming the cluster, the endpoint and the route, which the engine reports as an
//! `AddonsFailed` event; a cluster replacing another stays inactive, and the old one keeps
//! serving, until its add-ons are in.

mod applyset;
#[cfg(feature = "kube")]
mod client;
#[cfg(feature = "kube")]
mod kube_addons;
mod manifest;
#[cfg(feature = "kube")]
mod reach;
#[cfg(feature = "kube")]
mod route;
#[cfg(feature = "kube")]
mod team_access;

use async_trait::async_trait;
use serde::Serialize;

pub use applyset::{
    APPLYSET_ID_LABEL, CONTAINS_GROUP_KINDS_ANNOTATION, FIELD_MANAGER, MANIFEST_HASH_ANNOTATION, PARENT_NAME,
    PARENT_NAMESPACE, PART_OF_LABEL, RESOURCES_ANNOTATION, TOOLING_ANNOTATION, applyset_id, fleet_applyset_id,
};
#[cfg(feature = "kube")]
pub use client::{kube_client, kube_config};
#[cfg(feature = "kube")]
pub use kube_addons::KubeAddons;
pub use manifest::{AddonObject, AddonSet, ObjectRef, differences};
#[cfg(feature = "kube")]
pub(crate) use reach::unreachable;
#[cfg(feature = "kube")]
pub use reach::{REACH_TIMEOUT, check_reachable};
#[cfg(feature = "kube")]
pub use route::{ApiRoute, DirectRoute, EndpointRewrite, ProxyRoute};
#[cfg(feature = "kube")]
pub use team_access::{TEAM_TOKEN_TTL, grant_team_access, team_credentials_over, team_credentials_through_admin};

use crate::{Cluster, Credentials, Result};

/// What to do with objects whose live state drifted from their manifest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum DriftPolicy {
    /// Report them and leave them as they are.
    #[default]
    Report,
    /// Report them and apply the manifest again, taking back the drifted fields.
    Correct,
}

/// One drifted object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Drift {
    /// The object.
    pub object: ObjectRef,
    /// The fields whose live value differs from the manifest.
    pub fields: Vec<String>,
    /// Whether it was corrected.
    pub corrected: bool,
}

/// What one install did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AddonReport {
    /// Objects applied (created, or changed in the blueprint, or corrected).
    pub applied: Vec<ObjectRef>,
    /// Objects left as they were: live already as the manifest states.
    pub unchanged: usize,
    /// Objects deleted because the blueprint no longer has them.
    pub pruned: Vec<ObjectRef>,
    /// Objects found drifted.
    pub drifted: Vec<Drift>,
}

/// Puts add-ons into clusters.
#[async_trait]
pub trait AddonInstaller: Send + Sync {
    /// Applies `addons` into `cluster` (reached with `credentials`), prunes what earlier
    /// installs applied and `addons` no longer has, and reports drift under `policy`.
    async fn install(
        &self,
        cluster: &Cluster,
        credentials: &Credentials,
        addons: &AddonSet,
        policy: DriftPolicy,
    ) -> Result<AddonReport>;
}
