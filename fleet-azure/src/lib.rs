//! # fleet-azure
//!
//! The Fleet provider for Azure Kubernetes Service, calling the Azure Resource Manager REST
//! API for `Microsoft.ContainerService/managedClusters` (api-version [`API_VERSION`]) through
//! an `azure_core` pipeline, with `azure_identity` credentials.
//!
//! [`AksProvider`] creates managed clusters with Fleet's tags as Azure tags and one agent
//! pool per Fleet node pool (size classes mapped to VM sizes, cluster autoscaler between the
//! pool's bounds). The pool the spec marks `system` is AKS's `System` pool (Linux, at least
//! one node), the others are `User` pools; a spec without one, or with a pool name AKS
//! refuses (lowercase letters and digits, starting with a letter, at most 12 characters), is
//! refused before any call.
//!
//! Blueprint settings, each applied with AKS's own field or refused by name:
//! - `network.privateEndpoint`: `apiServerAccessProfile.enablePrivateCluster`;
//! - `network.allowedCidrs`: `apiServerAccessProfile.authorizedIPRanges` (refused together
//!   with a private endpoint, as AKS refuses it);
//! - `network.networkPolicy`: `networkProfile.networkPolicy: cilium` on Azure CNI overlay
//!   with `networkDataplane: cilium`;
//! - `auditLogging`: a diagnostic setting sending `kube-audit` to a Log Analytics workspace,
//!   when [`AksProviderBuilder::with_audit_log_workspace`] names one; refused otherwise.
//!
//! With [`AksProviderBuilder::with_entra_id_rbac`], clusters use Entra ID with Azure RBAC and
//! no local accounts. `offered_versions` reads the location's Kubernetes versions list;
//! `update` moves one minor at a time and never down, and tries again within a bound when AKS
//! answers 409 for a busy cluster. Creation uses `If-None-Match: *`, so an
//! existing cluster is never overwritten. Every long-running operation is followed through
//! its `Azure-AsyncOperation` or `Location` URL, waiting as ARM's `Retry-After` asks. `create`
//! of a cluster this fleet already has returns it as it is, without writing to it. `update`
//! refuses what [`fleet_core::plan::ensure_in_place`] refuses, then sets the version, the node
//! pools' bounds and the tags in one PUT of the cluster as ARM answered it, without its
//! read-only properties (the API description's, held by a test); AKS answers an update `200`
//! with no operation to follow, so `update` returns the cluster `Updating` and its own state
//! tells when it is done.
//!
//! `list` pages through each resource group by `nextLink` and keeps this fleet's clusters by
//! their tags. Each resource group is listed on its own: ARM keeps a group's data in the
//! group's region, so a group that cannot be listed makes the regions placed in it
//! unreachable ([`fleet_core::Listing::unreachable`]) while the other groups are listed. With
//! [`AksProviderBuilder::with_subscription_wide_list`] one paged call lists every region;
//! since its answer cannot tell which region failed, a failed call is followed by a list of
//! each group. A list costs one read call per page (its tags and agent pools come in the page),
//! nothing per cluster: 1,000 clusters in pages of 100 are 10 calls, and every change is seen
//! at the next list. Credentials are the cluster user kubeconfig from `listClusterUserCredential`,
//! kept secret. `team_credentials` sets a team's namespace, service account and role up through
//! the cluster's API server with those credentials and hands out a kubeconfig for that account
//! alone ([`fleet_core::addons::team_credentials_over`], over the route of
//! [`AksProviderBuilder::with_api_route`]); with Entra ID the credentials sign in through
//! `kubelogin`, which must be on the `PATH`. Hibernation is AKS stop and start.
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
mod json_path;
mod model;
#[cfg(test)]
mod official_api_tests;
mod provider;
mod read_only;
mod settings;
mod versions;

pub use builder::{API_VERSION, AksProviderBuilder, PUBLIC_CLOUD};

pub use provider::{AksProvider, vm_size};
pub use settings::is_aks_pool_name;
