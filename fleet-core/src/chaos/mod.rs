//! The deterministic chaos suite: random fleets, random spec changes and seeded faults on the
//! simulated clouds ([`crate::sim`], **not real clouds**), in virtual time, with Fleet's
//! invariants checked after every step and once the fleet converges.
//!
//! A run is a pure function of its seed: the fleet, the changes, the faults (failed calls,
//! throttling, lost responses, region and provider outages) and the process crashes (the
//! engine and the failover controller stop mid-pass and restart from the store, a
//! [`MemoryStore`](crate::store::MemoryStore) or an SQLite file opened again) all come from
//! it. When a check fails, [`ChaosFailure`] says which, at which step, what happened last,
//! and the command that replays exactly that run; replayed with [`FOCUS_VARIABLE`] set to a
//! cluster name, it shows every call, event and intent about that cluster.
//!
//! The invariants:
//! - no duplicate create: no identity gets more clusters than its additions, replacing
//!   changes and failovers call for;
//! - no orphan: once converged, every cluster with the fleet's tags is known to the store;
//! - never two active placements: each generation of an identity's placement made one
//!   cluster active, and a converged identity has exactly one cluster, its active placement;
//! - never a call over the API budget: no cloud refuses a call by its own rate limit;
//! - never a change to an untagged or foreign cluster, and those are never deleted;
//! - every intent resolved, and the fleet converges once faults stop.
//!
//! [`Invariants`] and [`Scenario`] are public, so that other setups (several replicas on etcd,
//! in `fleet-etcd`'s tests) check the same things.
//!
//! ```
//! use fleet_core::chaos::{ChaosOptions, run_seed};
//! # tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap().block_on(async {
//! let mut options = ChaosOptions::default();
//! options.steps = 6;
//! let run = run_seed(7, &options).await.unwrap();
//! assert_eq!(run.report.steps, 6);
//! assert!(run.report.invariant_checks > 0);
//! # });
//! ```

mod faults;
mod history;
mod invariants;
mod recorder;
mod scenario;
mod world;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

pub use faults::FaultCounts;
pub use history::FOCUS_VARIABLE;
pub use invariants::{Invariants, Switch};
pub use scenario::{Change, Scenario, TEMPLATE, places_of, plant_foreign_clusters};

use crate::sim::SimCloud;
use crate::store::StateStore;

/// How chaos runs are shaped.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChaosOptions {
    /// Steps per run (each: maybe a change, a fault or a crash, then a pass).
    pub steps: usize,
    /// Clusters a fleet has at most.
    pub max_clusters: usize,
    /// One seed in this many uses an SQLite file as its store (0: none); the others use memory.
    pub sqlite_every: u64,
    /// Where the SQLite files go.
    pub sqlite_dir: PathBuf,
    /// Whether the run keeps every engine and failover event, as printed, in
    /// [`ChaosRun::events`].
    pub record_events: bool,
}

impl Default for ChaosOptions {
    fn default() -> Self {
        Self { steps: 30, max_clusters: 8, sqlite_every: 5, sqlite_dir: std::env::temp_dir(), record_events: false }
    }
}

/// The store a run used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChaosStore {
    Memory,
    Sqlite(PathBuf),
}

impl ChaosStore {
    fn label(&self) -> &'static str {
        match self {
            ChaosStore::Memory => "memory",
            ChaosStore::Sqlite(_) => "sqlite",
        }
    }
}

/// What one run (or many, summed) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChaosReport {
    /// The seed (the last one, when summed).
    pub seed: u64,
    /// `memory` or `sqlite`.
    pub store: &'static str,
    /// Steps taken.
    pub steps: u64,
    /// Spec changes made.
    pub spec_changes: u64,
    /// Faults injected, by kind.
    pub faults: FaultCounts,
    /// Provider calls that failed or lost their response.
    pub faulted_calls: u64,
    /// Provider calls made.
    pub calls: u64,
    /// Clusters created.
    pub creates: u64,
    /// Process crashes survived (engine and controller stopped mid-pass and restarted).
    pub crashes: u64,
    /// Reconcile passes run.
    pub passes: u64,
    /// Passes it took to converge once faults stopped.
    pub settle_passes: usize,
    /// Restarts after faults stopped, for clusters that had failed for good.
    pub operator_restarts: u64,
    /// Halted rollouts resumed after faults stopped.
    pub rollouts_resumed: u64,
    /// Invariant checks made.
    pub invariant_checks: u64,
}

impl ChaosReport {
    /// Adds another run's counts to these.
    pub fn add(&mut self, other: &ChaosReport) {
        self.seed = other.seed;
        self.steps += other.steps;
        self.spec_changes += other.spec_changes;
        self.faults.add(&other.faults);
        self.faulted_calls += other.faulted_calls;
        self.calls += other.calls;
        self.creates += other.creates;
        self.crashes += other.crashes;
        self.passes += other.passes;
        self.settle_passes = self.settle_passes.max(other.settle_passes);
        self.operator_restarts += other.operator_restarts;
        self.rollouts_resumed += other.rollouts_resumed;
        self.invariant_checks += other.invariant_checks;
    }
}

impl fmt::Display for ChaosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} steps, {} spec changes, {} faults injected {:?}, {} of {} calls faulted, {} creates, {} crashes \
             survived, {} passes (at most {} to settle), {} restarts and {} rollouts resumed after faults, {} \
             invariant checks",
            self.steps,
            self.spec_changes,
            self.faults.total(),
            self.faults.by_kind,
            self.faulted_calls,
            self.calls,
            self.creates,
            self.crashes,
            self.passes,
            self.settle_passes,
            self.operator_restarts,
            self.rollouts_resumed,
            self.invariant_checks
        )
    }
}

/// A finished run: what it did, and the clouds and store it left, for further checks.
pub struct ChaosRun {
    /// What it did.
    pub report: ChaosReport,
    /// The simulated clouds, with their call logs.
    pub clouds: Vec<SimCloud>,
    /// The store the last process used.
    pub store: Arc<dyn StateStore>,
    /// Every engine and failover event, `Debug`-printed, when [`ChaosOptions::record_events`].
    pub events: Vec<String>,
}

/// A run whose invariant broke, or that could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChaosFailure {
    /// The seed.
    pub seed: u64,
    /// The step it broke at (the steps count, plus one for the settling phase).
    pub step: usize,
    /// Which invariant, and how it broke.
    pub violation: String,
    /// The options' step count, for the replay.
    pub steps: usize,
}

impl ChaosFailure {
    /// A failure of `seed`'s run (with `steps` steps) at `step`.
    pub fn new(seed: u64, step: usize, violation: String, steps: usize) -> Self {
        Self { seed, step, violation, steps }
    }

    /// The command that replays this run exactly.
    pub fn replay(&self) -> String {
        format!(
            "FLEET_CHAOS_SEED={} FLEET_CHAOS_STEPS={} cargo test -p fleet-core --features chaos --test chaos -- \
             --nocapture",
            self.seed, self.steps
        )
    }
}

impl fmt::Display for ChaosFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chaos seed {} broke at step {}: {}\nreplay: {}", self.seed, self.step, self.violation, self.replay())
    }
}

impl std::error::Error for ChaosFailure {}

/// Runs the chaos scenario of `seed` under `options`. Call it on a current-thread runtime
/// with paused time (as [`run_seed_blocking`] does) for a deterministic run.
pub async fn run_seed(seed: u64, options: &ChaosOptions) -> Result<ChaosRun, ChaosFailure> {
    let fail = |step: usize, violation: String| ChaosFailure { seed, step, violation, steps: options.steps };
    let mut world = world::World::new(seed, options).await.map_err(|err| fail(0, format!("setup: {err}")))?;
    let outcome = async {
        for step in 1..=options.steps {
            match world.step().await {
                Ok(Ok(())) => {}
                Ok(Err(violation)) => return Err(fail(step, violation)),
                Err(err) => return Err(fail(step, format!("the harness failed: {err}"))),
            }
        }
        match world.settle().await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(violation)) => Err(fail(options.steps + 1, violation)),
            Err(err) => Err(fail(options.steps + 1, format!("the harness failed: {err}"))),
        }
    }
    .await;
    world.tally();
    world.clean_up();
    outcome?;
    Ok(ChaosRun {
        report: world.report.clone(),
        clouds: world.clouds().to_vec(),
        store: Arc::clone(world.store()),
        events: world.events(),
    })
}

/// [`run_seed`] on a fresh current-thread runtime with paused time: a run that depends on
/// nothing but its seed.
pub fn run_seed_blocking(seed: u64, options: &ChaosOptions) -> Result<ChaosRun, ChaosFailure> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().map_err(|err| {
            ChaosFailure { seed, step: 0, violation: format!("no runtime: {err}"), steps: options.steps }
        })?;
    runtime.block_on(run_seed(seed, options))
}
