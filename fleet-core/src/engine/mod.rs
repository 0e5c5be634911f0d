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
mod environments;
mod events;
mod execute;
mod ownership;
pub(crate) mod placements;
mod rollout;
mod settle;
mod state;
mod unseen;
mod version_ahead;

use state::EngineState;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use events::{ApiBudget, CallsMade, EngineEvent, Progress, ReconcileReport};
pub use ownership::{Ownership, OwnsAll};
pub use rollout::RolloutOptions;

use crate::Location;
use crate::addons::{AddonInstaller, DriftPolicy};
use crate::fleet_spec::DesiredFleet;
use crate::health::{HealthCheck, ReportedPhase};
use crate::mutex::lock;
use crate::plan::{Action, Plan, plan};
use crate::store::{AcceptedEnvironment, ActiveCluster, IntentOperation, MemoryStore, RecordKind, StateStore};
use crate::{
    Cluster, ClusterId, ClusterIdentity, ClusterPhase, ClusterProvider, Error, FleetName, FleetTags, ProviderName,
    RateLimits, Result,
};
use budget::{Budget, CallKind};
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
        self.owns(&cluster.identity())
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

/// What [`Engine::decide`] does with placements a ready cluster takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placements {
    /// Writes them (a pass).
    Activate,
    /// Works them out in memory (a dry run).
    AsTheyWouldBe,
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
                provider,
                budget: Budget::new(limits, self.options.concurrency_per_provider),
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
        if state.base != desired {
            // A new desired fleet is a new rollout: canaries first again.
            state.rollout = rollout::Rollout::default();
        }
        state.base = desired;
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
        self.inner.state().desired.clone()
    }

    /// What the last pass observed: this fleet's clusters, those of providers that could not
    /// be listed as `Unreachable`.
    pub fn observed(&self) -> Vec<Cluster> {
        self.inner.state().last_observed.clone()
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
        for cluster in &state.last_observed {
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
        async move {
            let mut report = ReconcileReport::default();
            let now = Instant::now();
            inner.state().owned_this_pass.clear();
            environments::refresh(inner).await?;

            let (observed, unseen) = self.observe().await;
            report.recovered_intents = settle::settle_intents(inner, &observed, &unseen).await?;
            report.adopted = self.sync_store(&observed, &unseen).await?;
            let observed = self.with_unreachable(observed, &unseen).await?;
            inner.state().last_observed = observed.clone();

            let present: BTreeSet<&ClusterId> = observed.iter().map(|c| &c.id).collect();
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
            inner.state().installed.retain(|id, _| present.contains(id));
            execute::await_earlier_deletes(inner, &observed, &unseen, &mut started);
            execute::finish(started, &mut report).await?;
            inner.emit(EngineEvent::PassCompleted { report: Box::new(report.clone()) });
            Ok(report)
        }
        .instrument(span)
        .await
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

    /// The desired fleet without the clusters whose TTL has ended: once expired, a cluster is
    /// not created again.
    async fn without_expired(&self, desired: DesiredFleet) -> Result<DesiredFleet> {
        if self.inner.state().expired.is_none() {
            let recorded: BTreeSet<ClusterIdentity> = self
                .inner
                .store
                .events_after(0)
                .await?
                .into_iter()
                .filter(|event| event.kind == RecordKind::ClusterExpired)
                .filter_map(|event| event.identity())
                .collect();
            self.inner.state().expired.get_or_insert(recorded);
        }
        let expired = self.inner.state().expired.clone().unwrap_or_default();
        let clusters = desired
            .clusters
            .into_iter()
            .filter(|c| c.spec.ttl.is_none() || !expired.contains(&c.spec.identity()))
            .collect();
        Ok(DesiredFleet::new(desired.name, clusters))
    }

    /// `observed` plus the last stored observation of every cluster of a provider or region
    /// that could not be listed, as `Unreachable`: a cluster out of sight is still this fleet's.
    pub(crate) async fn with_unreachable(&self, mut observed: Vec<Cluster>, unseen: &Unseen) -> Result<Vec<Cluster>> {
        if unseen.is_empty() {
            return Ok(observed);
        }
        for mut cluster in self.inner.store.observed().await? {
            if unseen.covers(&cluster.provider, &cluster.region) && self.inner.owns_cluster(&cluster) {
                cluster.phase = ClusterPhase::Unreachable;
                observed.push(cluster);
            }
        }
        // A create whose outcome is unknown (the process stopped before it learned it) may
        // have made a cluster there: it counts as one, unreachable, until the provider answers.
        for intent in self.inner.store.pending_intents().await? {
            let Some(spec) = intent.intent.spec.as_ref() else { continue };
            let known = observed.iter().any(|c| c.id == spec.id && c.provider == spec.provider);
            if intent.intent.operation != IntentOperation::Create
                || !unseen.covers(&spec.provider, &spec.region)
                || known
                || !self.inner.owns(&spec.identity())
            {
                continue;
            }
            let mut cluster = Cluster::new(
                spec.id.clone(),
                spec.provider.clone(),
                String::new(),
                spec.region.clone(),
                ClusterPhase::Unreachable,
            );
            cluster.tags = FleetTags::cluster_tags(&self.inner.fleet, spec);
            cluster.kubernetes_version = Some(spec.kubernetes_version);
            cluster.node_pools = spec.node_pools.clone();
            observed.push(cluster);
        }
        observed.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(observed)
    }

    /// What the engine wants of `observed` now (its desired fleet and environments, the
    /// clusters it owns, without the expired ones, moved where failover relocated them) and the
    /// plan to get there: the one decision a pass acts on and a dry run shows.
    /// `present` holds the names of the clusters observed.
    async fn decide(
        &self,
        observed: &[Cluster],
        present: &BTreeSet<&ClusterId>,
        placements: Placements,
    ) -> Result<(DesiredFleet, Plan)> {
        let inner = &self.inner;
        let mut wanted = inner.state().desired.clone();
        wanted.clusters.retain(|cluster| inner.owns(&cluster.spec.identity()));
        let identities: BTreeSet<ClusterIdentity> = wanted.specs().map(crate::ClusterSpec::identity).collect();
        let placements = self.placements(observed, present, &identities, placements).await?;
        let desired = placements::follow_relocations(self.without_expired(wanted).await?, &placements);
        let capabilities =
            inner.slots.iter().map(|(name, slot)| (name.clone(), slot.provider.info().capabilities)).collect();
        let plan = plan(&desired, observed, &capabilities, inner.now());
        Ok((desired, plan))
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
            let observed = self.with_unreachable(observed, &unseen).await?;
            let present: BTreeSet<&ClusterId> = observed.iter().map(|c| &c.id).collect();
            Ok(self.decide(&observed, &present, Placements::AsTheyWouldBe).await?.1)
        }
        .instrument(span)
        .await
    }

    /// The stored placements by identity (`present`: the names of the clusters observed), after
    /// giving every wanted identity that has a ready cluster but no placement (adopted, or
    /// created before placements were kept) one: written in `mode` [`Placements::Activate`],
    /// worked out in memory in [`Placements::AsTheyWouldBe`].
    async fn placements(
        &self,
        observed: &[Cluster],
        present: &BTreeSet<&ClusterId>,
        wanted: &BTreeSet<ClusterIdentity>,
        mode: Placements,
    ) -> Result<BTreeMap<ClusterIdentity, crate::store::Placement>> {
        let mut placements: BTreeMap<ClusterIdentity, crate::store::Placement> = self
            .inner
            .store
            .placements()
            .await?
            .into_iter()
            .filter(|p| self.inner.owns(&p.identity))
            .map(|p| (p.identity.clone(), p))
            .collect();
        // An identity no spec wants whose clusters are all gone keeps no placement: the one a
        // pass stopped from releasing after its delete (a crash between the two) is released
        // now, so that the identity, if it returns, goes where its spec says.
        let seen: BTreeSet<ClusterIdentity> = observed.iter().map(Cluster::identity).collect();
        let stale: Vec<crate::store::Placement> = placements
            .values()
            .filter(|p| !wanted.contains(&p.identity) && !seen.contains(&p.identity))
            .cloned()
            .collect();
        for placement in stale {
            placements.remove(&placement.identity);
            // Removed as read: a placement written since (another writer's) is kept.
            if mode == Placements::Activate {
                match self.inner.store.remove_placement(&placement.identity, placement.generation).await {
                    Ok(()) | Err(Error::Conflict { .. }) => {}
                    Err(err) => return Err(err),
                }
            }
        }
        for cluster in observed.iter().filter(|c| c.phase.is_ready()) {
            // A placement whose active cluster is gone (deleted by a pass that stopped before
            // it could switch) is taken over by a ready cluster of its identity.
            let serves = |p: &crate::store::Placement| p.active.as_ref().is_some_and(|a| present.contains(&a.cluster));
            let identity = cluster.identity();
            if !wanted.contains(&identity) || placements.get(&identity).is_some_and(serves) {
                continue;
            }
            match mode {
                Placements::Activate => {
                    placements::activate(&self.inner, cluster).await?;
                    if let Some(placement) = self.inner.store.placement(&identity).await? {
                        placements.insert(placement.identity.clone(), placement);
                    }
                }
                Placements::AsTheyWouldBe => {
                    let location = Location::of(cluster);
                    let placement = placements
                        .entry(identity.clone())
                        .or_insert_with(|| crate::store::Placement::new(identity.clone(), location.clone()));
                    placements::make_active(placement, &ActiveCluster::new(cluster.id.clone(), location), true);
                }
            }
        }
        Ok(placements)
    }

    /// Sends [`EngineEvent::ExpiringSoon`] once for each cluster within
    /// [`EngineOptions::expiry_warning`] of the end of its TTL.
    async fn warn_of_expiry(&self, desired: &DesiredFleet, observed: &[Cluster]) -> Result<()> {
        let now = self.inner.now();
        for spec in desired.specs() {
            let Some(ttl) = spec.ttl else { continue };
            let created = observed
                .iter()
                .filter(|c| c.fleet_tags().is_some_and(|t| t.identity == spec.identity()))
                .filter_map(|c| c.created_at)
                .min();
            let Some(expiry) = created.and_then(|created| created.checked_add(ttl)) else { continue };
            let remaining = expiry.duration_since(now).unwrap_or_default();
            if remaining > Duration::ZERO
                && remaining <= self.inner.options.expiry_warning
                && self.inner.state().warned.insert(spec.identity())
            {
                let message = format!("its time to live ends in {}", crate::format_duration(remaining));
                self.inner
                    .store
                    .append_event(RecordKind::ClusterExpiring, Some(&spec.id), &message, self.inner.now())
                    .await?;
                self.inner.emit(EngineEvent::ExpiringSoon { identity: spec.identity(), remaining });
            }
        }
        Ok(())
    }

    /// Lists every provider; returns this fleet's clusters that this engine owns, and the
    /// providers and regions that could not be listed.
    pub(crate) async fn observe(&self) -> (Vec<Cluster>, Unseen) {
        let mut observed = Vec::new();
        let mut unseen = Unseen::default();
        for (name, slot) in &self.inner.slots {
            slot.budget.call(CallKind::Read).await;
            match slot.provider.list().await {
                Ok(listing) => {
                    for lost in listing.unreachable {
                        self.inner.emit(EngineEvent::RegionUnavailable {
                            provider: name.clone(),
                            region: lost.region.clone(),
                            error: lost.error.to_string(),
                        });
                        unseen.add_region(name.clone(), lost.region);
                    }
                    // A cluster listed in a region reported unreachable is not trusted either.
                    observed.extend(listing.clusters.into_iter().filter(|c| {
                        FleetTags::belongs_to(&c.tags, &self.inner.fleet)
                            && self.inner.owns_cluster(c)
                            && !unseen.covers(name, &c.region)
                    }));
                }
                Err(err) => {
                    self.inner
                        .emit(EngineEvent::ProviderUnavailable { provider: name.clone(), error: err.to_string() });
                    unseen.add_provider(name.clone());
                }
            }
        }
        observed.sort_by(|a, b| a.id.cmp(&b.id));
        (observed, unseen)
    }

    /// Makes the store's observations match what the providers showed; returns how many
    /// clusters were adopted (found at a provider, unknown to the store).
    async fn sync_store(&self, observed: &[Cluster], unseen: &Unseen) -> Result<usize> {
        let store = &self.inner.store;
        let stored: BTreeMap<ClusterId, Cluster> = store
            .observed()
            .await?
            .into_iter()
            .filter(|c| self.inner.owns_cluster(c))
            .map(|c| (c.id.clone(), c))
            .collect();
        let mut adopted = 0;
        for cluster in observed {
            match stored.get(&cluster.id) {
                None => {
                    adopted += 1;
                    store.put_observed(cluster).await?;
                    store
                        .append_event(
                            RecordKind::ClusterAdopted,
                            Some(&cluster.id),
                            "found at its provider with this fleet's tags",
                            self.inner.now(),
                        )
                        .await?;
                    self.inner.emit(EngineEvent::ClusterAdopted { cluster: cluster.id.clone() });
                }
                Some(known) if known != cluster => store.put_observed(cluster).await?,
                Some(_) => {}
            }
        }
        let seen: BTreeSet<&ClusterId> = observed.iter().map(|c| &c.id).collect();
        for (id, known) in &stored {
            if !unseen.covers(&known.provider, &known.region) && !seen.contains(id) {
                store.remove_observed(id).await?;
            }
        }
        Ok(adopted)
    }
}
