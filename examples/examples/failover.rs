//! Failover: a fleet on two **simulated** clouds and three regions loses a region and comes
//! back elsewhere, with nothing to set up.
//!
//! 1. creates 30 clusters: 20 `web` clusters in `sim-aws/us-east-1`, 10 `api` clusters in
//!    `sim-aws/us-west-2`;
//! 2. takes `us-east-1` down; the failover controller detects the loss after its grace period
//!    and moves the `web` clusters: to `us-west-2` while it has room, then to
//!    `sim-gcp/europe-west1`, each from the same blueprint version;
//! 3. prints the recovery report: detection, create and recovery time per cluster against the
//!    RTO and the lower bound;
//! 4. brings `us-east-1` back: the old clusters there are deleted, nothing is left over.
//!
//! Hours of virtual time pass in a few seconds of wall time. Run with
//! `cargo run -p fleet-examples --example failover`.

use std::sync::Arc;
use std::time::Duration;

use fleet::engine::{Engine, EngineOptions};
use fleet::failover::{
    FailoverController, FailoverEvent, FailoverOptions, FailoverPolicy, Fallback, Loss, LossThresholds, PhaseAndProbe,
};
use fleet::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet::model::{
    BlueprintVersion, ClusterId, FleetName, FleetTags, NodePool, NodePoolName, ProviderName, Region, SizeClass,
};
use fleet::sim::{RegionCapacity, SimCloud};
use fleet::{ClusterProvider, ClusterSpec};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

type Error = Box<dyn std::error::Error>;

const MINUTE: Duration = Duration::from_secs(60);

fn clock(start: Instant) -> String {
    let secs = start.elapsed().as_secs();
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn cluster(id: &str, provider: &str, region: &str, template: &str, priority: i32) -> Result<DesiredCluster, Error> {
    let spec =
        ClusterSpec::builder(ClusterId::new(id)?, ProviderName::new(provider)?, Region::new(region)?, "1.35".parse()?)
            .node_pool(NodePool::new(NodePoolName::new("workers")?, SizeClass::Medium, 2, 5)?)
            .blueprint_version(BlueprintVersion::new("web-app-v3")?)
            .build()?;
    Ok(DesiredCluster::new(spec, template, priority))
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), Error> {
    let fleet = FleetName::new("shop")?;
    let (east, west, europe) = (Region::new("us-east-1")?, Region::new("us-west-2")?, Region::new("europe-west1")?);
    let aws = SimCloud::builder(ProviderName::new("sim-aws")?)
        .region(east.clone(), RegionCapacity::new(50, 500))
        .region(west.clone(), RegionCapacity::new(22, 500))
        .seed(1)
        .build();
    let gcp = SimCloud::builder(ProviderName::new("sim-gcp")?)
        .region(europe.clone(), RegionCapacity::new(50, 500))
        .seed(2)
        .build();
    let clouds = [aws.clone(), gcp.clone()];

    let mut options = EngineOptions::default();
    options.poll_initial = Duration::from_secs(10);
    options.poll_max = Duration::from_secs(20);
    let mut builder = Engine::builder(fleet.clone()).options(options);
    for cloud in &clouds {
        builder = builder.provider(Arc::new(cloud.provider(fleet.clone())));
    }
    let engine = builder.build()?;
    let mut clusters = Vec::new();
    for i in 0..20 {
        clusters.push(cluster(&format!("web-{i}"), "sim-aws", "us-east-1", "web", if i < 5 { 10 } else { 0 })?);
    }
    for i in 0..10 {
        clusters.push(cluster(&format!("api-{i}"), "sim-aws", "us-west-2", "api", 5)?);
    }
    engine.set_desired(DesiredFleet::new(fleet.clone(), clusters))?;

    let start = Instant::now();
    println!("[{}] creating 30 clusters on sim-aws (simulated)", clock(start));
    while !engine.run_once().await?.converged {}
    println!("[{}] fleet ready: 20 web in us-east-1, 10 api in us-west-2\n", clock(start));

    let policy = FailoverPolicy::new(vec![
        Fallback::new(ProviderName::new("sim-aws")?, vec![west.clone()]),
        Fallback::new(ProviderName::new("sim-gcp")?, vec![europe.clone()]),
    ])
    .with_rto(15 * MINUTE)
    .with_max_parallel(20);
    let mut failover_options = FailoverOptions::default();
    failover_options.thresholds = LossThresholds::new(3, MINUTE, 0.5);
    let mut controller = FailoverController::builder(engine.clone()).policy("web", policy).options(failover_options);
    for cloud in &clouds {
        let provider: Arc<dyn ClusterProvider> = Arc::new(cloud.provider(fleet.clone()));
        let check = PhaseAndProbe::new(provider, Arc::new(cloud.clone()));
        controller = controller.health_check(cloud.info().name.clone(), Arc::new(check));
    }
    let controller = controller.build()?;
    let cancel = CancellationToken::new();
    tokio::spawn({
        let (engine, cancel) = (engine.clone(), cancel.clone());
        async move { engine.run(cancel).await }
    });
    tokio::spawn({
        let (controller, cancel) = (controller.clone(), cancel.clone());
        async move { controller.run(cancel).await }
    });
    tokio::time::sleep(2 * MINUTE).await;

    let mut events = controller.subscribe();
    aws.fail_region(&east);
    println!("[{}] sim-aws/us-east-1 goes down", clock(start));
    let bar = ProgressBar::new(20);
    bar.set_style(ProgressStyle::with_template("{prefix} recovered {pos}/{len} {wide_bar} {msg}")?);
    bar.set_prefix(format!("[{}]", clock(start)));
    let mut moving = 0;
    while bar.position() < 20 {
        tokio::select! {
            event = events.recv() => match event? {
                FailoverEvent::LossDetected { loss: Loss::Region { location } } => {
                    bar.println(format!("[{}] loss judged: region {location}", clock(start)));
                }
                FailoverEvent::Moving { identity, to, .. } => {
                    moving += 1;
                    bar.set_message(format!("{moving} moving, last: {identity} -> {to}"));
                }
                FailoverEvent::Degraded { identity, reason } => {
                    bar.println(format!("[{}] degraded {identity}: {reason}", clock(start)));
                }
                FailoverEvent::Recovered { .. } => bar.inc(1),
                _ => {}
            },
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
        bar.set_prefix(format!("[{}]", clock(start)));
    }
    bar.finish();
    println!("\n{}\n", controller.report());

    aws.restore_region(&east);
    println!("[{}] sim-aws/us-east-1 is back; its old clusters are deleted", clock(start));
    loop {
        tokio::time::sleep(MINUTE).await;
        let left = aws.clusters().iter().filter(|c| c.region == east && FleetTags::belongs_to(&c.tags, &fleet)).count();
        if left == 0 && controller.report().awaiting_cleanup.is_empty() {
            break;
        }
    }
    let total: usize =
        clouds.iter().map(|c| c.clusters().iter().filter(|c| FleetTags::belongs_to(&c.tags, &fleet)).count()).sum();
    println!("[{}] cleaned up: {total} clusters, one per logical cluster, none orphaned", clock(start));
    cancel.cancel();
    Ok(())
}
