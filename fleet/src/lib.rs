//! # fleet
//!
//! Fleet runs fleets of small, disposable Kubernetes clusters across clouds and regions, from
//! inside a Rust service: no management cluster, a plan before every change, crash-safe
//! through a state store, failover of whole fleets to another region or cloud.
//!
//! ## Where to start
//!
//! The root holds what an embedding service starts from:
//!
//! - [`Runtime`] (feature `yaml`) wires a [`Repository`] (a GitOps directory of fleets,
//!   blueprints and policies), each provider once and a [`StateStore`] into the parts below.
//! - [`Engine`] reconciles one fleet: each pass observes, plans and acts within the clouds' API
//!   budgets, journalling every call first.
//! - [`FailoverController`] watches health and moves clusters to their fallbacks.
//! - [`ClusterProvider`] is the plugin trait every cloud implements; [`ClusterSpec`] is what one
//!   cluster should be and [`Cluster`] what a provider reports.
//! - [`Error`] and [`Result`], used throughout.
//!
//! Everything else lives in named modules: [`model`] (names, specs, versions, credentials),
//! [`provider`] (what a provider crate implements and uses), [`engine`], [`failover`],
//! [`store`], [`plan`], [`blueprint`], [`fleet_spec`], [`sim`] (a simulated cloud, not a real
//! one), [`health`], [`observe`], [`addons`], [`error`], and behind features `repository`,
//! `runtime`, `self_service` (`yaml`), `conformance` and `chaos`. The provider crates come
//! behind features too: `aws` (EKS), `azure`, `etcd` (replicas sharing a store),
//! `gcp` and `kind`.
//!
//! ```
//! use fleet::ClusterProvider;
//! use fleet::model::{FleetName, ProviderName, Region};
//! use fleet::sim::{RegionCapacity, SimCloud};
//!
//! let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
//!     .region(Region::new("local").unwrap(), RegionCapacity::unlimited())
//!     .build();
//! let provider = cloud.provider(FleetName::new("demo").unwrap());
//! assert_eq!(provider.info().regions.len(), 1);
//! ```

#![forbid(unsafe_code)]

pub use fleet_core::engine::Engine;
pub use fleet_core::failover::FailoverController;
#[cfg(feature = "yaml")]
pub use fleet_core::repository::Repository;
#[cfg(feature = "yaml")]
pub use fleet_core::runtime::Runtime;
pub use fleet_core::store::StateStore;
pub use fleet_core::{Cluster, ClusterProvider, ClusterSpec, Error, Result};

/// The cluster model: names (a cluster's [`ClusterId`](model::ClusterId) at its provider, the
/// logical [`ClusterIdentity`](model::ClusterIdentity) it serves), cluster specs and what
/// providers report, Kubernetes versions, locations, credentials and the tags Fleet puts on
/// what it creates.
pub mod model {
    pub use fleet_core::{
        BlueprintVersion, Cluster, ClusterId, ClusterIdentity, ClusterPhase, ClusterSpec, ClusterSpecBuilder,
        CredentialScope, Credentials, ExposeSecret, FleetName, FleetTags, KubernetesVersion, Location, NameError,
        Network, NodePool, NodePoolName, ProviderName, RESERVED_LABEL_PREFIX, Region, Room, SecretString, SizeClass,
        TeamName, VersionError,
    };
}

/// What a provider crate implements ([`ClusterProvider`]) and the
/// helpers it may use: listings, rate limits, capabilities, paging, the error meaning of a
/// request, and the `async_trait` attribute.
pub mod provider {
    #[cfg(feature = "mock")]
    pub use fleet_core::MockClusterProvider;
    pub use fleet_core::paging;
    pub use fleet_core::{
        AppliedSettings, Capabilities, ClusterProvider, ClusterProviderExt, Listing, ProviderInfo, RateLimit,
        RateLimits, RequestKind, TypicalLatency, UnreachableRegion, WaitOptions, async_trait,
    };
}

/// Fleet's errors: one [`Error`] with a kind, sources kept; spec errors
/// collected with their paths.
pub mod error {
    pub use fleet_core::{BoxError, Error, ErrorKind, Result, SpecError, SpecErrors};
}

#[cfg(feature = "chaos")]
pub use fleet_core::chaos;
#[cfg(feature = "conformance")]
pub use fleet_core::conformance;
pub use fleet_core::{addons, blueprint, engine, failover, fleet_spec, health, observe, plan, sim, store, telemetry};
#[cfg(feature = "yaml")]
pub use fleet_core::{repository, runtime, self_service};

/// The EKS provider (feature `aws`).
#[cfg(feature = "aws")]
pub use fleet_aws as aws;

/// The AKS provider (feature `azure`).
#[cfg(feature = "azure")]
pub use fleet_azure as azure;

/// Several replicas on etcd: a shared store, shard ownership, fencing (feature `etcd`).
#[cfg(feature = "etcd")]
pub use fleet_etcd as etcd;

/// The GKE provider (feature `gcp`).
#[cfg(feature = "gcp")]
pub use fleet_gcp as gcp;

/// The Kind provider: local clusters in containers (feature `kind`).
#[cfg(feature = "kind")]
pub use fleet_kind as kind;

/// The README's code blocks, compiled as doc tests so that they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
