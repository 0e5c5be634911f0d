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
//!   cluster's tags, node pools, endpoint and progress in a small JSON file per cluster in its
//!   state directory; that record is where a cluster's tags live (the node labels show the tags
//!   it was created with). A cluster Kind lists without such a record, or with another fleet's
//!   tags in it, is not this fleet's and is left alone;
//! - `kind create cluster` and `kind delete cluster` return when they are done, so `create`
//!   returns a running cluster; changes of one cluster are serialized across threads and
//!   processes by a lock file per cluster in the state directory, so concurrent creates of one
//!   id make one cluster, and `get` reports a cluster another caller is still creating as
//!   `Creating` (and one whose creation was interrupted as `Failed`);
//! - `update` changes tags only (labels and blueprint version, in the record): Kind upgrades
//!   and resizes nothing in place, so a new version or node pool size is a replacement
//!   (refused by `update` with `Unsupported`);
//! - team credentials ([`fleet_core::Capabilities::team_credentials`]) come from the cluster's
//!   API server through `fleet-core`'s `grant_team_access`.
//!
//! A missing `kind` or container engine is an error saying what to install; a container engine
//! that does not answer (its daemon stopped or restarting) is [`fleet_core::Error::Unavailable`],
//! which callers retry.
//!
//! ```no_run
//! use fleet_core::{ClusterProvider, FleetName};
//! use fleet_kind::KindProvider;
//! # async fn demo() -> fleet_core::Result<()> {
//! let provider = KindProvider::builder(FleetName::new("laptop")?).build()?;
//! for cluster in provider.list().await?.clusters {
//!     println!("{} {}", cluster.id, cluster.phase);
//! }
//! # Ok(()) }
//! ```

mod command;
mod config;
mod provider;
mod record;

pub use command::KindCommand;
pub use config::{kind_config, node_image, offered_versions};
pub use provider::{KindProvider, KindProviderBuilder};
