//! The reconciliation engine: keeps the observed fleet equal to the desired one.
//!
//! Level-based: every pass observes every provider, computes the [`crate::plan::plan`] and
//! carries it out, one task per cluster, within each provider's API budget and concurrency
//! limit. Every mutating call is announced in the [`StateStore`] first; after a crash, the next
//! pass settles unresolved intents by observing the providers and adopts what exists, so
//! nothing is created twice or left orphaned.
//!
//! ```
//! use std::sync::Arc;
//! use fleet_core::engine::Engine;
//! use fleet_core::fleet_spec::{DesiredCluster, DesiredFleet};
//! use fleet_core::sim::{LatencyModel, RegionCapacity, SimCloud};
//! use fleet_core::*;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap().block_on(async {
//! let fleet = FleetName::new("demo").unwrap();
//! let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
//!     .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
//!     .build();
//! let engine = Engine::builder(fleet.clone())
//!     .provider(Arc::new(cloud.provider(fleet.clone())))
//!     .build()
//!     .unwrap();
//! let spec = ClusterSpec::builder(ClusterId::new("web-1").unwrap(), cloud.info().name.clone(), Region::new("east").unwrap(), "1.31".parse().unwrap())
//!     .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
//!     .build()
//!     .unwrap();
//! engine.set_desired(DesiredFleet::new(fleet, vec![DesiredCluster::new(spec, "example", 0)])).unwrap();
//! let report = engine.run_once().await.unwrap();
//! assert_eq!(report.planned.create, 1);
//! assert_eq!(report.succeeded, 1);
//! assert!(engine.run_once().await.unwrap().converged);
//! # });
//! ```

mod action;
mod addons;
mod admit;
mod budget;
mod budgeted;
mod by_name;
mod decide;
mod environments;
mod events;
mod execute;
mod expiry;
mod observe;
mod ownership;
mod placement_view;
pub(crate) mod placements;
mod recorded;
mod rollout;
mod settle;
mod state;
mod status;
mod store_reads;
mod unseen;
mod version_ahead;

use decide::Placements;

use state::EngineState;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use events::{ApiBudget, CallsMade, EngineEvent, Progress, ReconcileReport};
pub use ownership::{Ownership, OwnsAll};
pub use rollout::RolloutOptions;
pub use status::{AwayFromHome, Expiring, FleetStatus};

use crate::addons::{AddonInstaller, DriftPolicy};
use crate::fleet_spec::DesiredFleet;
use crate::health::{HealthCheck, ReportedPhase};
use crate::mutex::lock;
use crate::plan::{Action, Plan};
use crate::store::{AcceptedEnvironment, MemoryStore, StateStore};
use crate::{Cluster, ClusterId, ClusterIdentity, ClusterProvider, Error, FleetName, ProviderName, RateLimits, Result};
use budget::Budget;
use recorded::RecordedProvider;
pub(crate) use unseen::Unseen;

/// How the engine works; every field has a sensible default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineOptions {
    /// Concurrent operations per provider.
    pub concurrency_per_provider: usize,
    /// First retry delay (jittered, doubling).
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Attempts of one call before giving up.
    pub max_attempts: u32,
    /// First interval between polls of a long operation.
    pub poll_initial: Duration,
    /// Longest interval between polls.
    pub poll_max: Duration,
    /// How long a long operation may take; `None`: three times the provider's typical create
    /// latency, at least ten minutes.
    pub operation_timeout: Option<Duration>,
    /// How long a cluster no spec wants is kept before it is deleted.
    pub gc_grace: Duration,
    /// How long before a cluster's TTL ends [`EngineEvent::ExpiringSoon`] is sent.
    pub expiry_warning: Duration,
    /// Interval between passes of [`Engine::run`].
    pub reconcile_interval: Duration,
    /// API budgets replacing what providers declare, by provider.
    pub rate_limits: BTreeMap<ProviderName, RateLimits>,
    /// How replacements roll out: canary, waves, health gate.
    pub rollout: RolloutOptions,
    /// How often each cluster's add-ons are installed again (which also finds drift).
    pub addon_interval: Duration,
    /// What to do with add-on objects that drifted (default: report them).
    pub drift: DriftPolicy,
    /// Seed of the retry delays' jitter (default `None`: random). Set it, with the simulated
    /// cloud's seed and tokio's paused clock, for runs that repeat exactly.
    pub jitter_seed: Option<u64>,
    /// How long [`Engine::run`] lets a pass in progress go on once cancelled, before it drops
    /// it (every call it made was journalled first, so the next engine on the store settles
    /// them as after a crash).
    pub shutdown_grace: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            concurrency_per_provider: 32,
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            max_attempts: 10,
            poll_initial: Duration::from_secs(5),
            poll_max: Duration::from_secs(60),
            operation_timeout: None,
            gc_grace: Duration::ZERO,
            expiry_warning: Duration::from_secs(3600),
            reconcile_interval: Duration::from_secs(60),
            rate_limits: BTreeMap::new(),
            rollout: RolloutOptions::default(),
            addon_interval: Duration::from_secs(600),
            drift: DriftPolicy::default(),
            jitter_seed: None,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// One provider with its budget.
pub(crate) struct Slot {
    pub(crate) provider: Arc<dyn ClusterProvider>,
    pub(crate) budget: Budget,
    pub(crate) operation_timeout: Duration,
    /// The API budget the engine keeps to.
    pub(crate) limits: RateLimits,
}

pub(crate) struct EngineInner {
    pub(crate) fleet: FleetName,
    pub(crate) slots: BTreeMap<ProviderName, Arc<Slot>>,
    pub(crate) store: Arc<dyn StateStore>,
    pub(crate) options: EngineOptions,
    clock: Clock,
    events: broadcast::Sender<EngineEvent>,
    /// What the engine remembers between passes, behind one lock (see [`state`]).
    state: Mutex<EngineState>,
    /// Whether [`Engine::run`] is running.
    running: std::sync::atomic::AtomicBool,
    changed: Notify,
    /// Judges new clusters of a replacement before the old ones go.
    pub(crate) health_gate: Arc<dyn HealthCheck>,
    /// What puts add-ons into each provider's clusters (`None` key: every other provider).
    pub(crate) addons: BTreeMap<Option<ProviderName>, Arc<dyn AddonInstaller>>,
    /// Which clusters this engine may act on.
    pub(crate) ownership: Arc<dyn Ownership>,
}

impl EngineInner {
    /// The time of day by the engine's clock ([`EngineBuilder::clock`]): what TTLs are judged
    /// by and what every record in the store is stamped with.
    pub(crate) fn now(&self) -> SystemTime {
        (self.clock)()
    }

    /// Whether this engine owns `identity`, as judged the first time this pass asked: a
    /// cluster changing hands mid-pass is left to the next pass. (Each mutating call asks the
    /// live ownership again.)
    pub(crate) fn owns(&self, identity: &ClusterIdentity) -> bool {
        if self.ownership.owns_everything() {
            return true;
        }
        if let Some(owned) = self.state().owned_this_pass.get(identity) {
            return *owned;
        }
        let owned = self.ownership.owns(identity);
        *self.state().owned_this_pass.entry(identity.clone()).or_insert(owned)
    }

    /// The engine's state, locked; never held across an `.await` (see [`state`]).
    pub(crate) fn state(&self) -> MutexGuard<'_, EngineState> {
        lock(&self.state)
    }

    /// Whether this engine owns the identity of `cluster` (see [`EngineInner::owns`]).
    pub(crate) fn owns_cluster(&self, cluster: &Cluster) -> bool {
        self.ownership.owns_everything() || self.owns(&cluster.identity())
    }

    /// What installs add-ons in `provider`'s clusters, if anything does.
    pub(crate) fn installer_for(&self, provider: &ProviderName) -> Option<&Arc<dyn AddonInstaller>> {
        self.addons.get(&Some(provider.clone())).or_else(|| self.addons.get(&None))
    }

    pub(crate) fn emit(&self, event: EngineEvent) {
        // What went wrong at warn, what changed the fleet at info, the rest at debug.
        match &event {
            EngineEvent::ActionFailed { .. }
            | EngineEvent::AddonsFailed { .. }
            | EngineEvent::PassFailed { .. }
            | EngineEvent::RolloutHalted { .. }
            | EngineEvent::ProviderUnavailable { .. }
            | EngineEvent::RegionUnavailable { .. } => tracing::warn!(target: "fleet::engine", ?event),
            EngineEvent::ClusterReady { .. }
            | EngineEvent::ClusterAdopted { .. }
            | EngineEvent::GarbageCollected { .. }
            | EngineEvent::ClusterExpired { .. }
            | EngineEvent::PlacementSwitched { .. }
            | EngineEvent::VersionAhead { .. }
            | EngineEvent::AddonDrift { .. } => tracing::info!(target: "fleet::engine", ?event),
            _ => tracing::debug!(target: "fleet::engine", ?event),
        }
        // No receiver is not an error: events are for whoever listens.
        let _ = self.events.send(event);
    }
}

/// The reconciliation engine; cheap to clone, usable from any tokio task.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("fleet", &self.inner.fleet)
            .field("providers", &self.inner.slots.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Where the engine reads the time of day (TTL expiry); the machine's clock by default.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Builds an [`Engine`]; see [`Engine::builder`].
pub struct EngineBuilder {
    fleet: FleetName,
    providers: Vec<Arc<dyn ClusterProvider>>,
    store: Option<Arc<dyn StateStore>>,
    options: EngineOptions,
    clock: Option<Clock>,
    health_gate: Option<Arc<dyn HealthCheck>>,
    addons: BTreeMap<Option<ProviderName>, Arc<dyn AddonInstaller>>,
    ownership: Option<Arc<dyn Ownership>>,
}

impl EngineBuilder {
    /// Adds a provider (several may be added; names must differ).
    pub fn provider(mut self, provider: Arc<dyn ClusterProvider>) -> Self {
        self.providers.push(provider);
        self
    }

    /// Sets the state store (default: a [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn StateStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Sets which clusters this engine may act on (default: [`OwnsAll`]); replicas sharing a
    /// store each get the ownership of the shards they hold.
    pub fn ownership(mut self, ownership: Arc<dyn Ownership>) -> Self {
        self.ownership = Some(ownership);
        self
    }

    /// Sets the options.
    pub fn options(mut self, options: EngineOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets the health check a replacement's new cluster must pass before the old one is
    /// deleted (default: [`ReportedPhase`], the provider reports it running).
    pub fn health_gate(mut self, check: Arc<dyn HealthCheck>) -> Self {
        self.health_gate = Some(check);
        self
    }

    /// Sets what installs the desired clusters' add-ons (e.g. `KubeAddons`, feature `kube`) in
    /// every provider's clusters without an installer of their own; without any, add-ons are
    /// not installed.
    pub fn addons(mut self, installer: Arc<dyn AddonInstaller>) -> Self {
        self.addons.insert(None, installer);
        self
    }

    /// Sets what installs add-ons in `provider`'s clusters (e.g. a [`crate::sim::SimCloud`] for
    /// its own simulated clusters).
    pub fn addons_for(mut self, provider: ProviderName, installer: Arc<dyn AddonInstaller>) -> Self {
        self.addons.insert(Some(provider), installer);
        self
    }

    /// Sets the clock TTLs are judged by; it must agree with the providers' timestamps (for a
    /// simulated cloud, [`crate::sim::SimCloud::wall_clock`]).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Checks the configuration and builds the engine.
    pub fn build(self) -> Result<Engine> {
        if self.providers.is_empty() {
            return Err(Error::InvalidSpec {
                path: "providers".into(),
                reason: "an engine needs at least one provider".into(),
            });
        }
        let mut slots = BTreeMap::new();
        for provider in self.providers {
            let info = provider.info().clone();
            let limits = self.options.rate_limits.get(&info.name).copied().unwrap_or(info.rate_limits);
            let timeout =
                self.options.operation_timeout.unwrap_or((info.latency.create * 3).max(Duration::from_secs(600)));
            let slot = Slot {
                provider: Arc::new(RecordedProvider::new(provider)),
                budget: Budget::new(info.name.clone(), limits, self.options.concurrency_per_provider),
                operation_timeout: timeout,
                limits,
            };
            if slots.insert(info.name.clone(), Arc::new(slot)).is_some() {
                return Err(Error::InvalidSpec {
                    path: "providers".into(),
                    reason: format!("provider `{}` added twice", info.name),
                });
            }
        }
        let (events, _) = broadcast::channel(4096);
        Ok(Engine {
            inner: Arc::new(EngineInner {
                state: Mutex::new(EngineState::new(&self.fleet)),
                running: std::sync::atomic::AtomicBool::new(false),
                fleet: self.fleet,
                slots,
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                options: self.options,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemTime::now)),
                events,
                changed: Notify::new(),
                health_gate: self.health_gate.unwrap_or_else(|| Arc::new(ReportedPhase)),
                addons: self.addons,
                ownership: self.ownership.unwrap_or_else(|| Arc::new(OwnsAll)),
            }),
        })
    }
}

impl Engine {
    /// Starts building an engine for `fleet`.
    pub fn builder(fleet: FleetName) -> EngineBuilder {
        EngineBuilder {
            fleet,
            providers: Vec::new(),
            store: None,
            options: EngineOptions::default(),
            clock: None,
            health_gate: None,
            addons: BTreeMap::new(),
            ownership: None,
        }
    }

    /// Replaces the desired fleet; a running [`Engine::run`] reconciles at once. Accepted
    /// self-service environments ([`Engine::accept_environment`]) stay wanted beside it.
    ///
    /// # Errors
    /// A desired fleet named other than the engine's is [`Error::InvalidSpec`] at `fleet.name`,
    /// and the engine keeps the fleet it had: its clusters would never be found again under
    /// this engine's tags.
    pub fn set_desired(&self, desired: DesiredFleet) -> Result<()> {
        if desired.name != self.inner.fleet {
            return Err(Error::InvalidSpec {
                path: "fleet.name".into(),
                reason: format!(
                    "the desired fleet is named `{}`, but this engine reconciles fleet `{}` (Engine::builder's \
                     name): build an engine for `{}`, or name the fleet spec `{}`",
                    desired.name, self.inner.fleet, desired.name, self.inner.fleet
                ),
            });
        }
        let mut state = self.inner.state();
        if *state.base != desired {
            // A new desired fleet is a new rollout: canaries first again.
            state.rollout = rollout::Rollout::default();
        }
        state.base = Arc::new(desired);
        environments::remerge(&mut state);
        drop(state);
        self.inner.changed.notify_one();
        Ok(())
    }

    /// Keeps the self-service environment `environment` in the store and wants its cluster
    /// beside the desired fleet until its TTL ends or [`Engine::remove_environment`]; a
    /// running [`Engine::run`] creates it at once. An environment with the id of one already
    /// kept replaces it.
    ///
    /// # Errors
    /// A store failure is returned, and nothing is wanted.
    pub async fn accept_environment(&self, environment: AcceptedEnvironment) -> Result<()> {
        environments::keep(&self.inner, environment).await?;
        self.inner.changed.notify_one();
        Ok(())
    }

    /// Forgets the self-service environment `id` (in the store first): its cluster is no
    /// longer wanted, and a running [`Engine::run`] deletes it. Forgetting an unknown one
    /// succeeds.
    pub async fn remove_environment(&self, id: &ClusterId) -> Result<()> {
        environments::forget(&self.inner, id).await?;
        self.inner.changed.notify_one();
        Ok(())
    }

    /// The accepted self-service environments, as the store keeps them.
    pub async fn environments(&self) -> Result<Vec<AcceptedEnvironment>> {
        self.inner.store.environments().await
    }

    /// Whether [`Engine::run`] is running (and so acts on what it is given without being
    /// asked).
    pub fn is_running(&self) -> bool {
        self.inner.running.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Lets a halted rollout go on (after the cause is fixed); setting a different desired
    /// fleet starts a new rollout too.
    pub fn resume_rollout(&self) {
        self.inner.state().rollout.resume();
        self.inner.changed.notify_one();
    }

    /// Starts a pass of a running [`Engine::run`] now, e.g. after placements changed.
    pub fn wake(&self) {
        self.inner.changed.notify_one();
    }

    /// What the engine wants: the desired fleet as last set, with the accepted self-service
    /// environments beside it.
    pub fn desired(&self) -> DesiredFleet {
        DesiredFleet::clone(&self.inner.state().desired)
    }

    /// What the last pass observed: this fleet's clusters, those of providers that could not
    /// be listed as `Unreachable`.
    pub fn observed(&self) -> Vec<Cluster> {
        Vec::clone(&self.inner.state().last_observed)
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.inner.options
    }

    /// The time of day by the engine's clock ([`EngineBuilder::clock`], the machine's by
    /// default): what TTLs are judged by and what the store's records are stamped with.
    pub fn now(&self) -> SystemTime {
        self.inner.now()
    }

    /// The fleet it reconciles.
    pub fn fleet(&self) -> &FleetName {
        &self.inner.fleet
    }

    /// The providers, by name, each call charged to the engine's API budget for that provider
    /// (the same token buckets its own actions wait on), so that callers beside the engine,
    /// such as the failover controller and health checks, never take the fleet over the limits.
    pub fn providers(&self) -> BTreeMap<ProviderName, Arc<dyn ClusterProvider>> {
        self.inner
            .slots
            .iter()
            .map(|(name, slot)| {
                let provider: Arc<dyn ClusterProvider> = Arc::new(budgeted::BudgetedProvider::new(Arc::clone(slot)));
                (name.clone(), provider)
            })
            .collect()
    }

    /// The API budget the engine keeps to for `provider`: its rate limits and how many
    /// operations run at once.
    pub fn budget_of(&self, provider: &ProviderName) -> Option<ApiBudget> {
        let concurrency = self.inner.options.concurrency_per_provider.max(1);
        self.inner.slots.get(provider).map(|slot| ApiBudget { limits: slot.limits, concurrency })
    }

    /// Receives every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// The state store.
    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.inner.store
    }

    /// Counts for a progress display.
    pub fn progress(&self) -> Progress {
        let mut phases = BTreeMap::new();
        let state = self.inner.state();
        for cluster in state.last_observed.iter() {
            *phases.entry(cluster.phase.name().to_owned()).or_insert(0) += 1;
        }
        Progress {
            phases,
            actions_in_flight: state.in_flight.len(),
            calls: self.inner.slots.iter().map(|(name, slot)| (name.clone(), slot.budget.used())).collect(),
        }
    }

    /// Reconciles until `cancel` fires: a pass at once, then whenever the desired fleet
    /// changes or the interval passes. A failed pass is logged (`fleet::engine`, warn) and
    /// tried again on the next. Cancelled during a pass, it lets the pass go on for at most
    /// [`EngineOptions::shutdown_grace`], then drops it: calls in flight were journalled
    /// before they were made, and the next engine on the store settles them.
    pub async fn run(&self, cancel: CancellationToken) {
        /// Clears the running flag however `run` ends (returned or dropped).
        struct Running<'e>(&'e std::sync::atomic::AtomicBool);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.store(false, std::sync::atomic::Ordering::SeqCst);
            }
        }
        self.inner.running.store(true, std::sync::atomic::Ordering::SeqCst);
        let _running = Running(&self.inner.running);
        loop {
            let pass = self.run_once();
            tokio::pin!(pass);
            let result = tokio::select! {
                result = &mut pass => result,
                () = cancel.cancelled() => {
                    match tokio::time::timeout(self.inner.options.shutdown_grace, &mut pass).await {
                        Ok(result) => result,
                        Err(_) => {
                            tracing::warn!(
                                target: "fleet::engine",
                                grace = ?self.inner.options.shutdown_grace,
                                "cancelled: the pass in progress was stopped after the shutdown grace"
                            );
                            return;
                        }
                    }
                }
            };
            if let Err(err) = result {
                tracing::warn!(target: "fleet::engine", %err, "reconcile pass failed");
                self.inner.emit(EngineEvent::PassFailed { reason: err.to_string() });
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.inner.changed.notified() => {}
                () = tokio::time::sleep(self.inner.options.reconcile_interval) => {}
            }
        }
    }

    /// One reconcile pass: observe, settle what a crash left unresolved, plan, admit, execute,
    /// add-ons. Returns when every action of the pass has finished.
    pub async fn run_once(&self) -> Result<ReconcileReport> {
        let inner = &self.inner;
        let span = tracing::info_span!("reconcile", fleet = %inner.fleet);
        let started = Instant::now();
        let result = async move {
            let mut report = ReconcileReport::default();
            let now = Instant::now();
            inner.state().owned_this_pass.clear();
            environments::refresh(inner).await?;

            let (observed, unseen) = self.observe().await;
            let observed = Arc::new(observed);
            report.recovered_intents = settle::settle_intents(inner, &observed, &unseen).await?;
            report.adopted = self.sync_store(&observed, &unseen).await?;
            let observed = self.with_unreachable(observed, &unseen).await?;
            let clusters = {
                let mut state = inner.state();
                state.last_observed = Arc::clone(&observed);
                state.cluster_gauges.count(&observed)
            };
            clusters.record();

            let present: HashSet<&ClusterId> = observed.iter().map(|c| &c.id).collect();
            let (desired, plan) = self.decide(&observed, &present, Placements::Activate).await?;
            self.warn_of_expiry(&desired, &observed).await?;
            version_ahead::report(inner, &desired, &observed).await?;
            report.planned = plan.summary();
            report.converged = plan.is_empty() && observed.iter().all(|c| !c.phase.is_in_progress());
            inner.emit(EngineEvent::PlanComputed { summary: report.planned });

            let successors = placements::successors(&plan.actions, &observed, &desired);
            let admitted = self.admit(plan.actions, &observed, &unseen, now);
            inner.state().unwanted_since = admitted.unwanted_since;

            let mut started = execute::Started::default();
            execute::start_actions(inner, admitted.verdicts, &observed, successors, &mut report, &mut started).await?;
            execute::start_addon_installs(inner, &observed, &desired, now, &mut started);
            {
                let mut state = inner.state();
                state.installed.retain(|id, _| present.contains(id));
                state.drift.retain(|id, _| present.contains(id));
            }
            execute::await_earlier_deletes(inner, &observed, &unseen, &mut started);
            execute::finish(started, &mut report).await?;
            inner.emit(EngineEvent::PassCompleted { report: Box::new(report.clone()) });
            Ok(report)
        }
        .instrument(span)
        .await;
        crate::telemetry::pass(result.as_ref().map(|report| report.converged), started.elapsed());
        result
    }

    /// The verdicts of admission ([`admit::admit`]) on `actions`, from the engine's state as it
    /// stands.
    fn admit(&self, actions: Vec<Action>, observed: &[Cluster], unseen: &Unseen, now: Instant) -> admit::Admitted {
        let inner = &self.inner;
        let providers: BTreeSet<ProviderName> = inner.slots.keys().cloned().collect();
        let state = inner.state();
        admit::admit(
            actions,
            &admit::Admission {
                observed,
                unseen,
                providers: &providers,
                failed: &state.failed,
                halted: state.rollout.halted().map(String::as_str),
                wave: state.rollout.wave(&inner.options.rollout),
                unwanted_since: &state.unwanted_since,
                gc_grace: inner.options.gc_grace,
                now,
                in_flight: &state.in_flight,
            },
        )
    }

    /// Waits until a pass reports the fleet converged (a pass of a running [`Engine::run`], or
    /// of `run_once` called elsewhere), at most `timeout`; returns that pass's report.
    ///
    /// # Errors
    /// [`Error::Timeout`] when no pass converged in time.
    pub async fn wait_converged(&self, timeout: Duration) -> Result<ReconcileReport> {
        let mut events = self.subscribe();
        let converged = async {
            loop {
                match events.recv().await {
                    Ok(EngineEvent::PassCompleted { report }) if report.converged => return Ok(*report),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(Error::Unavailable { message: "the engine is gone".into() });
                    }
                }
            }
        };
        tokio::time::timeout(timeout, converged).await.map_err(|_| Error::Timeout {
            message: format!("fleet `{}` not converged after {}", self.inner.fleet, crate::format_duration(timeout)),
        })?
    }

    /// What the next pass would do, without doing any of it: the engine observes its providers
    /// (within its API budget), reads the store's intents' outcomes, placements, expiries and
    /// environments, and plans with its own clock and the providers' capabilities, exactly as
    /// a pass does, but writes nothing and calls no mutating provider method. The plan is what
    /// the next pass plans (its [`ReconcileReport::planned`]) when nothing changes meanwhile;
    /// the pass may hold some actions back (rollout waves, budgets, clusters already busy).
    pub async fn dry_run(&self) -> Result<Plan> {
        let inner = &self.inner;
        let span = tracing::info_span!("dry_run", fleet = %inner.fleet);
        async move {
            // Ownership as the running pass (or the last one) judged it: a dry run beside a
            // running pass must not reset what that pass decided.
            environments::refresh(inner).await?;
            let (observed, unseen) = self.observe().await;
            let observed = self.with_unreachable(Arc::new(observed), &unseen).await?;
            let present: HashSet<&ClusterId> = observed.iter().map(|c| &c.id).collect();
            Ok(self.decide(&observed, &present, Placements::AsTheyWouldBe).await?.1)
        }
        .instrument(span)
        .await
    }
}
