//! [`Runtime`]: Fleet for a service, wired in one place (feature `yaml`). It loads a repository
//! directory, takes each provider once, and wires the engine, add-ons, health checks, the
//! failover controller and self-service around one state store; then it runs them together,
//! reloads the repository, shows a dry run and reports status.
//!
//! The parts stay usable on their own ([`Engine`], [`FailoverController`], [`SelfService`]) for
//! whoever wires them by hand; the runtime hands them out too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::addons::AddonInstaller;
use crate::engine::{CallsMade, Engine, EngineEvent, EngineOptions, FleetStatus, ReconcileReport};
use crate::failover::{
    ApiProbe, FailoverController, FailoverOptions, FailoverReport, HealthCheck, PhaseAndProbe, ReportedPhase,
};
use crate::plan::Plan;
use crate::repository::Repository;
use crate::self_service::SelfService;
use crate::sim::SimCloud;
use crate::store::{MemoryStore, StateStore};
use crate::{ClusterProvider, Error, ProviderInfo, ProviderName, SpecError, SpecErrors};

/// A provider as the runtime takes it.
enum ProviderEntry {
    /// A provider of the caller's, checked with the runtime's probe (or its reported phase).
    Given(Arc<dyn ClusterProvider>),
    /// A simulated cloud: its provider for the repository's fleet, its add-on installer and its
    /// API probe.
    Simulated(SimCloud),
}

/// Builds a [`Runtime`]; see [`Runtime::builder`].
pub struct RuntimeBuilder {
    dir: PathBuf,
    providers: Vec<ProviderEntry>,
    store: Option<Arc<dyn StateStore>>,
    addons: Option<Arc<dyn AddonInstaller>>,
    probe: Option<Arc<dyn ApiProbe>>,
    engine_options: EngineOptions,
    failover_options: FailoverOptions,
    clock: Option<Arc<dyn Fn() -> SystemTime + Send + Sync>>,
}

impl RuntimeBuilder {
    /// Judges TTLs and stamps records by `clock` (default: the first simulated cloud's
    /// [`wall_clock`](SimCloud::wall_clock) when there is one, else the machine's).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Reconciles with `provider` (each provider once).
    pub fn provider(mut self, provider: Arc<dyn ClusterProvider>) -> Self {
        self.providers.push(ProviderEntry::Given(provider));
        self
    }

    /// Reconciles with the **simulated** cloud `cloud`: its provider for the repository's
    /// fleet, its simulated add-on installer and its simulated API probe.
    pub fn simulated(mut self, cloud: SimCloud) -> Self {
        self.providers.push(ProviderEntry::Simulated(cloud));
        self
    }

    /// Keeps the journal, placements, environments and events of record in `store` (default:
    /// a [`MemoryStore`], lost when the process ends; a service wants a
    /// [`SqliteStore`](crate::store::SqliteStore) or an etcd store).
    pub fn store(mut self, store: Arc<dyn StateStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Installs the blueprints' add-ons with `installer` on the providers given with
    /// [`provider`](Self::provider) (default: none; e.g. `KubeAddons`, feature `kube`).
    pub fn addons(mut self, installer: Arc<dyn AddonInstaller>) -> Self {
        self.addons = Some(installer);
        self
    }

    /// Judges the health of the clusters of providers given with [`provider`](Self::provider)
    /// by their phase and `probe` ([`PhaseAndProbe`]; e.g. `KubeApiProbe`, feature `kube`)
    /// instead of their reported phase alone ([`ReportedPhase`], the default).
    pub fn probe(mut self, probe: Arc<dyn ApiProbe>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Sets the engine's options.
    pub fn engine_options(mut self, options: EngineOptions) -> Self {
        self.engine_options = options;
        self
    }

    /// Sets the failover controller's options.
    pub fn failover_options(mut self, options: FailoverOptions) -> Self {
        self.failover_options = options;
        self
    }

    /// Loads the repository and wires the parts.
    ///
    /// # Errors
    /// The repository's errors ([`SpecErrors`], each with its file, line and field), or a
    /// wiring error (no provider, a provider given twice, a fallback on a provider the
    /// runtime does not have) as one [`SpecError`].
    pub fn build(self) -> Result<Runtime, SpecErrors> {
        let repository = Repository::load_dir(&self.dir)?;
        let wiring = |err: Error| SpecErrors(vec![SpecError::new("", err.to_string()).in_file(&self.dir)]);
        let infos: Vec<ProviderInfo> = self
            .providers
            .iter()
            .map(|entry| match entry {
                ProviderEntry::Given(provider) => provider.info().clone(),
                ProviderEntry::Simulated(cloud) => cloud.info().clone(),
            })
            .collect();
        let declared = repository.desired(&infos)?;
        let fleet = declared.fleet.name.clone();
        let simulated = self.providers.iter().find_map(|entry| match entry {
            ProviderEntry::Simulated(cloud) => Some(cloud.clone()),
            ProviderEntry::Given(_) => None,
        });
        let mut engine = Engine::builder(fleet.clone()).options(self.engine_options);
        match (self.clock, simulated) {
            (Some(clock), _) => engine = engine.clock(move || clock()),
            (None, Some(cloud)) => engine = engine.clock(move || cloud.wall_clock()),
            (None, None) => {}
        }
        let mut checks: Vec<(crate::ProviderName, Arc<dyn HealthCheck>)> = Vec::new();
        for entry in self.providers {
            let (provider, installer, check): (Arc<dyn ClusterProvider>, _, Arc<dyn HealthCheck>) = match entry {
                ProviderEntry::Given(provider) => {
                    let check: Arc<dyn HealthCheck> = match &self.probe {
                        Some(probe) => Arc::new(PhaseAndProbe::new(Arc::clone(&provider), Arc::clone(probe))),
                        None => Arc::new(ReportedPhase),
                    };
                    (provider, self.addons.clone(), check)
                }
                ProviderEntry::Simulated(cloud) => {
                    let provider: Arc<dyn ClusterProvider> = Arc::new(cloud.provider(fleet.clone()));
                    let check = Arc::new(PhaseAndProbe::new(Arc::clone(&provider), Arc::new(cloud.clone())));
                    let installer: Arc<dyn AddonInstaller> = Arc::new(cloud);
                    (provider, Some(installer), check)
                }
            };
            let name = provider.info().name.clone();
            if let Some(installer) = installer {
                engine = engine.addons_for(name.clone(), installer);
            }
            checks.push((name, check));
            engine = engine.provider(provider);
        }
        let engine =
            engine.store(self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()))).build().map_err(wiring)?;
        let self_service = SelfService::resolved(repository, engine.clone(), &declared)?;
        let mut controller =
            FailoverController::builder(engine.clone()).policies(declared.failover).options(self.failover_options);
        for (name, check) in checks {
            controller = controller.health_check(name, check);
        }
        let controller = controller.build().map_err(wiring)?;
        Ok(Runtime { dir: self.dir, engine, controller, self_service: Arc::new(self_service) })
    }
}

/// What the runtime is doing, for people and machines (`serde`).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Status {
    /// Where the fleet stands ([`Engine::status`]).
    pub fleet: FleetStatus,
    /// Calls made to each provider.
    pub calls: BTreeMap<ProviderName, CallsMade>,
    /// What failover has done since the runtime started.
    pub failover: FailoverReport,
}

/// The reports of the engine's passes, as they end; see [`Runtime::reports`].
#[derive(Debug)]
pub struct PassReports {
    events: tokio::sync::broadcast::Receiver<EngineEvent>,
}

impl PassReports {
    /// The next pass's report; `None` once the engine is gone. A reader too slow to keep up
    /// skips the reports it missed.
    pub async fn next(&mut self) -> Option<ReconcileReport> {
        loop {
            match self.events.recv().await {
                Ok(EngineEvent::PassCompleted { report }) => return Some(*report),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// Fleet for a service; see the [module](self) documentation.
///
/// ```
/// use fleet_core::runtime::Runtime;
/// use fleet_core::repository::Repository;
/// use std::time::Duration;
/// # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("fleet-runtime-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("fleet.yaml"), "\
/// kind: Blueprint
/// spec:
///   name: web
///   layers:
///     - {name: base, owner: ops, set: {kubernetesVersion: '1.34', nodePools: {workers: {size: small, minCount: 1, maxCount: 3}}}}
/// ---
/// kind: FleetSpec
/// spec:
///   name: demo
///   templates:
///     - {name: web, blueprint: web, placements: [{provider: sim, regions: [east, west]}]}
/// ").unwrap();
/// // Simulated clouds for whatever providers the repository names.
/// let clouds = fleet_core::sim::clouds_for(&Repository::load_dir(&dir).unwrap(), 1, |_, cloud| cloud);
/// let mut builder = Runtime::builder(&dir);
/// for cloud in clouds {
///     builder = builder.simulated(cloud);
/// }
/// let runtime = builder.build().unwrap();
/// assert_eq!(runtime.plan().await.unwrap().summary().create, 2, "the dry run");
/// let shutdown = tokio_util::sync::CancellationToken::new();
/// let running = tokio::spawn({
///     let (runtime, shutdown) = (runtime.clone(), shutdown.clone());
///     async move { runtime.run(shutdown).await }
/// });
/// let report = runtime.wait_converged(Duration::from_secs(3600)).await.unwrap();
/// assert!(report.converged);
/// assert_eq!(runtime.status().await.unwrap().fleet.desired, 2);
/// shutdown.cancel();
/// running.await.unwrap();
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # });
/// ```
#[derive(Clone)]
pub struct Runtime {
    dir: PathBuf,
    engine: Engine,
    controller: FailoverController,
    self_service: Arc<SelfService>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("dir", &self.dir).field("fleet", self.engine.fleet()).finish_non_exhaustive()
    }
}

impl Runtime {
    /// Starts building a runtime for the repository in `dir`.
    pub fn builder(dir: impl AsRef<Path>) -> RuntimeBuilder {
        RuntimeBuilder {
            dir: dir.as_ref().to_path_buf(),
            providers: Vec::new(),
            store: None,
            addons: None,
            probe: None,
            engine_options: EngineOptions::default(),
            failover_options: FailoverOptions::default(),
            clock: None,
        }
    }

    /// Runs the engine and the failover controller until `shutdown` fires; a pass in progress
    /// then goes on for at most [`EngineOptions::shutdown_grace`] (every call it made was
    /// journalled first, so the next start on the same store settles it).
    pub async fn run(&self, shutdown: CancellationToken) {
        let controller = self.controller.clone();
        let watching = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { controller.run(shutdown).await }
        });
        self.engine.run(shutdown).await;
        // The controller stops at once when cancelled; a panic in it is not the caller's to
        // handle here, the engine having stopped cleanly.
        let _ = watching.await;
    }

    /// Reads the repository directory again: its fleet becomes what the engine wants, its
    /// policies judge the next requests and its failover policies the next losses. A
    /// repository with errors changes nothing and returns them, each with its file and line.
    /// Accepted self-service environments stay.
    pub fn reload(&self) -> Result<(), SpecErrors> {
        let desired = self.self_service.reload(Repository::load_dir(&self.dir)?)?;
        // The repository checked every fallback against these same providers: this holds.
        self.controller
            .set_policies(desired.failover)
            .map_err(|err| SpecErrors(vec![SpecError::new("", err.to_string()).in_file(&self.dir)]))
    }

    /// The dry run: what the next pass would do ([`Engine::dry_run`]).
    pub async fn plan(&self) -> crate::Result<Plan> {
        self.engine.dry_run().await
    }

    /// Whether each template would recover from the loss of any one region or provider, and
    /// how fast ([`FailoverController::readiness`]).
    ///
    /// # Errors
    /// A provider's error while asking it.
    pub async fn readiness(&self) -> crate::Result<crate::failover::Readiness> {
        self.controller.readiness().await
    }

    /// What the runtime is doing: where the fleet stands, the calls made, and what failover
    /// has done.
    ///
    /// # Errors
    /// A store failure while reading the placements.
    pub async fn status(&self) -> crate::Result<Status> {
        Ok(Status {
            fleet: self.engine.status().await?,
            calls: self.engine.progress().calls,
            failover: self.controller.report(),
        })
    }

    /// Every pass's report from now on, as it ends.
    pub fn reports(&self) -> PassReports {
        PassReports { events: self.engine.subscribe() }
    }

    /// Waits until a pass reports the fleet converged, at most `timeout`
    /// ([`Engine::wait_converged`]).
    pub async fn wait_converged(&self, timeout: Duration) -> crate::Result<ReconcileReport> {
        self.engine.wait_converged(timeout).await
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The failover controller.
    pub fn controller(&self) -> &FailoverController {
        &self.controller
    }

    /// Self-service: teams' environment requests.
    pub fn self_service(&self) -> &SelfService {
        &self.self_service
    }

    /// The engine's events, pass reports among them ([`EngineEvent::PassCompleted`]).
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<EngineEvent> {
        self.engine.subscribe()
    }
}
