//! [`AksProvider`]: the `ClusterProvider` for Azure Kubernetes Service.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use azure_core::http::Method;
use base64::Engine as _;
use fleet_core::{
    Cluster, ClusterId, ClusterPhase, ClusterProvider, ClusterSpec, Credentials, Error, FleetName, FleetTags,
    KubernetesVersion, Listing, NodePool, NodePoolName, ProviderInfo, Region, RequestKind, Result, SizeClass, TeamName,
};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::arm::Arm;
use crate::model::{AgentPoolProfile, ClusterProperties, CredentialResults, ManagedCluster, Page};
use crate::read_only::without_read_only;
use crate::settings;
use crate::versions::VersionList;

/// The node label recording a pool's abstract size class.
const SIZE_LABEL: &str = "fleet-size-class";

/// The node label marking a pool whose VM size the spec chose (`machine_type`), rather than
/// its size class.
const MACHINE_TYPE_LABEL: &str = "fleet-machine-type-chosen";

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

/// The ARM scope clusters live in: the subscription, and the resource group per region.
///
/// A resource group is the unit in which ARM answers or fails: its resources' data is kept in
/// the group's own region, so a group whose region is down cannot be listed while groups in
/// other regions still answer. Regions that share a group are listed, and fail, together.
#[derive(Debug, Clone)]
pub(crate) struct ArmScope {
    pub subscription: String,
    pub resource_groups: BTreeMap<Region, String>,
    /// List the whole subscription at once instead of each resource group.
    pub list_subscription: bool,
}

impl ArmScope {
    fn cluster_path(&self, resource_group: &str, id: &ClusterId) -> String {
        format!("{}/{id}", self.clusters_path(resource_group))
    }

    fn clusters_path(&self, resource_group: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{resource_group}/providers/Microsoft.ContainerService/managedClusters",
            self.subscription
        )
    }

    fn subscription_path(&self) -> String {
        format!("/subscriptions/{}/providers/Microsoft.ContainerService/managedClusters", self.subscription)
    }

    /// Every resource group, once each.
    fn groups(&self) -> Vec<&str> {
        let mut groups: Vec<&str> = self.resource_groups.values().map(String::as_str).collect();
        groups.sort_unstable();
        groups.dedup();
        groups
    }

    /// The regions whose clusters live in `resource_group`.
    fn regions_of(&self, resource_group: &str) -> Vec<Region> {
        self.resource_groups.iter().filter(|(_, group)| *group == resource_group).map(|(r, _)| r.clone()).collect()
    }
}

/// AKS clusters of one fleet in one subscription's resource groups; see the
/// [crate](crate) documentation.
pub struct AksProvider {
    pub(crate) fleet: FleetName,
    pub(crate) info: ProviderInfo,
    pub(crate) arm: Arm,
    pub(crate) scope: ArmScope,
    pub(crate) vm_sizes: BTreeMap<SizeClass, String>,
    /// The Log Analytics workspace audit logs go to, when audit logging is declared.
    pub(crate) audit_workspace: Option<String>,
    /// Entra ID with Azure RBAC, local accounts disabled.
    pub(crate) entra_id_rbac: bool,
    /// How team access reaches the clusters' API servers.
    pub(crate) api_route: std::sync::Arc<dyn fleet_core::addons::ApiRoute>,
    /// Tries and wait of an update answered 409.
    pub(crate) conflict_retries: u32,
    pub(crate) conflict_wait: std::time::Duration,
    /// The resource group each known cluster is in, to avoid asking every group.
    pub(crate) located: Mutex<BTreeMap<ClusterId, String>>,
}

impl std::fmt::Debug for AksProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AksProvider")
            .field("fleet", &self.fleet)
            .field("subscription", &self.scope.subscription)
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
        let url = self.arm.url(&self.scope.cluster_path(resource_group, id))?;
        let doing = format!("get AKS cluster `{id}` in resource group `{resource_group}`");
        let cluster: ManagedCluster =
            self.arm.call(Method::Get, url, None, &[], &doing, RequestKind::ReadsOrChanges).await?.json(&doing)?;
        self.remember(id, resource_group);
        Ok(cluster)
    }

    /// Finds cluster `id`: where it was last seen, else in each resource group. A group that
    /// is out of reach (unavailable, timing out) does not stop the search in the others; when
    /// the cluster is in none that answered, that failure is the answer, since the cluster
    /// may be in the group that did not.
    async fn find(&self, id: &ClusterId) -> Result<(String, ManagedCluster)> {
        let known = self.located.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(id).cloned();
        let mut groups: Vec<&str> = known.iter().map(String::as_str).collect();
        groups.extend(self.scope.groups().into_iter().filter(|group| Some(*group) != known.as_deref()));
        let mut out_of_reach = None;
        for group in groups {
            match self.get_in(group, id).await {
                Ok(cluster) => return Ok((group.to_owned(), cluster)),
                Err(Error::NotFound { .. }) => {}
                Err(err @ (Error::Unavailable { .. } | Error::Timeout { .. })) => {
                    out_of_reach.get_or_insert(err);
                }
                Err(err) => return Err(err),
            }
        }
        Err(out_of_reach.unwrap_or_else(|| Error::cluster_not_found(id)))
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

    /// What `create` finds already at `id` in `resource_group`: nothing (`None`), this fleet's
    /// cluster as it is, `Conflict` while this fleet's cluster is being deleted, or
    /// `AlreadyExists` for a cluster that is not this fleet's.
    async fn existing(&self, resource_group: &str, id: &ClusterId) -> Result<Option<Cluster>> {
        let aks = match self.get_in(resource_group, id).await {
            Ok(aks) => aks,
            Err(Error::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        if !FleetTags::belongs_to(&aks.tags, &self.fleet) {
            return Err(Error::AlreadyExists {
                resource: format!(
                    "AKS cluster `{id}` in resource group `{resource_group}` exists and is not fleet `{}`'s",
                    self.fleet
                ),
            });
        }
        let cluster = self.view(&aks)?;
        if cluster.phase == ClusterPhase::Deleting {
            return Err(Error::Conflict {
                message: format!("AKS cluster `{id}` is being deleted; it can be created again once it is gone"),
            });
        }
        Ok(Some(cluster))
    }

    fn resource_group(&self, region: &Region) -> Result<&str> {
        self.scope.resource_groups.get(region).map(String::as_str).ok_or_else(|| Error::InvalidSpec {
            path: "region".into(),
            reason: format!("provider `{}` has no region `{region}`", self.info.name),
        })
    }

    /// The VM size of a pool of `size` whose spec names no machine type.
    fn default_vm_size(&self, size: SizeClass) -> String {
        self.vm_sizes.get(&size).cloned().unwrap_or_else(|| vm_size(size).to_owned())
    }

    /// The agent pool of `pool`: mode `System` for the spec's system pool, else `User`; names
    /// and the system pool are checked by [`crate::settings::checked_pools`] first.
    fn agent_pool(&self, pool: &NodePool, version: &str) -> AgentPoolProfile {
        let size = pool.machine_type.clone().unwrap_or_else(|| self.default_vm_size(pool.size));
        let mut node_labels = BTreeMap::from([(SIZE_LABEL.to_owned(), pool.size.as_str().to_owned())]);
        if pool.machine_type.is_some() {
            node_labels.insert(MACHINE_TYPE_LABEL.to_owned(), "true".to_owned());
        }
        let mut rest = serde_json::Map::new();
        rest.insert("mode".into(), json!(if pool.system { "System" } else { "User" }));
        rest.insert("osType".into(), json!("Linux"));
        rest.insert("type".into(), json!("VirtualMachineScaleSets"));
        AgentPoolProfile {
            name: pool.name.to_string(),
            count: Some(i64::from(pool.min_count.max(1))),
            vm_size: Some(size),
            enable_auto_scaling: Some(true),
            min_count: Some(i64::from(pool.min_count)),
            max_count: Some(i64::from(pool.max_count.get())),
            orchestrator_version: Some(version.to_owned()),
            node_labels,
            rest,
        }
    }

    pub(crate) fn view(&self, aks: &ManagedCluster) -> Result<Cluster> {
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
        let pools = properties
            .agent_pool_profiles
            .iter()
            .filter_map(|profile| node_pool_of(profile, |size| self.default_vm_size(size)))
            .collect();
        let mut cluster = Cluster::new(id, self.info.name.clone(), aks.id().unwrap_or(name), location, phase)
            .with_node_pools(pools)
            .with_tags(aks.tags.clone());
        (cluster.created_at, cluster.updated_at) = aks.timestamps();
        let version = properties.current_kubernetes_version.as_deref().or(properties.kubernetes_version.as_deref());
        if let Some(version) = version.and_then(|v| v.parse::<KubernetesVersion>().ok()) {
            cluster = cluster.with_kubernetes_version(version);
        }
        if let Some(fqdn) = properties.fqdn.as_deref().filter(|fqdn| !fqdn.is_empty()) {
            cluster = cluster.with_endpoint(format!("https://{fqdn}"));
        }
        Ok(cluster)
    }

    /// PUTs the cluster's audit diagnostic setting (category `kube-audit` to the configured
    /// workspace); a PUT of the same setting again changes nothing.
    async fn put_audit_setting(&self, resource_group: &str, id: &ClusterId) -> Result<()> {
        let Some(workspace) = self.audit_workspace.as_deref() else {
            return Err(Error::InvalidSpec {
                path: "auditLogging".into(),
                reason: format!("provider `{}` has no Log Analytics workspace for audit logs", self.info.name),
            });
        };
        let path = format!(
            "{}/providers/Microsoft.Insights/diagnosticSettings/{}",
            self.scope.cluster_path(resource_group, id),
            settings::AUDIT_SETTING_NAME
        );
        let url = self.arm.url_with_version(&path, settings::DIAGNOSTIC_SETTINGS_API_VERSION)?;
        let doing = format!("set the audit log diagnostic setting of AKS cluster `{id}`");
        let body = settings::audit_setting(workspace);
        self.arm.call(Method::Put, url, Some(&body), &[], &doing, RequestKind::ReadsOrChanges).await.map(drop)
    }

    /// PUTs an update of `cluster`, trying again while AKS answers 409 (stopped or busy),
    /// within the configured tries; then a `Conflict` naming what AKS said.
    async fn put_update(&self, resource_group: &str, id: &ClusterId, cluster: &ManagedCluster) -> Result<()> {
        let mut tries = 0;
        loop {
            match self.put(resource_group, id, cluster, RequestKind::ReadsOrChanges).await {
                Err(Error::Conflict { message }) if tries < self.conflict_retries => {
                    tries += 1;
                    tracing::info!(target: "fleet::azure", cluster = %id, tries, %message, "AKS answered 409; trying again");
                    tokio::time::sleep(self.conflict_wait).await;
                }
                Err(Error::Conflict { message }) => {
                    return Err(Error::Conflict {
                        message: format!(
                            "AKS cluster `{id}` stayed stopped or busy through {} tries of the update: {message}",
                            tries + 1
                        ),
                    });
                }
                other => return other,
            }
        }
    }

    /// PUTs `cluster`, without its read-only properties (an update is the cluster as ARM
    /// answered it), and follows the operation.
    async fn put(
        &self,
        resource_group: &str,
        id: &ClusterId,
        cluster: &ManagedCluster,
        request: RequestKind,
    ) -> Result<()> {
        let url = self.arm.url(&self.scope.cluster_path(resource_group, id))?;
        let body = serde_json::to_value(cluster).map(without_read_only).map_err(|err| Error::Provider {
            message: format!("cannot write AKS cluster `{id}`: {err}"),
            source: None,
        })?;
        let doing = format!(
            "{} AKS cluster `{id}` in resource group `{resource_group}`",
            if request == RequestKind::Creates { "create" } else { "update" }
        );
        let headers: &[(&'static str, &str)] =
            if request == RequestKind::Creates { &[("if-none-match", "*")] } else { &[] };
        let started = self.arm.call(Method::Put, url, Some(&body), headers, &doing, request).await?;
        self.remember(id, resource_group);
        self.arm.follow(&started, &doing).await
    }

    /// POSTs an action (`stop`, `start`) and follows it, unless the cluster is in `done` already.
    async fn act(&self, id: &ClusterId, action: &str, done: &ClusterPhase) -> Result<Cluster> {
        let (group, aks) = self.owned(id).await?;
        let current = self.view(&aks)?;
        if &current.phase == done {
            return Ok(current);
        }
        let url = self.arm.url(&format!("{}/{action}", self.scope.cluster_path(&group, id)))?;
        let doing = format!("{action} AKS cluster `{id}`");
        let started = self.arm.call(Method::Post, url, None, &[], &doing, RequestKind::ReadsOrChanges).await?;
        self.arm.follow(&started, &doing).await?;
        self.view(&self.get_in(&group, id).await?)
    }

    /// This fleet's clusters in the list starting at `first`, page by page through `nextLink`;
    /// any page failing fails the whole list.
    async fn list_from(&self, first: &str) -> Result<Vec<Cluster>> {
        let mut url = self.arm.url(first)?;
        let doing = format!("list AKS clusters of `{first}`");
        let mut pages = fleet_core::paging::Pages::new(&doing);
        let mut clusters = Vec::new();
        loop {
            let page: Page =
                self.arm.call(Method::Get, url, None, &[], &doing, RequestKind::ReadsOrChanges).await?.json(&doing)?;
            for aks in &page.value {
                if self.listed(aks) {
                    clusters.push(self.view(aks)?);
                }
            }
            match pages.next(page.next_link.as_deref())? {
                Some(link) => url = self.arm.link(&link, &doing)?,
                None => return Ok(clusters),
            }
        }
    }

    /// Lists each resource group; a group that cannot be listed makes every region placed in
    /// it unreachable, the others are listed all the same.
    async fn list_each_group(&self) -> Result<Listing> {
        let groups = self.scope.groups();
        let mut listing = Listing::default();
        let mut failed = Vec::new();
        for group in &groups {
            match self.list_from(&self.scope.clusters_path(group)).await {
                Ok(clusters) => listing.clusters.extend(clusters),
                Err(err) => failed.push((*group, err)),
            }
        }
        if failed.len() == groups.len() && failed.len() == 1 {
            // One group holds every region: its own error says best why nothing answered
            // (a `RateLimited` keeps its `Retry-After`).
            if let Some((_, err)) = failed.pop() {
                return Err(err);
            }
        }
        for (group, err) in failed {
            tracing::warn!(target: "fleet::azure", resource_group = group, error = %err, "resource group not listed");
            let mut regions = self.scope.regions_of(group).into_iter();
            let Some(first) = regions.next() else { continue };
            for region in regions {
                listing.mark_unreachable(region, same_failure(group, &err));
            }
            listing.mark_unreachable(first, err);
        }
        listing.unless_all_unreachable(&self.info.name, &self.info.regions)
    }

    /// Whether a listed cluster is this fleet's, in a configured region and its resource group.
    fn listed(&self, aks: &ManagedCluster) -> bool {
        if !FleetTags::belongs_to(&aks.tags, &self.fleet) {
            return false;
        }
        let Some(group) = self
            .scope
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

/// Another copy of `err`, for a further region of the resource group that failed with it.
fn same_failure(resource_group: &str, err: &Error) -> Error {
    let message = format!("resource group `{resource_group}` could not be listed: {err}");
    match err {
        Error::RateLimited { retry_after } => Error::RateLimited { retry_after: *retry_after },
        err if err.is_retryable() => Error::Unavailable { message },
        _ => Error::Provider { message, source: None },
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

/// The node pool an agent pool is. Its machine type is reported only where the spec chose
/// one ([`MACHINE_TYPE_LABEL`]) or the VM size is not the one `default_vm` maps its size class
/// to, so that a pool made from a size class reads back as it was asked for.
fn node_pool_of(profile: &AgentPoolProfile, default_vm: impl Fn(SizeClass) -> String) -> Option<NodePool> {
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
    let chosen = profile.node_labels.get(MACHINE_TYPE_LABEL).is_some_and(|value| value == "true");
    Some(match profile.vm_size.as_deref().filter(|vm| !vm.is_empty()) {
        Some(vm) if chosen || !vm.eq_ignore_ascii_case(&default_vm(size)) => pool.with_machine_type(vm),
        _ => pool,
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
        self.info.capabilities.ensure_settings_apply(spec, &self.info.name)?;
        settings::ensure_combination(spec)?;
        settings::checked_pools(spec)?;
        let version = minor_version(&spec.kubernetes_version);
        let pools = spec.node_pools.iter().map(|pool| self.agent_pool(pool, &version)).collect();
        let mut rest = serde_json::Map::new();
        rest.insert("identity".into(), json!({"type": "SystemAssigned"}));
        let cluster = ManagedCluster {
            location: spec.region.to_string(),
            tags: FleetTags::cluster_tags(&self.fleet, spec),
            properties: ClusterProperties {
                kubernetes_version: Some(version),
                dns_prefix: Some(spec.id.to_string()),
                agent_pool_profiles: pools,
                rest: settings::cluster_fields(spec, self.entra_id_rbac),
                ..ClusterProperties::default()
            },
            rest,
        };
        if let Some(existing) = self.existing(&group, &spec.id).await? {
            return Ok(existing);
        }
        match self.put(&group, &spec.id, &cluster, RequestKind::Creates).await {
            Ok(()) => {}
            // Made meanwhile, by a concurrent create or by someone else.
            Err(Error::AlreadyExists { resource }) => {
                return self
                    .existing(&group, &spec.id)
                    .await?
                    .ok_or_else(|| Error::Conflict { message: format!("{resource}; it is gone again, try again") });
            }
            Err(err) => return Err(err),
        }
        if spec.audit_logging {
            self.put_audit_setting(&group, &spec.id).await?;
        }
        self.view(&self.get_in(&group, &spec.id).await?)
    }

    async fn offered_versions(&self, region: &Region) -> Result<Option<Vec<KubernetesVersion>>> {
        let path = format!(
            "/subscriptions/{}/providers/Microsoft.ContainerService/locations/{region}/kubernetesVersions",
            self.scope.subscription
        );
        let doing = format!("list the Kubernetes versions AKS offers in `{region}`");
        let list: VersionList = self
            .arm
            .call(Method::Get, self.arm.url(&path)?, None, &[], &doing, RequestKind::ReadsOrChanges)
            .await?
            .json(&doing)?;
        let offered = list.offered();
        Ok((!offered.is_empty()).then_some(offered))
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        let (_, cluster) = self.find(id).await?;
        self.view(&cluster)
    }

    async fn list(&self) -> Result<Listing> {
        if self.scope.list_subscription {
            // One call for every region; when it fails, the groups are asked one by one, so
            // that a region out of reach does not hide the others.
            match self.list_from(&self.scope.subscription_path()).await {
                Ok(clusters) => return Ok(Listing::new(clusters)),
                Err(err @ (Error::RateLimited { .. } | Error::Unauthenticated { .. })) => return Err(err),
                Err(err) => {
                    tracing::warn!(target: "fleet::azure", error = %err, "subscription-wide list failed; listing each resource group");
                }
            }
        }
        self.list_each_group().await
    }

    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let (group, mut aks) = self.owned(&spec.id).await?;
        let current = self.view(&aks)?;
        fleet_core::plan::ensure_in_place(&current, spec, self.info.capabilities)?;
        self.info.capabilities.ensure_settings_apply(spec, &self.info.name)?;
        if current.phase != ClusterPhase::Running {
            return Err(Error::Conflict {
                message: format!(
                    "AKS cluster `{}` is {}, not running: it is updated once it runs",
                    spec.id, current.phase
                ),
            });
        }
        // One minor at a time, never down: AKS refuses skipped minors, and a cluster AKS
        // upgraded ahead of its spec keeps its version.
        let step = match current.kubernetes_version {
            Some(running) => running.upgrade_step_to(spec.kubernetes_version),
            None => Some(spec.kubernetes_version),
        };
        let wanted = step.as_ref().map(minor_version);
        let upgrade = wanted.is_some();
        let bounds = |pools: &[NodePool]| {
            let mut bounds: Vec<_> = pools.iter().map(|p| (p.name.clone(), p.min_count, p.max_count)).collect();
            bounds.sort();
            bounds
        };
        let resize = bounds(&current.node_pools) != bounds(&spec.node_pools);
        let tags = FleetTags::cluster_tags(&self.fleet, spec);
        let retag = aks.tags != tags;
        if !upgrade && !resize && !retag {
            return Ok(current);
        }
        if let Some(wanted) = &wanted {
            aks.properties.kubernetes_version = Some(wanted.clone());
        }
        for profile in &mut aks.properties.agent_pool_profiles {
            if let Some(wanted) = &wanted {
                profile.orchestrator_version = Some(wanted.clone());
            }
            let Some(pool) = spec.node_pools.iter().find(|pool| pool.name.as_str() == profile.name) else {
                continue;
            };
            let (min, max) = (i64::from(pool.min_count), i64::from(pool.max_count.get()));
            profile.enable_auto_scaling = Some(true);
            profile.min_count = Some(min);
            profile.max_count = Some(max);
            profile.count = Some(profile.count.unwrap_or(min).clamp(min.max(1), max.max(1)));
        }
        aks.tags = tags;
        self.put_update(&group, &spec.id, &aks).await?;
        self.view(&self.get_in(&group, &spec.id).await?)
    }

    async fn delete(&self, id: &ClusterId) -> Result<()> {
        let (group, aks) = match self.owned(id).await {
            Ok(found) => found,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(err) => return Err(err),
        };
        if aks.properties.provisioning_state.as_deref() == Some("Deleting") {
            return Ok(());
        }
        let url = self.arm.url(&self.scope.cluster_path(&group, id))?;
        let doing = format!("delete AKS cluster `{id}` in resource group `{group}`");
        match self.arm.call(Method::Delete, url, None, &[], &doing, RequestKind::ReadsOrChanges).await {
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
        let mut url = self.arm.url(&format!("{}/listClusterUserCredential", self.scope.cluster_path(&group, id)))?;
        if self.entra_id_rbac {
            // With Entra ID and no local accounts, the kubeconfig signs in through `kubelogin`
            // (an exec plugin), non-interactively with the caller's Azure identity.
            url.query_pairs_mut().append_pair("format", "exec");
        }
        let doing = format!("list user credentials of AKS cluster `{id}`");
        let results: CredentialResults =
            self.arm.call(Method::Post, url, None, &[], &doing, RequestKind::ReadsOrChanges).await?.json(&doing)?;
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

    /// Sets the team's namespace, service account, role and binding up through the cluster's
    /// API server, over the configured route ([`crate::AksProviderBuilder::with_api_route`],
    /// direct by default), with the kubeconfig of [`credentials`](Self::credentials), and hands
    /// out a kubeconfig for that account alone. With local accounts that kubeconfig carries a
    /// token; with [`crate::AksProviderBuilder::with_entra_id_rbac`] it signs in through
    /// `kubelogin` (an exec plugin), which must then be on the `PATH` of the process, with an
    /// Entra ID identity holding a role that may manage namespaces, roles and service account
    /// tokens (such as Azure Kubernetes Service RBAC Cluster Admin). An API server the route
    /// cannot reach, such as a private cluster's from outside its network, is `Unavailable`
    /// naming the cluster, the endpoint and the route.
    async fn team_credentials(&self, id: &ClusterId, team: &TeamName) -> Result<Credentials> {
        if !self.info.capabilities.team_credentials {
            return Err(Error::Unsupported { operation: format!("team credentials for `{id}`") });
        }
        let admin = self.credentials(id).await?;
        fleet_core::addons::team_credentials_over(self.api_route.as_ref(), &admin, id.as_str(), team).await
    }

    async fn hibernate(&self, id: &ClusterId) -> Result<Cluster> {
        if !self.info.capabilities.hibernation {
            return Err(Error::Unsupported { operation: format!("hibernate `{id}`") });
        }
        self.act(id, "stop", &ClusterPhase::Hibernated).await
    }

    async fn resume(&self, id: &ClusterId) -> Result<Cluster> {
        if !self.info.capabilities.hibernation {
            return Err(Error::Unsupported { operation: format!("resume `{id}`") });
        }
        self.act(id, "start", &ClusterPhase::Running).await
    }
}
