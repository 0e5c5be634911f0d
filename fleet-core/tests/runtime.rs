//! The runtime over the example repository on simulated clouds and SQLite: a dry run that the
//! first pass follows, convergence, a self-service request, a reload (a bad edit refused with
//! its file, a good one taken), a region outage recovered by failover, and a restart on the
//! same file that creates nothing again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fleet_core::engine::EngineOptions;
use fleet_core::fleet_spec::EnvironmentRequest;
use fleet_core::repository::Repository;
use fleet_core::runtime::Runtime;
use fleet_core::sim::{LatencyModel, SimCloud, clouds_for};
use fleet_core::store::SqliteStore;
use fleet_core::*;
use tokio_util::sync::CancellationToken;

const HOUR: Duration = Duration::from_secs(3600);

/// A copy of the example repository in a directory of the test's own.
fn repository_copy(name: &str) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/fleet");
    let to = std::env::temp_dir().join(format!("fleet-runtime-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&to);
    copy_dir(&from, &to);
    to
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Simulated clouds for the repository in `dir`, quick ones.
fn clouds(dir: &Path) -> Vec<SimCloud> {
    clouds_for(&Repository::load_dir(dir).unwrap(), 3, |_, cloud| cloud.latency(LatencyModel::zero()))
}

async fn open_runtime(dir: &Path, clouds: &[SimCloud], db: &Path) -> Runtime {
    let fleet = FleetName::new("prod").unwrap();
    let mut options = EngineOptions::default();
    options.reconcile_interval = Duration::from_secs(30);
    let mut builder = Runtime::builder(dir)
        .store(Arc::new(SqliteStore::open(db, &fleet).await.unwrap().in_caller_thread()))
        .engine_options(options);
    for cloud in clouds {
        builder = builder.simulated(cloud.clone());
    }
    builder.build().unwrap()
}

fn start(runtime: &Runtime) -> CancellationToken {
    let shutdown = CancellationToken::new();
    tokio::spawn({
        let (runtime, shutdown) = (runtime.clone(), shutdown.clone());
        async move { runtime.run(shutdown).await }
    });
    shutdown
}

#[tokio::test(start_paused = true)]
async fn a_service_on_the_runtime_plans_converges_serves_reloads_fails_over_and_restarts() {
    let dir = repository_copy("service");
    let db = dir.join("state.db");
    let clouds = clouds(&dir);
    let names: Vec<&str> = clouds.iter().map(|c| c.info().name.as_str()).collect();
    assert_eq!(names, ["sim-aws", "sim-azure", "sim-gcp"]);
    let runtime = open_runtime(&dir, &clouds, &db).await;

    // The dry run, then the engine and the failover controller.
    let planned = runtime.plan().await.unwrap().summary();
    let mut reports = runtime.reports();
    let shutdown = start(&runtime);
    let first = reports.next().await.unwrap();
    assert_eq!(first.planned, planned, "the first pass does what the dry run showed");
    runtime.wait_converged(HOUR).await.unwrap();
    let wanted = runtime.status().await.unwrap().fleet.desired;

    // A team's environment.
    let request = EnvironmentRequest::from_yaml(
        "kind: EnvironmentRequest\nspec: {name: carol-dev, team: payments, blueprint: web-app, provider: sim-aws, region: us-east-1, ttl: 4h}\n",
    )
    .unwrap();
    let environment = runtime.self_service().submit(request).await.unwrap();
    assert_eq!(environment.id.as_str(), "carol-dev");
    assert_eq!(runtime.status().await.unwrap().fleet.desired, wanted + 1);

    // A bad edit is refused with its file; a good one is taken; the environment stays.
    let fleet_file = dir.join("fleet.yaml");
    let good = std::fs::read_to_string(&fleet_file).unwrap();
    std::fs::write(&fleet_file, good.replace("blueprint: data-pipeline", "blueprint: no-such")).unwrap();
    let errors = runtime.reload().unwrap_err().to_string();
    assert!(errors.contains("fleet.yaml") && errors.contains("no blueprint `no-such`"), "{errors}");
    assert_eq!(runtime.status().await.unwrap().fleet.desired, wanted + 1, "the last good repository stays");
    std::fs::write(&fleet_file, good.replace("workers: 5, tier: gold", "workers: 6, tier: gold")).unwrap();
    runtime.reload().unwrap();
    runtime.wait_converged(HOUR).await.unwrap();
    let ids: Vec<String> = clouds.iter().flat_map(|c| c.clusters()).map(|c| format!("{} {}", c.id, c.phase)).collect();
    assert!(ids.iter().any(|id| id.starts_with("carol-dev")), "the environment survived the reload: {ids:?}");

    // A region outage: its web cluster comes back elsewhere.
    clouds[0].fail_region(&Region::new("us-east-1").unwrap());
    tokio::time::sleep(HOUR).await;
    let failover = runtime.status().await.unwrap().failover;
    assert!(!failover.moves.is_empty(), "{failover:?}");
    assert!(failover.moves.iter().all(|m| m.recovery_time.is_some()), "{failover:?}");
    clouds[0].restore_region(&Region::new("us-east-1").unwrap());
    tokio::time::sleep(HOUR).await;
    runtime.wait_converged(HOUR).await.unwrap();
    shutdown.cancel();

    // A restart on the same file creates nothing again.
    let count = |clouds: &[SimCloud]| clouds.iter().map(|c| c.clusters().len()).sum::<usize>();
    let before = count(&clouds);
    let restarted = open_runtime(&dir, &clouds, &db).await;
    let plan = restarted.plan().await.unwrap();
    assert_eq!(plan.summary().create, 0, "{plan}");
    assert_eq!(restarted.engine().environments().await.unwrap().len(), 1, "the environment is still kept");
    // The failover record outlives the process that made it.
    let history = restarted.controller().history().await.unwrap();
    assert_eq!(history.len(), failover.moves.len(), "{history:?}");
    for (kept, made) in history.iter().zip(&failover.moves) {
        assert_eq!((&kept.identity, &kept.from, &kept.to), (&made.identity, &made.from, &made.to));
        assert!(kept.recovery_time.is_some() && kept.failed_back, "finished and failed back: {kept:?}");
    }
    assert!(restarted.status().await.unwrap().failover.moves.is_empty(), "the new controller has made no move itself");
    assert_eq!(count(&clouds), before);
    let _ = std::fs::remove_dir_all(&dir);
}
