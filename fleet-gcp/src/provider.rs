//! [`GkeProvider`]: the `ClusterProvider` for Google Kubernetes Engine.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use base64::Engine as _;
use fleet_core::addons::{ApiRoute, team_credentials_over};
use fleet_core::plan::ensure_in_place;
use fleet_core::{
    Cluster, ClusterId, ClusterPhase, ClusterProvider, ClusterSpec, Credentials, Error, FleetName, FleetTags,
    KubernetesVersion, Listing, NodePool, NodePoolName, ProviderInfo, Region, RequestKind, Result, SizeClass, TeamName,
};
use google_cloud_container_v1::client::ClusterManager;
use google_cloud_container_v1::model;

use crate::errors::map_gcp_error;
use crate::node_counts::{autoscaling, initial_per_zone, total_bounds, zone_count};
use crate::settings::NetworkSetup;
use crate::token::TokenSource;
use crate::versions::{ReleaseChannel, ServerVersions, parse_gke_version};

/// The node label recording a pool's abstract size class.
const SIZE_LABEL: &str = "fleet-size-class";
/// The node label recording that a pool's machine type was chosen by its spec, not derived
/// from its size class (its value is that machine type).
const MACHINE_LABEL: &str = "fleet-machine-type";

/// The Compute Engine machine type of a size class (override per provider with
/// [`crate::GkeProviderBuilder::with_machine_type`]).
///
/// ```
/// assert_eq!(fleet_gcp::machine_type(fleet_core::SizeClass::Small), "e2-standard-2");
/// ```
pub fn machine_type(size: SizeClass) -> &'static str {
    match size {
        SizeClass::Small => "e2-standard-2",
        SizeClass::Medium => "e2-standard-4",
        SizeClass::Large => "e2-standard-8",
        _ => "e2-standard-16",
    }
}

/// GKE clusters of one fleet in one project's locations; see the [crate](crate) documentation.
pub struct GkeProvider {
    pub(crate) fleet: FleetName,
    pub(crate) project: String,
    pub(crate) info: ProviderInfo,
    pub(crate) client: ClusterManager,
    pub(crate) tokens: TokenSource,
    /// How clusters' API servers are reached to set team access up (default: directly).
    pub(crate) route: Arc<dyn ApiRoute>,
    pub(crate) machine_types: BTreeMap<SizeClass, String>,
    /// The network clusters join and how their settings are enforced.
    pub(crate) network: NetworkSetup,
    /// The release channel every cluster is enrolled in, when the builder fixed one.
    pub(crate) release_channel: Option<ReleaseChannel>,
    /// The node zones of a location, where the builder named them.
    pub(crate) zones: BTreeMap<Region, Vec<String>>,
    pub(crate) poll_interval: Duration,
    pub(crate) operation_timeout: Duration,
    /// Where each known cluster is, to avoid asking every location.
    pub(crate) located: Mutex<BTreeMap<ClusterId, Region>>,
}

impl std::fmt::Debug for GkeProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GkeProvider")
            .field("fleet", &self.fleet)
            .field("project", &self.project)
            .field("locations", &self.info.regions)
            .finish_non_exhaustive()
    }
}

impl GkeProvider {
    fn parent(&self, location: &str) -> String {
        format!("projects/{}/locations/{location}", self.project)
    }

    fn name(&self, location: &Region, id: &ClusterId) -> String {
        format!("{}/clusters/{id}", self.parent(location.as_str()))
    }

    fn remember(&self, id: &ClusterId, location: &Region) {
        self.located.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.clone(), location.clone());
    }

    /// Follows a long-running operation with `GetOperation` until it is done; its error, if
    /// any, becomes Fleet's.
    pub(crate) async fn follow(&self, location: &Region, operation: model::Operation) -> Result<()> {
        let name = format!("{}/operations/{}", self.parent(location.as_str()), operation.name);
        let deadline = tokio::time::Instant::now() + self.operation_timeout;
        let mut current = operation;
        loop {
            if current.status == model::operation::Status::Done {
                return match current.error {
                    Some(status) if status.code != 0 => Err(Error::Provider {
                        message: format!(
                            "operation `{}` failed: {} (code {})",
                            current.name, status.message, status.code
                        ),
                        source: None,
                    }),
                    _ => Ok(()),
                };
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout { message: format!("operation `{}` is not done", current.name) });
            }
            tokio::time::sleep(self.poll_interval).await;
            current =
                self.client.get_operation().set_name(&name).send().await.map_err(|err| {
                    map_gcp_error(&format!("get operation `{name}`"), RequestKind::ReadsOrChanges, err)
                })?;
        }
    }

    /// Cluster `id` in `location`.
    async fn get_in(&self, location: &Region, id: &ClusterId) -> Result<model::Cluster> {
        let name = self.name(location, id);
        let cluster = self
            .client
            .get_cluster()
            .set_name(&name)
            .send()
            .await
            .map_err(|err| map_gcp_error(&format!("get cluster `{name}`"), RequestKind::ReadsOrChanges, err))?;
        if FleetTags::belongs_to(&labels_of(&cluster), &self.fleet) {
            self.remember(id, location);
        }
        Ok(cluster)
    }

    /// Finds cluster `id`: where it was last seen, else in each location. GKE names clusters
    /// per location, so one name can be taken in several: this fleet's cluster is preferred,
    /// another one is returned only when this fleet has none.
    async fn find(&self, id: &ClusterId) -> Result<(Region, model::Cluster)> {
        let known = self.located.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(id).cloned();
        let others = self.info.regions.iter().filter(|location| known.as_ref() != Some(*location)).cloned();
        let mut foreign = None;
        for location in known.clone().into_iter().chain(others) {
            match self.get_in(&location, id).await {
                Ok(cluster) if FleetTags::belongs_to(&labels_of(&cluster), &self.fleet) => {
                    return Ok((location, cluster));
                }
                Ok(cluster) => {
                    foreign.get_or_insert((location, cluster));
                }
                Err(Error::NotFound { .. }) => continue,
                Err(err) => return Err(err),
            }
        }
        foreign.ok_or_else(|| Error::cluster_not_found(id))
    }

    /// This fleet's cluster of `spec`'s id in another location than the spec's, if one is
    /// there (GKE names clusters per location, so a create there would make a second one).
    /// Locations that cannot be asked are passed over: this is a guard, not a listing.
    async fn elsewhere(&self, spec: &ClusterSpec) -> Option<Cluster> {
        for location in self.info.regions.iter().filter(|location| **location != spec.region) {
            let Ok(gke) = self.get_in(location, &spec.id).await else { continue };
            if FleetTags::belongs_to(&labels_of(&gke), &self.fleet) {
                return self.view(location, &gke).ok();
            }
        }
        None
    }

    /// Cluster `id`, if it exists and is this fleet's: `NotFound` or `PermissionDenied`.
    async fn owned(&self, id: &ClusterId) -> Result<(Region, model::Cluster)> {
        let (location, cluster) = self.find(id).await?;
        if FleetTags::belongs_to(&labels_of(&cluster), &self.fleet) {
            Ok((location, cluster))
        } else {
            Err(Error::PermissionDenied { message: format!("GKE cluster `{id}` is not fleet `{}`'s", self.fleet) })
        }
    }

    /// Gives cluster `id` exactly `labels` with `setResourceLabels`, which needs the label
    /// fingerprint of the labels it replaces: the one given, else a fresh one. A fingerprint
    /// gone stale meanwhile is read again once.
    async fn set_labels(
        &self,
        location: &Region,
        id: &ClusterId,
        labels: &BTreeMap<String, String>,
        fingerprint: Option<String>,
    ) -> Result<()> {
        let name = self.name(location, id);
        let mut fingerprint = fingerprint;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let current = match fingerprint.take() {
                Some(known) => known,
                None => self.get_in(location, id).await?.label_fingerprint,
            };
            let sent = self
                .client
                .set_labels()
                .set_name(&name)
                .set_resource_labels(labels.clone())
                .set_label_fingerprint(current)
                .send()
                .await;
            match sent {
                Ok(operation) => return self.follow(location, operation).await,
                Err(err) => match map_gcp_error(&format!("set labels of `{name}`"), RequestKind::ReadsOrChanges, err) {
                    Error::Conflict { message } if attempts < 2 && message.contains("fingerprint") => continue,
                    other => return Err(other),
                },
            }
        }
    }

    /// What `getServerConfig` says of the versions of `location`.
    async fn server_versions(&self, location: &Region) -> Result<ServerVersions> {
        let parent = self.parent(location.as_str());
        let config = self.client.get_server_config().set_name(&parent).send().await.map_err(|err| {
            map_gcp_error(&format!("get the server config of {parent}"), RequestKind::ReadsOrChanges, err)
        })?;
        Ok(ServerVersions::from_model(&config))
    }

    /// The release channel a cluster of `version` runs in, or why GKE would refuse it.
    fn channel_for(
        &self,
        versions: &ServerVersions,
        location: &Region,
        version: KubernetesVersion,
    ) -> Result<ReleaseChannel> {
        versions.channel_for(version, self.release_channel).ok_or_else(|| {
            let offered: Vec<String> = versions.offered(self.release_channel).iter().map(ToString::to_string).collect();
            let channel = match self.release_channel {
                Some(channel) => format!("release channel {channel}"),
                None => "any release channel".to_owned(),
            };
            Error::InvalidSpec {
                path: "kubernetesVersion".into(),
                reason: format!(
                    "GKE offers no Kubernetes {version} in {channel} of `{location}` (getServerConfig offers {})",
                    offered.join(", ")
                ),
            }
        })
    }

    fn node_pool(&self, pool: &NodePool, zones: u32) -> model::NodePool {
        let machine = pool
            .machine_type
            .clone()
            .or_else(|| self.machine_types.get(&pool.size).cloned())
            .unwrap_or_else(|| machine_type(pool.size).to_owned());
        let mut labels = vec![(SIZE_LABEL.to_owned(), pool.size.as_str().to_owned())];
        if let Some(chosen) = &pool.machine_type {
            labels.push((MACHINE_LABEL.to_owned(), chosen.clone()));
        }
        model::NodePool::new()
            .set_name(pool.name.as_str())
            .set_initial_node_count(initial_per_zone(pool, zones))
            .set_config(model::NodeConfig::new().set_machine_type(machine).set_labels(labels))
            .set_autoscaling(autoscaling(pool))
    }

    fn view(&self, location: &Region, gke: &model::Cluster) -> Result<Cluster> {
        let id = ClusterId::new(gke.name.as_str())?;
        let phase = match gke.status {
            model::cluster::Status::Provisioning => ClusterPhase::Creating,
            model::cluster::Status::Running => ClusterPhase::Running,
            model::cluster::Status::Reconciling => ClusterPhase::Updating,
            model::cluster::Status::Stopping => ClusterPhase::Deleting,
            model::cluster::Status::Error | model::cluster::Status::Degraded => ClusterPhase::Failed {
                reason: gke
                    .conditions
                    .iter()
                    .map(|condition| condition.message.clone())
                    .find(|message| !message.is_empty())
                    .unwrap_or_else(|| format!("GKE reports the cluster {:?}", gke.status)),
            },
            _ => ClusterPhase::Pending,
        };
        let pools = gke.node_pools.iter().filter_map(node_pool_of).collect();
        let location = if gke.location.is_empty() { location.clone() } else { Region::new(&gke.location)? };
        let mut cluster = Cluster::new(id, self.info.name.clone(), gke.self_link.clone(), location, phase)
            .with_node_pools(pools)
            .with_tags(labels_of(gke));
        let version = if gke.current_master_version.is_empty() {
            &gke.initial_cluster_version
        } else {
            &gke.current_master_version
        };
        if let Some(version) = parse_gke_version(version) {
            cluster = cluster.with_kubernetes_version(version);
        }
        if !gke.endpoint.is_empty() {
            cluster = cluster.with_endpoint(format!("https://{}", gke.endpoint));
        }
        if let Some(created) = parse_rfc3339_seconds(&gke.create_time) {
            cluster = cluster.with_timestamps(created, created);
        }
        Ok(cluster)
    }
}

fn node_pool_of(gke: &model::NodePool) -> Option<NodePool> {
    let name = NodePoolName::new(gke.name.as_str()).ok()?;
    let config = gke.config.as_ref();
    let size = config
        .and_then(|c| c.labels.get(SIZE_LABEL))
        .and_then(|label| SizeClass::ALL.into_iter().find(|s| s.as_str() == label))
        .unwrap_or(SizeClass::Medium);
    let (min, max) = total_bounds(gke);
    let pool = NodePool::new(name, size, min, max).ok()?;
    // A machine type derived from the size class is not part of the spec: only one the spec
    // chose (marked by its node label) is reported.
    let chosen = config
        .filter(|c| c.labels.contains_key(MACHINE_LABEL))
        .map(|c| c.machine_type.as_str())
        .filter(|m| !m.is_empty());
    Some(match chosen {
        Some(machine) => pool.with_machine_type(machine),
        None => pool,
    })
}

/// Whether GKE's `missing` location (a region or a zone) is, or lies within, the provider's
/// `location`: `europe-west1` covers `europe-west1` and `europe-west1-b`.
fn covers(location: &Region, missing: &str) -> bool {
    let location = location.as_str();
    missing == location
        || missing
            .strip_prefix(location)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|zone| !zone.is_empty() && zone.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn labels_of(gke: &model::Cluster) -> BTreeMap<String, String> {
    gke.resource_labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Seconds of an RFC 3339 UTC timestamp (`2026-01-01T00:00:00Z`, fractions ignored).
fn parse_rfc3339_seconds(text: &str) -> Option<SystemTime> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.trim_end_matches('Z');
    let mut t = time.split(':');
    let (hour, minute) = (t.next()?.parse::<i64>().ok()?, t.next()?.parse::<i64>().ok()?);
    let second = t.next()?.split('.').next()?.parse::<i64>().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(secs).ok().map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
}

#[async_trait]
impl ClusterProvider for GkeProvider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    /// The versions of `getServerConfig` for `region`: the STABLE, REGULAR and RAPID
    /// channels' `validVersions` and the `validMasterVersions` they offer, or only the fixed
    /// channel's versions.
    async fn offered_versions(&self, region: &Region) -> Result<Option<Vec<KubernetesVersion>>> {
        if !self.info.has_region(region) {
            return Ok(None);
        }
        let offered = self.server_versions(region).await?.offered(self.release_channel);
        Ok((!offered.is_empty()).then_some(offered))
    }

    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster> {
        if spec.provider != self.info.name {
            return Err(Error::wrong_provider(&spec.provider, &self.info.name));
        }
        if !self.info.has_region(&spec.region) {
            return Err(Error::InvalidSpec {
                path: "region".into(),
                reason: format!("provider `{}` has no location `{}`", self.info.name, spec.region),
            });
        }
        self.info.capabilities.ensure_settings_apply(spec, &self.info.name)?;
        if let Some(existing) = self.elsewhere(spec).await {
            return Ok(existing);
        }
        let versions = self.server_versions(&spec.region).await?;
        let channel = self.channel_for(&versions, &spec.region, spec.kubernetes_version)?;
        let zones = self.zones.get(&spec.region).map(Vec::as_slice);
        let zone_count = zone_count(spec.region.as_str(), zones);
        // Only settings applied reach the cluster, so its fixed-settings label records them.
        let labels: HashMap<String, String> = FleetTags::cluster_tags(&self.fleet, spec).into_iter().collect();
        let mut cluster = model::Cluster::new()
            .set_name(spec.id.as_str())
            .set_initial_cluster_version(spec.kubernetes_version.to_string())
            .set_release_channel(model::ReleaseChannel::new().set_channel(channel.to_model()))
            .set_resource_labels(labels)
            .set_node_pools(spec.node_pools.iter().map(|p| self.node_pool(p, zone_count)).collect::<Vec<_>>());
        if let Some(zones) = zones {
            cluster = cluster.set_locations(zones.to_vec());
        }
        let cluster = self.network.apply(spec, cluster);
        let parent = self.parent(spec.region.as_str());
        let doing = format!("create cluster `{}` in {parent}", spec.id);
        match self.client.create_cluster().set_parent(&parent).set_cluster(cluster).send().await {
            Ok(operation) => {
                self.remember(&spec.id, &spec.region);
                self.follow(&spec.region, operation).await?;
            }
            Err(err) => match map_gcp_error(&doing, RequestKind::Creates, err) {
                Error::AlreadyExists { resource } => {
                    let existing = self.get_in(&spec.region, &spec.id).await?;
                    if !FleetTags::belongs_to(&labels_of(&existing), &self.fleet) {
                        return Err(Error::AlreadyExists { resource });
                    }
                    if existing.status == model::cluster::Status::Stopping {
                        return Err(Error::Conflict {
                            message: format!(
                                "GKE cluster `{}` is being deleted; it can be created again once it is gone",
                                spec.id
                            ),
                        });
                    }
                    // This fleet's cluster already: returned as it is, whatever its phase.
                    return self.view(&spec.region, &existing);
                }
                other => return Err(other),
            },
        }
        let cluster = self.get_in(&spec.region, &spec.id).await?;
        self.view(&spec.region, &cluster)
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        let (location, cluster) = self.find(id).await?;
        self.view(&location, &cluster)
    }

    async fn list(&self) -> Result<Listing> {
        let parent = self.parent("-");
        let response =
            self.client.list_clusters().set_parent(&parent).send().await.map_err(|err| {
                map_gcp_error(&format!("list clusters of {parent}"), RequestKind::ReadsOrChanges, err)
            })?;
        let mut listing = Listing::new(Vec::new());
        for missing in &response.missing_zones {
            for location in self.info.regions.iter().filter(|location| covers(location, missing)) {
                listing.mark_unreachable(
                    location.clone(),
                    Error::Unavailable {
                        message: format!("GKE could not list location `{missing}` (missingZones of {parent})"),
                    },
                );
            }
        }
        for gke in &response.clusters {
            let Ok(location) = Region::new(gke.location.as_str()) else { continue };
            if !self.info.has_region(&location)
                || listing.is_unreachable(&location)
                || !FleetTags::belongs_to(&labels_of(gke), &self.fleet)
            {
                continue;
            }
            let cluster = self.view(&location, gke)?;
            self.remember(&cluster.id, &location);
            listing.clusters.push(cluster);
        }
        listing.unless_all_unreachable(&self.info.name, &self.info.regions)
    }

    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let (location, gke) = self.owned(&spec.id).await?;
        let current = self.view(&location, &gke)?;
        ensure_in_place(&current, spec, self.info.capabilities)?;
        self.info.capabilities.ensure_settings_apply(spec, &self.info.name)?;
        if current.phase != ClusterPhase::Running {
            return Err(Error::Conflict {
                message: format!(
                    "GKE cluster `{}` is {}, not running: it cannot be updated now",
                    spec.id, current.phase
                ),
            });
        }
        let name = self.name(&location, &spec.id);
        let mut changed = false;
        // One minor at a time, never down: GKE upgrades control planes itself, and a cluster
        // ahead of its spec is left as it is.
        let step = match current.kubernetes_version {
            Some(version) => version.upgrade_step_to(spec.kubernetes_version),
            None => Some(spec.kubernetes_version),
        };
        if let Some(step) = step {
            let versions = self.server_versions(&location).await?;
            let channel = self.channel_for(&versions, &location, step)?;
            let enrolled = gke.release_channel.as_ref().and_then(|c| ReleaseChannel::from_model(&c.channel));
            let stays = enrolled.is_some_and(|enrolled| step.offered_by(versions.of(enrolled)));
            if !stays {
                // GKE takes one change per UpdateCluster: the channel first, then the version.
                let update = model::ClusterUpdate::new()
                    .set_desired_release_channel(model::ReleaseChannel::new().set_channel(channel.to_model()));
                let operation =
                    self.client.update_cluster().set_name(&name).set_update(update).send().await.map_err(|err| {
                        map_gcp_error(
                            &format!("move `{name}` to release channel {channel}"),
                            RequestKind::ReadsOrChanges,
                            err,
                        )
                    })?;
                self.follow(&location, operation).await?;
            }
            let update = model::ClusterUpdate::new().set_desired_master_version(step.to_string());
            let operation = self
                .client
                .update_cluster()
                .set_name(&name)
                .set_update(update)
                .send()
                .await
                .map_err(|err| map_gcp_error(&format!("upgrade `{name}`"), RequestKind::ReadsOrChanges, err))?;
            self.follow(&location, operation).await?;
            changed = true;
        }
        for pool in &spec.node_pools {
            let resized = current
                .node_pools
                .iter()
                .find(|p| p.name == pool.name)
                .is_some_and(|p| (p.min_count, p.max_count) != (pool.min_count, pool.max_count));
            if !resized {
                continue;
            }
            let pool_name = format!("{name}/nodePools/{}", pool.name);
            let operation = self
                .client
                .set_node_pool_autoscaling()
                .set_name(&pool_name)
                .set_autoscaling(autoscaling(pool))
                .send()
                .await
                .map_err(|err| map_gcp_error(&format!("resize `{pool_name}`"), RequestKind::ReadsOrChanges, err))?;
            self.follow(&location, operation).await?;
            changed = true;
        }
        let labels = FleetTags::cluster_tags(&self.fleet, spec);
        if labels_of(&gke) != labels {
            let fingerprint = if changed { None } else { Some(gke.label_fingerprint.clone()) };
            self.set_labels(&location, &spec.id, &labels, fingerprint).await?;
        }
        self.get(&spec.id).await
    }

    async fn delete(&self, id: &ClusterId) -> Result<()> {
        let (location, gke) = match self.owned(id).await {
            Ok(found) => found,
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(err) => return Err(err),
        };
        if gke.status == model::cluster::Status::Stopping {
            return Ok(());
        }
        let name = self.name(&location, id);
        match self.client.delete_cluster().set_name(&name).send().await {
            Ok(operation) => self.follow(&location, operation).await,
            Err(err) => match map_gcp_error(&format!("delete `{name}`"), RequestKind::ReadsOrChanges, err) {
                Error::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        let (_, gke) = self.owned(id).await?;
        if gke.endpoint.is_empty() {
            return Err(Error::Conflict { message: format!("GKE cluster `{id}` has no endpoint yet") });
        }
        let ca_pem = gke
            .master_auth
            .as_ref()
            .map(|auth| auth.cluster_ca_certificate.as_str())
            .filter(|ca| !ca.is_empty())
            .and_then(|ca| base64::engine::general_purpose::STANDARD.decode(ca).ok())
            .and_then(|pem| String::from_utf8(pem).ok());
        let token = self.tokens.token().await?;
        Ok(Credentials::from_token(id.as_str(), &format!("https://{}", gke.endpoint), ca_pem.as_deref(), token))
    }

    /// Sets team access up in the cluster with the cluster-admin [`credentials`](Self::credentials)
    /// (namespace `team-<team>`, a service account, a role and its binding, a token for the
    /// account), over the builder's route ([`crate::GkeProviderBuilder::with_api_route`]).
    async fn team_credentials(&self, id: &ClusterId, team: &TeamName) -> Result<Credentials> {
        team_credentials_over(self.route.as_ref(), &self.credentials(id).await?, id.as_str(), team).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gke_timestamps_parse() {
        let at = parse_rfc3339_seconds("2026-01-01T00:00:00.123Z").unwrap();
        assert_eq!(at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(), 1_767_225_600);
        assert_eq!(parse_rfc3339_seconds("yesterday"), None);
    }
}
