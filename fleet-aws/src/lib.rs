//! # fleet-aws
//!
//! The Fleet provider for Amazon EKS, on `aws-sdk-eks`.
//!
//! [`EksProvider`] creates each cluster with Fleet's tags and a client request token derived
//! from the spec (a retried create never makes a second cluster), then one managed node group
//! per node pool once the cluster is active: the second half of a create is driven by `get`,
//! which reports the cluster `Creating` until every node group is active. `delete` removes the
//! node groups first (answering with a retryable conflict while any is left), then the
//! cluster. Credentials are a kubeconfig with the cluster's
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
//! println!("{} clusters", provider.list().await?.len());
//! # Ok(()) }
//! ```

mod builder;
mod errors;
mod provider;
mod token;

pub use builder::{EksProviderBuilder, RegionNetwork};
pub use errors::map_sdk_error;
pub use provider::{EksProvider, instance_type};
pub use token::eks_token;
