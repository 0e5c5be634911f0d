//! # fleet-core
//!
//! The core of Fleet, a library for running fleets of small, disposable Kubernetes clusters
//! across clouds and regions: the cluster model, the provider plugin trait, the reconciliation
//! engine, failover, self-service, the state stores, a simulated cloud and the provider
//! conformance kit. It knows no cloud SDK and needs no network.
//!
//! A service embeds it through `runtime::Runtime` (feature `yaml`): a repository directory,
//! each provider once and a store, wired into the parts below, which stay usable on their own:
//!
//! - [`engine::Engine`] reconciles: each pass observes, plans and acts within API budgets,
//!   journalling every call first ([`store::StateStore`]: [`store::MemoryStore`],
//!   `store::SqliteStore`, or etcd through `fleet-etcd`), so that nothing is created twice or
//!   orphaned; [`engine::Engine::dry_run`] shows what the next pass would do.
//! - [`failover::FailoverController`] watches health, judges lost clusters, regions and
//!   providers, and moves clusters to their fallbacks through the engine.
//! - `self_service::SelfService` (feature `yaml`) takes teams' environment requests within
//!   their policies and keeps accepted ones in the store until their TTL ends.
//! - [`telemetry`] records metrics through the `metrics` facade (passes, actions, provider
//!   calls, API budget waits, clusters by phase, failover moves, self-service requests); it
//!   never installs a recorder: a service installs its own and calls [`telemetry::describe`].
//!
//! The model and the plugins:
//!
//! - [`ClusterSpec`] says what one cluster should be; [`Cluster`] is what a provider reports.
//! - [`ClusterProvider`] is the plugin trait every provider implements (EKS, AKS, GKE, Kind, or
//!   your own); [`ClusterProviderExt`] adds helpers such as waiting for a cluster to run.
//! - [`sim`] is a simulated cloud (not a real one) with latencies, quotas, rate limits and fault
//!   injection, deterministic from a seed and fast under virtual time.
//! - `conformance` (feature `conformance`) is the test kit every provider runs.
//! - `MockClusterProvider` (feature `mock`) is a `mockall` mock of the trait.
//! - [`blueprint`]: layered blueprints with locks and typed variables, resolved into versioned
//!   settings; [`fleet_spec`]: fleet specs, environment requests, team policies;
//!   `repository` (feature `yaml`): loading a GitOps directory of them with precise errors;
//!   [`plan`]: the pure diff of desired and observed clusters, printed like `terraform plan`.
//!
//! ## Features
//!
//! - `sqlite` (default): `store::SqliteStore`, the embedded state store (bundled SQLite, so a
//!   C compiler at build time).
//! - `yaml` (default): `repository` and `self_service`, and YAML add-on manifests (without it
//!   add-on manifests are JSON).
//! - `conformance`: the provider conformance kit. `mock`: `MockClusterProvider`. `chaos`: the
//!   chaos suite (turns on `sqlite` and `yaml`). `kube`: add-ons and team access through the
//!   Kubernetes API.
//!
//! A provider crate needs neither default: with `default-features = false` (and
//! `features = ["conformance"]` for its tests) it gets the trait, the model, the errors, the
//! simulated cloud and the conformance kit without a C compiler, SQLite or a YAML parser.
//!
//! ```
//! use std::time::Duration;
//! use fleet_core::sim::{RegionCapacity, SimCloud};
//! use fleet_core::*;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! let region = Region::new("eu-west-1").unwrap();
//! let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
//!     .region(region.clone(), RegionCapacity::new(5, 50))
//!     .build();
//! let provider: std::sync::Arc<dyn ClusterProvider> = std::sync::Arc::new(cloud.provider(FleetName::new("demo").unwrap()));
//!
//! let spec = ClusterSpec::builder(ClusterId::new("web-1").unwrap(), provider.info().name.clone(), region, "1.31".parse().unwrap())
//!     .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
//!     .build()
//!     .unwrap();
//! provider.create(&spec).await.unwrap();
//! let cluster = provider.wait_until_running(&spec.id, WaitOptions::with_timeout(Duration::from_secs(3600))).await.unwrap();
//! println!("{} is {} at {:?}", cluster.id, cluster.phase, cluster.endpoint);
//! let credentials = provider.credentials(&spec.id).await.unwrap();
//! assert_eq!(format!("{credentials:?}"), "Credentials([redacted])");
//! provider.delete(&spec.id).await.unwrap();
//! provider.wait_until_deleted(&spec.id, WaitOptions::with_timeout(Duration::from_secs(3600))).await.unwrap();
//! assert!(provider.list().await.unwrap().clusters.is_empty());
//! # });
//! ```

#![forbid(unsafe_code)]

pub mod addons;
pub mod blueprint;
#[cfg(feature = "chaos")]
pub mod chaos;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod engine;
mod error;
pub mod failover;
pub mod fleet_spec;
pub mod health;
mod model;
mod mutex;
pub mod observe;
pub mod paging;
pub mod plan;
mod provider;
#[cfg(feature = "yaml")]
pub mod repository;
#[cfg(feature = "yaml")]
pub mod runtime;
#[cfg(feature = "yaml")]
pub mod self_service;
pub mod sim;
mod spec_error;
pub mod store;
pub mod telemetry;
mod token_bucket;

/// The `async_trait` attribute every [`ClusterProvider`] implementation uses, re-exported so
/// that a provider crate needs no dependency of its own on it.
pub use async_trait::async_trait;
pub use error::{BoxError, Error, ErrorKind, Result};
pub use model::*;
#[cfg(feature = "mock")]
pub use provider::MockClusterProvider;
pub use provider::{
    AppliedSettings, Capabilities, ClusterProvider, ClusterProviderExt, Listing, ProviderInfo, RateLimit, RateLimits,
    RequestKind, TypicalLatency, UnreachableRegion, WaitOptions,
};
/// The secret string type of [`Credentials::from_token`] and of secrets in general.
pub use secrecy::{ExposeSecret, SecretString};
pub use spec_error::{SpecError, SpecErrors};
pub(crate) use token_bucket::TokenBucket;
