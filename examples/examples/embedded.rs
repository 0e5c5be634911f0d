//! A service embedding Fleet through its runtime, scripted, on **simulated** clouds in virtual time: it loads a copy of
//! `examples/fleet`, shows the dry run, runs the engine and failover on SQLite, takes a team's
//! environment request, reloads an edited repository, survives a region outage, prints its
//! numbers and restarts on the same file without creating anything again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fleet::fleet_spec::EnvironmentRequest;
use fleet::model::{FleetName, Region};
use fleet::repository::Repository;
use fleet::runtime::Runtime;
use fleet::store::SqliteStore;
use tokio_util::sync::CancellationToken;

type Failure = Box<dyn std::error::Error>;
const HOUR: Duration = Duration::from_secs(3600);

async fn start(dir: &Path, clouds: &[fleet::sim::SimCloud]) -> Result<(Runtime, CancellationToken), Failure> {
    let store = SqliteStore::open(dir.join("state.db"), &FleetName::new("prod")?).await?;
    let mut builder = Runtime::builder(dir).store(Arc::new(store));
    for cloud in clouds {
        builder = builder.simulated(cloud.clone());
    }
    let (runtime, shutdown) = (builder.build()?, CancellationToken::new());
    tokio::spawn({
        let (runtime, shutdown) = (runtime.clone(), shutdown.clone());
        async move { runtime.run(shutdown).await }
    });
    Ok((runtime, shutdown))
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), Failure> {
    let dir = std::env::temp_dir().join(format!("fleet-service-{}", std::process::id()));
    fleet_examples::copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fleet"), &dir)?;
    let clouds = fleet_examples::demo_clouds(&Repository::load_dir(&dir)?, 7);
    let (runtime, shutdown) = start(&dir, &clouds).await?;
    println!("dry run: {}", runtime.plan().await?.summary());
    runtime.wait_converged(HOUR).await?;

    let request = EnvironmentRequest::from_yaml(
        "kind: EnvironmentRequest\nspec: {name: carol-dev, team: payments, blueprint: web-app, provider: sim-aws, region: us-east-1, ttl: 4h}",
    )?;
    let environment = runtime.self_service().submit(request).await?;
    println!("environment {} for team {}: {:?}", environment.id, environment.team, environment.credentials.scope());

    let fleet_file = dir.join("fleet.yaml");
    let edited = std::fs::read_to_string(&fleet_file)?.replace("workers: 5", "workers: 6");
    std::fs::write(&fleet_file, edited)?;
    runtime.reload().map_err(|errors| format!("the edited repository: {errors}"))?;
    runtime.wait_converged(HOUR).await?;
    println!("reloaded: {} clusters wanted", runtime.status().await?.fleet.desired);

    let east = Region::new("us-east-1")?;
    clouds[0].fail_region(&east);
    tokio::time::sleep(HOUR).await;
    for moved in &runtime.status().await?.failover.moves {
        println!("failover: {} from {} to {} in {:?}", moved.identity, moved.from, moved.to, moved.recovery_time);
    }
    clouds[0].restore_region(&east);
    tokio::time::sleep(HOUR).await;
    println!("status: {}", serde_json::to_string(&runtime.status().await?)?);
    shutdown.cancel();

    let (restarted, shutdown) = start(&dir, &clouds).await?;
    println!("after a restart: {}", restarted.plan().await?.summary());
    shutdown.cancel();
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
