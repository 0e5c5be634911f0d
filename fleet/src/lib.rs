//! # fleet
//!
//! Fleet runs fleets of small, disposable Kubernetes clusters across clouds and regions. This
//! facade re-exports [`fleet_core`] (model, provider trait, engine, failover, simulated cloud,
//! conformance kit) and, behind features, the provider crates: `aws` (`fleet_aws`), `azure` (`fleet_azure`), `etcd` (`fleet_etcd`), `gcp` (`fleet_gcp`)
//! and `kind` (`fleet_kind`).
//!
//! ```
//! use fleet::sim::{RegionCapacity, SimCloud};
//! use fleet::{FleetName, ProviderName, Region, ClusterProvider};
//!
//! let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
//!     .region(Region::new("local").unwrap(), RegionCapacity::unlimited())
//!     .build();
//! let provider = cloud.provider(FleetName::new("demo").unwrap());
//! assert_eq!(provider.info().regions.len(), 1);
//! ```

#![forbid(unsafe_code)]

pub use fleet_core::*;

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
