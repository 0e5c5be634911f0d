//! # fleet
//!
//! Fleet runs fleets of small, disposable Kubernetes clusters across clouds and regions. This
//! facade re-exports [`fleet_core`] (model, provider trait, simulated cloud, conformance kit);
//! provider crates join it behind features as they are added.
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

/// The README's code blocks, compiled as doc tests so that they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
