//! [`SimCloud`]: one simulated cloud, shared by the [`SimProvider`]s of any number of fleets,
//! with its regions, latencies, rate limits, injected faults and call log.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::api_shape::ApiShape;
use super::call_log::{CallOutcome, CallRecord, Operation};
use super::faults::{Faults, InjectedError};
use super::latency::LatencyModel;
use super::provider::SimProvider;
use super::state::{Creation, RegionCapacity, RegionState, SimState};
use crate::{
    Capabilities, Cluster, ClusterId, Error, FleetName, KubernetesVersion, ProviderInfo, ProviderName, RateLimit,
    RateLimits, Region, Result, TokenBucket, TypicalLatency,
};

/// A simulated cloud: an in-memory stand-in for a managed Kubernetes service, **not a real
/// cloud**. Always built; powers the quickstart, the benches and the chaos tests.
///
/// Operations take virtual time drawn from a seeded [`LatencyModel`]; under
/// `tokio::time::pause` hours of it pass in milliseconds. Regions have capacity, the API has
/// rate limits, and faults can be injected. The same seed and the same sequence of calls give
/// the same results and the same [`call_log`](Self::call_log).
///
/// ```
/// use fleet_core::sim::{SimCloud, RegionCapacity};
/// use fleet_core::*;
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let cloud = SimCloud::builder(ProviderName::new("sim-aws").unwrap())
///     .region(Region::new("eu-west-1").unwrap(), RegionCapacity::new(10, 100))
///     .seed(42)
///     .build();
/// let provider = cloud.provider(FleetName::new("demo").unwrap());
/// let spec = ClusterSpec::builder(
///     ClusterId::new("web-1").unwrap(),
///     ProviderName::new("sim-aws").unwrap(),
///     Region::new("eu-west-1").unwrap(),
///     "1.31".parse().unwrap(),
/// )
/// .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
/// .build()
/// .unwrap();
/// provider.create(&spec).await.unwrap();
/// let running = provider.wait_until_running(&spec.id, WaitOptions::with_timeout(std::time::Duration::from_secs(3600))).await.unwrap();
/// assert!(running.phase.is_running());
/// assert_eq!(cloud.call_log()[0].operation, fleet_core::sim::Operation::Create);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct SimCloud {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    info: ProviderInfo,
    latency: LatencyModel,
    shape: ApiShape,
    resync: Duration,
    world: Mutex<World>,
}

/// The mutable part of the cloud, behind one lock.
#[derive(Debug)]
struct World {
    state: SimState,
    faults: Faults,
    provider_down: bool,
    reads: TokenBucket,
    writes: TokenBucket,
    log: Vec<CallRecord>,
}

/// Builds a [`SimCloud`]; see [`SimCloud::builder`].
#[derive(Debug, Clone)]
pub struct SimCloudBuilder {
    name: ProviderName,
    regions: BTreeMap<Region, RegionCapacity>,
    capabilities: Capabilities,
    offered_versions: Option<Vec<KubernetesVersion>>,
    system_pool_required: bool,
    latency: LatencyModel,
    rate_limits: RateLimits,
    shape: ApiShape,
    resync: Duration,
    seed: u64,
}

impl SimCloudBuilder {
    /// Adds a region with its capacity.
    pub fn region(mut self, region: Region, capacity: RegionCapacity) -> Self {
        self.regions.insert(region, capacity);
        self
    }

    /// Sets what the cloud can change in place (default: everything).
    pub fn capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Sets the Kubernetes versions the cloud offers in every region (default: any version).
    /// Creates and upgrades to other versions are refused, as the clouds refuse them.
    pub fn offered_versions(mut self, versions: Vec<KubernetesVersion>) -> Self {
        self.offered_versions = Some(versions);
        self
    }

    /// Requires a system pool of at least one node in every cluster, as AKS does (default: no).
    pub fn system_pool_required(mut self, required: bool) -> Self {
        self.system_pool_required = required;
        self
    }

    /// Sets the latencies (default: [`LatencyModel::realistic`]).
    pub fn latency(mut self, latency: LatencyModel) -> Self {
        self.latency = latency;
        self
    }

    /// Shapes the API after a cloud's: what a list and a get cost in calls, and the cloud's
    /// rate limits, which a later [`rate_limits`](Self::rate_limits) replaces (default:
    /// [`ApiShape::Generic`]).
    pub fn api_shape(mut self, shape: ApiShape) -> Self {
        self.shape = shape;
        self.rate_limits = shape.rate_limits();
        self
    }

    /// How often each provider describes a steady cluster again where the API lists names
    /// only ([`ApiShape::Eks`]); default [`crate::observe::DEFAULT_RESYNC`], ten minutes.
    pub fn resync(mut self, resync: Duration) -> Self {
        self.resync = resync;
        self
    }

    /// Sets the API rate limits (default: those of the [`ApiShape`], for the generic one reads
    /// 20/s burst 40, writes 5/s burst 10).
    pub fn rate_limits(mut self, rate_limits: RateLimits) -> Self {
        self.rate_limits = rate_limits;
        self
    }

    /// Lifts the API rate limits out of reach.
    pub fn unlimited_rate(self) -> Self {
        let unlimited = RateLimit::new(1e9, u32::MAX);
        self.rate_limits(RateLimits::new(unlimited, unlimited))
    }

    /// Sets the seed of every random draw (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Builds the cloud; its virtual clock starts now.
    pub fn build(self) -> SimCloud {
        let now = Instant::now();
        let regions = self
            .regions
            .iter()
            .map(|(region, capacity)| (region.clone(), RegionState { capacity: *capacity, down: false }))
            .collect();
        let mut info = ProviderInfo::new(self.name.clone(), self.regions.keys().cloned().collect())
            .with_system_pool_required(self.system_pool_required)
            .with_capabilities(self.capabilities)
            .with_rate_limits(self.rate_limits)
            .with_latency(TypicalLatency::new(
                self.latency.create.mean(),
                self.latency.update.mean(),
                self.latency.delete.mean(),
            ));
        if let Some(versions) = &self.offered_versions {
            for region in self.regions.keys() {
                info = info.with_offered_versions(region.clone(), versions.clone());
            }
        }
        let mut state = SimState::new(self.name, self.capabilities, regions, self.seed, now);
        state.offered_versions = self.offered_versions;
        state.system_pool_required = self.system_pool_required;
        let world = World {
            state,
            faults: Faults::default(),
            provider_down: false,
            reads: TokenBucket::new(self.rate_limits.reads, now),
            writes: TokenBucket::new(self.rate_limits.writes, now),
            log: Vec::new(),
        };
        SimCloud {
            inner: Arc::new(Inner {
                info,
                latency: self.latency,
                shape: self.shape,
                resync: self.resync,
                world: Mutex::new(world),
            }),
        }
    }
}

impl SimCloud {
    /// Starts describing a simulated cloud called `name`.
    pub fn builder(name: ProviderName) -> SimCloudBuilder {
        SimCloudBuilder {
            name,
            regions: BTreeMap::new(),
            capabilities: Capabilities::all(),
            offered_versions: None,
            system_pool_required: false,
            latency: LatencyModel::realistic(),
            rate_limits: ApiShape::Generic.rate_limits(),
            shape: ApiShape::Generic,
            resync: crate::observe::DEFAULT_RESYNC,
            seed: 0,
        }
    }

    /// A [`crate::ClusterProvider`] on this cloud for `fleet`.
    pub fn provider(&self, fleet: FleetName) -> SimProvider {
        SimProvider::new(self.clone(), fleet)
    }

    /// How the cloud's API is shaped.
    pub fn api_shape(&self) -> ApiShape {
        self.inner.shape
    }

    /// How often a provider describes a steady cluster again (see [`SimCloudBuilder::resync`]).
    pub fn resync(&self) -> Duration {
        self.inner.resync
    }

    /// The cloud's description, as its providers report it.
    pub fn info(&self) -> &ProviderInfo {
        &self.inner.info
    }

    fn world(&self) -> MutexGuard<'_, World> {
        crate::mutex::lock(&self.inner.world)
    }

    /// Virtual time since the cloud was built.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(self.world().state.start)
    }

    /// The cloud's wall clock: its simulated epoch (2026-01-01T00:00:00Z) plus the virtual
    /// time since it was built. Cluster timestamps use it; give it to the engine
    /// ([`crate::engine::EngineBuilder::clock`]) so that TTLs are judged on the same clock.
    pub fn wall_clock(&self) -> std::time::SystemTime {
        std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(super::state::SIM_EPOCH_SECS) + self.elapsed()
    }

    /// Every call made so far, in order.
    pub fn call_log(&self) -> Vec<CallRecord> {
        self.world().log.clone()
    }

    /// How many calls were made so far: the position in the call log the next call takes.
    pub fn calls_made(&self) -> u64 {
        self.world().log.len() as u64
    }

    /// How many calls of each operation were made from position `since` of the call log on
    /// (0: all; `call_log().len()` taken before a pass, then this after it: what the pass
    /// cost).
    pub fn call_counts(&self, since: u64) -> std::collections::BTreeMap<Operation, u64> {
        let mut counts = std::collections::BTreeMap::new();
        for record in self.world().log.iter().filter(|record| record.seq >= since) {
            *counts.entry(record.operation).or_insert(0) += 1;
        }
        counts
    }

    /// How many clusters the cloud has ever created (including unmanaged ones inserted by
    /// tests); a create that returns an existing cluster does not count.
    pub fn clusters_created(&self) -> u64 {
        self.world().state.serial
    }

    /// Every cluster a create brought into being, in order (unmanaged ones inserted by tests
    /// are not included).
    pub fn creations(&self) -> Vec<Creation> {
        self.world().state.creations.clone()
    }

    /// Every bearer token the cloud has handed out in credentials, for tests that check no
    /// secret leaks.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.world().state.issued_tokens.clone()
    }

    /// Every cluster in the cloud, of any fleet or none, as the cloud sees it.
    pub fn clusters(&self) -> Vec<Cluster> {
        self.world().state.all(Instant::now())
    }

    /// Fails the next `count` calls of `operation` with `error`, without effect.
    pub fn fail_next(&self, operation: Operation, count: u32, error: InjectedError) {
        self.world().faults.fail_next(operation, count, error);
    }

    /// Fails each call of `operation` with `error` with this probability (0 turns it off).
    pub fn set_error_probability(&self, operation: Operation, probability: f64, error: InjectedError) {
        self.world().faults.set_error_probability(operation, probability, error);
    }

    /// Lets the next `count` successful calls of `operation` take effect but lose their
    /// response: the caller sees [`Error::Unavailable`].
    pub fn lose_next_responses(&self, operation: Operation, count: u32) {
        self.world().faults.lose_next_responses(operation, count);
    }

    /// Loses each successful response of `operation` with this probability.
    pub fn set_response_loss_probability(&self, operation: Operation, probability: f64) {
        self.world().faults.set_loss_probability(operation, probability);
    }

    /// Takes `region` down: calls about its clusters fail with [`Error::Unavailable`], creates
    /// there fail, and `list` reports its clusters as `Unreachable`.
    pub fn fail_region(&self, region: &Region) {
        if let Some(state) = self.world().state.regions.get_mut(region) {
            state.down = true;
        }
    }

    /// Brings `region` back, its clusters as time has made them.
    pub fn restore_region(&self, region: &Region) {
        if let Some(state) = self.world().state.regions.get_mut(region) {
            state.down = false;
        }
    }

    /// Takes the whole cloud down: every call fails with [`Error::Unavailable`].
    pub fn fail_provider(&self) {
        self.world().provider_down = true;
    }

    /// Brings the whole cloud back.
    pub fn restore_provider(&self) {
        self.world().provider_down = false;
    }

    pub(crate) fn is_provider_down(&self) -> bool {
        self.world().provider_down
    }

    pub(crate) fn with_state<T>(&self, work: impl FnOnce(&mut SimState) -> T) -> T {
        work(&mut self.world().state)
    }

    /// Removes every injected fault and outage.
    pub fn clear_faults(&self) {
        let mut world = self.world();
        world.faults = Faults::default();
        world.provider_down = false;
        for state in world.state.regions.values_mut() {
            state.down = false;
        }
    }

    /// Adds a running cluster that no Fleet call created, with `tags` (e.g. none, or another
    /// team's), to check that Fleet leaves such clusters alone.
    pub fn insert_unmanaged_cluster(
        &self,
        id: ClusterId,
        region: Region,
        version: KubernetesVersion,
        tags: BTreeMap<String, String>,
    ) {
        self.world().state.insert_unmanaged(id, region, version, tags, Instant::now());
    }

    /// Removes a cluster [`insert_unmanaged_cluster`](Self::insert_unmanaged_cluster) added;
    /// whether it was still there.
    pub fn remove_unmanaged_cluster(&self, id: &ClusterId) -> bool {
        self.remove_cluster(id)
    }

    /// Removes any cluster at once, as someone with access to the cloud's console can, outside
    /// any fleet's request; whether it was there.
    pub fn remove_cluster(&self, id: &ClusterId) -> bool {
        self.world().state.clusters.remove(id).is_some()
    }

    /// The settings cluster `id` was created with, as the cloud applied them; `None` when it
    /// does not exist.
    pub fn applied_settings(&self, id: &ClusterId) -> Option<crate::AppliedSettings> {
        self.world().state.clusters.get(id).map(|cluster| cluster.settings.clone())
    }

    /// Breaks cluster `id` as the cloud itself can (its phase becomes
    /// [`crate::ClusterPhase::Failed`] with `reason`), outside any fleet's request, to measure
    /// how soon a fleet notices; whether the cluster exists.
    pub fn break_cluster(&self, id: &ClusterId, reason: &str) -> bool {
        self.world().state.break_cluster(id, reason, Instant::now())
    }

    /// Creates a running cluster of `fleet` from `spec` at once, without a call (nothing is
    /// logged, no rate limit applies), as if made long before: to set up large simulations.
    /// Refused as a create would be (capacity, versions, settings).
    pub fn seed_running(&self, fleet: &FleetName, spec: &crate::ClusterSpec) -> Result<()> {
        self.world().state.create(fleet, spec, Duration::ZERO, Instant::now()).map(|_| ())
    }

    /// Upgrades a cluster's control plane to `version` as the cloud itself does (end of
    /// support, automatic upgrades), outside any fleet's request; whether the cluster exists.
    pub fn upgrade_by_provider(&self, id: &ClusterId, version: KubernetesVersion) -> bool {
        match self.world().state.clusters.get_mut(id) {
            Some(cluster) => {
                cluster.version = version;
                true
            }
            None => false,
        }
    }

    /// Runs one call for `fleet`: the call latency, then outages, rate limit, injected faults,
    /// the operation itself (given the completion latency it draws) and lost responses, in
    /// that order; every call is logged.
    pub(crate) async fn call<T>(
        &self,
        fleet: &FleetName,
        operation: Operation,
        target: Target<'_>,
        run: impl FnOnce(&mut SimState, Duration, Instant) -> Result<T>,
    ) -> Result<T> {
        let latency = &self.inner.latency;
        let call_latency = {
            let mut world = self.world();
            let call = if operation.is_write() { latency.write_call } else { latency.read_call };
            call.sample(&mut world.state.rng)
        };
        tokio::time::sleep(call_latency).await;

        let now = Instant::now();
        let mut world = self.world();
        let world = &mut *world;
        let cluster = match &target {
            Target::Cluster(id) => Some((*id).clone()),
            Target::Spec(spec) => Some(spec.id.clone()),
            Target::Fleet | Target::Region(_) => None,
        };
        let region = match &target {
            Target::Spec(spec) => Some(spec.region.clone()),
            Target::Cluster(id) => world.state.region_of(id),
            Target::Region(region) => Some((*region).clone()),
            Target::Fleet => None,
        };
        let mut throttled = false;
        let result = (|| {
            if world.provider_down {
                return Err(Error::Unavailable { message: format!("provider `{}` is down", self.inner.info.name) });
            }
            if let Some(region) = &region
                && world.state.regions.get(region).is_some_and(|state| state.down)
            {
                return Err(Error::Unavailable { message: format!("region `{region}` is unreachable") });
            }
            let bucket = if operation.is_write() { &mut world.writes } else { &mut world.reads };
            if let Err(wait) = bucket.try_take(now) {
                throttled = true;
                return Err(Error::RateLimited { retry_after: Some(wait) });
            }
            if let Some(injected) = world.faults.error_for(operation, &mut world.state.rng) {
                return Err(injected.to_error(operation));
            }
            let completion = match operation {
                Operation::Create => latency.create,
                Operation::Delete => latency.delete,
                Operation::Update | Operation::Hibernate | Operation::Resume => latency.update,
                // Reads, and team access (set up inside the cluster), complete with the call.
                _ => super::latency::Latency::ZERO,
            };
            let completes_in = completion.sample(&mut world.state.rng);
            run(&mut world.state, completes_in, now)
        })();
        let (result, outcome) = match result {
            Ok(_) if world.faults.loses_response(operation, &mut world.state.rng) => (
                Err(Error::Unavailable {
                    message: format!("connection reset before the {operation} response arrived"),
                }),
                CallOutcome::ResponseLost,
            ),
            Ok(value) => (Ok(value), CallOutcome::Ok),
            Err(err) if throttled => (Err(err), CallOutcome::OverBudget),
            Err(err) => {
                let kind = err.kind();
                (Err(err), CallOutcome::Failed(kind))
            }
        };
        let record = CallRecord {
            seq: world.log.len() as u64,
            at: now.duration_since(world.state.start),
            fleet: fleet.clone(),
            operation,
            cluster,
            outcome,
        };
        tracing::debug!(target: "fleet::sim", cloud = %self.inner.info.name, "{record}");
        world.log.push(record);
        result
    }
}

/// What a simulated call is about, to find its region.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    /// A new or changed cluster.
    Spec(&'a crate::ClusterSpec),
    /// An existing cluster.
    Cluster(&'a ClusterId),
    /// The whole fleet (`list`).
    Fleet,
    /// One region (`room`).
    Region(&'a Region),
}
