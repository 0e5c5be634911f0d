//! Incremental passes: what a pass that changes a few clusters costs next to a steady pass, at
//! two fleet sizes. It should grow with what changed, not with the fleet: the same changes
//! make the same store writes in a fleet ten times the size, and add about the same wall time
//! to a pass. The cloud is the **simulated** one with instant operations, the
//! store the memory store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet::store::{MemoryStore, StateStore};
use fleet::{Error, Result};

use crate::million::{instant_engine, running_fleet, steady_pass};
use crate::table::{Row, show};

/// What a pass changing some clusters cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangedPass {
    /// Writes it made to the store (the memory store's revision moved by this many).
    pub writes: u64,
    /// Its wall time.
    pub took: Duration,
    /// The fastest of two steady passes of the same fleet before it, wall time.
    pub steady: Duration,
}

/// A pass in which `changed` of `count` running clusters, spread over the fleet, get a new
/// label (an update each).
///
/// # Errors
/// The engine's; a fleet that does not converge; a plan that is not `changed` updates.
pub fn changed_pass(count: usize, changed: usize) -> Result<ChangedPass> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::Unavailable { message: err.to_string() })?;
    let (cloud, desired, _) = running_fleet(count)?;
    let store = Arc::new(MemoryStore::new());
    let engine = instant_engine(&cloud, &desired.name, store.clone())?;
    engine.set_desired(desired.clone())?;
    runtime.block_on(async {
        let steady = steady_pass(&engine, 5, 2).await?;
        let mut changed_fleet = desired;
        let step = (count / changed.max(1)).max(1);
        for cluster in changed_fleet.clusters.iter_mut().step_by(step).take(changed) {
            cluster.spec.labels.insert("changed".into(), "yes".into());
        }
        engine.set_desired(changed_fleet)?;
        let before = store.revision().unwrap_or_default();
        let started = Instant::now();
        let report = engine.run_once().await?;
        let took = started.elapsed();
        if report.planned.update != changed || report.succeeded != changed {
            return Err(Error::Unavailable { message: format!("expected {changed} updates, the pass did {report:?}") });
        }
        let writes = store.revision().unwrap_or_default() - before;
        Ok(ChangedPass { writes, took, steady })
    })
}

/// The rows: `changed` clusters changed in a fleet of `count / 10` and of `count`.
///
/// # Errors
/// As [`changed_pass`].
pub fn incremental_rows(count: usize, changed: usize) -> Result<Vec<Row>> {
    let small_count = count / 10;
    let small = changed_pass(small_count, changed)?;
    let large = changed_pass(count, changed)?;
    let label = |size: usize| format!("a pass changing {changed} of {size} clusters");
    // Wall times side by side: at a million clusters a steady pass varies by more than the
    // changes cost, so their difference alone would say little.
    let times = |pass: &ChangedPass| format!("{} (a steady pass: {})", show(pass.took), show(pass.steady));
    Ok(vec![
        Row::info(
            format!("{}: store writes, wall time", label(small_count)),
            format!("{} writes, {}", small.writes, times(&small)),
        ),
        Row::judged(
            format!("{}: store writes", label(count)),
            large.writes.to_string(),
            format!("= at {small_count} clusters"),
            large.writes == small.writes,
        )
        .against(small.writes.to_string(), large.writes as f64 / small.writes.max(1) as f64),
        Row::info(format!("{}: wall time", label(count)), times(&large)),
    ])
}
