//! # fleet-gcp
//!
//! The Fleet provider for Google Kubernetes Engine, on `google-cloud-container-v1` (REST and
//! JSON to the Kubernetes Engine API) with `google-cloud-auth`.
//!
//! [`GkeProvider`] creates clusters with Fleet's tags as resource labels and one node pool
//! per Fleet node pool (size classes mapped to machine types, autoscaling between the pool's
//! bounds), and follows every long-running operation with `GetOperation` until it is done.
//! `list` asks all locations at once (`locations/-`) and keeps this fleet's clusters by their
//! labels; a configured location that GKE names in the answer's `missingZones` (itself, or a
//! zone of it) is reported unreachable and its clusters are left out, and the list fails only
//! when every configured location is missing. `update` checks
//! [`fleet_core::plan::ensure_in_place`] first, then upgrades the control plane, resizes node
//! pools and sets the resource labels (`setResourceLabels` with the label fingerprint). Credentials are a kubeconfig with the endpoint, the CA and an access token from
//! `google-cloud-auth`, never from the `gcloud` binary.
//!
//! ```no_run
//! use fleet_core::{ClusterProvider, FleetName, Region};
//! use fleet_gcp::GkeProviderBuilder;
//! # async fn demo() -> fleet_core::Result<()> {
//! let provider = GkeProviderBuilder::new(FleetName::new("prod")?, "my-project")
//!     .with_locations(vec![Region::new("europe-west1")?])
//!     .build()
//!     .await?;
//! println!("{} clusters", provider.list().await?.clusters.len());
//! # Ok(()) }
//! ```

mod builder;
mod errors;
mod provider;
mod token;

pub use builder::GkeProviderBuilder;
pub use errors::map_gcp_error;
pub use provider::{GkeProvider, machine_type};
