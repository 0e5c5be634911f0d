//! A fleet of a million clusters in one process (`report --million`): the steady plan, the
//! memory a fleet takes resident (the process's own figures, not only what the planner
//! allocates), a steady engine pass with the memory store; and at a tenth of the size, what a
//! steady pass writes to SQLite and to etcd, a replica taking over a dead one's shards on etcd
//! ([`crate::etcd_scale`]), and convergence from empty and a region failover in virtual time
//! against their bounds ([`tenth_virtual_rows`]). Every cloud here is the **simulated** one; the
//! wall-clock figures have instant operations, so that what is measured is Fleet's own cost.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use fleet::engine::{Engine, EngineOptions};
use fleet::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet::model::{FleetName, ProviderName};
use fleet::plan::plan;
use fleet::provider::{Capabilities, RateLimit, RateLimits};
use fleet::sim::{ApiShape, SimCloud};
use fleet::store::{MemoryStore, SqliteStore, StateStore};
use fleet::{Error, Result};

use crate::plan_scale::fleet_state;
use crate::table::{Row, show};
use crate::{cluster_specs, instant_cloud};

/// The steady plan's target at a million clusters, on one core.
const PLAN_TARGET: Duration = Duration::from_millis(500);
/// A steady engine pass's target at a million clusters, wall time.
const PASS_TARGET: Duration = Duration::from_secs(2);

/// The process's resident memory now and at its peak (`VmRSS`, `VmHWM` of
/// `/proc/self/status`), in bytes; `None` where the system does not tell.
pub fn resident() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn unavailable(message: impl Into<String>) -> Error {
    Error::Unavailable { message: message.into() }
}

/// Engine options for `cloud` without API limits (the simulated cloud has none).
pub(crate) fn instant_options(cloud: &SimCloud) -> EngineOptions {
    let mut options = EngineOptions::default();
    let unlimited = RateLimit::new(1e9, u32::MAX);
    options.rate_limits.insert(cloud.info().name.clone(), RateLimits::new(unlimited, unlimited));
    options.concurrency_per_provider = 256;
    options
}

/// An engine over `cloud` on `store`, without API limits (the simulated cloud has none).
pub(crate) fn instant_engine(cloud: &SimCloud, fleet: &FleetName, store: Arc<dyn StateStore>) -> Result<Engine> {
    Engine::builder(fleet.clone())
        .provider(Arc::new(cloud.provider(fleet.clone())))
        .store(store)
        .options(instant_options(cloud))
        .build()
}

/// A simulated cloud already running `count` clusters of a fleet, that fleet as desired, and
/// the cloud's share of resident memory (bytes), which is not Fleet's.
pub(crate) fn running_fleet(count: usize) -> Result<(SimCloud, DesiredFleet, u64)> {
    let fleet = FleetName::new("bench")?;
    let cloud = instant_cloud("bench", 3, 1)?;
    let before = resident().map_or(0, |(now, _)| now);
    let specs = cluster_specs(&cloud, count)?;
    for spec in &specs {
        cloud.seed_running(&fleet, spec)?;
    }
    let desired = DesiredFleet::new(fleet, specs.into_iter().map(|s| DesiredCluster::new(s, "bench", 0)).collect());
    let cloud_share = resident().map_or(0, |(now, _)| now).saturating_sub(before);
    Ok((cloud, desired, cloud_share))
}

/// Runs passes until one is converged (at most `limit`), then times `steady` more: the
/// fastest steady pass.
pub(crate) async fn steady_pass(engine: &Engine, limit: usize, steady: usize) -> Result<Duration> {
    for _ in 0..limit {
        if engine.run_once().await?.converged {
            let mut fastest = Duration::MAX;
            for _ in 0..steady.max(1) {
                let started = Instant::now();
                let report = engine.run_once().await?;
                if !report.converged {
                    return Err(unavailable("a pass after convergence was not converged"));
                }
                fastest = fastest.min(started.elapsed());
            }
            return Ok(fastest);
        }
    }
    Err(unavailable(format!("not converged after {limit} passes")))
}

/// The fastest of `passes` steady engine passes over `count` running clusters with the memory
/// store, wall time.
///
/// # Errors
/// The engine's, or a fleet that does not converge in five passes.
pub fn steady_pass_time(count: usize, passes: usize) -> Result<Duration> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| unavailable(err.to_string()))?;
    let (cloud, desired, _) = running_fleet(count)?;
    let engine = instant_engine(&cloud, &desired.name, Arc::new(MemoryStore::new()))?;
    engine.set_desired(desired)?;
    runtime.block_on(steady_pass(&engine, 5, passes))
}

/// The rows of a fleet of `count` clusters, and of `tenth` clusters (the report passes a tenth
/// of `count`): on SQLite and on etcd with replicas' leases of `lease_ttl`
/// ([`crate::etcd_scale::etcd_rows`]), and from empty and through a region failover in virtual
/// time ([`tenth_virtual_rows`]).
///
/// # Errors
/// The engine's, the stores', or a fleet that does not converge.
pub fn million_rows(count: usize, tenth: usize, lease_ttl: Duration) -> Result<Vec<Row>> {
    let sqlite_count = tenth;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| unavailable(err.to_string()))?;
    let mut rows = Vec::new();
    let start = resident().map_or(0, |(now, _)| now);

    // The planner alone, over desired and observed state as the engine keeps them.
    let (desired, observed) = fleet_state(count)?;
    let state = resident().map_or(0, |(now, _)| now).saturating_sub(start);
    rows.push(Row::info(
        format!("desired + observed state per cluster, resident ({count} clusters)"),
        format!("{} B", state / count.max(1) as u64),
    ));
    let capabilities = std::collections::BTreeMap::from([(ProviderName::new("bench")?, Capabilities::all())]);
    let mut fastest = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let planned = plan(&desired, &observed, &capabilities, SystemTime::now());
        fastest = fastest.min(started.elapsed());
        drop(planned);
    }
    rows.push(
        Row::judged(
            format!("plan {count} clusters, steady state"),
            show(fastest),
            "< 500 ms (one core)",
            fastest < PLAN_TARGET,
        )
        .against(show(PLAN_TARGET), fastest.as_secs_f64() / PLAN_TARGET.as_secs_f64()),
    );
    drop((desired, observed));

    // A steady engine pass with the memory store, and the process's peak memory per cluster
    // less the simulated cloud's share.
    let (cloud, desired, cloud_share) = running_fleet(count)?;
    let engine = instant_engine(&cloud, &desired.name, Arc::new(MemoryStore::new()))?;
    engine.set_desired(desired)?;
    let pass = runtime.block_on(steady_pass(&engine, 5, 3))?;
    rows.push(
        Row::judged(
            format!("engine pass over {count} clusters, steady, memory store (wall)"),
            show(pass),
            "< 2 s",
            pass < PASS_TARGET,
        )
        .against(show(PASS_TARGET), pass.as_secs_f64() / PASS_TARGET.as_secs_f64()),
    );
    if let Some((_, peak)) = resident() {
        let fleets = peak.saturating_sub(start).saturating_sub(cloud_share) / count.max(1) as u64;
        rows.push(Row::kib_per_cluster(
            format!("peak resident memory per cluster, less the simulated cloud's ({count} clusters)"),
            fleets,
        ));
        rows.push(Row::info(
            format!("the simulated cloud's resident memory per cluster ({count} clusters)"),
            format!("{} B", cloud_share / count.max(1) as u64),
        ));
    }
    drop(engine);
    drop(cloud);

    // What a steady pass writes to SQLite.
    let dir = std::env::temp_dir().join(format!("fleet-million-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|err| unavailable(err.to_string()))?;
    let written = runtime.block_on(async {
        let (cloud, desired, _) = running_fleet(sqlite_count)?;
        let store = Arc::new(SqliteStore::open(dir.join("state.db"), &desired.name).await?);
        let engine = instant_engine(&cloud, &desired.name, store.clone())?;
        engine.set_desired(desired)?;
        for _ in 0..5 {
            if engine.run_once().await?.converged {
                break;
            }
        }
        let before = store.rows_written();
        let report = engine.run_once().await?;
        Ok::<_, Error>((report.converged, store.rows_written() - before))
    });
    let _ = std::fs::remove_dir_all(&dir);
    let (converged, written) = written?;
    rows.push(
        Row::judged(
            format!("SQLite store: rows a steady pass writes ({sqlite_count} clusters)"),
            format!("{written}"),
            "0 (nothing changed)",
            converged && written == 0,
        )
        .against("0", written as f64),
    );
    rows.extend(crate::etcd_scale::etcd_rows(tenth, lease_ttl)?);
    rows.extend(tenth_virtual_rows(tenth)?);
    Ok(rows)
}

/// Convergence from empty of `count` clusters in virtual time on the generic, GKE- and
/// AKS-shaped APIs, and a region failover on the generic API, each judged against its bound,
/// with the wall time each run took beside it. Not the EKS shape's convergence (its observation
/// describes every cluster at 10 reads/s: 3.7 minutes of wall time at 20,000 clusters, growing
/// with the square of the size), nor the other shapes' failover (the generic one takes minutes
/// at 100,000): the report's own runs at 1,000 clusters have every shape.
///
/// # Errors
/// The engine's, or a fleet that does not converge (or recover) in the runs' time limits.
pub fn tenth_virtual_rows(count: usize) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for shape in [ApiShape::Generic, ApiShape::Gke, ApiShape::Aks] {
        let started = Instant::now();
        let (convergence, _) = crate::convergence::virtual_convergence_shapes(count, &[shape])?;
        rows.extend(convergence);
        rows.push(Row::info(
            format!("the run above, {shape} API, {count} clusters from empty (wall)"),
            show(started.elapsed()),
        ));
    }
    let started = Instant::now();
    let (failover, _) = crate::failover_scale::failover_shapes(count, &[ApiShape::Generic])?;
    rows.extend(failover);
    rows.push(Row::info(
        format!("the run above, generic API, failover of {count} clusters (wall)"),
        show(started.elapsed()),
    ));
    Ok(rows)
}
