//! [`AksProvider`]: the `ClusterProvider` for Azure Kubernetes Service.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use azure_core::http::Method;
use base64::Engine as _;
use fleet_core::{
    Cluster, ClusterId, ClusterPhase, ClusterProvider, ClusterSpec, Credentials, Error, FleetName, FleetTags,
    KubernetesVersion, NodePool, NodePoolName, ProviderInfo, Region, Result, SizeClass,
};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::arm::Arm;
use crate::model::{AgentPoolProfile, ClusterProperties, CredentialResults, ManagedCluster, Page};

/// The node label recording a pool's abstract size class.
const SIZE_LABEL: &str = "fleet-size-class";

/// The Azure VM size of a size class (override per provider with
/// [`crate::AksProviderBuilder::with_vm_size`]).
///
/// ```
/// assert_eq!(fleet_azure::vm_size(fleet_core::SizeClass::Small), "Standard_D2s_v5");
/// ```
pub fn vm_size(size: SizeClass) -> &'static str {
    match size {
        SizeClass::Small => "Standard_D2s_v5",
        SizeClass::Medium => "Standard_D4s_v5",
        SizeClass::Large => "Standard_D8s_v5",
        _ => "Standard_D16s_v5",
    }
}

/// Where clusters of a region live: the resource group per region.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    pub subscription: String,
    pub resource_groups: BTreeMap<Region, String>,
    /// List the whole subscription at once instead of each resource group.
    pub list_subscription: bool,
}

impl Placement {
    fn cluster_path(&self, resource_group: &str, id: &ClusterId) -> String {
        format!("{}/{id}", self.clusters_path(resource_group))
    }

    fn clusters_path(&self, resource_group: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{resource_group}/providers/Microsoft.ContainerService/managedClusters",
            self.subscription
        )
    }

    /// Every resource group, once each.
    fn groups(&self) -> Vec<&str> {
        let mut groups: Vec<&str> = self.resource_groups.values().map(String::as_str).collect();
        groups.sort_unstable();
        groups.dedup();
        groups
    }
}

/// AKS clusters of one fleet in one subscription's resource groups; see the
/// [crate](crate) documentation.
pub struct AksProvider {
    pub(crate) fleet: FleetName,
    pub(crate) info: ProviderInfo,
    pub(crate) arm: Arm,
    pub(crate) placement: Placement,
    pub(crate) vm_sizes: BTreeMap<SizeClass, String>,
    /// The resource group each known cluster is in, to avoid asking every group.
    pub(crate) located: Mutex<BTreeMap<ClusterId, String>>,
}

impl std::fmt::Debug for AksProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AksProvider")
            .field("fleet", &self.fleet)
            .field("subscription", &self.placement.subscription)
            .field("regions", &self.info.regions)
            .finish_non_exhaustive()
    }
}

impl AksProvider {
    fn remember(&self, id: &ClusterId, resource_group: &str) {
        self.located
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.clone(), resource_group.to_owned());
    }

    async fn get_in(&self, resource_group: &str, id: &ClusterId) -> Result<ManagedCluster> {
        let url = self.arm.url(&self.placement.cluster_path(resource_group, id))?;
        let doing = format!("get AKS cluster `{id}` in resource group `{resource_group}`");
        let cluster: ManagedCluster = self.arm.call(Method::Get, url, None, &[], &doing, false).await?.json(&doing)?;
        self.remember(id, resource_group);
        Ok(cluster)
    }

    /// Finds cluster `id`: where it was last seen, else in each resource group.
    async fn find(&self, id: &ClusterId) -> Result<(String, ManagedCluster)> {
        let known = self.located.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(id).cloned();
        let groups = self.placement.groups();
        for group in known.iter().map(String::as_str).chain(groups) {
            match self.get_in(group, id).await {
                Ok(cluster) => return Ok((group.to_owned(), cluster)),
                Err(Error::NotFound { .. }) => continue,
                Err(err) => return Err(err),
            }
        }
        Err(Error::cluster_not_found(id))
    }

    /// Cluster `id`, if it exists and is this fleet's: `NotFound` or `PermissionDenied`.
    async fn owned(&self, id: &ClusterId) -> Result<(String, ManagedCluster)> {
        let (group, cluster) = self.find(id).await?;
        if FleetTags::belongs_to(&cluster.tags, &self.fleet) {
            Ok((group, cluster))
        } else {
            Err(Error::PermissionDenied { message: format!("AKS cluster `{id}` is not fleet `{}`'s", self.fleet) })
        }
    }

    fn resource_group(&self, region: &Region) -> Result<&str> {
        self.placement.resource_groups.get(region).map(String::as_str).ok_or_else(|| Error::InvalidSpec {
            path: "region".into(),
            reason: format!("provider `{}` has no region `{region}`", self.info.name),
        })
    }

    fn agent_pool(&self, index: usize, pool: &NodePool, version: &str) -> Result<AgentPoolProfile> {
        // Node pool names already follow AKS's agent pool rule (see `NodePoolName`).
        if index == 0 && pool.min_count == 0 {
            return Err(Error::InvalidSpec {
                path: format!("node_pools[{index}].min_count"),
                reason: "the first node pool is AKS's system pool, which needs at least one node".into(),
            });
        }
        let size = pool
            .machine_type
            .clone()
            .or_else(|| self.vm_sizes.get(&pool.size).cloned())
            .unwrap_or_else(|| vm_size(pool.size).to_owned());
        let mut rest = serde_json::Map::new();
        rest.insert("mode".into(), json!(if index == 0 { "System" } else { "User" }));
        rest.insert("osType".into(), json!("Linux"));
        rest.insert("type".into(), json!("VirtualMachineScaleSets"));
        Ok(AgentPoolProfile {
            name: pool.name.to_string(),
            count: Some(i64::from(pool.min_count.max(1))),
            vm_size: Some(size),
            enable_auto_scaling: Some(true),
            min_count: Some(i64::from(pool.min_count)),
            max_count: Some(i64::from(pool.max_count.get())),
            orchestrator_version: Some(version.to_owned()),
            node_labels: BTreeMap::from([(SIZE_LABEL.to_owned(), pool.size.as_str().to_owned())]),
            rest,
        })
    }

    fn view(&self, aks: &ManagedCluster) -> Result<Cluster> {
        let name = aks.name().ok_or_else(|| Error::Provider {
            message: "ARM answered with a managed cluster without a name".into(),
            source: None,
        })?;
        let id = ClusterId::new(name)?;
        let location = self
            .info
            .regions
            .iter()
            .find(|region| region.as_str().eq_ignore_ascii_case(&aks.location))
            .cloned()
            .map_or_else(|| Region::new(aks.location.to_ascii_lowercase()), Ok)?;
        let properties = &aks.properties;
        let state = properties.provisioning_state.as_deref().unwrap_or_default();
        let stopped = properties.power_state.as_ref().is_some_and(|power| power.code == "Stopped");
        let phase = match state {
            "Creating" => ClusterPhase::Creating,
            "Deleting" => ClusterPhase::Deleting,
            "Succeeded" if stopped => ClusterPhase::Hibernated,
            "Succeeded" => ClusterPhase::Running,
            "Failed" | "Canceled" => ClusterPhase::Failed { reason: failure_reason(properties, state) },
            "" => ClusterPhase::Pending,
            _ => ClusterPhase::Updating,
        };
        let pools = properties.agent_pool_profiles.iter().filter_map(node_pool_of).collect();
        let mut cluster = Cluster::new(id, self.info.name.clone(), aks.id().unwrap_or(name), location, phase)
            .with_node_pools(pools)
            .with_tags(aks.tags.clone());
        let version = properties.current_kubernetes_version.as_deref().or(properties.kubernetes_version.as_deref());
        if let Some(version) = version.and_then(|v| v.parse::<KubernetesVersion>().ok()) {
            cluster = cluster.with_kubernetes_version(version);
        }
        if let Some(fqdn) = properties.fqdn.as_deref().filter(|fqdn| !fqdn.is_empty()) {
            cluster = cluster.with_endpoint(format!("https://{fqdn}"));
        }
        Ok(cluster)
    }

    /// PUTs `cluster` and follows the operation.
    async fn put(&self, resource_group: &str, id: &ClusterId, cluster: &ManagedCluster, creating: bool) -> Result<()> {
        let url = self.arm.url(&self.placement.cluster_path(resource_group, id))?;
        let body = serde_json::to_value(cluster).map_err(|err| Error::Provider {
            message: format!("cannot write AKS cluster `{id}`: {err}"),
            source: None,
        })?;
        let doing = format!(
            "{} AKS cluster `{id}` in resource group `{resource_group}`",
            if creating { "create" } else { "update" }
        );
        let headers: &[(&'static str, &str)] = if creating { &[("if-none-match", "*")] } else { &[] };
        let started = self.arm.call(Method::Put, url, Some(&body), headers, &doing, creating).await?;
        self.remember(id, resource_group);
        self.arm.follow(&started, &doing).await
    }

    /// POSTs an action (`stop`, `start`) and follows it.
    async fn act(&self, id: &ClusterId, action: &str) -> Result<Cluster> {
        let (group, _) = self.owned(id).await?;
        let url = self.arm.url(&format!("{}/{action}", self.placement.cluster_path(&group, id)))?;
        let doing = format!("{action} AKS cluster `{id}`");
        let started = self.arm.call(Method::Post, url, None, &[], &doing, false).await?;
        self.arm.follow(&started, &doing).await?;
        self.view(&self.get_in(&group, id).await?)
    }

    async fn list_from(&self, first: String, clusters: &mut Vec<Cluster>) -> Result<()> {
        let mut url = self.arm.url(&first)?;
        let doing = format!("list AKS clusters of `{first}`");
        let mut pages = fleet_core::paging::Pages::new(&doing);
        loop {
            let page: Page = self.arm.call(Method::Get, url, None, &[], &doing, false).await?.json(&doing)?;
            for aks in &page.value {
                if self.listed(aks) {
                    clusters.push(self.view(aks)?);
                }
            }
            match pages.next(page.next_link.as_deref())? {
                Some(link) => url = self.arm.link(&link, &doing)?,
                None => return Ok(()),
            }
        }
    }

    /// Whether a listed cluster is this fleet's, in a configured region and its resource group.
    fn listed(&self, aks: &ManagedCluster) -> bool {
        if !FleetTags::belongs_to(&aks.tags, &self.fleet) {
            return false;
        }
        let Some(group) = self
            .placement
            .resource_groups
            .iter()
            .find(|(region, _)| region.as_str().eq_ignore_ascii_case(&aks.location))
            .map(|(_, group)| group)
        else {
            return false;
        };
        let marker = format!("/resourcegroups/{}/", group.to_ascii_lowercase());
        let in_group = aks.id().is_none_or(|id| id.to_ascii_lowercase().contains(&marker));
        if let (true, Some(name)) = (in_group, aks.name().and_then(|name| ClusterId::new(name).ok())) {
            self.remember(&name, group);
        }
        in_group
    }
}

fn failure_reason(properties: &ClusterProperties, state: &str) -> String {
    properties
        .rest
        .get("status")
        .and_then(|status| status.get("provisioningError"))
        .and_then(|error| error.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("AKS reports provisioning state {state}"))
}

fn node_pool_of(profile: &AgentPoolProfile) -> Option<NodePool> {
    let name = NodePoolName::new(profile.name.as_str()).ok()?;
    let size = profile
        .node_labels
        .get(SIZE_LABEL)
        .and_then(|label| SizeClass::ALL.into_iter().find(|s| s.as_str() == label))
        .unwrap_or(SizeClass::Medium);
    let count = profile.count.unwrap_or(1);
    let (min, max) = match profile.enable_auto_scaling {
        Some(true) => (profile.min_count.unwrap_or(count), profile.max_count.unwrap_or(count)),
        _ => (count, count),
    };
    let pool = NodePool::new(name, size, u32::try_from(min).ok()?, u32::try_from(max.max(1)).ok()?).ok()?;
    Some(match profile.vm_size.as_deref().filter(|vm| !vm.is_empty()) {
        Some(vm) => pool.with_machine_type(vm),
        None => pool,
    })
}

/// `major.minor`, which AKS resolves to its newest supported patch.
fn minor_version(version: &KubernetesVersion) -> String {
    format!("{}.{}", version.major(), version.minor())
}

#[async_trait]
impl ClusterProvider for AksProvider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster> {
        if spec.provider != self.info.name {
            return Err(Error::wrong_provider(&spec.provider, &self.info.name));
        }
        let group = self.resource_group(&spec.region)?.to_owned();
        let version = minor_version(&spec.kubernetes_version);
        let pools = spec
            .node_pools
            .iter()
            .enumerate()
            .map(|(index, pool)| self.agent_pool(index, pool, &version))
            .collect::<Result<Vec<_>>>()?;
        let mut rest = serde_json::Map::new();
        rest.insert("identity".into(), json!({"type": "SystemAssigned"}));
        let cluster = ManagedCluster {
            location: spec.region.to_string(),
            tags: FleetTags::cluster_tags(&self.fleet, spec),
            properties: ClusterProperties {
                kubernetes_version: Some(version),
                dns_prefix: Some(spec.id.to_string()),
                agent_pool_profiles: pools,
                ..ClusterProperties::default()
            },
            rest,
        };
        match self.put(&group, &spec.id, &cluster, true).await {
            Ok(()) => {}
            Err(Error::AlreadyExists { resource }) => {
                let existing = self.get_in(&group, &spec.id).await?;
                if !FleetTags::belongs_to(&existing.tags, &self.fleet) {
                    return Err(Error::AlreadyExists { resource });
                }
            }
            Err(err) => return Err(err),
        }
        self.view(&self.get_in(&group, &spec.id).await?)
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        let (_, cluster) = self.find(id).await?;
        self.view(&cluster)
    }

    async fn list(&self) -> Result<Vec<Cluster>> {
        let mut clusters = Vec::new();
        if self.placement.list_subscription {
            let path = format!(
                "/subscriptions/{}/providers/Microsoft.ContainerService/managedClusters",
                self.placement.subscription
            );
            self.list_from(path, &mut clusters).await?;
        } else {
            for group in self.placement.groups() {
                self.list_from(self.placement.clusters_path(group), &mut clusters).await?;
            }
        }
        Ok(clusters)
    }

    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let (group, mut aks) = self.owned(&spec.id).await?;
        let current = self.view(&aks)?;
        let names = |pools: &[NodePool]| pools.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        if names(&current.node_pools) != names(&spec.node_pools) {
            return Err(Error::Unsupported {
                operation: format!("adding or removing node pools of AKS cluster `{}` (needs a replacement)", spec.id),
            });
        }
        let wanted = minor_version(&spec.kubernetes_version);
        let upgrade = current.kubernetes_version.as_ref().map(minor_version) != Some(wanted.clone());
        let bounds = |pools: &[NodePool]| pools.iter().map(|p| (p.min_count, p.max_count)).collect::<Vec<_>>();
        let resize = bounds(&current.node_pools) != bounds(&spec.node_pools);
        if upgrade && !self.info.capabilities.in_place_version_upgrade {
            return Err(Error::Unsupported { operation: format!("in-place upgrade of `{}`", spec.id) });
        }
        if resize && !self.info.capabilities.node_pool_resize {
            return Err(Error::Unsupported { operation: format!("resizing node pools of `{}`", spec.id) });
        }
        if !upgrade && !resize {
            return Ok(current);
        }
        if upgrade {
            aks.properties.kubernetes_version = Some(wanted.clone());
        }
        for (profile, pool) in aks.properties.agent_pool_profiles.iter_mut().zip(&spec.node_pools) {
            if upgrade {
                profile.orchestrator_version = Some(wanted.clone());
            }
            let (min, max) = (i64::from(pool.min_count), i64::from(pool.max_count.get()));
            profile.enable_auto_scaling = Some(true);
            profile.min_count = Some(min);
            profile.max_count = Some(max);
            profile.count = Some(profile.count.unwrap_or(min).clamp(min.max(1), max));
        }
        self.put(&group, &spec.id, &aks, false).await?;
        self.view(&self.get_in(&group, &spec.id).await?)
    }

    async fn delete(&self, id: &ClusterId) -> Result<()> {
        let (group, _) = match self.owned(id).await {
            Ok(found) => found,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(err) => return Err(err),
        };
        let url = self.arm.url(&self.placement.cluster_path(&group, id))?;
        let doing = format!("delete AKS cluster `{id}` in resource group `{group}`");
        match self.arm.call(Method::Delete, url, None, &[], &doing, false).await {
            Ok(started) => self.arm.follow(&started, &doing).await,
            Err(Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        let (group, aks) = self.owned(id).await?;
        let Some(fqdn) = aks.properties.fqdn.as_deref().filter(|fqdn| !fqdn.is_empty()) else {
            return Err(Error::Conflict { message: format!("AKS cluster `{id}` has no API server address yet") });
        };
        let url = self.arm.url(&format!("{}/listClusterUserCredential", self.placement.cluster_path(&group, id)))?;
        let doing = format!("list user credentials of AKS cluster `{id}`");
        let results: CredentialResults =
            self.arm.call(Method::Post, url, None, &[], &doing, false).await?.json(&doing)?;
        let chosen = results
            .kubeconfigs
            .iter()
            .find(|result| result.name == "clusterUser")
            .or_else(|| results.kubeconfigs.first())
            .ok_or_else(|| Error::Provider { message: format!("{doing}: ARM returned no kubeconfig"), source: None })?;
        let kubeconfig = base64::engine::general_purpose::STANDARD
            .decode(chosen.value.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| Error::Provider {
                message: format!("{doing}: the kubeconfig `{}` is not base64-encoded UTF-8", chosen.name),
                source: None,
            })?;
        Ok(Credentials::from_kubeconfig(format!("https://{fqdn}"), SecretString::from(kubeconfig)))
    }

    async fn hibernate(&self, id: &ClusterId) -> Result<Cluster> {
        if !self.info.capabilities.hibernation {
            return Err(Error::Unsupported { operation: format!("hibernate `{id}`") });
        }
        self.act(id, "stop").await
    }

    async fn resume(&self, id: &ClusterId) -> Result<Cluster> {
        if !self.info.capabilities.hibernation {
            return Err(Error::Unsupported { operation: format!("resume `{id}`") });
        }
        self.act(id, "start").await
    }
}
