//! # fleet-aws
//!
//! The Fleet provider for Amazon EKS, on `aws-sdk-eks`.
//!
//! [`EksProvider`] creates each cluster with Fleet's tags (a retried create finds the cluster
//! by its name and returns it: never a second one), then, once the cluster is active, admin
//! access entries for the principals the builder names, the network policy add-on when asked,
//! and one managed node group per node pool: the second half of a create is driven by `get`,
//! which reports the cluster `Creating` until every node group is active. `delete` marks the
//! cluster with a tag and deletes its node groups, then the cluster once they are gone (EKS
//! refuses to delete a cluster that has any); that second half is driven by `get` and further
//! `delete`s, which report the cluster `Deleting` until it is gone. `update` checks the change
//! with [`fleet_core::plan::ensure_in_place`] first, then retags the cluster (labels, blueprint
//! version), upgrades the control plane one minor version at a time (never down), and resizes
//! node groups keeping their current desired size within the new bounds; after a control-plane
//! upgrade, `get` upgrades the node groups to its version and reports the cluster `Updating`
//! until they run it. `list` lists every region at once, every call spaced to the declared read
//! rate, and reports the regions that did not answer as unreachable.
//!
//! What a list costs: EKS's `ListClusters` gives names only, 100 a page, so each cluster must
//! be described (and its node groups listed) to be seen. The provider keeps what it described
//! ([`fleet_core::observe::DescribeCache`]) and describes again only new names, clusters in
//! progress, clusters it changed, and each steady cluster once per resync interval
//! ([`EksProviderBuilder::with_resync_interval`], ten minutes by default): a steady list of N
//! clusters in a region costs `ceil(N / 100)` pages plus `2 N x (time since the last list) /
//! resync` calls, instead of `2 N + 1`. A cluster deleted behind the fleet's back is gone at the
//! next list; one that fails or is changed behind its back is seen within the resync interval;
//! `get` always asks EKS. The Resource Groups Tagging API (`GetResources` filtered by the fleet's
//! tag) was considered for the list and not taken: it returns ARNs and tags but no status, so
//! the describes stay; it saves calls only for other fleets' clusters, which the cache already
//! describes once per resync; and its index lags the EKS API, so a new cluster could be missed
//! by a list. Credentials are a
//! kubeconfig with the cluster's endpoint and CA and a token made the way `aws eks get-token`
//! makes it ([`eks_token`]). `team_credentials` sets a team's namespace, service account, role
//! and binding up through the cluster's Kubernetes API with those admin credentials, over the
//! route of [`EksProviderBuilder::with_api_route`] (directly by default;
//! [`fleet_core::addons::team_credentials_over`]), and returns a kubeconfig for that account
//! only; a private endpoint unreachable over the route makes it `Unavailable`, naming the
//! route. `offered_versions` lists the versions in standard support
//! (`DescribeClusterVersions`).
//!
//! ## Blueprint settings
//! Every setting is applied with EKS's own field, or refused (`InvalidSpec`, naming it) when
//! the capabilities given to the builder do not declare it; none is dropped:
//!
//! | setting | EKS |
//! |---|---|
//! | `auditLogging` | `CreateCluster` `logging.clusterLogging = [{types: ["audit"], enabled: true}]` |
//! | `network.privateEndpoint` | `resourcesVpcConfig.endpointPrivateAccess = true`, `endpointPublicAccess = false` |
//! | `network.allowedCidrs` | `resourcesVpcConfig.publicAccessCidrs` (refused with a private endpoint, as EKS refuses it) |
//! | `network.networkPolicy` | `CreateAddon` `vpc-cni` with `configurationValues = {"enableNetworkPolicy":"true"}` |
//!
//! Every cluster is created with `accessConfig.authenticationMode = "API"` and
//! `bootstrapClusterCreatorAdminPermissions = true`; the principals given to
//! [`EksProviderBuilder::with_admin_principals`] get access entries with the
//! `AmazonEKSClusterAdminPolicy`. With a private endpoint, the Kubernetes API answers only inside
//! the VPC: Fleet's add-on installer and health probes must run where they can reach it.
//!
//! ```no_run
//! use fleet_aws::EksProviderBuilder;
//! use fleet_core::{ClusterProvider, FleetName, Region};
//! # async fn demo() -> fleet_core::Result<()> {
//! let provider = EksProviderBuilder::from_env(FleetName::new("prod")?)
//!     .with_regions(vec![Region::new("eu-west-1")?])
//!     .with_cluster_role_arn("arn:aws:iam::123456789012:role/eks-cluster")
//!     .with_node_role_arn("arn:aws:iam::123456789012:role/eks-node")
//!     .with_subnets(Region::new("eu-west-1")?, vec!["subnet-0abc".into(), "subnet-0def".into()])
//!     .build()
//!     .await?;
//! println!("{} clusters", provider.list().await?.clusters.len());
//! # Ok(()) }
//! ```

mod builder;
mod errors;
mod provider;
mod settings;
mod setup;
mod tags;
mod token;
mod versions;

pub use builder::{EksProviderBuilder, RegionNetwork};
pub use provider::{EksProvider, instance_type};
pub use token::eks_token;
