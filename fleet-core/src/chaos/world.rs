//! One chaos run: the simulated clouds, the store, the engine and failover controller that
//! crash and restart from that store, the scenario, and the invariants.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::faults::{self, FaultCounts};
use super::invariants::Invariants;
use super::recorder::Recorder;
use super::scenario::{Change, Scenario, TEMPLATE, pick_index, places_of, plant_foreign_clusters};
use super::{ChaosOptions, ChaosReport, ChaosStore};
use crate::blueprint::Addon;
use crate::engine::{Engine, EngineOptions, ReconcileReport};
use crate::failover::{FailoverController, FailoverOptions, FailoverPolicy, Fallback, LossThresholds, PhaseAndProbe};
use crate::sim::rng::SimRng;
use crate::sim::{CallOutcome, Latency, LatencyModel, RegionCapacity, SimCloud};
use crate::store::{MemoryStore, SqliteStore, StateStore};
use crate::{ClusterIdentity, FleetName, FleetTags, ProviderName, RateLimit, RateLimits, Region};

/// Numbers the SQLite files of this process's runs.
static NEXT_FILE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Passes allowed for the fleet to converge once faults stop.
const FINAL_PASSES: usize = 60;

/// An add-on every chaos cluster gets, so that the engine fetches and uses credentials.
const DEFAULT_DENY: &str =
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny}\nspec: {podSelector: {}}\n";

/// What a failed check says.
pub(crate) type Violation = String;

pub(crate) struct World {
    rng: SimRng,
    fleet: FleetName,
    clouds: Vec<SimCloud>,
    store_kind: ChaosStore,
    store: Arc<dyn StateStore>,
    engine: Engine,
    controller: FailoverController,
    recorder: Arc<Recorder>,
    scenario: Scenario,
    addons: BTreeMap<String, Addon>,
    invariants: Invariants,
    pub(crate) report: ChaosReport,
}

fn name(text: &str) -> ProviderName {
    ProviderName::new(text).expect("a valid provider name")
}

fn region(text: &str) -> Region {
    Region::new(text).expect("a valid region")
}

/// A simulated cloud with minutes-long operations, a tight write budget and fixed call
/// latency (so that a call's arrival order is its sending order and the cloud's own rate
/// limit judges exactly the budget the engine keeps to).
fn cloud(provider: &str, regions: &[(&str, RegionCapacity)], seed: u64) -> SimCloud {
    let mut builder = SimCloud::builder(name(provider))
        .latency(
            LatencyModel::zero()
                .with_create(Latency::seconds(120, 360))
                .with_update(Latency::seconds(60, 180))
                .with_delete(Latency::seconds(30, 120))
                .with_calls(Latency::Fixed(Duration::from_millis(100)), Latency::Fixed(Duration::from_millis(200))),
        )
        .rate_limits(RateLimits::new(RateLimit::new(10.0, 20), RateLimit::new(2.0, 4)))
        .seed(seed);
    for (place, capacity) in regions {
        builder = builder.region(region(place), *capacity);
    }
    builder.build()
}

impl World {
    pub(crate) async fn new(seed: u64, options: &ChaosOptions) -> crate::Result<Self> {
        let mut rng = SimRng::new(seed);
        let fleet = FleetName::new("chaos").expect("a valid fleet name");
        let clouds = vec![
            cloud(
                "sim-a",
                &[("a-east", RegionCapacity::unlimited()), ("a-west", RegionCapacity::new(24, 1_000))],
                rng.next_u64(),
            ),
            cloud("sim-b", &[("b-central", RegionCapacity::unlimited())], rng.next_u64()),
        ];
        let foreign = plant_foreign_clusters(&clouds);
        let scenario = Scenario::new(fleet.clone(), places_of(&clouds), options.max_clusters, rng.next_u64());
        let mut invariants = Invariants::new(fleet.clone(), foreign);
        for identity in scenario.identities() {
            invariants.allow_create(identity);
        }
        let store_kind = if options.sqlite_every > 0 && seed.is_multiple_of(options.sqlite_every) {
            // Unique per run: runs of one seed may go on at once in one process.
            let run = NEXT_FILE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ChaosStore::Sqlite(options.sqlite_dir.join(format!("chaos-{seed}-{}-{run}.db", std::process::id())))
        } else {
            ChaosStore::Memory
        };
        let store = open_store(&store_kind, None).await?;
        let addons = BTreeMap::from([("network".to_owned(), Addon::new(DEFAULT_DENY))]);
        let recorder = Recorder::new(options.record_events);
        let (engine, controller) = start(&fleet, &clouds, &store, &scenario, &addons, &recorder, rng.next_u64())?;
        let report = ChaosReport { seed, store: store_kind.label(), ..ChaosReport::default() };
        Ok(Self {
            rng,
            fleet,
            clouds,
            store_kind,
            store,
            engine,
            controller,
            recorder,
            scenario,
            addons,
            invariants,
            report,
        })
    }

    /// The clouds of the run.
    pub(crate) fn clouds(&self) -> &[SimCloud] {
        &self.clouds
    }

    /// Every event heard, if the run records them.
    pub(crate) fn events(&self) -> Vec<String> {
        self.recorder.events()
    }

    /// The store of the run.
    pub(crate) fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    /// One step: maybe a spec change, a fault or a crash; a pass and a failover check; the
    /// checks; then some virtual time.
    pub(crate) async fn step(&mut self) -> crate::Result<Result<(), Violation>> {
        self.report.steps += 1;
        let mut crash = false;
        match pick_index(&mut self.rng, 20) {
            0..=7 => self.change_spec()?,
            8..=13 => {
                let mut counts = FaultCounts::default();
                faults::inject(&self.clouds, &mut self.rng, &mut counts);
                self.report.faults.add(&counts);
            }
            14..=16 => crash = true,
            _ => {}
        }
        if crash {
            let cutoff = self.rng.duration_between(Duration::ZERO, Duration::from_secs(30));
            let (engine, controller) = (self.engine.clone(), self.controller.clone());
            let pass = async move {
                let report = engine.run_once().await;
                let _ = controller.check_once().await;
                report
            };
            tokio::select! {
                report = pass => {
                    if let Err(violation) = self.judge_pass(report) {
                        return Ok(Err(violation));
                    }
                }
                () = tokio::time::sleep(cutoff) => self.crash_and_restart().await?,
            }
        } else if let Err(violation) = self.pass().await {
            return Ok(Err(violation));
        }
        let checked = self.check_always().await?;
        let pause = self.rng.duration_between(Duration::from_secs(5), Duration::from_secs(120));
        tokio::time::sleep(pause).await;
        Ok(checked)
    }

    /// Faults stop; the fleet must converge and every end-state invariant hold.
    pub(crate) async fn settle(&mut self) -> crate::Result<Result<(), Violation>> {
        for cloud in &self.clouds {
            cloud.clear_faults();
        }
        let mut converged_in_a_row = 0;
        let mut restarted = false;
        let mut last = None;
        for pass in 1..=FINAL_PASSES {
            let report = self.engine.run_once().await;
            let _ = self.controller.check_once().await;
            let report = match report {
                Ok(report) => report,
                Err(err) => return Ok(Err(format!("a pass fails once faults stop: {err}"))),
            };
            self.report.passes += 1;
            if let Err(violation) = self.check_always().await? {
                return Ok(Err(violation));
            }
            converged_in_a_row = if report.converged { converged_in_a_row + 1 } else { 0 };
            if converged_in_a_row == 2 {
                self.report.settle_passes = pass;
                let desired = self.scenario.desired(&self.addons);
                return self.invariants.check_converged(&self.clouds, self.store.as_ref(), &desired).await;
            }
            if report.halted.is_some() {
                self.engine.resume_rollout();
                self.report.rollouts_resumed += 1;
            }
            let failed = !report.failed.is_empty();
            last = Some(report);
            if failed && !restarted {
                // Clusters that failed for good (an injected permission or quota error) wait
                // for their spec to change; an operator who fixed the cause restarts instead.
                restarted = true;
                self.restart().await?;
                self.report.operator_restarts += 1;
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Ok(Err(format!(
            "the fleet converges once faults stop: not after {FINAL_PASSES} passes; wanted {:?}, providers hold {:?}; \
             the last pass: {last:?}",
            self.wanted(),
            self.ours()
        )))
    }

    /// Counts what the clouds saw, into the report.
    pub(crate) fn tally(&mut self) {
        for cloud in &self.clouds {
            for call in cloud.call_log() {
                self.report.calls += 1;
                if matches!(call.outcome, CallOutcome::Failed(_) | CallOutcome::ResponseLost) {
                    self.report.faulted_calls += 1;
                }
            }
            self.report.creates += cloud.creations().iter().filter(|c| c.fleet == self.fleet).count() as u64;
        }
        self.report.invariant_checks = self.invariants.checks();
    }

    /// Removes what the run left on disk.
    pub(crate) fn clean_up(&self) {
        if let ChaosStore::Sqlite(path) = &self.store_kind {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }

    fn wanted(&self) -> BTreeSet<ClusterIdentity> {
        self.scenario.identities().cloned().collect()
    }

    fn ours(&self) -> Vec<String> {
        self.clouds
            .iter()
            .flat_map(|c| c.clusters())
            .filter(|c| FleetTags::belongs_to(&c.tags, &self.fleet))
            .map(|c| format!("{} ({})", c.id, c.phase))
            .collect()
    }

    fn change_spec(&mut self) -> crate::Result<()> {
        match self.scenario.change() {
            Change::Added(identity) | Change::Replacing(identity) => self.invariants.allow_create(&identity),
            Change::Removed(_) | Change::InPlace(_) => {}
        }
        self.report.spec_changes += 1;
        self.engine.set_desired(self.scenario.desired(&self.addons))
    }

    async fn pass(&mut self) -> Result<(), Violation> {
        let report = self.engine.run_once().await;
        let _ = self.controller.check_once().await;
        self.judge_pass(report)
    }

    fn judge_pass(&mut self, report: crate::Result<ReconcileReport>) -> Result<(), Violation> {
        self.report.passes += 1;
        report.map(|_| ()).map_err(|err| format!("a pass never fails as a whole under provider faults: {err}"))
    }

    async fn check_always(&mut self) -> crate::Result<Result<(), Violation>> {
        let switches = self.recorder.switches();
        let verdict = self.invariants.check_always(&self.clouds, self.store.as_ref(), &switches).await?;
        match verdict {
            Ok(()) => Ok(Ok(())),
            Err(violation) => {
                let focus = std::env::var(super::history::FOCUS_VARIABLE).ok();
                let history = super::history::describe(&self.clouds, self.store.as_ref(), focus.as_deref()).await?;
                Ok(Err(format!("{violation}\n{history}")))
            }
        }
    }

    /// The process dies mid-pass: every task of the engine and the controller stops where it
    /// was; a new process starts from the store.
    async fn crash_and_restart(&mut self) -> crate::Result<()> {
        self.report.crashes += 1;
        self.restart().await
    }

    async fn restart(&mut self) -> crate::Result<()> {
        let store = open_store(&self.store_kind, Some(&self.store)).await?;
        let (engine, controller) = start(
            &self.fleet,
            &self.clouds,
            &store,
            &self.scenario,
            &self.addons,
            &self.recorder,
            self.rng.next_u64(),
        )?;
        // The old process's engine and controller go with it.
        self.engine = engine;
        self.controller = controller;
        self.store = store;
        Ok(())
    }
}

/// The store of a (re)starting process: the same memory store (it stands for durable
/// storage), or the SQLite file opened again.
async fn open_store(kind: &ChaosStore, previous: Option<&Arc<dyn StateStore>>) -> crate::Result<Arc<dyn StateStore>> {
    Ok(match (kind, previous) {
        (ChaosStore::Memory, Some(previous)) => Arc::clone(previous),
        (ChaosStore::Memory, None) => Arc::new(MemoryStore::new()),
        (ChaosStore::Sqlite(path), _) => {
            let fleet = FleetName::new("chaos").expect("a valid fleet name");
            Arc::new(SqliteStore::open(path, &fleet).await?.in_caller_thread())
        }
    })
}

/// An engine and a failover controller for the chaos fleet, on `store`, recording the
/// placement switches they make; their retry jitter comes from `jitter_seed`.
fn start(
    fleet: &FleetName,
    clouds: &[SimCloud],
    store: &Arc<dyn StateStore>,
    scenario: &Scenario,
    addons: &BTreeMap<String, Addon>,
    recorder: &Arc<Recorder>,
    jitter_seed: u64,
) -> crate::Result<(Engine, FailoverController)> {
    let options = EngineOptions {
        retry_initial: Duration::from_millis(200),
        retry_max: Duration::from_secs(10),
        max_attempts: 4,
        poll_initial: Duration::from_secs(5),
        poll_max: Duration::from_secs(20),
        reconcile_interval: Duration::from_secs(60),
        jitter_seed: Some(jitter_seed),
        ..EngineOptions::default()
    };
    let clock = clouds[0].clone();
    let mut builder =
        Engine::builder(fleet.clone()).options(options).store(Arc::clone(store)).clock(move || clock.wall_clock());
    for cloud in clouds {
        builder = builder
            .provider(Arc::new(cloud.provider(fleet.clone())))
            .addons_for(cloud.info().name.clone(), Arc::new(cloud.clone()));
    }
    let engine = builder.build()?;
    engine.set_desired(scenario.desired(addons))?;
    let policy = FailoverPolicy::new(vec![
        Fallback::new(name("sim-a"), vec![region("a-east"), region("a-west")]),
        Fallback::new(name("sim-b"), vec![region("b-central")]),
    ])
    .with_rto(Duration::from_secs(30 * 60));
    let failover = FailoverOptions {
        thresholds: LossThresholds::new(3, Duration::from_secs(60), 0.5),
        ..FailoverOptions::default()
    };
    let providers = engine.providers();
    let mut controller = FailoverController::builder(engine.clone()).policy(TEMPLATE, policy).options(failover);
    for cloud in clouds {
        let name = &cloud.info().name;
        if let Some(provider) = providers.get(name) {
            let check = PhaseAndProbe::new(Arc::clone(provider), Arc::new(cloud.clone()));
            controller = controller.health_check(name.clone(), Arc::new(check));
        }
    }
    let controller = controller.build()?;
    recorder.listen(&engine, &controller);
    Ok((engine, controller))
}
