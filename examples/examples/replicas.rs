//! Three replicas of one embedding service share a **simulated** fleet through etcd: each
//! holds some of the shards and acts only on their clusters. Then one replica is killed: its
//! shards move to the other two once its lease expires, and they carry on alone.
//!
//! ```text
//! cargo run -p fleet-examples --features etcd --example replicas -- --etcd http://127.0.0.1:2379
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use fleet::engine::{Engine, EngineEvent, EngineOptions};
use fleet::etcd::{EtcdStore, Replica, ReplicaOptions};
use fleet::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet::model::*;
use fleet::sim::{Latency, LatencyModel, RegionCapacity, SimCloud};
use fleet::{Error, Result};
use tokio_util::sync::CancellationToken;

const SHARDS: u32 = 12;

fn desired(fleet: &FleetName, count: usize) -> Result<DesiredFleet> {
    let mut clusters = Vec::new();
    for n in 0..count {
        let region = Region::new(if n % 2 == 0 { "east" } else { "west" })?;
        let spec = ClusterSpec::builder(
            ClusterId::new(format!("svc-{n}"))?,
            ProviderName::new("sim")?,
            region,
            KubernetesVersion::new(1, 31, None),
        )
        .node_pool(NodePool::new(NodePoolName::new("workers")?, SizeClass::Small, 1, 3)?)
        .build()?;
        clusters.push(DesiredCluster::new(spec, "services", 0));
    }
    Ok(DesiredFleet::new(fleet.clone(), clusters))
}

struct Running {
    replica: Replica,
    cancel: CancellationToken,
    actions: Arc<std::sync::atomic::AtomicUsize>,
}

async fn start(endpoint: &str, fleet: &FleetName, cloud: &SimCloud, id: &str) -> Result<Running> {
    let options = ReplicaOptions::default().with_shards(SHARDS).with_lease_ttl(Duration::from_secs(3));
    let replica = Replica::join(&[endpoint], fleet, id, options).await?;
    let mut engine_options = EngineOptions::default();
    engine_options.reconcile_interval = Duration::from_secs(1);
    engine_options.poll_initial = Duration::from_millis(100);
    engine_options.poll_max = Duration::from_millis(500);
    let engine = Engine::builder(fleet.clone())
        .provider(Arc::new(cloud.provider(fleet.clone())))
        .store(replica.store())
        .ownership(replica.ownership())
        .options(engine_options)
        .build()?;
    let actions = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (counted, mut events) = (Arc::clone(&actions), engine.subscribe());
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            if let EngineEvent::ActionSucceeded { .. } = event {
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    replica.attach(engine.clone());
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move { engine.run(stop).await });
    Ok(Running { replica, cancel, actions })
}

fn show(replicas: &[&Running]) {
    for running in replicas {
        let shards = running.replica.held_shards();
        println!(
            "  replica {} holds {:>2} shards {:?}, {} actions done",
            running.replica.id(),
            shards.len(),
            shards,
            running.actions.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Result<Duration> {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > timeout {
            return Err(Error::Timeout { message: format!("waiting until {what}") });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(started.elapsed())
}

async fn demo(endpoint: &str) -> Result<()> {
    let stamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let fleet = FleetName::new(format!("replicas-{stamp}"))?;
    let cloud = SimCloud::builder(ProviderName::new("sim")?)
        .region(Region::new("east")?, RegionCapacity::unlimited())
        .region(Region::new("west")?, RegionCapacity::unlimited())
        .latency(LatencyModel::zero().with_create(Latency::millis(100, 400)))
        .seed(1)
        .build();
    println!("fleet `{fleet}` on etcd at {endpoint}, {SHARDS} shards, a simulated cloud");
    let replicas = [
        start(endpoint, &fleet, &cloud, "a").await?,
        start(endpoint, &fleet, &cloud, "b").await?,
        start(endpoint, &fleet, &cloud, "c").await?,
    ];
    let all: Vec<&Running> = replicas.iter().collect();
    wait_for("the replicas split the shards", Duration::from_secs(30), || {
        all.iter().map(|r| r.replica.held_shards().len()).sum::<usize>() == SHARDS as usize
            && all.iter().all(|r| !r.replica.held_shards().is_empty())
    })
    .await?;
    let store = EtcdStore::connect(&[endpoint], &fleet).await?;
    store.publish_desired(&desired(&fleet, 24)?).await?;
    println!("\npublished 24 clusters; the replicas pick them up by watch");
    let took = wait_for("24 clusters run", Duration::from_secs(120), || {
        cloud.clusters().iter().filter(|c| c.phase.is_running()).count() == 24
    })
    .await?;
    println!("converged in {:.1} s:", took.as_secs_f64());
    show(&all);

    let [a, b, c] = &replicas;
    let orphaned = c.replica.held_shards();
    println!("\nkilling replica c (its {} shards wait for its lease to expire)", orphaned.len());
    c.cancel.cancel();
    c.replica.crash();
    let moved = wait_for("a and b hold every shard", Duration::from_secs(60), || {
        a.replica.held_shards().len() + b.replica.held_shards().len() == SHARDS as usize
    })
    .await?;
    println!("shards {orphaned:?} moved after {:.1} s (lease TTL 3 s):", moved.as_secs_f64());
    show(&[a, b]);

    store.publish_desired(&desired(&fleet, 30)?).await?;
    println!("\npublished 30 clusters; a and b go on alone");
    let took = wait_for("30 clusters run", Duration::from_secs(120), || {
        cloud.clusters().iter().filter(|c| c.phase.is_running()).count() == 30
    })
    .await?;
    println!("converged in {:.1} s:", took.as_secs_f64());
    show(&[a, b]);
    let mut creates: BTreeMap<String, usize> = BTreeMap::new();
    for call in cloud.call_log() {
        if call.operation == fleet::sim::Operation::Create && call.outcome == fleet::sim::CallOutcome::Ok {
            *creates.entry(call.cluster.map(|c| c.to_string()).unwrap_or_default()).or_default() += 1;
        }
    }
    let twice = creates.values().filter(|n| **n > 1).count();
    println!("\n{} clusters created, {twice} of them more than once", creates.len());
    for running in [a, b] {
        running.cancel.cancel();
    }
    let [a, b, _] = replicas;
    a.replica.leave().await?;
    b.replica.leave().await?;
    if twice > 0 {
        return Err(Error::Conflict { message: format!("{twice} clusters were created twice") });
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let endpoint = match args.as_slice() {
        [flag, url] if flag == "--etcd" => url.clone(),
        _ => {
            eprintln!("usage: replicas --etcd http://127.0.0.1:2379 (an etcd to share; `etcd` starts one locally)");
            std::process::exit(2);
        }
    };
    if let Err(err) = demo(&endpoint).await {
        eprintln!("replicas: {err}");
        std::process::exit(1);
    }
}
