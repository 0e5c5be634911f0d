//! # fleet-kind
//!
//! The Fleet provider for [Kind](https://kind.sigs.k8s.io): Kubernetes clusters running in
//! containers on the local machine, for laptops and CI. [`KindProvider`] drives the `kind`
//! command line (`kind create cluster`, `kind get clusters`, `kind get kubeconfig`,
//! `kind delete cluster`) through `tokio::process`:
//! - a cluster's name is its Fleet id; its node image follows the Kubernetes version
//!   ([`node_image`]); its kind config has one control-plane node and a worker per node of each
//!   node pool's minimum, every node labelled with Fleet's tags ([`kind_config`]);
//! - the only region is `local`;
//! - Kind keeps no metadata of its own about a cluster, so the provider also records each
//!   cluster's tags, node pools and endpoint in a small JSON file per cluster in its state
//!   directory; a cluster Kind lists without such a record is not Fleet's and is left alone;
//! - nothing changes in place (no capabilities): an upgrade is a replacement;
//! - team credentials come from the cluster's API server through `fleet-core`'s
//!   `grant_team_access`.
//!
//! A missing `kind` or container engine is an error saying what to install.
//!
//! ```no_run
//! use fleet_core::{ClusterProvider, FleetName};
//! use fleet_kind::KindProvider;
//! # async fn demo() -> fleet_core::Result<()> {
//! let provider = KindProvider::builder(FleetName::new("laptop")?).build()?;
//! for cluster in provider.list().await? {
//!     println!("{} {}", cluster.id, cluster.phase);
//! }
//! # Ok(()) }
//! ```

mod command;
mod config;
mod provider;
mod record;

pub use command::KindCommand;
pub use config::{kind_config, node_image};
pub use provider::{KindProvider, KindProviderBuilder};
