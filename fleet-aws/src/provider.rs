//! [`EksProvider`]: the `ClusterProvider` for Amazon EKS.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_eks::types::{ClusterStatus, NodegroupScalingConfig, NodegroupStatus};
use base64::Engine as _;
use fleet_core::{
    Cluster, ClusterId, ClusterPhase, ClusterProvider, ClusterSpec, Credentials, Error, FleetName, FleetTags,
    KubernetesVersion, Listing, NodePool, ProviderInfo, Region, RequestKind, Result, SizeClass, TeamName,
};
use sha2::{Digest, Sha256};

use crate::builder::RegionNetwork;
use crate::errors::map_sdk_error;
use crate::tags::{self, DELETING_KEY, NETWORK_POLICY_KEY};
use crate::token::eks_token;
use fleet_core::observe::{DescribeCache, ReadPacer, list_regions};
use tokio::time::Instant;

/// The EC2 instance type of a size class (override per provider with
/// [`crate::EksProviderBuilder::with_instance_type`]).
///
/// ```
/// assert_eq!(fleet_aws::instance_type(fleet_core::SizeClass::Medium), "m7i.xlarge");
/// ```
pub fn instance_type(size: SizeClass) -> &'static str {
    match size {
        SizeClass::Small => "m7i.large",
        SizeClass::Medium => "m7i.xlarge",
        SizeClass::Large => "m7i.2xlarge",
        _ => "m7i.4xlarge",
    }
}

/// EKS clusters of one fleet in the configured regions; see the [crate](crate) documentation.
pub struct EksProvider {
    pub(crate) fleet: FleetName,
    pub(crate) info: ProviderInfo,
    pub(crate) clients: BTreeMap<Region, aws_sdk_eks::Client>,
    pub(crate) networks: BTreeMap<Region, RegionNetwork>,
    pub(crate) cluster_role_arn: String,
    pub(crate) node_role_arn: String,
    /// IAM principals given cluster admin access entries in every cluster.
    pub(crate) admin_principals: Vec<String>,
    /// The route to clusters' API servers for team access.
    pub(crate) api_route: std::sync::Arc<dyn fleet_core::addons::ApiRoute>,
    pub(crate) instance_types: BTreeMap<SizeClass, String>,
    pub(crate) credentials: SharedCredentialsProvider,
    /// Where each known cluster is, to avoid asking every region.
    pub(crate) located: Mutex<BTreeMap<ClusterId, Region>>,
    /// Spaces out every read call (a `list` makes several for every cluster, a `get` several
    /// for one), so that the provider keeps to the read rate whoever calls it.
    pub(crate) reads: ReadPacer,
    /// What `list` and `get` last described of each cluster, for the lists to come.
    pub(crate) described: DescribeCache<Option<Cluster>>,
}

impl std::fmt::Debug for EksProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EksProvider")
            .field("fleet", &self.fleet)
            .field("regions", &self.info.regions)
            .finish_non_exhaustive()
    }
}

/// A managed node group as last described: its status, and its desired size and Kubernetes
/// version when described in full.
#[derive(Debug, Clone, PartialEq)]
struct NodegroupSeen {
    status: Option<NodegroupStatus>,
    desired: Option<i32>,
    version: Option<KubernetesVersion>,
}

/// A cluster as EKS describes it, with its tags and node groups.
struct Described {
    cluster: aws_sdk_eks::types::Cluster,
    region: Region,
    tags: BTreeMap<String, String>,
    nodegroups: BTreeMap<String, NodegroupSeen>,
}

impl Described {
    fn new(cluster: aws_sdk_eks::types::Cluster, region: Region) -> Self {
        let tags = cluster.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
        Self { cluster, region, tags, nodegroups: BTreeMap::new() }
    }

    fn id(&self) -> Result<ClusterId> {
        Ok(ClusterId::new(self.cluster.name().unwrap_or_default())?)
    }

    fn is_fleets(&self, fleet: &FleetName) -> bool {
        FleetTags::belongs_to(&self.tags, fleet)
    }

    /// Whether its deletion has started: marked by the provider, or deleting at EKS.
    fn is_deleting(&self) -> bool {
        self.tags.contains_key(DELETING_KEY) || self.cluster.status() == Some(&ClusterStatus::Deleting)
    }

    /// An idempotency token for a request about this cluster and `parts`: the same for a
    /// retry, another for a cluster of the same name made again (its creation time differs).
    fn request_token(&self, parts: &[&str]) -> String {
        let created = self.cluster.created_at().map(|at| at.as_secs_f64().to_string()).unwrap_or_default();
        let mut all = vec![self.cluster.arn().unwrap_or_default(), created.as_str()];
        all.extend_from_slice(parts);
        request_token(&all)
    }

    fn arn(&self) -> Result<&str> {
        self.cluster.arn().filter(|a| !a.is_empty()).ok_or_else(|| Error::Provider {
            message: format!("EKS described cluster `{}` without its ARN", self.cluster.name().unwrap_or_default()),
            source: None,
        })
    }
}

impl EksProvider {
    fn client(&self, region: &Region) -> Result<&aws_sdk_eks::Client> {
        self.clients.get(region).ok_or_else(|| Error::InvalidSpec {
            path: "region".into(),
            reason: format!("provider `{}` has no region `{region}`", self.info.name),
        })
    }

    fn instance_type_of(&self, pool: &NodePool) -> String {
        pool.machine_type
            .clone()
            .or_else(|| self.instance_types.get(&pool.size).cloned())
            .unwrap_or_else(|| instance_type(pool.size).to_owned())
    }

    fn remember(&self, id: &ClusterId, region: &Region) {
        self.located.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.clone(), region.clone());
    }

    fn forget(&self, id: &ClusterId) {
        self.located.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
    }

    /// Describes cluster `id` in `region`, with its node groups when `with_nodegroups`.
    async fn describe_in(&self, region: &Region, id: &ClusterId, with_nodegroups: bool) -> Result<Described> {
        let client = self.client(region)?;
        let doing = format!("describe cluster `{id}` in {region}");
        self.reads.pace().await;
        let out = client
            .describe_cluster()
            .name(id.as_str())
            .send()
            .await
            .map_err(|e| map_sdk_error(&doing, RequestKind::ReadsOrChanges, e))?;
        let cluster = out.cluster().cloned().ok_or_else(|| Error::cluster_not_found(id))?;
        let mut described = Described::new(cluster, region.clone());
        if with_nodegroups && described.cluster.status() != Some(&ClusterStatus::Creating) {
            for name in self.nodegroup_names(region, id).await? {
                let doing = format!("describe node group `{name}` of `{id}`");
                self.reads.pace().await;
                let seen =
                    match client.describe_nodegroup().cluster_name(id.as_str()).nodegroup_name(&name).send().await {
                        Ok(out) => NodegroupSeen {
                            status: out.nodegroup().and_then(|n| n.status()).cloned(),
                            desired: out.nodegroup().and_then(|n| n.scaling_config()).and_then(|s| s.desired_size()),
                            version: out.nodegroup().and_then(|n| n.version()).and_then(|v| v.parse().ok()),
                        },
                        Err(err) => match map_sdk_error(&doing, RequestKind::ReadsOrChanges, err) {
                            Error::NotFound { .. } => continue,
                            other => return Err(other),
                        },
                    };
                described.nodegroups.insert(name, seen);
            }
        }
        self.remember(id, region);
        Ok(described)
    }

    async fn nodegroup_names(&self, region: &Region, id: &ClusterId) -> Result<Vec<String>> {
        let client = self.client(region)?;
        let doing = format!("list node groups of `{id}`");
        let mut names = Vec::new();
        let mut pages = fleet_core::paging::Pages::new(&doing);
        let mut token = None;
        loop {
            self.reads.pace().await;
            let out = client
                .list_nodegroups()
                .cluster_name(id.as_str())
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| map_sdk_error(&doing, RequestKind::ReadsOrChanges, e))?;
            names.extend(out.nodegroups().iter().cloned());
            token = pages.next(out.next_token())?;
            if token.is_none() {
                return Ok(names);
            }
        }
    }

    /// Finds cluster `id`: in the region it was last seen in, else in each region.
    async fn describe(&self, id: &ClusterId) -> Result<Described> {
        let known = self.located.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(id).cloned();
        let regions: Vec<Region> = known.into_iter().chain(self.info.regions.iter().cloned()).collect();
        for region in regions {
            match self.describe_in(&region, id, true).await {
                Ok(described) => return Ok(described),
                Err(Error::NotFound { .. }) => continue,
                Err(err) => return Err(err),
            }
        }
        self.forget(id);
        Err(Error::cluster_not_found(id))
    }

    /// `id` described, if it exists and is this fleet's: `NotFound` or `PermissionDenied`.
    async fn owned(&self, id: &ClusterId) -> Result<Described> {
        let described = self.describe(id).await?;
        if described.is_fleets(&self.fleet) {
            Ok(described)
        } else {
            Err(Error::PermissionDenied { message: format!("EKS cluster `{id}` is not fleet `{}`'s", self.fleet) })
        }
    }

    /// Sets `set` and removes `remove` on the cluster (`TagResource`, `UntagResource`; each
    /// takes at most 50 keys, which EKS's limit of 50 tags a resource keeps them within).
    async fn retag(&self, described: &Described, set: BTreeMap<String, String>, remove: Vec<String>) -> Result<()> {
        let client = self.client(&described.region)?;
        let arn = described.arn()?;
        let name = described.cluster.name().unwrap_or_default();
        if !set.is_empty() {
            let doing = format!("tag cluster `{name}`");
            let tags: HashMap<String, String> = set.into_iter().collect();
            client
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| map_sdk_error(&doing, RequestKind::ReadsOrChanges, e))?;
        }
        if !remove.is_empty() {
            let doing = format!("untag cluster `{name}`");
            client
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(|e| map_sdk_error(&doing, RequestKind::ReadsOrChanges, e))?;
        }
        Ok(())
    }

    /// Creates the node groups a running cluster still lacks (each once: a node group's name
    /// is unique in its cluster, and the request token is derived from the cluster and pool).
    async fn create_missing_nodegroups(&self, described: &Described, pools: &[NodePool]) -> Result<bool> {
        let id = described.id()?;
        let client = self.client(&described.region)?;
        let network = self.networks.get(&described.region).cloned().unwrap_or_default();
        let tags: HashMap<String, String> = tags::visible(&described.tags).into_iter().collect();
        let mut created = false;
        for pool in pools.iter().filter(|p| !described.nodegroups.contains_key(p.name.as_str())) {
            let scaling = NodegroupScalingConfig::builder()
                .min_size(count(pool.min_count))
                .max_size(count(pool.max_count.get()))
                .desired_size(count(pool.min_count.max(1)))
                .build();
            let doing = format!("create node group `{}` of `{id}`", pool.name);
            let result = client
                .create_nodegroup()
                .cluster_name(id.as_str())
                .nodegroup_name(pool.name.as_str())
                .node_role(&self.node_role_arn)
                .set_subnets(Some(network.subnets.clone()))
                .scaling_config(scaling)
                .instance_types(self.instance_type_of(pool))
                .set_version(described.cluster.version().map(str::to_owned))
                .set_tags(Some(tags.clone()))
                .client_request_token(described.request_token(&[pool.name.as_str()]))
                .send()
                .await;
            match result {
                Ok(_) => created = true,
                Err(err) => match map_sdk_error(&doing, RequestKind::Creates, err) {
                    Error::AlreadyExists { .. } => {}
                    other => return Err(other),
                },
            }
        }
        Ok(created)
    }

    /// The rest of a deletion that has started: deletes the node groups not yet deleting,
    /// then, once none is left, the cluster (EKS refuses to delete a cluster that has any).
    /// Each step is idempotent; `get` and `delete` drive it until the cluster is gone.
    async fn continue_delete(&self, described: &Described) -> Result<()> {
        let id = described.id()?;
        let client = self.client(&described.region)?;
        for (name, seen) in &described.nodegroups {
            if seen.status == Some(NodegroupStatus::Deleting) {
                continue;
            }
            let doing = format!("delete node group `{name}` of `{id}`");
            if let Err(err) = client.delete_nodegroup().cluster_name(id.as_str()).nodegroup_name(name).send().await {
                match map_sdk_error(&doing, RequestKind::ReadsOrChanges, err) {
                    Error::NotFound { .. } | Error::Conflict { .. } => {}
                    other => return Err(other),
                }
            }
        }
        let left = match self.nodegroup_names(&described.region, &id).await {
            Ok(left) => left,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(err) => return Err(err),
        };
        if !left.is_empty() || described.cluster.status() == Some(&ClusterStatus::Deleting) {
            return Ok(());
        }
        let doing = format!("delete cluster `{id}`");
        if let Err(err) = client.delete_cluster().name(id.as_str()).send().await {
            match map_sdk_error(&doing, RequestKind::ReadsOrChanges, err) {
                // Gone already, or still busy (being created, node groups going): a later
                // call goes on.
                Error::NotFound { .. } | Error::Conflict { .. } => {}
                other => return Err(other),
            }
        }
        Ok(())
    }

    fn view(&self, described: &Described) -> Result<Cluster> {
        let eks = &described.cluster;
        let id = described.id()?;
        let pools = tags::decode_pools(&described.tags);
        let all_active = pools.iter().all(|p| {
            described
                .nodegroups
                .get(p.name.as_str())
                .is_some_and(|s| s.status.as_ref() == Some(&NodegroupStatus::Active))
        });
        let any_behind = self
            .nodegroups_follow(described)
            .is_some_and(|control_plane| described.nodegroups.values().any(|seen| is_behind(seen, control_plane)));
        let any_failed = described
            .nodegroups
            .values()
            .any(|s| matches!(s.status, Some(NodegroupStatus::CreateFailed) | Some(NodegroupStatus::Degraded)));
        let phase = match eks.status() {
            _ if described.is_deleting() => ClusterPhase::Deleting,
            Some(ClusterStatus::Pending) => ClusterPhase::Pending,
            Some(ClusterStatus::Creating) => ClusterPhase::Creating,
            Some(ClusterStatus::Updating) => ClusterPhase::Updating,
            Some(ClusterStatus::Failed) => ClusterPhase::Failed { reason: "EKS reports the cluster FAILED".into() },
            Some(ClusterStatus::Active) if any_failed => {
                ClusterPhase::Failed { reason: "a managed node group failed or is degraded".into() }
            }
            Some(ClusterStatus::Active) if all_active && !any_behind => ClusterPhase::Running,
            Some(ClusterStatus::Active) if described.nodegroups.len() < pools.len() => ClusterPhase::Creating,
            Some(ClusterStatus::Active) => ClusterPhase::Updating,
            _ => ClusterPhase::Pending,
        };
        let provider_id = eks.arn().unwrap_or_default().to_owned();
        let mut cluster = Cluster::new(id, self.info.name.clone(), provider_id, described.region.clone(), phase)
            .with_node_pools(pools)
            .with_tags(tags::visible(&described.tags));
        if let Some(version) = eks.version().and_then(|v| v.parse::<KubernetesVersion>().ok()) {
            cluster = cluster.with_kubernetes_version(version);
        }
        if let Some(endpoint) = eks.endpoint().filter(|e| !e.is_empty()) {
            cluster = cluster.with_endpoint(endpoint.trim_end_matches('/'));
        }
        if let Some(created) = eks.created_at() {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(created.as_secs_f64().max(0.0));
            cluster = cluster.with_timestamps(at, at);
        }
        Ok(cluster)
    }

    /// `get`'s work: describe, then drive what a create or a delete left to do: node groups
    /// the active cluster lacks, or the rest of a deletion.
    async fn observe(&self, mut described: Described) -> Result<Cluster> {
        if !described.is_fleets(&self.fleet) {
            return self.view(&described);
        }
        let id = described.id()?;
        if described.tags.contains_key(DELETING_KEY) {
            self.continue_delete(&described).await?;
            described = self.describe_in(&described.region.clone(), &id, true).await?;
        } else if described.cluster.status() == Some(&ClusterStatus::Active) {
            let pools = tags::decode_pools(&described.tags);
            if pools.iter().any(|p| !described.nodegroups.contains_key(p.name.as_str())) {
                self.set_up(&described).await?;
            }
            if self.create_missing_nodegroups(&described, &pools).await? || self.upgrade_nodegroups(&described).await? {
                described = self.describe_in(&described.region.clone(), &id, true).await?;
            }
        }
        self.view(&described)
    }

    /// This fleet's clusters in `region`, every call paced to the read rate: the names by page,
    /// then a describe (and node group list) of each name the describe cache cannot vouch for.
    /// Any failure (but a cluster deleted while listing) fails the region: a partial listing
    /// would look like missing clusters.
    async fn list_region(&self, region: &Region) -> Result<Vec<Cluster>> {
        let client = self.client(region)?;
        let doing = format!("list clusters in {region}");
        let mut names = Vec::new();
        let mut pages = fleet_core::paging::Pages::new(&doing);
        let mut token = None;
        loop {
            self.reads.pace().await;
            let out = client
                .list_clusters()
                .max_results(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| map_sdk_error(&doing, RequestKind::ReadsOrChanges, e))?;
            names.extend(out.clusters().iter().filter_map(|name| ClusterId::new(name.as_str()).ok()));
            token = pages.next(out.next_token())?;
            if token.is_none() {
                break;
            }
        }
        self.described.keep_listed(region, &names.iter().map(ClusterId::as_str).collect());
        let mut clusters = Vec::new();
        for id in names {
            if let Some(kept) = self.described.fresh(region, id.as_str(), Instant::now()) {
                clusters.extend(kept);
                continue;
            }
            let mut described = match self.describe_in(region, &id, false).await {
                Ok(described) => described,
                Err(Error::NotFound { .. }) => continue,
                Err(err) => return Err(err),
            };
            if !described.is_fleets(&self.fleet) {
                self.described.record(region, id.as_str(), None, true, Instant::now());
                continue;
            }
            // Node groups by name only: enough to tell a complete cluster, cheap in calls.
            if described.cluster.status() == Some(&ClusterStatus::Active) {
                let names = match self.nodegroup_names(region, &id).await {
                    Ok(names) => names,
                    Err(Error::NotFound { .. }) => continue,
                    Err(err) => return Err(err),
                };
                for name in names {
                    described.nodegroups.insert(
                        name,
                        NodegroupSeen { status: Some(NodegroupStatus::Active), desired: None, version: None },
                    );
                }
            }
            let cluster = self.view(&described)?;
            self.keep(region, &cluster);
            clusters.push(cluster);
        }
        Ok(clusters)
    }

    /// Keeps `cluster`, as just described in `region`, for the lists to come.
    fn keep(&self, region: &Region, cluster: &Cluster) {
        self.described.record_cluster(region, cluster, &self.fleet, Instant::now());
    }

    /// Forgets what was described of cluster `id` in every region, after a change to it.
    fn changed(&self, id: &ClusterId) {
        for region in &self.info.regions {
            self.described.forget(region, id.as_str());
        }
    }

    /// What an active cluster gets before its node groups ([`crate::setup`]): admin access
    /// entries, and the network policy add-on when its spec asked for it.
    async fn set_up(&self, described: &Described) -> Result<()> {
        let client = self.client(&described.region)?;
        let name = described.cluster.name().unwrap_or_default();
        crate::setup::grant_admins(client, name, described.arn()?, &self.admin_principals).await?;
        if described.tags.contains_key(NETWORK_POLICY_KEY) {
            crate::setup::enable_network_policy(client, name).await?;
        }
        Ok(())
    }

    /// Upgrades the active node groups behind their control plane to its minor version
    /// (`UpdateNodegroupVersion`); whether any was. An upgrade's second half, driven by `get`
    /// once the control plane runs the new version: EKS upgrades a control plane only once its
    /// node groups run its own minor version. Nothing without
    /// [`fleet_core::Capabilities::in_place_version_upgrade`].
    async fn upgrade_nodegroups(&self, described: &Described) -> Result<bool> {
        let Some(control_plane) = self.nodegroups_follow(described) else { return Ok(false) };
        let id = described.id()?;
        let client = self.client(&described.region)?;
        let version = format!("{}.{}", control_plane.major(), control_plane.minor());
        let mut upgraded = false;
        for (name, seen) in &described.nodegroups {
            if !is_behind(seen, control_plane) || seen.status != Some(NodegroupStatus::Active) {
                continue;
            }
            let doing = format!("upgrade node group `{name}` of `{id}` to {version}");
            client
                .update_nodegroup_version()
                .cluster_name(id.as_str())
                .nodegroup_name(name)
                .version(&version)
                .client_request_token(described.request_token(&[name, &version]))
                .send()
                .await
                .map_err(|e| map_sdk_error(&doing, RequestKind::ReadsOrChanges, e))?;
            upgraded = true;
        }
        Ok(upgraded)
    }

    /// The control-plane version the node groups of `described` follow: its own, when the
    /// provider upgrades in place.
    fn nodegroups_follow(&self, described: &Described) -> Option<KubernetesVersion> {
        if !self.info.capabilities.in_place_version_upgrade {
            return None;
        }
        described.cluster.version().and_then(|v| v.parse().ok())
    }

    /// Starts one step of an upgrade: the control plane to `next`, one minor version above the
    /// one it runs (see [`KubernetesVersion::upgrade_step_to`]).
    async fn upgrade_step(&self, described: &Described, next: KubernetesVersion) -> Result<()> {
        let id = described.id()?;
        let version = format!("{}.{}", next.major(), next.minor());
        let doing = format!("upgrade cluster `{id}` to {version}");
        self.client(&described.region)?
            .update_cluster_version()
            .name(id.as_str())
            .version(&version)
            .client_request_token(described.request_token(&[&version]))
            .send()
            .await
            .map_err(|e| map_sdk_error(&doing, RequestKind::ReadsOrChanges, e))?;
        Ok(())
    }

    /// Sets the min and max counts of the node groups whose pools in `spec` differ from
    /// `current`'s, keeping each group's desired size within its new bounds.
    async fn resize(&self, described: &Described, current: &Cluster, spec: &ClusterSpec) -> Result<()> {
        let id = described.id()?;
        let client = self.client(&described.region)?;
        for pool in &spec.node_pools {
            let before = current.node_pools.iter().find(|p| p.name == pool.name);
            if before.is_some_and(|b| b.min_count == pool.min_count && b.max_count == pool.max_count) {
                continue;
            }
            let Some(seen) = described.nodegroups.get(pool.name.as_str()) else { continue };
            let (min, max) = (count(pool.min_count), count(pool.max_count.get()));
            let desired = seen.desired.unwrap_or(min.max(1)).clamp(min, max);
            let scaling = NodegroupScalingConfig::builder().min_size(min).max_size(max).desired_size(desired).build();
            let doing = format!("resize node group `{}` of `{id}`", pool.name);
            client
                .update_nodegroup_config()
                .cluster_name(id.as_str())
                .nodegroup_name(pool.name.as_str())
                .scaling_config(scaling)
                .send()
                .await
                .map_err(|e| map_sdk_error(&doing, RequestKind::ReadsOrChanges, e))?;
        }
        Ok(())
    }
}

/// Whether a node group seen as `seen` runs a minor version below `control_plane`'s.
fn is_behind(seen: &NodegroupSeen, control_plane: KubernetesVersion) -> bool {
    seen.version.is_some_and(|v| !v.same_minor(&control_plane) && v < control_plane)
}

/// A node count as EKS's API takes it.
fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// An idempotency token for a request about `parts` (the same parts give the same token).
fn request_token(parts: &[&str]) -> String {
    let digest = Sha256::digest(parts.join("/").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl ClusterProvider for EksProvider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let result = self.create_now(spec).await;
        self.changed(&spec.id);
        result
    }

    async fn offered_versions(&self, region: &Region) -> Result<Option<Vec<KubernetesVersion>>> {
        if let Some(known) = self.info.offered_versions.get(region) {
            return Ok(Some(known.clone()));
        }
        let offered = crate::versions::offered(self.client(region)?, region).await?;
        Ok((!offered.is_empty()).then_some(offered))
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        let described = self.describe(id).await?;
        let region = described.region.clone();
        let cluster = self.observe(described).await?;
        self.keep(&region, &cluster);
        Ok(cluster)
    }

    async fn list(&self) -> Result<Listing> {
        list_regions(&self.info.name, &self.info.regions, |region| self.list_region(region)).await
    }

    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let result = self.update_now(spec).await;
        self.changed(&spec.id);
        result
    }

    async fn delete(&self, id: &ClusterId) -> Result<()> {
        let result = self.delete_now(id).await;
        self.changed(id);
        result
    }

    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        let described = self.owned(id).await?;
        let endpoint = described
            .cluster
            .endpoint()
            .filter(|e| !e.is_empty())
            .map(|e| e.trim_end_matches('/').to_owned())
            .ok_or_else(|| Error::Conflict { message: format!("EKS cluster `{id}` has no endpoint yet") })?;
        let ca_pem = described
            .cluster
            .certificate_authority()
            .and_then(|ca| ca.data())
            .and_then(|data| base64::engine::general_purpose::STANDARD.decode(data).ok())
            .and_then(|pem| String::from_utf8(pem).ok());
        let aws = self.credentials.provide_credentials().await.map_err(|err| Error::Unauthenticated {
            message: format!("no AWS credentials to sign a token for `{id}`: {err}"),
        })?;
        let token = eks_token(&aws, described.region.as_str(), id.as_str(), SystemTime::now())?;
        Ok(Credentials::from_token(id.as_str(), &endpoint, ca_pem.as_deref(), token))
    }

    /// The team's namespace, service account, role and binding, set up in the cluster with the
    /// cluster-admin [`credentials`](Self::credentials) over the builder's route
    /// ([`crate::EksProviderBuilder::with_api_route`], directly by default), and a kubeconfig
    /// for that account only. A private endpoint answers only inside its VPC: unreachable over
    /// the route, this is `Unavailable`, naming the cluster, its endpoint and the route tried.
    async fn team_credentials(&self, id: &ClusterId, team: &TeamName) -> Result<Credentials> {
        let admin = self.credentials(id).await?;
        fleet_core::addons::team_credentials_over(self.api_route.as_ref(), &admin, id.as_str(), team).await
    }
}

/// The changes, each followed by forgetting the changed cluster's description.
impl EksProvider {
    /// `create`, before its cluster's description is forgotten.
    async fn create_now(&self, spec: &ClusterSpec) -> Result<Cluster> {
        if spec.provider != self.info.name {
            return Err(Error::wrong_provider(&spec.provider, &self.info.name));
        }
        self.info.capabilities.ensure_settings_apply(spec, &self.info.name)?;
        let client = self.client(&spec.region)?;
        let tags: HashMap<String, String> = tags::wanted(&self.fleet, spec)?.into_iter().collect();
        let network = self.networks.get(&spec.region).cloned().unwrap_or_default();
        let version = format!("{}.{}", spec.kubernetes_version.major(), spec.kubernetes_version.minor());
        let vpc = crate::settings::vpc_config(&network, spec)?;
        // No request token of its own: cluster names are unique in a region, so a retried
        // create finds the cluster (`ResourceInUseException`) and returns it, while a token
        // derived from the spec would be the same for a cluster made again after a deletion,
        // which EKS could answer with the deleted cluster.
        let doing = format!("create cluster `{}` in {}", spec.id, spec.region);
        let result = client
            .create_cluster()
            .name(spec.id.as_str())
            .version(version)
            .role_arn(&self.cluster_role_arn)
            .resources_vpc_config(vpc)
            .set_logging(crate::settings::logging(spec))
            .access_config(crate::settings::access_config())
            .set_tags(Some(tags))
            .send()
            .await;
        let err = match result {
            Ok(out) => {
                let cluster = out.cluster().cloned().ok_or_else(|| Error::Provider {
                    message: format!("{doing}: EKS answered without the cluster"),
                    source: None,
                })?;
                self.remember(&spec.id, &spec.region);
                return self.observe(Described::new(cluster, spec.region.clone())).await;
            }
            Err(err) => map_sdk_error(&doing, RequestKind::Creates, err),
        };
        let Error::AlreadyExists { resource } = err else { return Err(err) };
        let existing = match self.describe_in(&spec.region, &spec.id, true).await {
            Ok(existing) => existing,
            Err(Error::NotFound { .. }) => {
                return Err(Error::Conflict {
                    message: format!("{doing}: the cluster of that name was just deleted; create it again"),
                });
            }
            Err(err) => return Err(err),
        };
        if !existing.is_fleets(&self.fleet) {
            return Err(Error::AlreadyExists { resource });
        }
        if existing.is_deleting() {
            return Err(Error::Conflict {
                message: format!("{doing}: the cluster is being deleted; create it again once it is gone"),
            });
        }
        self.observe(existing).await
    }

    /// `update`, before its cluster's description is forgotten.
    async fn update_now(&self, spec: &ClusterSpec) -> Result<Cluster> {
        self.info.capabilities.ensure_settings_apply(spec, &self.info.name)?;
        let described = self.owned(&spec.id).await?;
        let current = self.view(&described)?;
        fleet_core::plan::ensure_in_place(&current, spec, self.info.capabilities)?;
        if current.phase != ClusterPhase::Running {
            return Err(Error::Conflict {
                message: format!("EKS cluster `{}` is {}; it can change once it runs", spec.id, current.phase),
            });
        }
        let wanted = tags::wanted(&self.fleet, spec)?;
        // Labels, blueprint version and fixed settings at once: they describe the cluster and
        // change nothing in it.
        let (set, remove) = tags::changes(&described.tags, &wanted, |key| !tags::is_bookkeeping(key));
        self.retag(&described, set, remove).await?;
        // One change of the cluster at a time, as EKS takes them, each once it runs again: the
        // control plane one minor up (never down: a cluster the cloud upgraded ahead of its
        // spec keeps its version; its node groups follow, driven by `get`), then sizes. EKS
        // picks patch versions itself: a step within the running minor asks for nothing.
        if let Some(next) = current.kubernetes_version.and_then(|running| {
            running.upgrade_step_to(spec.kubernetes_version).filter(|next| !next.same_minor(&running))
        }) {
            self.upgrade_step(&described, next).await?;
            return self.get(&spec.id).await;
        }
        self.resize(&described, &current, spec).await?;
        // The node pools' record last: it says what the node groups were asked to become.
        let (set, remove) = tags::changes(&described.tags, &wanted, tags::is_pools_key);
        self.retag(&described, set, remove).await?;
        self.get(&spec.id).await
    }

    /// `delete`, before its cluster's description is forgotten.
    async fn delete_now(&self, id: &ClusterId) -> Result<()> {
        let described = match self.owned(id).await {
            Ok(described) => described,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(err) => return Err(err),
        };
        if described.cluster.status() == Some(&ClusterStatus::Deleting) {
            return Ok(());
        }
        // The mark first: from here on, `get` reports the cluster deleting and finishes the
        // deletion instead of making the node groups it lacks again.
        if !described.tags.contains_key(DELETING_KEY) {
            let mark = BTreeMap::from([(DELETING_KEY.to_owned(), "true".to_owned())]);
            match self.retag(&described, mark, Vec::new()).await {
                Ok(()) => {}
                Err(Error::NotFound { .. }) => return Ok(()),
                Err(err) => return Err(err),
            }
        }
        match self.continue_delete(&described).await {
            Ok(()) | Err(Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_tokens_are_stable_and_distinct() {
        assert_eq!(request_token(&["a", "b"]), request_token(&["a", "b"]));
        assert_ne!(request_token(&["a", "b"]), request_token(&["a", "c"]));
        assert_eq!(request_token(&["a"]).len(), 32);
    }
}
