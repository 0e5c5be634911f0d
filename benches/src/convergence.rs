//! Convergence from empty: the engine's own cost with instant operations (wall time, and next
//! to Cluster API's in-memory provider), and with realistic latencies and API limits in
//! virtual time against the lower bound those limits force; for charts, when each cluster
//! started running and the earliest it could have.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet::engine::{Engine, EngineOptions};
use fleet::failover::earliest_finishes;
use fleet::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet::model::{FleetName, ProviderName, Region};
use fleet::provider::{RateLimit, RateLimits};
use fleet::sim::{ApiShape, Latency, LatencyModel, RegionCapacity, SimCloud};
use fleet::{Error, Result};
use tokio_util::sync::CancellationToken;

use crate::charts::Finishes;
use crate::table::{Row, show};
use crate::{cluster_specs, instant_cloud};

/// Cluster API's in-memory provider is reported to bring 1,000 clusters up in about 15
/// minutes on a laptop.
const CAPI_IN_MEMORY_1000: Duration = Duration::from_secs(15 * 60);
const ZERO_LATENCY_TARGET: Duration = Duration::from_secs(2);
/// Each create takes this long at the simulated provider.
const CREATE: Duration = Duration::from_secs(7 * 60);
/// How often, in virtual time, a run looks at every cluster once every create is made; the
/// time taken is read from when each cluster started running, not from when it was seen.
const LOOK: Duration = Duration::from_secs(10);

fn runtime(paused: bool) -> Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_time();
    if paused {
        builder.start_paused(true);
    }
    builder.build().map_err(|err| Error::Unavailable { message: format!("no runtime: {err}") })
}

fn desired(fleet: &FleetName, specs: Vec<fleet::ClusterSpec>) -> DesiredFleet {
    DesiredFleet::new(fleet.clone(), specs.into_iter().map(|s| DesiredCluster::new(s, "bench", 0)).collect())
}

/// Wall time for `count` clusters from empty on an instant, unthrottled cloud.
fn zero_latency(count: usize) -> Result<Duration> {
    runtime(false)?.block_on(async {
        let fleet = FleetName::new("bench")?;
        let cloud = instant_cloud("bench", 3, 1)?;
        let specs = cluster_specs(&cloud, count)?;
        let mut options = EngineOptions::default();
        let unlimited = RateLimit::new(1e9, u32::MAX);
        options.rate_limits.insert(cloud.info().name.clone(), RateLimits::new(unlimited, unlimited));
        options.concurrency_per_provider = count.max(1);
        let engine = Engine::builder(fleet.clone())
            .provider(Arc::new(cloud.provider(fleet.clone())))
            .options(options)
            .build()?;
        let started = Instant::now();
        engine.set_desired(desired(&fleet, specs))?;
        for _ in 0..10 {
            if engine.run_once().await?.converged {
                return Ok(started.elapsed());
            }
        }
        Err(Error::Timeout { message: "the fleet did not converge in 10 passes".into() })
    })
}

/// Virtual time for `count` clusters from empty when each create takes [`CREATE`] on an API
/// of `shape` with `limits`; and, labelled `label`, when each cluster started running and the
/// lower bound's curve: a create cannot start before the budget lets its call through, and
/// takes [`CREATE`] (the bound is its latest finish).
fn realistic(count: usize, shape: ApiShape, limits: RateLimits, label: String) -> Result<(Duration, Finishes)> {
    let writes = limits.writes;
    runtime(true)?.block_on(async {
        let fleet = FleetName::new("bench")?;
        let latency = LatencyModel::zero()
            .with_create(Latency::Fixed(CREATE))
            .with_calls(Latency::Fixed(Duration::from_millis(100)), Latency::Fixed(Duration::from_millis(200)));
        let mut builder = SimCloud::builder(ProviderName::new("bench")?)
            .api_shape(shape)
            .latency(latency)
            .rate_limits(limits)
            .seed(3);
        for n in 0..3 {
            builder = builder.region(Region::new(format!("r{n}"))?, RegionCapacity::unlimited());
        }
        let cloud = builder.build();
        let specs = cluster_specs(&cloud, count)?;
        let mut options = EngineOptions::default();
        options.concurrency_per_provider = count.max(1);
        options.poll_initial = Duration::from_secs(5);
        options.poll_max = Duration::from_secs(10);
        let engine = Engine::builder(fleet.clone())
            .provider(Arc::new(cloud.provider(fleet.clone())))
            .options(options)
            .build()?;
        let started = tokio::time::Instant::now();
        let wall_start = cloud.wall_clock();
        engine.set_desired(desired(&fleet, specs))?;
        let cancel = CancellationToken::new();
        let running = tokio::spawn({
            let (engine, cancel) = (engine.clone(), cancel.clone());
            async move { engine.run(cancel).await }
        });
        let bound = earliest_finishes(count, writes, count.max(1), CREATE);
        let latest = bound.iter().max().copied().unwrap_or_default();
        // Twice the bound, and at least six hours.
        let limit = (2 * latest).max(Duration::from_secs(6 * 3600));
        let timeout = || Error::Timeout { message: format!("the fleet did not converge in {}", show(limit)) };
        // Until every create is made the cloud's counter is enough (a copy of every cluster
        // each virtual second would cost more than the engine at 100,000 clusters); then every
        // cluster is looked at until all run.
        while cloud.clusters_created() < count as u64 {
            if started.elapsed() > limit {
                return Err(timeout());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        while cloud.clusters().iter().filter(|c| c.phase.is_running()).count() < count {
            if started.elapsed() > limit {
                return Err(timeout());
            }
            tokio::time::sleep(LOOK).await;
        }
        let seen = started.elapsed();
        cancel.cancel();
        let _ = running.await;
        // A simulated cluster's last change is when it started running (nothing changed it
        // since), by the cloud's wall clock; the latest is when the fleet converged.
        let measured: Vec<Duration> = cloud
            .clusters()
            .iter()
            .map(|c| c.updated_at.and_then(|at| at.duration_since(wall_start).ok()).unwrap_or(seen))
            .collect();
        let took = measured.iter().max().copied().unwrap_or(seen);
        Ok((took, Finishes { label, measured, bound }))
    })
}

/// The convergence rows for `count` clusters.
pub fn convergence_rows(count: usize) -> Result<Vec<Row>> {
    Ok(convergence_runs(count)?.0)
}

/// [`convergence_rows`], and the runs of [`virtual_convergence_runs`] for charts.
pub fn convergence_runs(count: usize) -> Result<(Vec<Row>, Vec<Finishes>)> {
    let wall = zero_latency(count)?;
    let label = format!("{count} clusters from empty, zero latency (wall)");
    let mut rows = vec![if count >= 1000 {
        Row::judged(label, show(wall), "< 2 s", wall < ZERO_LATENCY_TARGET)
    } else {
        Row::info(label, show(wall))
    }];
    let per_thousand = wall.mul_f64(1000.0 / count.max(1) as f64);
    rows.push(Row::info("same, scaled to 1000 clusters, next to Cluster API in-memory", show(per_thousand)).against(
        "about 15 min (CAPI in-memory provider, 1000 clusters)",
        per_thousand.as_secs_f64() / CAPI_IN_MEMORY_1000.as_secs_f64(),
    ));
    let (virtual_rows, runs) = virtual_convergence_runs(count)?;
    rows.extend(virtual_rows);
    Ok((rows, runs))
}

/// The convergence rows for `count` clusters measured in virtual time: the generic API and each
/// API shape at its limits, against their bounds. Deterministic, so that tests can hold them.
pub fn virtual_convergence_rows(count: usize) -> Result<Vec<Row>> {
    Ok(virtual_convergence_runs(count)?.0)
}

/// [`virtual_convergence_rows`], and per run (generic API first, then each shape) when each
/// cluster started running and its bound, from the moment the desired fleet was set.
pub fn virtual_convergence_runs(count: usize) -> Result<(Vec<Row>, Vec<Finishes>)> {
    virtual_convergence_shapes(count, &ApiShape::ALL)
}

/// [`virtual_convergence_runs`] on the APIs of `shapes` only, in that order: the generic API at
/// 100 reads/s and 5 writes/s, any other shape at its own limits.
pub fn virtual_convergence_shapes(count: usize, shapes: &[ApiShape]) -> Result<(Vec<Row>, Vec<Finishes>)> {
    let (mut rows, mut runs) = (Vec::new(), Vec::new());
    for &shape in shapes {
        let (limits, figure) = if shape == ApiShape::Generic {
            let limits = RateLimits::new(RateLimit::new(100.0, 200), RateLimit::new(5.0, 20));
            (limits, format!("{count} clusters from empty, 7-min creates, 5 writes/s (virtual)"))
        } else {
            let limits = shape.rate_limits();
            let figure = format!(
                "{shape} API: {count} clusters from empty, 7-min creates, {} reads/s, {} writes/s (virtual)",
                limits.reads.per_second, limits.writes.per_second
            );
            (limits, figure)
        };
        let (took, finishes) = realistic(count, shape, limits, format!("{shape} API"))?;
        rows.push(judged(figure, took, &finishes));
        runs.push(finishes);
    }
    Ok((rows, runs))
}

/// A convergence row: `took` against the bound (the latest of `finishes`' bound), within 1.05x.
fn judged(figure: String, took: Duration, finishes: &Finishes) -> Row {
    let bound = finishes.bound.iter().max().copied().unwrap_or_default();
    let ratio = took.as_secs_f64() / bound.as_secs_f64().max(1e-9);
    Row::judged(figure, show(took), "<= 1.05x bound", ratio <= 1.05)
        .against(format!("{} (create + write queueing)", show(bound)), ratio)
}
