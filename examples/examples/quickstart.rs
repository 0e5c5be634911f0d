//! Quickstart: the engine keeps a fleet on three **simulated** clouds equal to the example
//! repository in `examples/fleet`, with nothing to set up.
//!
//! 1. loads the repository and prints the plan against the empty fleet;
//! 2. applies it, with a live progress bar, and prints the fleet as a table;
//! 3. restarts the engine on the same SQLite file: the restarted engine finds every cluster
//!    where it left it and has nothing to do; an engine with an empty store adopts every
//!    cluster by its tags instead of creating it again;
//! 4. raises the Kubernetes version in the ops `base` layer: upgraded in place where the cloud
//!    can, replaced where it cannot;
//! 5. deletes everything.
//!
//! Hours of virtual time pass in a few seconds of wall time. Run with
//! `cargo run -p fleet-examples --example quickstart`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fleet::ClusterProvider;
use fleet::engine::{Engine, EngineEvent, EngineOptions};
use fleet::fleet_spec::DesiredFleet;
use fleet::model::FleetName;
use fleet::plan::plan;
use fleet::repository::Repository;
use fleet::sim::SimCloud;
use fleet::store::{MemoryStore, SqliteStore, StateStore};
use indicatif::{ProgressBar, ProgressStyle};

type Error = Box<dyn std::error::Error>;

fn repository_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fleet")
}

fn clock(start: tokio::time::Instant) -> String {
    let secs = start.elapsed().as_secs();
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

async fn engine(clouds: &[SimCloud], fleet: &FleetName, store: Arc<dyn StateStore>) -> Result<Engine, Error> {
    let clock = clouds[0].clone();
    let mut builder = Engine::builder(fleet.clone()).store(store).clock(move || clock.wall_clock());
    for cloud in clouds {
        builder = builder.provider(Arc::new(cloud.provider(fleet.clone())));
    }
    let mut options = EngineOptions::default();
    options.poll_initial = std::time::Duration::from_secs(15);
    Ok(builder.options(options).build()?)
}

fn print_plan(engine_clouds: &[SimCloud], desired: &DesiredFleet, observed: &[fleet::Cluster]) {
    let capabilities: BTreeMap<_, _> =
        engine_clouds.iter().map(|c| (c.info().name.clone(), c.info().capabilities)).collect();
    println!("{}\n", plan(desired, observed, &capabilities, engine_clouds[0].wall_clock()));
}

/// Runs passes until the fleet converges, showing progress from the engine's events.
async fn apply(engine: &Engine, title: &str, start: tokio::time::Instant) -> Result<(), Error> {
    let mut events = engine.subscribe();
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{msg:<28} [{bar:30}] {pos}/{len}")?.progress_chars("=> "));
    bar.set_message(title.to_owned());
    let watcher = tokio::spawn({
        let bar = bar.clone();
        async move {
            while let Ok(event) = events.recv().await {
                match event {
                    EngineEvent::ActionStarted { .. } => bar.inc_length(1),
                    EngineEvent::ActionSucceeded { .. } => bar.inc(1),
                    EngineEvent::ActionFailed { cluster, error, retry_in, .. } => {
                        bar.println(format!("  ! {cluster}: {error} (retry in {retry_in:?})"));
                    }
                    _ => {}
                }
            }
        }
    });
    for _ in 0..5 {
        let report = engine.run_once().await?;
        if report.converged {
            break;
        }
        if !report.failed.is_empty() {
            bar.println(format!("  failed: {:?}", report.failed));
        }
    }
    bar.finish();
    watcher.abort();
    println!("{title}: done at {} of virtual time\n", clock(start));
    Ok(())
}

async fn print_table(clouds: &[SimCloud], fleet: &FleetName) -> Result<(), Error> {
    println!("{:<24} {:<10} {:<14} {:<8} {:<8} ENDPOINT", "CLUSTER", "CLOUD", "REGION", "VERSION", "PHASE");
    for cloud in clouds {
        let listing = cloud.provider(fleet.clone()).list().await?;
        for unreachable in &listing.unreachable {
            println!("  ! {} {}: not listed: {}", cloud.info().name, unreachable.region, unreachable.error);
        }
        for cluster in listing.clusters {
            let version = cluster.kubernetes_version.map(|v| v.to_string()).unwrap_or_default();
            println!(
                "{:<24} {:<10} {:<14} {:<8} {:<8} {}",
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
    Ok(())
}

async fn quickstart() -> Result<(), Error> {
    let mut repository = Repository::load_dir(repository_dir())?;
    let clouds = fleet_examples::demo_clouds(&repository, 7);
    let infos: Vec<_> = clouds.iter().map(|cloud| cloud.info().clone()).collect();
    let desired = repository.desired(&infos)?;
    let fleet = desired.fleet.name.clone();
    let workdir = std::env::temp_dir().join(format!("fleet-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&workdir)?;
    let db = workdir.join("state.db");
    let start = tokio::time::Instant::now();

    println!("Fleet quickstart: `{}` on three simulated clouds; state in {}\n", fleet, db.display());
    for rejection in &desired.rejected {
        println!("  ! {rejection}");
    }
    println!();
    print_plan(&clouds, &desired.fleet, &[]);

    let first = engine(&clouds, &fleet, Arc::new(SqliteStore::open(&db, &fleet).await?)).await?;
    first.set_desired(desired.fleet.clone())?;
    apply(&first, "creating the fleet", start).await?;
    print_table(&clouds, &fleet).await?;
    let credentials = clouds[0].provider(fleet.clone()).credentials(&desired.fleet.clusters[0].spec.id).await;
    if let Ok(credentials) = credentials {
        println!("credentials for {}: {credentials:?}\n", desired.fleet.clusters[0].spec.id);
    }
    drop(first);

    let restarted = engine(&clouds, &fleet, Arc::new(SqliteStore::open(&db, &fleet).await?)).await?;
    restarted.set_desired(desired.fleet.clone())?;
    let report = restarted.run_once().await?;
    println!(
        "restarted on the same SQLite file: {} clusters known, {} adopted, nothing to do: {}\n",
        restarted.store().observed().await?.len(),
        report.adopted,
        report.converged
    );

    let fresh = engine(&clouds, &fleet, Arc::new(MemoryStore::new())).await?;
    fresh.set_desired(desired.fleet.clone())?;
    let report = fresh.run_once().await?;
    println!(
        "an engine with an empty store: {} clusters adopted by their tags, {} created, nothing to do: {}\n",
        report.adopted, report.planned.create, report.converged
    );

    for blueprint in repository.blueprints.values_mut() {
        for layer in blueprint.layers.iter_mut().filter(|layer| layer.name == "base") {
            layer.set.insert("kubernetesVersion".into(), serde_json::Value::String("1.36".into()));
        }
    }
    let upgraded = repository.desired(&infos)?;
    println!("ops raise the Kubernetes version in the `base` layer to 1.36:\n");
    let observed: Vec<_> = {
        let mut all = Vec::new();
        for cloud in &clouds {
            all.extend(cloud.provider(fleet.clone()).list().await?.into_clusters());
        }
        all
    };
    print_plan(&clouds, &upgraded.fleet, &observed);
    restarted.set_desired(upgraded.fleet.clone())?;
    apply(&restarted, "upgrading and replacing", start).await?;
    print_table(&clouds, &fleet).await?;
    println!("fleet status:\n{}", restarted.status().await?);

    restarted.set_desired(DesiredFleet::new(fleet.clone(), Vec::new()))?;
    apply(&restarted, "cleaning up", start).await?;
    let calls: usize = clouds.iter().map(|cloud| cloud.call_log().len()).sum();
    let left: usize = clouds.iter().map(|cloud| cloud.clusters().len()).sum();
    println!("Done: {} of virtual time, {calls} simulated API calls, {left} clusters left.", clock(start));
    std::fs::remove_dir_all(&workdir)?;
    Ok(())
}

fn main() -> Result<(), Error> {
    // Paused time: the simulated clouds' minutes pass as fast as the program can run.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?;
    runtime.block_on(quickstart())
}
