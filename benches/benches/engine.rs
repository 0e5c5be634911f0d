//! Reconciliation at scale on the simulated cloud with zero latency: the engine's own cost.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use fleet::engine::Engine;
use fleet::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet::model::FleetName;
use fleet::provider::{RateLimit, RateLimits};
use fleet_benches::{cluster_specs, instant_cloud};

fn converge(count: usize, sqlite: Option<&std::path::Path>) {
    // Not paused: the SQLite store works on the blocking pool, in real time.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let fleet = FleetName::new("bench").expect("valid name");
        let cloud = instant_cloud("bench", 3, 1).expect("cloud");
        let specs = cluster_specs(&cloud, count).expect("specs");
        let mut options = fleet::engine::EngineOptions::default();
        let unlimited = RateLimit::new(1e9, u32::MAX);
        options.rate_limits.insert(cloud.info().name.clone(), RateLimits::new(unlimited, unlimited));
        options.concurrency_per_provider = 256;
        let mut builder =
            Engine::builder(fleet.clone()).provider(Arc::new(cloud.provider(fleet.clone()))).options(options);
        if let Some(path) = sqlite {
            let _ = std::fs::remove_file(path);
            builder = builder.store(Arc::new(fleet::store::SqliteStore::open(path, &fleet).await.expect("sqlite")));
        }
        let engine = builder.build().expect("engine");
        engine
            .set_desired(DesiredFleet::new(
                fleet,
                specs.into_iter().map(|s| DesiredCluster::new(s, "bench", 0)).collect(),
            ))
            .unwrap();
        let report = engine.run_once().await.expect("pass");
        assert_eq!(report.succeeded, count);
        assert!(engine.run_once().await.expect("pass").converged);
    });
}

fn engine_converge(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.bench_function("converge 1000 clusters from empty (zero latency)", |b| b.iter(|| converge(1000, None)));
    let dir = std::env::temp_dir().join(format!("fleet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("state.db");
    group.bench_function("converge 1000 clusters from empty (zero latency, SQLite store)", |b| {
        b.iter(|| converge(1000, Some(&path)))
    });
    let _ = std::fs::remove_dir_all(&dir);
    group.finish();
}

criterion_group!(benches, engine_converge);
criterion_main!(benches);
