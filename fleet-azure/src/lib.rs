//! # fleet-azure
//!
//! The Fleet provider for Azure Kubernetes Service, calling the Azure Resource Manager REST
//! API for `Microsoft.ContainerService/managedClusters` (api-version [`API_VERSION`]) through
//! an `azure_core` pipeline, with `azure_identity` credentials.
//!
//! [`AksProvider`] creates managed clusters with Fleet's tags as Azure tags and one agent
//! pool per Fleet node pool (size classes mapped to VM sizes, the first pool as the system
//! pool, cluster autoscaler between the pool's bounds). Creation uses `If-None-Match: *`, so an
//! existing cluster is never overwritten. Every long-running operation is followed through
//! its `Azure-AsyncOperation` or `Location` URL, waiting as ARM's `Retry-After` asks. `create`
//! of a cluster this fleet already has returns it as it is, without writing to it. `update`
//! refuses what [`fleet_core::plan::ensure_in_place`] refuses, then sets the version, the node
//! pools' bounds and the tags in one PUT.
//!
//! `list` pages through each resource group by `nextLink` and keeps this fleet's clusters by
//! their tags. Each resource group is listed on its own: ARM keeps a group's data in the
//! group's region, so a group that cannot be listed makes the regions placed in it
//! unreachable ([`fleet_core::Listing::unreachable`]) while the other groups are listed. With
//! [`AksProviderBuilder::with_subscription_wide_list`] one paged call lists every region;
//! since its answer cannot tell which region failed, a failed call is followed by a list of
//! each group. Credentials are the cluster user kubeconfig from `listClusterUserCredential`,
//! kept secret. Hibernation is AKS stop and start.
//!
//! ```no_run
//! use fleet_azure::AksProviderBuilder;
//! use fleet_core::{ClusterProvider, FleetName, Region};
//! # async fn demo() -> fleet_core::Result<()> {
//! let provider = AksProviderBuilder::new(FleetName::new("prod")?, "00000000-0000-0000-0000-000000000000")
//!     .with_regions(vec![Region::new("westeurope")?, Region::new("northeurope")?])
//!     .with_region_resource_group(Region::new("westeurope")?, "fleet-prod-westeurope")
//!     .with_region_resource_group(Region::new("northeurope")?, "fleet-prod-northeurope")
//!     .build()?;
//! let listing = provider.list().await?;
//! println!("{} clusters, {} regions out of reach", listing.clusters.len(), listing.unreachable.len());
//! # Ok(()) }
//! ```

mod arm;
mod builder;
mod errors;
mod model;
mod provider;

pub use builder::{API_VERSION, AksProviderBuilder, PUBLIC_CLOUD};
pub use errors::{ArmFailure, map_arm_error};
pub use provider::{AksProvider, vm_size};
