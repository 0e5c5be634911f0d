//! [`EksProvider`]: the `ClusterProvider` for Amazon EKS.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_eks::types::{ClusterStatus, NodegroupScalingConfig, NodegroupStatus, VpcConfigRequest};
use base64::Engine as _;
use fleet_core::{
    Cluster, ClusterId, ClusterPhase, ClusterProvider, ClusterSpec, Credentials, Error, FleetName, FleetTags,
    KubernetesVersion, NodePool, NodePoolName, ProviderInfo, Region, Result, SizeClass,
};
use sha2::{Digest, Sha256};

use crate::builder::RegionNetwork;
use crate::errors::map_sdk_error;
use crate::token::eks_token;

/// The cluster tag recording the node pools a cluster should have: `name:size:min:max[:type]`,
/// comma-separated (EKS tags allow these characters).
const NODE_POOLS_TAG: &str = "fleet-node-pools";

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
    pub(crate) instance_types: BTreeMap<SizeClass, String>,
    pub(crate) credentials: SharedCredentialsProvider,
    /// Where each known cluster is, to avoid asking every region.
    pub(crate) located: Mutex<BTreeMap<ClusterId, Region>>,
}

impl std::fmt::Debug for EksProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EksProvider")
            .field("fleet", &self.fleet)
            .field("regions", &self.info.regions)
            .finish_non_exhaustive()
    }
}

/// A cluster as EKS describes it, with its node groups' names and statuses.
struct Described {
    cluster: aws_sdk_eks::types::Cluster,
    region: Region,
    nodegroups: BTreeMap<String, Option<NodegroupStatus>>,
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
        let out =
            client.describe_cluster().name(id.as_str()).send().await.map_err(|e| map_sdk_error(&doing, false, e))?;
        let cluster = out.cluster().cloned().ok_or_else(|| Error::cluster_not_found(id))?;
        let mut nodegroups = BTreeMap::new();
        if with_nodegroups && cluster.status() != Some(&ClusterStatus::Creating) {
            for name in self.nodegroup_names(region, id).await? {
                let doing = format!("describe node group `{name}` of `{id}`");
                let status =
                    match client.describe_nodegroup().cluster_name(id.as_str()).nodegroup_name(&name).send().await {
                        Ok(out) => out.nodegroup().and_then(|n| n.status()).cloned(),
                        Err(err) => match map_sdk_error(&doing, false, err) {
                            Error::NotFound { .. } => continue,
                            other => return Err(other),
                        },
                    };
                nodegroups.insert(name, status);
            }
        }
        self.remember(id, region);
        Ok(Described { cluster, region: region.clone(), nodegroups })
    }

    async fn nodegroup_names(&self, region: &Region, id: &ClusterId) -> Result<Vec<String>> {
        let client = self.client(region)?;
        let doing = format!("list node groups of `{id}`");
        let mut names = Vec::new();
        let mut pages = fleet_core::paging::Pages::new(&doing);
        let mut token = None;
        loop {
            let out = client
                .list_nodegroups()
                .cluster_name(id.as_str())
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| map_sdk_error(&doing, false, e))?;
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
        if FleetTags::belongs_to(&tags_of(&described.cluster), &self.fleet) {
            Ok(described)
        } else {
            Err(Error::PermissionDenied { message: format!("EKS cluster `{id}` is not fleet `{}`'s", self.fleet) })
        }
    }

    /// Creates the node groups a running cluster still lacks (each once: the request token
    /// is derived from the cluster and pool).
    async fn create_missing_nodegroups(&self, described: &Described, pools: &[NodePool]) -> Result<bool> {
        let id = ClusterId::new(described.cluster.name().unwrap_or_default())?;
        let client = self.client(&described.region)?;
        let network = self.networks.get(&described.region).cloned().unwrap_or_default();
        let mut created = false;
        for pool in pools.iter().filter(|p| !described.nodegroups.contains_key(p.name.as_str())) {
            let scaling = NodegroupScalingConfig::builder()
                .min_size(pool.min_count as i32)
                .max_size(pool.max_count.get() as i32)
                .desired_size(pool.min_count.max(1) as i32)
                .build();
            let tags: HashMap<String, String> = tags_of(&described.cluster).into_iter().collect();
            let doing = format!("create node group `{}` of `{id}`", pool.name);
            let result = client
                .create_nodegroup()
                .cluster_name(id.as_str())
                .nodegroup_name(pool.name.as_str())
                .node_role(&self.node_role_arn)
                .set_subnets(Some(network.subnets.clone()))
                .scaling_config(scaling)
                .instance_types(self.instance_type_of(pool))
                .set_tags(Some(tags))
                .client_request_token(request_token(&[id.as_str(), pool.name.as_str()]))
                .send()
                .await;
            match result {
                Ok(_) => created = true,
                Err(err) => match map_sdk_error(&doing, true, err) {
                    Error::AlreadyExists { .. } => {}
                    other => return Err(other),
                },
            }
        }
        Ok(created)
    }

    fn view(&self, described: &Described) -> Result<Cluster> {
        let eks = &described.cluster;
        let id = ClusterId::new(eks.name().unwrap_or_default())?;
        let tags = tags_of(eks);
        let pools = tags.get(NODE_POOLS_TAG).map(|text| decode_pools(text)).unwrap_or_default();
        let all_active = pools.iter().all(|p| {
            described.nodegroups.get(p.name.as_str()).is_some_and(|s| s.as_ref() == Some(&NodegroupStatus::Active))
        });
        let any_failed = described
            .nodegroups
            .values()
            .any(|s| matches!(s, Some(NodegroupStatus::CreateFailed) | Some(NodegroupStatus::Degraded)));
        let phase = match eks.status() {
            Some(ClusterStatus::Pending) => ClusterPhase::Pending,
            Some(ClusterStatus::Creating) => ClusterPhase::Creating,
            Some(ClusterStatus::Updating) => ClusterPhase::Updating,
            Some(ClusterStatus::Deleting) => ClusterPhase::Deleting,
            Some(ClusterStatus::Failed) => ClusterPhase::Failed { reason: "EKS reports the cluster FAILED".into() },
            Some(ClusterStatus::Active) if any_failed => {
                ClusterPhase::Failed { reason: "a managed node group failed or is degraded".into() }
            }
            Some(ClusterStatus::Active) if all_active => ClusterPhase::Running,
            Some(ClusterStatus::Active) if described.nodegroups.len() < pools.len() => ClusterPhase::Creating,
            Some(ClusterStatus::Active) => ClusterPhase::Updating,
            _ => ClusterPhase::Pending,
        };
        let provider_id = eks.arn().unwrap_or_default().to_owned();
        let mut cluster = Cluster::new(id, self.info.name.clone(), provider_id, described.region.clone(), phase)
            .with_node_pools(pools)
            .with_tags(tags);
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

    /// `get`'s work: describe, create node groups the cluster lacks once it is active.
    async fn observe(&self, mut described: Described) -> Result<Cluster> {
        let pools = tags_of(&described.cluster).get(NODE_POOLS_TAG).map(|t| decode_pools(t)).unwrap_or_default();
        let owned = FleetTags::belongs_to(&tags_of(&described.cluster), &self.fleet);
        if owned
            && described.cluster.status() == Some(&ClusterStatus::Active)
            && self.create_missing_nodegroups(&described, &pools).await?
        {
            let id = ClusterId::new(described.cluster.name().unwrap_or_default())?;
            described = self.describe_in(&described.region.clone(), &id, true).await?;
        }
        self.view(&described)
    }
}

/// A cluster's tags, ordered.
fn tags_of(cluster: &aws_sdk_eks::types::Cluster) -> BTreeMap<String, String> {
    cluster.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

/// An idempotency token for a request about `parts` (the same parts give the same token).
fn request_token(parts: &[&str]) -> String {
    let digest = Sha256::digest(parts.join("/").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn encode_pools(pools: &[NodePool]) -> String {
    pools
        .iter()
        .map(|p| {
            let mut text = format!("{}:{}:{}:{}", p.name, p.size.as_str(), p.min_count, p.max_count);
            if let Some(machine) = &p.machine_type {
                text.push(':');
                text.push_str(machine);
            }
            text
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_pools(text: &str) -> Vec<NodePool> {
    text.split(',')
        .filter_map(|entry| {
            let parts: Vec<&str> = entry.split(':').collect();
            let name = NodePoolName::new(*parts.first()?).ok()?;
            let size = SizeClass::ALL.into_iter().find(|s| Some(&s.as_str()) == parts.get(1))?;
            let pool = NodePool::new(name, size, parts.get(2)?.parse().ok()?, parts.get(3)?.parse().ok()?).ok()?;
            Some(match parts.get(4) {
                Some(machine) => pool.with_machine_type(*machine),
                None => pool,
            })
        })
        .collect()
}

#[async_trait]
impl ClusterProvider for EksProvider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster> {
        if spec.provider != self.info.name {
            return Err(Error::wrong_provider(&spec.provider, &self.info.name));
        }
        let client = self.client(&spec.region)?;
        let network = self.networks.get(&spec.region).cloned().unwrap_or_default();
        let mut tags: HashMap<String, String> = FleetTags::cluster_tags(&self.fleet, spec).into_iter().collect();
        tags.insert(NODE_POOLS_TAG.into(), encode_pools(&spec.node_pools));
        let version = format!("{}.{}", spec.kubernetes_version.major(), spec.kubernetes_version.minor());
        let vpc = VpcConfigRequest::builder()
            .set_subnet_ids(Some(network.subnets.clone()))
            .set_security_group_ids((!network.security_groups.is_empty()).then(|| network.security_groups.clone()))
            .endpoint_private_access(spec.network.private_endpoint)
            .endpoint_public_access(!spec.network.private_endpoint)
            .build();
        let token = request_token(&[self.fleet.as_str(), spec.id.as_str(), spec.fixed_settings_hash().as_str()]);
        let doing = format!("create cluster `{}` in {}", spec.id, spec.region);
        let result = client
            .create_cluster()
            .name(spec.id.as_str())
            .version(version)
            .role_arn(&self.cluster_role_arn)
            .resources_vpc_config(vpc)
            .set_tags(Some(tags))
            .client_request_token(token)
            .send()
            .await;
        match result {
            Ok(out) => {
                let cluster = out.cluster().cloned().ok_or_else(|| Error::Provider {
                    message: format!("{doing}: EKS answered without the cluster"),
                    source: None,
                })?;
                self.remember(&spec.id, &spec.region);
                let described = Described { cluster, region: spec.region.clone(), nodegroups: BTreeMap::new() };
                self.observe(described).await
            }
            Err(err) => match map_sdk_error(&doing, true, err) {
                Error::AlreadyExists { resource } => {
                    let existing = self.describe_in(&spec.region, &spec.id, true).await?;
                    if FleetTags::belongs_to(&tags_of(&existing.cluster), &self.fleet) {
                        self.observe(existing).await
                    } else {
                        Err(Error::AlreadyExists { resource })
                    }
                }
                other => Err(other),
            },
        }
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        let described = self.describe(id).await?;
        self.observe(described).await
    }

    async fn list(&self) -> Result<Vec<Cluster>> {
        let mut clusters = Vec::new();
        for (region, client) in &self.clients {
            let mut pages = fleet_core::paging::Pages::new(format!("list clusters in {region}"));
            let mut token = None;
            loop {
                let out = client
                    .list_clusters()
                    .max_results(100)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| map_sdk_error(&format!("list clusters in {region}"), false, e))?;
                for name in out.clusters() {
                    let Ok(id) = ClusterId::new(name.as_str()) else { continue };
                    let described = match self.describe_in(region, &id, false).await {
                        Ok(described) => described,
                        Err(Error::NotFound { .. }) => continue,
                        Err(err) => return Err(err),
                    };
                    if !FleetTags::belongs_to(&tags_of(&described.cluster), &self.fleet) {
                        continue;
                    }
                    // Node groups by name only: enough to tell a complete cluster, cheap in calls.
                    let mut described = described;
                    if described.cluster.status() == Some(&ClusterStatus::Active) {
                        for name in self.nodegroup_names(region, &id).await? {
                            described.nodegroups.insert(name, Some(NodegroupStatus::Active));
                        }
                    }
                    clusters.push(self.view(&described)?);
                }
                token = pages.next(out.next_token())?;
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(clusters)
    }

    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let described = self.owned(&spec.id).await?;
        let current = self.view(&described)?;
        let client = self.client(&described.region)?;
        let current_names: Vec<&NodePoolName> = current.node_pools.iter().map(|p| &p.name).collect();
        let wanted_names: Vec<&NodePoolName> = spec.node_pools.iter().map(|p| &p.name).collect();
        if current_names != wanted_names {
            return Err(Error::Unsupported {
                operation: format!("adding or removing node pools of EKS cluster `{}` (needs a replacement)", spec.id),
            });
        }
        let wanted_minor = (spec.kubernetes_version.major(), spec.kubernetes_version.minor());
        let running_minor = current.kubernetes_version.map(|v| (v.major(), v.minor()));
        if running_minor != Some(wanted_minor) {
            if !self.info.capabilities.in_place_version_upgrade {
                return Err(Error::Unsupported { operation: format!("in-place upgrade of `{}`", spec.id) });
            }
            let version = format!("{}.{}", wanted_minor.0, wanted_minor.1);
            let doing = format!("upgrade cluster `{}` to {version}", spec.id);
            client
                .update_cluster_version()
                .name(spec.id.as_str())
                .version(&version)
                .client_request_token(request_token(&[spec.id.as_str(), &version]))
                .send()
                .await
                .map_err(|e| map_sdk_error(&doing, false, e))?;
        }
        let resized: Vec<&NodePool> =
            spec.node_pools.iter().filter(|p| !current.node_pools.iter().any(|c| c == *p)).collect();
        if !resized.is_empty() {
            if !self.info.capabilities.node_pool_resize {
                return Err(Error::Unsupported { operation: format!("resizing node pools of `{}`", spec.id) });
            }
            for pool in &resized {
                let scaling = NodegroupScalingConfig::builder()
                    .min_size(pool.min_count as i32)
                    .max_size(pool.max_count.get() as i32)
                    .desired_size(pool.min_count.max(1) as i32)
                    .build();
                let doing = format!("resize node group `{}` of `{}`", pool.name, spec.id);
                client
                    .update_nodegroup_config()
                    .cluster_name(spec.id.as_str())
                    .nodegroup_name(pool.name.as_str())
                    .scaling_config(scaling)
                    .send()
                    .await
                    .map_err(|e| map_sdk_error(&doing, false, e))?;
            }
            if let Some(arn) = described.cluster.arn() {
                let doing = format!("tag cluster `{}`", spec.id);
                client
                    .tag_resource()
                    .resource_arn(arn)
                    .tags(NODE_POOLS_TAG, encode_pools(&spec.node_pools))
                    .send()
                    .await
                    .map_err(|e| map_sdk_error(&doing, false, e))?;
            }
        }
        self.get(&spec.id).await
    }

    async fn delete(&self, id: &ClusterId) -> Result<()> {
        let described = match self.owned(id).await {
            Ok(described) => described,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(err) => return Err(err),
        };
        let client = self.client(&described.region)?;
        // Node groups first: EKS refuses to delete a cluster that has any.
        for name in described.nodegroups.keys() {
            let doing = format!("delete node group `{name}` of `{id}`");
            match client.delete_nodegroup().cluster_name(id.as_str()).nodegroup_name(name).send().await {
                Ok(_) => {}
                Err(err) => match map_sdk_error(&doing, false, err) {
                    Error::NotFound { .. } | Error::Conflict { .. } => {}
                    other => return Err(other),
                },
            }
        }
        // Node groups take minutes to go. Rather than wait inside the call, it asks to be
        // called again (a retryable conflict) until they are gone; each call is idempotent.
        let left = self.nodegroup_names(&described.region, id).await?;
        if !left.is_empty() {
            return Err(Error::Conflict {
                message: format!(
                    "node groups of `{id}` are being deleted ({}); the cluster goes after them",
                    left.join(", ")
                ),
            });
        }
        let doing = format!("delete cluster `{id}`");
        match client.delete_cluster().name(id.as_str()).send().await {
            Ok(_) => {}
            Err(err) => match map_sdk_error(&doing, false, err) {
                Error::NotFound { .. } => {}
                other => return Err(other),
            },
        }
        Ok(())
    }

    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        let described = self.owned(id).await?;
        let endpoint = described
            .cluster
            .endpoint()
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_pools_round_trip_through_their_tag() {
        let pools = vec![
            NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap(),
            NodePool::new(NodePoolName::new("gpu").unwrap(), SizeClass::Large, 0, 2)
                .unwrap()
                .with_machine_type("g5.xlarge"),
        ];
        let text = encode_pools(&pools);
        assert_eq!(text, "workers:small:1:3,gpu:large:0:2:g5.xlarge");
        assert_eq!(decode_pools(&text), pools);
        assert!(decode_pools("garbage,::,x:huge:1:2").is_empty(), "bad entries are skipped, never a panic");
    }

    #[test]
    fn request_tokens_are_stable_and_distinct() {
        assert_eq!(request_token(&["a", "b"]), request_token(&["a", "b"]));
        assert_ne!(request_token(&["a", "b"]), request_token(&["a", "c"]));
        assert_eq!(request_token(&["a"]).len(), 32);
    }
}
