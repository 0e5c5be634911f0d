//! The simulated cloud's clusters and how they move through their life in virtual time.
//!
//! Phases are computed when observed, from the virtual time an operation completes: no
//! background task runs, so a simulation is exactly as deterministic as its calls.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::rng::SimRng;
use crate::Room;
use crate::addons::{AddonReport, AddonSet, ObjectRef};
use crate::provider::{AppliedSettings, Listing};
use crate::{
    Capabilities, Cluster, ClusterId, ClusterIdentity, ClusterPhase, ClusterSpec, Error, FleetName, FleetTags,
    KubernetesVersion, NodePool, ProviderName, Region, Result, Tags,
};

/// The simulated wall clock starts at 2026-01-01T00:00:00Z, so timestamps are reproducible.
pub(crate) const SIM_EPOCH_SECS: u64 = 1_767_225_600;

/// A cluster that a create brought into being (a create answered with an existing cluster
/// is none).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Creation {
    /// Its name at the cloud.
    pub cluster: ClusterId,
    /// The logical cluster it serves (its spec's identity).
    pub identity: ClusterIdentity,
    /// The fleet that created it.
    pub fleet: FleetName,
    /// Virtual time since the cloud was built.
    pub at: Duration,
}

/// How many clusters and nodes one simulated region can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegionCapacity {
    /// Clusters at most.
    pub clusters: u32,
    /// Nodes at most, counting each cluster's [`ClusterSpec::max_nodes`].
    pub nodes: u64,
}

impl RegionCapacity {
    /// A capacity of `clusters` clusters and `nodes` nodes.
    pub const fn new(clusters: u32, nodes: u64) -> Self {
        Self { clusters, nodes }
    }

    /// Room for any simulation that fits in memory.
    pub fn unlimited() -> Self {
        Self { clusters: u32::MAX, nodes: u64::MAX }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RegionState {
    pub(crate) capacity: RegionCapacity,
    pub(crate) down: bool,
}

/// A change in progress on a running cluster.
#[derive(Debug, Clone)]
enum Change {
    Update { version: KubernetesVersion, node_pools: Vec<NodePool>, tags: Tags },
    Hibernate,
    Resume,
}

#[derive(Debug, Clone)]
enum Lifecycle {
    Creating {
        ready_at: Instant,
    },
    Running,
    Changing {
        ready_at: Instant,
        change: Change,
    },
    Hibernated,
    Deleting {
        gone_at: Instant,
    },
    /// Broken behind the fleet's back ([`super::SimCloud::break_cluster`]).
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct SimCluster {
    id: ClusterId,
    pub(crate) region: Region,
    provider_id: String,
    tags: Tags,
    pub(crate) version: KubernetesVersion,
    node_pools: Vec<NodePool>,
    created_at: Duration,
    updated_at: Duration,
    token: String,
    lifecycle: Lifecycle,
    /// Add-on objects applied in it, with the hash of what was applied.
    addons: BTreeMap<ObjectRef, String>,
    /// The settings it was created with (network and audit logging).
    pub(crate) settings: AppliedSettings,
}

impl SimCluster {
    fn belongs_to(&self, fleet: &FleetName) -> bool {
        FleetTags::belongs_to(&self.tags, fleet)
    }

    fn nodes(&self) -> u64 {
        self.node_pools.iter().map(|pool| u64::from(pool.max_count.get())).sum()
    }

    /// Completes whatever finished by `now`; returns `false` once the cluster is gone.
    fn settle(&mut self, now: Instant, start: Instant) -> bool {
        match &mut self.lifecycle {
            Lifecycle::Creating { ready_at } if *ready_at <= now => {
                self.updated_at = ready_at.duration_since(start);
                self.lifecycle = Lifecycle::Running;
            }
            Lifecycle::Changing { ready_at, change } if *ready_at <= now => {
                self.updated_at = ready_at.duration_since(start);
                self.lifecycle = match std::mem::replace(change, Change::Resume) {
                    Change::Update { version, node_pools, tags } => {
                        self.version = version;
                        self.node_pools = node_pools;
                        self.tags = tags;
                        Lifecycle::Running
                    }
                    Change::Hibernate => Lifecycle::Hibernated,
                    Change::Resume => Lifecycle::Running,
                };
            }
            Lifecycle::Deleting { gone_at } if *gone_at <= now => return false,
            _ => {}
        }
        true
    }

    fn phase(&self) -> ClusterPhase {
        match &self.lifecycle {
            Lifecycle::Creating { .. } => ClusterPhase::Creating,
            Lifecycle::Running => ClusterPhase::Running,
            Lifecycle::Changing { .. } => ClusterPhase::Updating,
            Lifecycle::Hibernated => ClusterPhase::Hibernated,
            Lifecycle::Deleting { .. } => ClusterPhase::Deleting,
            Lifecycle::Failed { reason } => ClusterPhase::Failed { reason: reason.clone() },
        }
    }

    /// Whether the API server serves: running, or being updated in place.
    fn api_serving(&self) -> bool {
        matches!(self.lifecycle, Lifecycle::Running | Lifecycle::Changing { change: Change::Update { .. }, .. })
    }

    /// `Ok` when the API server serves, else a retryable conflict naming the phase.
    fn require_serving(&self) -> Result<()> {
        if self.api_serving() {
            Ok(())
        } else {
            Err(Error::Conflict {
                message: format!("cluster `{}` is {}, its API is not serving", self.id, self.phase()),
            })
        }
    }

    /// The simulated certificate authority of the API server.
    fn ca_pem(&self) -> String {
        format!("-----BEGIN CERTIFICATE-----\nSIMULATED-CA-{}\n-----END CERTIFICATE-----\n", self.id)
    }

    fn endpoint(&self, cloud: &ProviderName) -> String {
        format!("https://{}.{}.{cloud}.sim.invalid", self.id, self.region)
    }

    fn view(&self, cloud: &ProviderName, reachable: bool) -> Cluster {
        let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(SIM_EPOCH_SECS);
        let phase = if reachable { self.phase() } else { ClusterPhase::Unreachable };
        let mut cluster = Cluster::new(self.id.clone(), cloud.clone(), &self.provider_id, self.region.clone(), phase)
            .with_kubernetes_version(self.version)
            .with_node_pools(self.node_pools.clone())
            .with_tags(self.tags.clone())
            .with_timestamps(epoch + self.created_at, epoch + self.updated_at);
        if !matches!(self.lifecycle, Lifecycle::Creating { .. }) {
            cluster = cluster.with_endpoint(self.endpoint(cloud));
        }
        cluster
    }
}

/// Everything a simulated cloud holds.
#[derive(Debug)]
pub(crate) struct SimState {
    pub(crate) name: ProviderName,
    pub(crate) capabilities: Capabilities,
    /// The versions new clusters may have (every region alike); `None` accepts any.
    pub(crate) offered_versions: Option<Vec<KubernetesVersion>>,
    /// Whether a spec needs a system pool of at least one node.
    pub(crate) system_pool_required: bool,
    pub(crate) start: Instant,
    pub(crate) rng: SimRng,
    pub(crate) regions: BTreeMap<Region, RegionState>,
    pub(crate) clusters: BTreeMap<ClusterId, SimCluster>,
    pub(crate) serial: u64,
    /// Every cluster a create brought into being, in order.
    pub(crate) creations: Vec<Creation>,
    /// Every bearer token the cloud has issued (cluster and team credentials).
    pub(crate) issued_tokens: Vec<String>,
}

impl SimState {
    pub(crate) fn new(
        name: ProviderName,
        capabilities: Capabilities,
        regions: BTreeMap<Region, RegionState>,
        seed: u64,
        start: Instant,
    ) -> Self {
        Self {
            name,
            capabilities,
            offered_versions: None,
            system_pool_required: false,
            start,
            rng: SimRng::new(seed),
            regions,
            clusters: BTreeMap::new(),
            serial: 0,
            creations: Vec::new(),
            issued_tokens: Vec::new(),
        }
    }

    /// The cluster `id`, settled to `now`; `None` when missing or gone.
    fn settled(&mut self, id: &ClusterId, now: Instant) -> Option<&mut SimCluster> {
        let start = self.start;
        if !self.clusters.get_mut(id)?.settle(now, start) {
            self.clusters.remove(id);
            return None;
        }
        self.clusters.get_mut(id)
    }

    /// The cluster `id`, settled, and checked to belong to `fleet`.
    fn owned(&mut self, id: &ClusterId, fleet: &FleetName, now: Instant) -> Result<&mut SimCluster> {
        let cluster = self.settled(id, now).ok_or_else(|| Error::cluster_not_found(id))?;
        if !cluster.belongs_to(fleet) {
            return Err(Error::PermissionDenied {
                message: format!("cluster `{id}` does not belong to fleet `{fleet}`"),
            });
        }
        Ok(cluster)
    }

    fn region_is_up(&self, region: &Region) -> bool {
        self.regions.get(region).is_some_and(|state| !state.down)
    }

    /// The region a call about `id` goes to, if the cluster is known.
    pub(crate) fn region_of(&self, id: &ClusterId) -> Option<Region> {
        self.clusters.get(id).map(|cluster| cluster.region.clone())
    }

    /// Settles every cluster to `now`, dropping those that are gone.
    fn settle_all(&mut self, now: Instant) {
        let start = self.start;
        self.clusters.retain(|_, cluster| cluster.settle(now, start));
    }

    fn usage(&mut self, region: &Region, now: Instant) -> (u32, u64) {
        self.settle_all(now);
        self.clusters
            .values()
            .filter(|cluster| &cluster.region == region)
            .fold((0, 0), |(count, nodes), cluster| (count + 1, nodes + cluster.nodes()))
    }

    /// The capacity of `region`; a region the cloud lacks is an invalid spec.
    fn capacity_of(&self, region: &Region) -> Result<RegionCapacity> {
        self.regions.get(region).map(|r| r.capacity).ok_or_else(|| Error::InvalidSpec {
            path: "region".into(),
            reason: format!("provider `{}` has no region `{region}`", self.name),
        })
    }

    /// `Ok` when `version` is offered (or any version is).
    fn ensure_offered(&self, version: KubernetesVersion) -> Result<()> {
        let Some(offered) = &self.offered_versions else { return Ok(()) };
        if version.offered_by(offered) {
            return Ok(());
        }
        let list = offered.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        Err(Error::InvalidSpec {
            path: "kubernetesVersion".into(),
            reason: format!("Kubernetes {version} is not offered by provider `{}`; it offers: {list}", self.name),
        })
    }

    /// What still fits in `region`.
    pub(crate) fn room(&mut self, region: &Region, now: Instant) -> Result<Room> {
        let capacity = self.capacity_of(region)?;
        let (count, nodes) = self.usage(region, now);
        Ok(Room { clusters: capacity.clusters.saturating_sub(count), nodes: capacity.nodes.saturating_sub(nodes) })
    }

    pub(crate) fn create(
        &mut self,
        fleet: &FleetName,
        spec: &ClusterSpec,
        completes_in: Duration,
        now: Instant,
    ) -> Result<Cluster> {
        if spec.provider != self.name {
            return Err(Error::wrong_provider(&spec.provider, &self.name));
        }
        let capacity = self.capacity_of(&spec.region)?;
        let name = self.name.clone();
        if let Some(region) = self.settled(&spec.id, now).map(|existing| existing.region.clone()) {
            let reachable = self.region_is_up(&region);
            let existing = &self.clusters[&spec.id];
            if !existing.belongs_to(fleet) {
                return Err(Error::AlreadyExists {
                    resource: format!("cluster `{}` (not in fleet `{fleet}`)", spec.id),
                });
            }
            if matches!(existing.lifecycle, Lifecycle::Deleting { .. }) {
                return Err(Error::Conflict { message: format!("cluster `{}` is being deleted", spec.id) });
            }
            return Ok(existing.view(&name, reachable));
        }
        self.capabilities.ensure_settings_apply(spec, &self.name)?;
        self.ensure_offered(spec.kubernetes_version)?;
        if self.system_pool_required && spec.system_pool().is_none_or(|pool| pool.min_count == 0) {
            return Err(Error::InvalidSpec {
                path: "nodePools".into(),
                reason: format!("provider `{}` needs a system pool of at least one node", self.name),
            });
        }
        // An unlimited region is never full: what it holds need not be counted.
        let (count, nodes) =
            if capacity == RegionCapacity::unlimited() { (0, 0) } else { self.usage(&spec.region, now) };
        if count >= capacity.clusters {
            return Err(Error::QuotaExceeded {
                message: format!("region `{}` holds at most {} clusters", spec.region, capacity.clusters),
            });
        }
        if nodes.saturating_add(spec.max_nodes()) > capacity.nodes {
            return Err(Error::QuotaExceeded {
                message: format!(
                    "region `{}` has {} of {} nodes left, cluster `{}` needs {}",
                    spec.region,
                    capacity.nodes.saturating_sub(nodes),
                    capacity.nodes,
                    spec.id,
                    spec.max_nodes()
                ),
            });
        }
        self.serial += 1;
        let elapsed = now.duration_since(self.start);
        let mut cluster = SimCluster {
            id: spec.id.clone(),
            region: spec.region.clone(),
            provider_id: format!("sim://{}/{}/{}/{}", self.name, spec.region, spec.id, self.serial),
            tags: FleetTags::cluster_tags(fleet, spec).into(),
            version: spec.kubernetes_version,
            node_pools: spec.node_pools.clone(),
            created_at: elapsed,
            updated_at: elapsed,
            token: self.rng.hex(32),
            lifecycle: Lifecycle::Creating { ready_at: now + completes_in },
            addons: BTreeMap::new(),
            settings: AppliedSettings::new(spec.network.clone(), spec.audit_logging),
        };
        cluster.settle(now, self.start);
        let view = cluster.view(&name, true);
        self.issued_tokens.push(format!("sim-{}", cluster.token));
        self.creations.push(Creation {
            cluster: spec.id.clone(),
            identity: spec.identity(),
            fleet: fleet.clone(),
            at: elapsed,
        });
        self.clusters.insert(spec.id.clone(), cluster);
        Ok(view)
    }

    pub(crate) fn get(&mut self, id: &ClusterId, now: Instant) -> Result<Cluster> {
        let name = self.name.clone();
        let cluster = self.settled(id, now).ok_or_else(|| Error::cluster_not_found(id))?;
        Ok(cluster.view(&name, true))
    }

    /// This fleet's clusters in the regions that are up; the regions that are down are
    /// reported unreachable, and the list fails when every region is down, as a cloud's
    /// regional endpoints would.
    pub(crate) fn list(&mut self, fleet: &FleetName, now: Instant) -> Result<Listing> {
        let (clusters, _) = self.page(fleet, None, usize::MAX, now);
        self.listing(clusters)
    }

    /// One page of a list of every fleet's clusters in the regions that are up: at most `size`
    /// clusters named after `after` (from the first with `None`), of which this fleet's are
    /// returned, and the name the next page starts after. Pages follow names, as the clouds'
    /// page tokens do, so that clusters made or deleted between pages shift nothing.
    pub(crate) fn page(
        &mut self,
        fleet: &FleetName,
        after: Option<&ClusterId>,
        size: usize,
        now: Instant,
    ) -> (Vec<Cluster>, Option<ClusterId>) {
        let down: BTreeSet<Region> =
            self.regions.iter().filter(|(_, state)| state.down).map(|(region, _)| region.clone()).collect();
        let keep = |cluster: &SimCluster| !down.contains(&cluster.region);
        self.settle_after(after, size, now, keep);
        let (page, next) = self.clusters_after(after, size, keep);
        let clusters = page.into_iter().filter(|c| c.belongs_to(fleet)).map(|c| c.view(&self.name, true)).collect();
        (clusters, next)
    }

    /// Settles to `now` the clusters named after `after`, up to the one after the `size`-th that
    /// `keep` keeps: what a page of them shows, so that listing a cloud page by page settles
    /// each cluster about once, not every cluster on every page.
    fn settle_after(
        &mut self,
        after: Option<&ClusterId>,
        size: usize,
        now: Instant,
        keep: impl Fn(&SimCluster) -> bool,
    ) {
        let start = self.start;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let (mut gone, mut kept) = (Vec::new(), 0);
        for (id, cluster) in self.clusters.range_mut::<ClusterId, _>((from, Bound::Unbounded)) {
            if !cluster.settle(now, start) {
                gone.push(id.clone());
            } else if keep(cluster) {
                kept += 1;
                if kept > size {
                    break;
                }
            }
        }
        for id in gone {
            self.clusters.remove(&id);
        }
    }

    /// At most `size` clusters named after `after` (from the first with `None`) that `keep`
    /// keeps, and, when more follow, the name the next page starts after.
    fn clusters_after(
        &self,
        after: Option<&ClusterId>,
        size: usize,
        keep: impl Fn(&SimCluster) -> bool,
    ) -> (Vec<&SimCluster>, Option<ClusterId>) {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut kept =
            self.clusters.range::<ClusterId, _>((start, Bound::Unbounded)).map(|(_, c)| c).filter(|c| keep(c));
        let page: Vec<&SimCluster> = kept.by_ref().take(size).collect();
        let next = kept.next().and(page.last()).map(|last| last.id.clone());
        (page, next)
    }

    /// A listing of `clusters`, with the regions that are down reported unreachable; an error
    /// when every region is down.
    pub(crate) fn listing(&self, clusters: Vec<Cluster>) -> Result<Listing> {
        let mut listing = Listing::new(clusters);
        for (region, state) in &self.regions {
            if state.down {
                let error = Error::Unavailable { message: format!("region `{region}` is unreachable") };
                listing.mark_unreachable(region.clone(), error);
            }
        }
        let regions: Vec<Region> = self.regions.keys().cloned().collect();
        listing.unless_all_unreachable(&self.name, &regions)
    }

    /// One page of the names of every fleet's clusters in `region`: at most `size` after
    /// `after`, and the name the next page starts after.
    pub(crate) fn names_page(
        &mut self,
        region: &Region,
        after: Option<&ClusterId>,
        size: usize,
        now: Instant,
    ) -> (Vec<ClusterId>, Option<ClusterId>) {
        let keep = |cluster: &SimCluster| &cluster.region == region;
        self.settle_after(after, size, now, keep);
        let (page, next) = self.clusters_after(after, size, keep);
        (page.into_iter().map(|cluster| cluster.id.clone()).collect(), next)
    }

    /// The node pools of cluster `id`.
    pub(crate) fn node_pools(&mut self, id: &ClusterId, now: Instant) -> Result<Vec<NodePool>> {
        let cluster = self.settled(id, now).ok_or_else(|| Error::cluster_not_found(id))?;
        Ok(cluster.node_pools.clone())
    }

    /// Breaks cluster `id` as a cloud can, outside any fleet's request; whether it exists.
    pub(crate) fn break_cluster(&mut self, id: &ClusterId, reason: &str, now: Instant) -> bool {
        match self.settled(id, now) {
            Some(cluster) => {
                cluster.lifecycle = Lifecycle::Failed { reason: reason.to_owned() };
                true
            }
            None => false,
        }
    }

    pub(crate) fn update(
        &mut self,
        fleet: &FleetName,
        spec: &ClusterSpec,
        completes_in: Duration,
        now: Instant,
    ) -> Result<Cluster> {
        let capabilities = self.capabilities;
        let name = self.name.clone();
        let cluster = self.owned(&spec.id, fleet, now)?;
        crate::plan::ensure_in_place(&cluster.view(&name, true), spec, capabilities)?;
        if !matches!(cluster.lifecycle, Lifecycle::Running) {
            return Err(Error::Conflict {
                message: format!("cluster `{}` is {}, not running", spec.id, cluster.phase()),
            });
        }
        let tags = Tags::from(FleetTags::cluster_tags(fleet, spec));
        // Like the clouds: one minor version per upgrade, never a downgrade (a cluster ahead of
        // its spec keeps its version), and only to an offered version.
        let current = cluster.version;
        let version = current.upgrade_step_to(spec.kubernetes_version).unwrap_or(current);
        if version == current && spec.node_pools == cluster.node_pools && tags == cluster.tags {
            return Ok(cluster.view(&name, true));
        }
        let change = Change::Update { version, node_pools: spec.node_pools.clone(), tags };
        if version != current {
            self.ensure_offered(version)?;
        }
        let cluster = self.owned(&spec.id, fleet, now)?;
        cluster.lifecycle = Lifecycle::Changing { ready_at: now + completes_in, change };
        Ok(cluster.view(&name, true))
    }

    /// Starts hibernating (`hibernate = true`) or resuming a cluster.
    pub(crate) fn set_hibernation(
        &mut self,
        fleet: &FleetName,
        id: &ClusterId,
        hibernate: bool,
        completes_in: Duration,
        now: Instant,
    ) -> Result<Cluster> {
        let name = self.name.clone();
        if !self.capabilities.hibernation {
            let operation = if hibernate { "hibernate" } else { "resume" };
            return Err(Error::Unsupported { operation: format!("{operation} on `{name}`") });
        }
        let cluster = self.owned(id, fleet, now)?;
        match (&cluster.lifecycle, hibernate) {
            (Lifecycle::Hibernated, true) | (Lifecycle::Running, false) => {}
            (Lifecycle::Running, true) => {
                cluster.lifecycle = Lifecycle::Changing { ready_at: now + completes_in, change: Change::Hibernate };
            }
            (Lifecycle::Hibernated, false) => {
                cluster.lifecycle = Lifecycle::Changing { ready_at: now + completes_in, change: Change::Resume };
            }
            _ => {
                return Err(Error::Conflict { message: format!("cluster `{id}` is {}", cluster.phase()) });
            }
        }
        Ok(cluster.view(&name, true))
    }

    pub(crate) fn delete(
        &mut self,
        fleet: &FleetName,
        id: &ClusterId,
        completes_in: Duration,
        now: Instant,
    ) -> Result<()> {
        let start = self.start;
        let cluster = match self.owned(id, fleet, now) {
            Err(Error::NotFound { .. }) => return Ok(()),
            other => other?,
        };
        if !matches!(cluster.lifecycle, Lifecycle::Deleting { .. }) {
            cluster.lifecycle = Lifecycle::Deleting { gone_at: now + completes_in };
        }
        if !cluster.settle(now, start) {
            self.clusters.remove(id);
        }
        Ok(())
    }

    pub(crate) fn credentials(
        &mut self,
        fleet: &FleetName,
        id: &ClusterId,
        now: Instant,
    ) -> Result<crate::Credentials> {
        let name = self.name.clone();
        let cluster = self.owned(id, fleet, now)?;
        cluster.require_serving()?;
        Ok(crate::Credentials::from_token(
            cluster.id.as_str(),
            &cluster.endpoint(&name),
            Some(&cluster.ca_pem()),
            format!("sim-{}", cluster.token).into(),
        ))
    }

    /// Answers a simulated `GET /readyz` on cluster `id`'s API server with a bearer `token`.
    pub(crate) fn readyz(&mut self, id: &ClusterId, bearer: &str, now: Instant) -> Result<()> {
        let name = self.name.clone();
        let region = self.settled(id, now).map(|c| c.region.clone()).ok_or_else(|| Error::cluster_not_found(id))?;
        let up = self.region_is_up(&region);
        let cluster = &self.clusters[id];
        if !up {
            return Err(Error::Unavailable { message: format!("{} does not answer", cluster.endpoint(&name)) });
        }
        if bearer != format!("sim-{}", cluster.token) {
            return Err(Error::Unauthenticated { message: format!("{} rejected the token", cluster.endpoint(&name)) });
        }
        if cluster.api_serving() {
            Ok(())
        } else {
            Err(Error::Unavailable { message: format!("cluster `{id}` is {}", cluster.phase()) })
        }
    }

    /// Applies add-on objects into a serving cluster (a simulation: objects are recorded, not
    /// run), pruning those applied before and no longer in `set`.
    pub(crate) fn install_addons(
        &mut self,
        id: &ClusterId,
        bearer: &str,
        set: &AddonSet,
        now: Instant,
    ) -> Result<AddonReport> {
        self.readyz(id, bearer, now)?;
        let cluster = self.clusters.get_mut(id).ok_or_else(|| Error::cluster_not_found(id))?;
        let mut report = AddonReport::default();
        let wanted: BTreeMap<ObjectRef, String> = set
            .objects
            .iter()
            .map(|o| (o.reference.clone(), crate::BlueprintVersion::of(&o.body).to_string()))
            .collect();
        for (reference, hash) in &wanted {
            if cluster.addons.get(reference) == Some(hash) {
                report.unchanged += 1;
            } else {
                report.applied.push(reference.clone());
            }
        }
        report.pruned = cluster.addons.keys().filter(|r| !wanted.contains_key(*r)).cloned().collect();
        cluster.addons = wanted;
        Ok(report)
    }

    /// The add-on objects applied in a cluster.
    pub(crate) fn addons_of(&self, id: &ClusterId) -> Vec<ObjectRef> {
        self.clusters.get(id).map(|c| c.addons.keys().cloned().collect()).unwrap_or_default()
    }

    /// Sets up (simulated) team access: a namespace, service account, role and binding for
    /// `team`, and credentials for that account only.
    pub(crate) fn team_credentials(
        &mut self,
        fleet: &FleetName,
        id: &ClusterId,
        team: &crate::TeamName,
        now: Instant,
    ) -> Result<crate::Credentials> {
        let name = self.name.clone();
        if !self.capabilities.team_credentials {
            return Err(Error::Unsupported { operation: format!("team credentials on `{name}`") });
        }
        let token = format!("sim-team-{team}-{}", self.rng.hex(32));
        let cluster = self.owned(id, fleet, now)?;
        cluster.require_serving()?;
        let credentials = crate::Credentials::for_namespace(
            cluster.id.as_str(),
            &cluster.endpoint(&name),
            Some(&cluster.ca_pem()),
            token.clone().into(),
            team.as_str(),
            "fleet-team-edit",
        );
        self.issued_tokens.push(token);
        Ok(credentials)
    }

    /// Adds a running cluster that Fleet did not create, with the given tags.
    pub(crate) fn insert_unmanaged(
        &mut self,
        id: ClusterId,
        region: Region,
        version: KubernetesVersion,
        tags: BTreeMap<String, String>,
        now: Instant,
    ) {
        self.serial += 1;
        let elapsed = now.duration_since(self.start);
        let cluster = SimCluster {
            provider_id: format!("sim://{}/{}/{}/{}", self.name, region, id, self.serial),
            id: id.clone(),
            region,
            tags: tags.into(),
            version,
            node_pools: Vec::new(),
            created_at: elapsed,
            updated_at: elapsed,
            token: self.rng.hex(32),
            lifecycle: Lifecycle::Running,
            addons: BTreeMap::new(),
            settings: AppliedSettings::default(),
        };
        self.clusters.insert(id, cluster);
    }

    /// Every cluster, any fleet's or none, settled to `now`.
    pub(crate) fn all(&mut self, now: Instant) -> Vec<Cluster> {
        self.settle_all(now);
        self.clusters.values().map(|cluster| cluster.view(&self.name, self.region_is_up(&cluster.region))).collect()
    }
}
