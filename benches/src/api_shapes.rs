//! Observing a steady fleet on each simulated API shape, in virtual time: read calls and time
//! per steady engine pass against the fewest the shape allows (its list pages, plus, where the
//! API lists names only, the describes of the resync share), and how soon a cluster deleted or
//! broken behind Fleet's back is noticed.

use std::sync::Arc;
use std::time::Duration;

use fleet::engine::{Engine, EngineOptions};
use fleet::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet::model::{ClusterPhase, FleetName, ProviderName, Region};
use fleet::sim::{ApiShape, LatencyModel, RegionCapacity, SimCloud, SimProvider};
use fleet::{Cluster, Error, Result};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::cluster_specs;
use crate::table::{Row, show};

/// Time between the engine's passes.
const INTERVAL: Duration = Duration::from_secs(60);
/// Regions the fleet is spread over.
const REGIONS: usize = 2;
/// Steady passes measured.
const PASSES: usize = 12;

/// The longest a deleted cluster may go unseen: until the end of the pass after the next,
/// plus the second at which the test looks.
fn next_pass(pass_time: Duration) -> Duration {
    INTERVAL + pass_time.mul_f64(2.0) + Duration::from_secs(1)
}

/// What steady observation cost on one shape.
#[derive(Debug, Clone)]
pub struct SteadyFigures {
    /// The API shape.
    pub shape: ApiShape,
    /// Clusters in the fleet.
    pub clusters: usize,
    /// Read calls per steady pass, on average.
    pub reads_per_pass: f64,
    /// The fewest read calls per pass the shape allows.
    pub bound_per_pass: f64,
    /// Write calls in the steady passes (none are wanted).
    pub writes: u64,
    /// Virtual time per steady pass, on average.
    pub pass_time: Duration,
    /// The least time the bound's calls take at the shape's read rate, after its burst.
    pub pass_time_bound: Duration,
    /// The interval within which a steady cluster is described again (zero: every list sees
    /// every change).
    pub resync: Duration,
    /// From a cluster's deletion behind Fleet's back to the end of the pass that saw it gone.
    pub notice_deleted: Duration,
    /// From a cluster's failure behind Fleet's back to the end of the pass that saw it failed.
    pub notice_failed: Duration,
}

impl SteadyFigures {
    /// Calls over the bound.
    pub fn ratio(&self) -> f64 {
        self.reads_per_pass / self.bound_per_pass.max(1e-9)
    }

    /// The longest a change behind Fleet's back may go unseen: the resync interval (where
    /// the shape has one), plus one interval between passes and one pass.
    pub fn notice_bound(&self) -> Duration {
        self.resync + next_pass(self.pass_time)
    }
}

fn shaped_cloud(shape: ApiShape) -> Result<SimCloud> {
    let mut builder =
        SimCloud::builder(ProviderName::new(format!("sim-{shape}"))?).api_shape(shape).latency(LatencyModel::zero());
    for index in 0..REGIONS {
        builder = builder.region(Region::new(format!("r{index}"))?, RegionCapacity::unlimited());
    }
    Ok(builder.seed(5).build())
}

/// Read calls from position `since` of `cloud`'s log, and write calls.
fn reads_and_writes(cloud: &SimCloud, since: u64) -> (u64, u64) {
    cloud.call_counts(since).into_iter().fold((0, 0), |(reads, writes), (operation, count)| {
        if operation.is_write() { (reads, writes + count) } else { (reads + count, writes) }
    })
}

/// Runs the engine as a service does until `seen` holds of what it observed (looked at every
/// virtual second); the virtual time that took.
async fn run_until(engine: &Engine, seen: impl Fn(&[Cluster]) -> bool) -> Result<Duration> {
    let started = Instant::now();
    let cancel = CancellationToken::new();
    let running = tokio::spawn({
        let (engine, cancel) = (engine.clone(), cancel.clone());
        async move { engine.run(cancel).await }
    });
    let mut noticed = None;
    for _ in 0..(24 * 3600) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if seen(&engine.observed()) {
            noticed = Some(started.elapsed());
            break;
        }
    }
    cancel.cancel();
    let _ = running.await;
    noticed
        .ok_or_else(|| Error::Timeout { message: "a change behind the fleet's back went unnoticed for a day".into() })
}

/// Seeds `count` running clusters on a cloud of `shape`, converges an engine on them, and
/// measures its steady passes and how soon it notices changes made behind its back.
pub async fn steady(shape: ApiShape, count: usize) -> Result<SteadyFigures> {
    let fleet = FleetName::new("bench")?;
    let cloud = shaped_cloud(shape)?;
    let specs = cluster_specs(&cloud, count)?;
    for spec in &specs {
        cloud.seed_running(&fleet, spec)?;
    }
    let provider: SimProvider = cloud.provider(fleet.clone());
    let mut options = EngineOptions::default();
    options.reconcile_interval = INTERVAL;
    let engine = Engine::builder(fleet.clone()).provider(Arc::new(provider.clone())).options(options).build()?;
    let desired = specs.iter().cloned().map(|spec| DesiredCluster::new(spec, "bench", 0)).collect();
    engine.set_desired(DesiredFleet::new(fleet.clone(), desired))?;
    engine.run_once().await?;
    // The first pass described every cluster, over a long stretch where the fleet is large:
    // passes for one resync interval let the resyncs spread as they will stay.
    let first_seen = Instant::now();
    while first_seen.elapsed() < provider.resync_interval() {
        tokio::time::sleep(INTERVAL).await;
        engine.run_once().await?;
    }
    let warm_end = Instant::now();

    let since = cloud.calls_made();
    let mut busy = Duration::ZERO;
    for _ in 0..PASSES {
        tokio::time::sleep(INTERVAL).await;
        let started = Instant::now();
        let report = engine.run_once().await?;
        busy += started.elapsed();
        if !report.converged {
            return Err(Error::Provider { message: format!("{shape}: a steady pass was not converged"), source: None });
        }
    }
    let window = warm_end.elapsed();
    let (reads, writes) = reads_and_writes(&cloud, since);
    let resync = provider.resync_interval();
    let per_region: Vec<usize> = (0..REGIONS).map(|r| count / REGIONS + usize::from(r < count % REGIONS)).collect();
    let resync_describes =
        if resync.is_zero() { 0.0 } else { count as f64 * window.as_secs_f64() / resync.as_secs_f64() };
    let pages = shape.list_calls(&per_region, 0) as f64;
    let bound = PASSES as f64 * pages + shape.calls_per_describe() as f64 * resync_describes;
    let bound_per_pass = bound / PASSES as f64;
    let limit = cloud.info().rate_limits.reads;
    let pass_time_bound =
        Duration::from_secs_f64((bound_per_pass - f64::from(limit.burst)).max(0.0) / limit.per_second);

    let broken = specs[0].id.clone();
    let deleted = specs[count / 2].id.clone();
    let deleted_provider_id = engine
        .observed()
        .into_iter()
        .find(|cluster| cluster.id == deleted)
        .map(|cluster| cluster.provider_id)
        .ok_or_else(|| Error::Provider { message: format!("{shape}: `{deleted}` was not observed"), source: None })?;
    cloud.remove_cluster(&deleted);
    let notice_deleted = run_until(&engine, |seen| seen.iter().all(|c| c.provider_id != deleted_provider_id)).await?;
    cloud.break_cluster(&broken, "broken behind the fleet's back");
    let notice_failed = run_until(&engine, |seen| {
        seen.iter().any(|c| c.id == broken && matches!(c.phase, ClusterPhase::Failed { .. }))
    })
    .await?;

    Ok(SteadyFigures {
        shape,
        clusters: count,
        reads_per_pass: reads as f64 / PASSES as f64,
        bound_per_pass,
        writes,
        pass_time: busy / PASSES as u32,
        pass_time_bound,
        resync,
        notice_deleted,
        notice_failed,
    })
}

/// The rows of every shape at each of `sizes`.
pub fn api_shape_rows(sizes: &[usize]) -> Result<Vec<Row>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|err| Error::Unavailable { message: format!("no runtime: {err}") })?;
    let mut rows = Vec::new();
    for &count in sizes {
        for shape in ApiShape::ALL {
            let figures = runtime.block_on(steady(shape, count))?;
            rows.extend(rows_of(&figures));
        }
    }
    Ok(rows)
}

fn rows_of(figures: &SteadyFigures) -> Vec<Row> {
    let (shape, count) = (figures.shape, figures.clusters);
    let limit = shape.rate_limits().reads;
    let ratio = figures.ratio();
    let resync = if figures.resync.is_zero() { "every list".to_owned() } else { show(figures.resync) };
    vec![
        Row::judged(
            format!("{shape} API: {count} clusters, read calls per steady pass"),
            format!("{:.1}", figures.reads_per_pass),
            "<= 1.1x bound, no writes",
            ratio <= 1.1 && figures.writes == 0,
        )
        .against(format!("{:.1} (list pages + resync share)", figures.bound_per_pass), ratio),
        Row::info(
            format!("{shape} API: {count} clusters, virtual time per steady pass at {} reads/s", limit.per_second),
            show(figures.pass_time),
        )
        .against(
            format!("{} (bound calls past the burst at the read rate)", show(figures.pass_time_bound)),
            figures.pass_time.as_secs_f64() / figures.pass_time_bound.as_secs_f64().max(1e-9),
        ),
        Row::judged(
            format!("{shape} API: {count} clusters, a cluster deleted behind Fleet's back noticed in"),
            show(figures.notice_deleted),
            format!("<= the next pass ({})", show(next_pass(figures.pass_time))),
            figures.notice_deleted <= next_pass(figures.pass_time),
        ),
        Row::judged(
            format!("{shape} API: {count} clusters, a cluster failed behind Fleet's back noticed in"),
            show(figures.notice_failed),
            format!("<= resync ({resync}) + a pass"),
            figures.notice_failed <= figures.notice_bound(),
        )
        .against(
            show(figures.notice_bound()),
            figures.notice_failed.as_secs_f64() / figures.notice_bound().as_secs_f64().max(1e-9),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn steady_passes_cost_at_most_a_tenth_over_the_bound_on_every_shape() {
        for shape in ApiShape::ALL {
            let figures = steady(shape, 400).await.unwrap();
            assert!(figures.ratio() <= 1.1, "{figures:?}");
            assert!(figures.ratio() >= 0.9, "fewer calls than the bound allows: the bound is wrong: {figures:?}");
            assert_eq!(figures.writes, 0, "{figures:?}");
            assert!(figures.notice_deleted <= next_pass(figures.pass_time), "{figures:?}");
            assert!(figures.notice_failed <= figures.notice_bound(), "{figures:?}");
            match shape {
                ApiShape::Eks => {
                    assert_eq!(figures.resync, Duration::from_secs(600), "{figures:?}");
                    assert!(figures.reads_per_pass > 40.0, "describes of the resync share: {figures:?}");
                }
                ApiShape::Aks => assert_eq!(figures.reads_per_pass, 4.0, "{figures:?}"),
                _ => assert_eq!(figures.reads_per_pass, 1.0, "{figures:?}"),
            }
        }
    }
}
