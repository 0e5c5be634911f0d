//! # fleet-gcp
//!
//! The Fleet provider for Google Kubernetes Engine, on `google-cloud-container-v1` (REST and
//! JSON to the Kubernetes Engine API) with `google-cloud-auth`.
//!
//! [`GkeProvider`] creates clusters with Fleet's tags as resource labels and one node pool
//! per Fleet node pool (size classes mapped to machine types), and follows every long-running
//! operation with `GetOperation` until it is done. `list` asks all locations at once
//! (`locations/-`) and keeps this fleet's clusters by their labels; a configured location
//! that GKE names in the answer's `missingZones` (itself, or a zone of it) is reported
//! unreachable and its clusters are left out, and the list fails only when every configured
//! location is missing. A list is one read call whatever the fleet's size: GKE's list has no
//! pages and carries each cluster's status, labels and node pools, so nothing is described
//! one by one and every change is seen at the next list. Credentials are a kubeconfig with the endpoint, the CA and an access
//! token from `google-cloud-auth`, never from the `gcloud` binary.
//!
//! Team credentials (`ClusterProvider::team_credentials`) are set up in the cluster with those
//! cluster-admin credentials through the Kubernetes API (namespace `team-<team>`, a service
//! account, a role limited to the namespace and its binding, a token for the account), over
//! the route of [`GkeProviderBuilder::with_api_route`] (default: directly). A private
//! cluster's API server unreachable over it is `Unavailable`, naming the route.
//!
//! # Settings
//! Every control-plane setting of a spec is applied with GKE's own fields, and declared in
//! the provider's capabilities (a builder may declare fewer with
//! [`GkeProviderBuilder::with_capabilities`]; a setting not declared is refused by name, never
//! dropped):
//! - `network.privateEndpoint`: `privateClusterConfig {enablePrivateNodes, enablePrivateEndpoint,
//!   masterIpv4CidrBlock}` on a VPC-native cluster (`ipAllocationPolicy.useIpAliases`); the
//!   `/28` is [`DEFAULT_MASTER_IPV4_CIDR_BLOCK`] unless
//!   [`GkeProviderBuilder::with_master_ipv4_cidr_block`] sets another. The cluster's endpoint
//!   is then its private address: Fleet (its add-on installer and health probes) must run
//!   where that address is routed (inside the VPC network, or over peering, VPN or
//!   Interconnect): from anywhere else the endpoint cannot be reached.
//! - `network.allowedCidrs`: `masterAuthorizedNetworksConfig {enabled: true, cidrBlocks}`.
//! - `network.networkPolicy`: GKE Dataplane V2 (`networkConfig.datapathProvider:
//!   ADVANCED_DATAPATH`), which enforces network policies itself; or Calico
//!   (`networkPolicy {enabled, provider: CALICO}` with `addonsConfig.networkPolicyConfig`),
//!   chosen with [`GkeProviderBuilder::with_network_policy_provider`].
//! - `auditLogging`: GKE always writes the Kubernetes API server's audit events to the
//!   project's Admin Activity audit log (Cloud Audit Logs; it cannot be turned off); Fleet
//!   also keeps the API server's own logs, `loggingConfig.componentConfig.enableComponents:
//!   [SYSTEM_COMPONENTS, WORKLOADS, APISERVER]`. Data Access audit logs are a project's IAM
//!   audit configuration, outside the GKE API.
//!
//! The network and subnetwork are the builder's ([`GkeProviderBuilder::with_network`],
//! [`GkeProviderBuilder::with_subnetwork`]); without them GKE uses the project's `default`
//! network, which many projects do not have.
//!
//! # Versions
//! [`fleet_core::ClusterProvider::offered_versions`] reads `getServerConfig` of the location
//! (its STABLE, REGULAR and RAPID channels' `validVersions` and the `validMasterVersions` they
//! offer, or only the channel [`GkeProviderBuilder::with_release_channel`] fixes). `create`
//! pins a release channel offering the version (the fixed one, else the most mature: STABLE,
//! REGULAR, RAPID, as GKE itself would) and refuses a version none offers. `update` checks
//! [`fleet_core::plan::ensure_in_place`] first, then upgrades the control plane one minor per
//! call ([`fleet_core::KubernetesVersion::upgrade_step_to`]), moving the cluster to a channel
//! offering the next minor first where its own does not; a cluster GKE has upgraded ahead
//! of its spec is left as it is. It then resizes node pools and sets the resource labels
//! (`setResourceLabels` with the label fingerprint), so that plans converge.
//!
//! # Node counts
//! In a regional cluster `initialNodeCount` and the autoscaler's per-zone limits count nodes
//! in each zone (three zones unless [`GkeProviderBuilder::with_zones`] names them). Fleet's
//! counts are totals: pools get `autoscaling.totalMinNodeCount`/`totalMaxNodeCount` (with the
//! `BALANCED` location policy) and the smallest per-zone initial count reaching the pool's
//! minimum, so quotas (and [`fleet_core::failover::Room`]) count the nodes that really run.
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
mod node_counts;
mod provider;
mod settings;
mod token;
mod versions;

pub use builder::GkeProviderBuilder;

pub use provider::{GkeProvider, machine_type};
pub use settings::{DEFAULT_MASTER_IPV4_CIDR_BLOCK, NetworkPolicyProvider};
pub use versions::ReleaseChannel;
