//! The control-plane settings of a spec as GKE's own cluster fields:
//!
//! | spec | GKE field |
//! |---|---|
//! | `network.privateEndpoint` | `privateClusterConfig {enablePrivateNodes, enablePrivateEndpoint, masterIpv4CidrBlock}` (VPC-native: `ipAllocationPolicy.useIpAliases`) |
//! | `network.allowedCidrs` | `masterAuthorizedNetworksConfig {enabled, cidrBlocks[].cidrBlock}` |
//! | `network.networkPolicy` | Dataplane V2, `networkConfig.datapathProvider: ADVANCED_DATAPATH` (enforces network policy itself), or Calico: `networkPolicy {enabled, provider: CALICO}` with `addonsConfig.networkPolicyConfig.disabled: false` |
//! | `auditLogging` | GKE writes the Kubernetes API server's audit events to the project's Admin Activity audit log, which cannot be turned off; Fleet also keeps the API server's logs, `loggingConfig.componentConfig.enableComponents: [SYSTEM_COMPONENTS, WORKLOADS, APISERVER]` |
//!
//! The network (`network`, `subnetwork`) is the builder's, never an implicit `default`
//! network when the builder names one.

use google_cloud_container_v1::model;

use fleet_core::ClusterSpec;

/// The `/28` GKE's documentation uses for a private cluster's control plane, used unless the
/// builder sets another ([`crate::GkeProviderBuilder::with_master_ipv4_cidr_block`]). Every
/// private cluster peered into one VPC network needs a range of its own.
pub const DEFAULT_MASTER_IPV4_CIDR_BLOCK: &str = "172.16.0.32/28";

/// How network policies are enforced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetworkPolicyProvider {
    /// GKE Dataplane V2 (eBPF, `ADVANCED_DATAPATH`), which enforces network policies itself:
    /// GKE's recommended choice, and the default.
    #[default]
    DataplaneV2,
    /// Calico (`networkPolicy.provider: CALICO` and the network policy add-on).
    Calico,
}

/// Where and how clusters are connected, as the builder configured it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetworkSetup {
    pub(crate) network: Option<String>,
    pub(crate) subnetwork: Option<String>,
    pub(crate) master_ipv4_cidr_block: String,
    pub(crate) policy_provider: NetworkPolicyProvider,
}

impl Default for NetworkSetup {
    fn default() -> Self {
        Self {
            network: None,
            subnetwork: None,
            master_ipv4_cidr_block: DEFAULT_MASTER_IPV4_CIDR_BLOCK.to_owned(),
            policy_provider: NetworkPolicyProvider::default(),
        }
    }
}

impl NetworkSetup {
    /// `cluster` with the network and every control-plane setting of `spec` applied.
    ///
    /// `privateClusterConfig.enablePrivate*` and `masterAuthorizedNetworksConfig` are marked
    /// deprecated in favour of `controlPlaneEndpointsConfig`; GKE still takes them and they
    /// are the fields its private-cluster documentation describes.
    #[allow(deprecated)]
    pub(crate) fn apply(&self, spec: &ClusterSpec, mut cluster: model::Cluster) -> model::Cluster {
        if let Some(network) = &self.network {
            cluster = cluster.set_network(network);
        }
        if let Some(subnetwork) = &self.subnetwork {
            cluster = cluster.set_subnetwork(subnetwork);
        }
        let wants = &spec.network;
        // Private clusters and Dataplane V2 need a VPC-native cluster (alias IP ranges).
        let dataplane_v2 = wants.network_policy && self.policy_provider == NetworkPolicyProvider::DataplaneV2;
        if wants.private_endpoint || dataplane_v2 {
            cluster = cluster.set_ip_allocation_policy(model::IPAllocationPolicy::new().set_use_ip_aliases(true));
        }
        if wants.private_endpoint {
            cluster = cluster.set_private_cluster_config(
                model::PrivateClusterConfig::new()
                    .set_enable_private_nodes(true)
                    .set_enable_private_endpoint(true)
                    .set_master_ipv4_cidr_block(&self.master_ipv4_cidr_block),
            );
        }
        if !wants.allowed_cidrs.is_empty() {
            let blocks = wants
                .allowed_cidrs
                .iter()
                .map(|cidr| model::master_authorized_networks_config::CidrBlock::new().set_cidr_block(cidr));
            cluster = cluster.set_master_authorized_networks_config(
                model::MasterAuthorizedNetworksConfig::new().set_enabled(true).set_cidr_blocks(blocks),
            );
        }
        if wants.network_policy {
            cluster = match self.policy_provider {
                NetworkPolicyProvider::DataplaneV2 => cluster.set_network_config(
                    model::NetworkConfig::new().set_datapath_provider(model::DatapathProvider::AdvancedDatapath),
                ),
                NetworkPolicyProvider::Calico => cluster
                    .set_network_policy(
                        model::NetworkPolicy::new()
                            .set_enabled(true)
                            .set_provider(model::network_policy::Provider::Calico),
                    )
                    .set_addons_config(
                        model::AddonsConfig::new()
                            .set_network_policy_config(model::NetworkPolicyConfig::new().set_disabled(false)),
                    ),
            };
        }
        if spec.audit_logging {
            use model::logging_component_config::Component;
            cluster = cluster.set_logging_config(model::LoggingConfig::new().set_component_config(
                model::LoggingComponentConfig::new().set_enable_components([
                    Component::SystemComponents,
                    Component::Workloads,
                    Component::Apiserver,
                ]),
            ));
        }
        cluster
    }
}
