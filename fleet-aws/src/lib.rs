//! # fleet-aws
//!
//! The Fleet provider for Amazon EKS, on `aws-sdk-eks`.
//!
//! [`EksProvider`] creates each cluster with Fleet's tags (a retried create finds the cluster
//! by its name and returns it: never a second one), then one managed node group per node pool
//! once the cluster is active: the second half of a create is driven by `get`, which reports
//! the cluster `Creating` until every node group is active. `delete` marks the cluster with a
//! tag and deletes its node groups, then the cluster once they are gone (EKS refuses to delete
//! a cluster that has any); that second half is driven by `get` and further `delete`s, which
//! report the cluster `Deleting` until it is gone. `update` checks the change with
//! [`fleet_core::plan::ensure_in_place`] first, then retags the cluster (labels, blueprint
//! version), upgrades the control plane one minor version at a time, and resizes node groups.
//! `list` lists every region at once, its calls spaced to the declared read rate, and reports
//! the regions that did not answer as unreachable. Credentials are a kubeconfig with the cluster's
//! endpoint and CA and a token made the way `aws eks get-token` makes it ([`eks_token`]).
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
mod fan_out;
mod provider;
mod tags;
mod token;

pub use builder::{EksProviderBuilder, RegionNetwork};
pub use errors::map_sdk_error;
pub use provider::{EksProvider, instance_type};
pub use token::eks_token;
