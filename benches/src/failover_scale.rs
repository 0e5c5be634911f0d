//! Failover at fleet scale, in virtual time: a fleet over three regions of two simulated
//! clouds loses one region; its clusters come back elsewhere. Reported: recovery time against
//! the controller's lower bound, and calls the clouds refused for going over their API limits;
//! for charts, when each moved cluster recovered and the earliest it could have.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use fleet::engine::{Engine, EngineOptions};
use fleet::failover::{
    FailoverController, FailoverEvent, FailoverOptions, FailoverPolicy, Fallback, LossThresholds, MoveReport,
    PhaseAndProbe,
};
use fleet::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet::model::{
    ClusterId, ClusterIdentity, FleetName, KubernetesVersion, NodePool, NodePoolName, ProviderName, Region, SizeClass,
};
use fleet::provider::{RateLimit, RateLimits};
use fleet::sim::{ApiShape, CallOutcome, Latency, LatencyModel, RegionCapacity, SimCloud};
use fleet::{ClusterSpec, Error, Result};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::charts::Finishes;
use crate::table::{Row, show};

const MINUTE: Duration = Duration::from_secs(60);

fn cloud(name: &str, regions: &[&str], shape: ApiShape, limits: RateLimits) -> Result<SimCloud> {
    let latency = LatencyModel::zero()
        .with_create(Latency::Fixed(8 * MINUTE))
        .with_delete(Latency::Fixed(4 * MINUTE))
        .with_calls(Latency::Fixed(Duration::from_millis(100)), Latency::Fixed(Duration::from_millis(200)));
    let mut builder =
        SimCloud::builder(ProviderName::new(name)?).api_shape(shape).latency(latency).rate_limits(limits).seed(11);
    for region in regions {
        builder = builder.region(Region::new(*region)?, RegionCapacity::unlimited());
    }
    Ok(builder.build())
}

fn cluster(id: String, provider: &str, region: &str) -> Result<DesiredCluster> {
    let spec = ClusterSpec::builder(
        ClusterId::new(id)?,
        ProviderName::new(provider)?,
        Region::new(region)?,
        KubernetesVersion::new(1, 31, None),
    )
    .node_pool(NodePool::new(NodePoolName::new("workers")?, SizeClass::Small, 1, 3)?)
    .build()?;
    Ok(DesiredCluster::new(spec, "batch", 0))
}

/// `count` clusters: 40% in aws/east, 30% in aws/west, 30% in gcp/central; aws/east fails.
/// Run with generous API limits, then again with both clouds shaped like EKS, GKE and AKS
/// at those APIs' limits.
pub fn failover_rows(count: usize) -> Result<Vec<Row>> {
    Ok(failover_runs(count)?.0)
}

/// [`failover_rows`], and per run (generic API first, then each shape) when each moved cluster
/// recovered and its bound, from the first failed check.
pub fn failover_runs(count: usize) -> Result<(Vec<Row>, Vec<Finishes>)> {
    failover_shapes(count, &ApiShape::ALL)
}

/// [`failover_runs`] on the APIs of `shapes` only, in that order: the generic API with generous
/// limits (400 reads/s, 20 writes/s), any other shape at its own limits.
pub fn failover_shapes(count: usize, shapes: &[ApiShape]) -> Result<(Vec<Row>, Vec<Finishes>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|err| Error::Unavailable { message: format!("no runtime: {err}") })?;
    let (mut rows, mut runs) = (Vec::new(), Vec::new());
    for &shape in shapes {
        let (limits, label) = if shape == ApiShape::Generic {
            (RateLimits::new(RateLimit::new(400.0, 800), RateLimit::new(20.0, 50)), String::new())
        } else {
            let limits = shape.rate_limits();
            let label =
                format!("{shape} API, {} reads/s, {} writes/s: ", limits.reads.per_second, limits.writes.per_second);
            (limits, label)
        };
        let (more, finishes) = runtime.block_on(scenario(count, shape, limits, &label))?;
        rows.extend(more);
        runs.push(finishes);
    }
    Ok((rows, runs))
}

/// Records when each moved cluster recovered (the controller's `Recovered` event, seen at the
/// virtual instant it is sent) with its recovery time, until `moves` have.
async fn recoveries(
    mut events: tokio::sync::broadcast::Receiver<FailoverEvent>,
    moves: usize,
) -> BTreeMap<ClusterIdentity, (Instant, Duration)> {
    let mut recovered = BTreeMap::new();
    while recovered.len() < moves {
        match events.recv().await {
            Ok(FailoverEvent::Recovered { identity, recovery_time, .. }) => {
                recovered.insert(identity, (Instant::now(), recovery_time));
            }
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => break,
        }
    }
    recovered
}

async fn scenario(count: usize, shape: ApiShape, limits: RateLimits, label: &str) -> Result<(Vec<Row>, Finishes)> {
    let fleet = FleetName::new("bench")?;
    let aws = cloud("aws", &["east", "west"], shape, limits)?;
    let gcp = cloud("gcp", &["central"], shape, limits)?;
    let east = count * 4 / 10;
    let west = count * 3 / 10;
    let mut clusters = Vec::with_capacity(count);
    for n in 0..count {
        let (provider, region) = if n < east {
            ("aws", "east")
        } else if n < east + west {
            ("aws", "west")
        } else {
            ("gcp", "central")
        };
        clusters.push(cluster(format!("c{n}"), provider, region)?);
    }
    let mut options = EngineOptions::default();
    options.concurrency_per_provider = count.max(1);
    options.poll_initial = Duration::from_secs(5);
    options.poll_max = Duration::from_secs(15);
    options.reconcile_interval = MINUTE;
    let mut builder = Engine::builder(fleet.clone()).options(options);
    for cloud in [&aws, &gcp] {
        builder = builder.provider(Arc::new(cloud.provider(fleet.clone())));
    }
    let engine = builder.build()?;
    engine.set_desired(DesiredFleet::new(fleet.clone(), clusters))?;
    for _ in 0..20 {
        if engine.run_once().await?.converged {
            break;
        }
    }
    let policy = FailoverPolicy::new(vec![
        Fallback::new(ProviderName::new("aws")?, vec![Region::new("west")?]),
        Fallback::new(ProviderName::new("gcp")?, vec![Region::new("central")?]),
    ])
    .with_rto(30 * MINUTE)
    .with_max_parallel(count.max(1));
    let mut failover = FailoverOptions::default();
    failover.probe_interval = Duration::from_secs(10);
    failover.thresholds = LossThresholds::new(3, MINUTE, 0.5);
    failover.probe_concurrency = 64;
    let mut controller = FailoverController::builder(engine.clone())
        .policies(BTreeMap::from([("batch".to_owned(), policy)]))
        .options(failover);
    // Health checks call through the engine's providers: the same API budgets and the same
    // providers' pacing, as one process would.
    let providers = engine.providers();
    for cloud in [&aws, &gcp] {
        let name = cloud.info().name.clone();
        let provider = providers.get(&name).cloned().ok_or_else(|| Error::InvalidSpec {
            path: "providers".into(),
            reason: format!("the engine has no provider `{name}`"),
        })?;
        controller = controller.health_check(name, Arc::new(PhaseAndProbe::new(provider, Arc::new(cloud.clone()))));
    }
    let controller = controller.build()?;
    let cancel = CancellationToken::new();
    let tasks = [
        tokio::spawn({
            let (engine, cancel) = (engine.clone(), cancel.clone());
            async move { engine.run(cancel).await }
        }),
        tokio::spawn({
            let (controller, cancel) = (controller.clone(), cancel.clone());
            async move { controller.run(cancel).await }
        }),
    ];
    tokio::time::sleep(2 * MINUTE).await;
    let recorder = tokio::spawn(recoveries(controller.subscribe(), east));
    aws.fail_region(&Region::new("east")?);
    let started = Instant::now();
    let report = loop {
        let report = controller.report();
        if report.moves.len() == east && report.recovery_time.is_some() {
            break report;
        }
        if started.elapsed() > 6 * 60 * MINUTE {
            return Err(Error::Timeout { message: format!("failover not done after six hours:\n{report}") });
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    };
    let recovered = tokio::time::timeout(MINUTE, recorder)
        .await
        .map_err(|_| Error::Timeout { message: "a move's recovery was reported but never sent".into() })?
        .map_err(|err| Error::Unavailable { message: format!("the recovery recorder failed: {err}") })?;
    let finishes = finishes(&report.moves, &recovered, shape)?;
    cancel.cancel();
    for task in tasks {
        let _ = task.await;
    }
    let refused = [&aws, &gcp]
        .iter()
        .flat_map(|cloud| cloud.call_log())
        .filter(|call| call.outcome == CallOutcome::OverBudget)
        .count();
    let (recovery, bound) = (report.recovery_time.unwrap_or_default(), report.lower_bound.unwrap_or_default());
    let ratio = recovery.as_secs_f64() / bound.as_secs_f64().max(1e-9);
    let rows = vec![
        Row::judged(
            format!("{label}failover: {east} of {count} clusters lose their region, recovery (virtual)"),
            show(recovery),
            "<= 1.1x bound",
            ratio <= 1.1,
        )
        .against(format!("{} (detection + queueing + create)", show(bound)), ratio),
        Row::judged(
            format!("{label}failover: calls refused for going over an API limit"),
            refused.to_string(),
            "0",
            refused == 0,
        ),
    ];
    Ok((rows, finishes))
}

/// When each of `moves` recovered and the earliest it could have, from the first failed check
/// (the origin of the report's recovery time and bound): a move's first failed check is when
/// it recovered less its recovery time; its bound counts from that check too.
fn finishes(
    moves: &[MoveReport],
    recovered: &BTreeMap<ClusterIdentity, (Instant, Duration)>,
    shape: ApiShape,
) -> Result<Finishes> {
    let mut spans = Vec::with_capacity(moves.len());
    for m in moves {
        let (done, recovery) = recovered
            .get(&m.identity)
            .ok_or_else(|| Error::NotFound { resource: format!("the recovery of `{}`", m.identity) })?;
        let first_failure = done.checked_sub(*recovery).unwrap_or(*done);
        spans.push((first_failure, *done, m.lower_bound));
    }
    let Some(origin) = spans.iter().map(|(first_failure, _, _)| *first_failure).min() else {
        return Ok(Finishes { label: format!("{shape} API"), ..Finishes::default() });
    };
    Ok(Finishes {
        label: format!("{shape} API"),
        measured: spans.iter().map(|(_, done, _)| done.duration_since(origin)).collect(),
        bound: spans.iter().map(|(first_failure, _, bound)| first_failure.duration_since(origin) + *bound).collect(),
    })
}
