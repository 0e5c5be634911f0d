//! Cost of the simulated cloud itself: creating clusters and listing a fleet.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fleet::ClusterProvider;
use fleet::model::FleetName;
use fleet_benches::{cluster_specs, instant_cloud};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds")
}

fn create_100_clusters(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("sim create 100 clusters", |b| {
        b.iter_batched(
            || {
                let cloud = instant_cloud("bench", 3, 1).expect("valid names");
                let specs = cluster_specs(&cloud, 100).expect("valid specs");
                (cloud.provider(FleetName::new("bench").expect("valid name")), specs)
            },
            |(provider, specs)| {
                rt.block_on(async {
                    for spec in &specs {
                        provider.create(spec).await.expect("create succeeds");
                    }
                })
            },
            BatchSize::SmallInput,
        )
    });
}

fn list_1000_clusters(c: &mut Criterion) {
    let rt = runtime();
    let cloud = instant_cloud("bench", 3, 1).expect("valid names");
    let provider = cloud.provider(FleetName::new("bench").expect("valid name"));
    rt.block_on(async {
        for spec in cluster_specs(&cloud, 1000).expect("valid specs") {
            provider.create(&spec).await.expect("create succeeds");
        }
    });
    c.bench_function("sim list 1000 clusters", |b| {
        b.iter(|| rt.block_on(provider.list()).expect("list succeeds").clusters.len())
    });
}

criterion_group!(benches, create_100_clusters, list_1000_clusters);
criterion_main!(benches);
