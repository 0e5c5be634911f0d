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
//! its `Azure-AsyncOperation` or `Location` URL, waiting as ARM's `Retry-After` asks. `list`
//! pages through each resource group (or the subscription) by `nextLink` and keeps this
//! fleet's clusters by their tags. Credentials are the cluster user kubeconfig from
//! `listClusterUserCredential`, kept secret. Hibernation is AKS stop and start.
//!
//! ```no_run
//! use fleet_azure::AksProviderBuilder;
//! use fleet_core::{ClusterProvider, FleetName, Region};
//! # async fn demo() -> fleet_core::Result<()> {
//! let provider = AksProviderBuilder::new(FleetName::new("prod")?, "00000000-0000-0000-0000-000000000000")
//!     .with_regions(vec![Region::new("westeurope")?, Region::new("northeurope")?])
//!     .with_resource_group("fleet-prod")
//!     .build()?;
//! println!("{} clusters", provider.list().await?.len());
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
