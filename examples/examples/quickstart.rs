//! Quickstart: a small fleet over two **simulated** clouds and four regions, with nothing to set
//! up. Creates six clusters, shows their progress, lists them, fetches their credentials
//! (printed redacted), and deletes them. About an hour of virtual time passes in well under a
//! second of wall time.
//!
//! Run with `cargo run -p fleet-examples --example quickstart`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use fleet::sim::{RegionCapacity, SimCloud};
use fleet::{
    ClusterId, ClusterPhase, ClusterProvider, ClusterSpec, FleetName, NodePool, NodePoolName, ProviderName, Region,
    SizeClass, TeamName,
};

type Error = Box<dyn std::error::Error>;

fn simulated_cloud(name: &str, regions: &[&str], seed: u64) -> Result<SimCloud, Error> {
    let mut builder = SimCloud::builder(ProviderName::new(name)?).seed(seed);
    for region in regions {
        builder = builder.region(Region::new(*region)?, RegionCapacity::new(20, 200));
    }
    Ok(builder.build())
}

fn spec(provider: &dyn ClusterProvider, id: &str, region: &str) -> Result<ClusterSpec, Error> {
    Ok(ClusterSpec::builder(ClusterId::new(id)?, provider.info().name.clone(), Region::new(region)?, "1.31".parse()?)
        .node_pool(NodePool::new(NodePoolName::new("system")?, SizeClass::Small, 1, 2)?)
        .node_pool(NodePool::new(NodePoolName::new("workers")?, SizeClass::Medium, 2, 6)?)
        .label("env", "demo")
        .owner_team(TeamName::new("platform")?)
        .build()?)
}

fn clock(start: tokio::time::Instant) -> String {
    let secs = start.elapsed().as_secs();
    format!("[{:02}:{:02}:{:02}]", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Polls every provider until every cluster satisfies `done`, printing each phase change.
async fn watch(
    providers: &[Arc<dyn ClusterProvider>],
    start: tokio::time::Instant,
    done: impl Fn(&BTreeMap<ClusterId, ClusterPhase>) -> bool,
) -> Result<(), Error> {
    let mut phases: BTreeMap<ClusterId, ClusterPhase> = BTreeMap::new();
    loop {
        let mut now = BTreeMap::new();
        for provider in providers {
            for cluster in provider.list().await? {
                if phases.get(&cluster.id) != Some(&cluster.phase) {
                    println!("{} {:<14} {:<12} {}", clock(start), cluster.id, cluster.region, cluster.phase);
                }
                now.insert(cluster.id, cluster.phase);
            }
        }
        for gone in phases.keys().filter(|id| !now.contains_key(*id)) {
            println!("{} {gone:<14} {:<12} deleted", clock(start), "");
        }
        phases = now;
        if done(&phases) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
}

async fn quickstart() -> Result<(), Error> {
    let fleet = FleetName::new("quickstart")?;
    let aws = simulated_cloud("sim-aws", &["us-east-1", "eu-west-1"], 1)?;
    let gcp = simulated_cloud("sim-gcp", &["europe-west1", "us-central1"], 2)?;
    let providers: Vec<Arc<dyn ClusterProvider>> =
        vec![Arc::new(aws.provider(fleet.clone())), Arc::new(gcp.provider(fleet.clone()))];
    let (on_aws, on_gcp) = (providers[0].as_ref(), providers[1].as_ref());
    let wanted = [
        (on_aws, spec(on_aws, "web-us-east", "us-east-1")?),
        (on_aws, spec(on_aws, "web-eu-west", "eu-west-1")?),
        (on_aws, spec(on_aws, "batch-us-east", "us-east-1")?),
        (on_gcp, spec(on_gcp, "web-europe", "europe-west1")?),
        (on_gcp, spec(on_gcp, "web-us-central", "us-central1")?),
        (on_gcp, spec(on_gcp, "batch-europe", "europe-west1")?),
    ];

    println!("Fleet quickstart: {} clusters on two simulated clouds (virtual time)\n", wanted.len());
    let start = tokio::time::Instant::now();
    for (provider, spec) in &wanted {
        provider.create(spec).await?;
        println!("{} create {} on {} in {}", clock(start), spec.id, spec.provider, spec.region);
    }
    watch(&providers, start, |phases| phases.len() == wanted.len() && phases.values().all(ClusterPhase::is_running))
        .await?;

    println!("\n{:<16} {:<8} {:<14} {:<8} {:<8} ENDPOINT", "CLUSTER", "CLOUD", "REGION", "VERSION", "PHASE");
    for provider in &providers {
        for cluster in provider.list().await? {
            let version = cluster.kubernetes_version.map(|v| v.to_string()).unwrap_or_default();
            println!(
                "{:<16} {:<8} {:<14} {:<8} {:<8} {}",
                cluster.id,
                cluster.provider,
                cluster.region,
                version,
                cluster.phase,
                cluster.endpoint.unwrap_or_default()
            );
        }
    }

    println!();
    for (provider, spec) in &wanted {
        let credentials = provider.credentials(&spec.id).await?;
        println!(
            "credentials for {}: {credentials:?} ({} bytes of kubeconfig)",
            spec.id,
            credentials.expose_kubeconfig().len()
        );
    }

    println!();
    for (provider, spec) in &wanted {
        provider.delete(&spec.id).await?;
        println!("{} delete {}", clock(start), spec.id);
    }
    watch(&providers, start, |phases| phases.is_empty()).await?;
    let calls = aws.call_log().len() + gcp.call_log().len();
    println!("\nDone: {} of virtual time passed, {calls} simulated API calls made.", clock(start));
    Ok(())
}

fn main() -> Result<(), Error> {
    // Paused time: the simulated clouds' minutes pass as fast as the program can run.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build()?;
    runtime.block_on(quickstart())
}
