//! The chaos suite with several replicas on a real etcd: a random fleet and random spec
//! changes (published through etcd), with replicas killed mid-pass, paused past their lease,
//! and joining, and failed and lost calls at the simulated clouds. The suite's invariants
//! (`fleet_core::chaos::Invariants`) are checked after every step across all replicas, and
//! once faults stop the fleet must converge.
//!
//! Real etcd leases run in real time, so a seed fixes the schedule of changes, faults and
//! replica deaths, not the exact interleaving. `FLEET_ETCD_CHAOS_SEEDS=N` runs seeds `0..N`
//! (default 3); `FLEET_ETCD_CHAOS_SEED=S` runs seed S alone.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Etcd;
use fleet_core::chaos::{Change, Invariants, Scenario, Switch, places_of, plant_foreign_clusters};
use fleet_core::engine::{Engine, EngineEvent};
use fleet_core::sim::{InjectedError, Latency, LatencyModel, Operation, RegionCapacity, SimCloud};
use fleet_core::store::StateStore;
use fleet_core::*;
use fleet_etcd::{EtcdStore, Replica, ReplicaOptions};
use tokio::task::JoinHandle;

/// Steps per run, about a third of a second apart.
const STEPS: usize = 16;

fn cloud(name: &str, regions: &[&str], seed: u64) -> SimCloud {
    let latency = LatencyModel::zero()
        .with_create(Latency::Fixed(Duration::from_millis(200)))
        .with_update(Latency::Fixed(Duration::from_millis(100)))
        .with_delete(Latency::Fixed(Duration::from_millis(100)));
    let mut builder = SimCloud::builder(ProviderName::new(name).unwrap()).latency(latency).unlimited_rate().seed(seed);
    for region in regions {
        builder = builder.region(Region::new(*region).unwrap(), RegionCapacity::unlimited());
    }
    builder.build()
}

/// A seeded generator for the schedule (SplitMix64).
struct Schedule(u64);

impl Schedule {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n.max(1) as u64) as usize
    }
}

/// A replica and its engine's reconcile loop, which a kill stops where it is.
struct Member {
    replica: Replica,
    run: JoinHandle<()>,
}

struct World {
    etcd: Etcd,
    fleet: FleetName,
    clouds: Vec<SimCloud>,
    members: Vec<Member>,
    joined: usize,
    switches: Arc<Mutex<Vec<Switch>>>,
}

impl World {
    async fn join(&mut self) {
        let id = format!("r{}", self.joined);
        self.joined += 1;
        let options = ReplicaOptions::default().with_shards(8).with_lease_ttl(Duration::from_secs(2));
        let replica = Replica::join(&[self.etcd.endpoint()], &self.fleet, &id, options).await.unwrap();
        let mut builder = Engine::builder(self.fleet.clone())
            .store(replica.store())
            .ownership(replica.ownership())
            .options(common::engine_options(Duration::from_millis(200)));
        for cloud in &self.clouds {
            builder = builder.provider(Arc::new(cloud.provider(self.fleet.clone())));
        }
        let engine = builder.build().unwrap();
        let mut events = engine.subscribe();
        let switches = Arc::clone(&self.switches);
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                if let EngineEvent::PlacementSwitched { identity, cluster, generation, .. } = event {
                    switches.lock().unwrap().push((identity, cluster, generation));
                }
            }
        });
        replica.attach(engine.clone());
        let run = tokio::spawn(async move { engine.run(tokio_util::sync::CancellationToken::new()).await });
        self.members.push(Member { replica, run });
    }

    /// Kills one replica: its reconcile pass stops mid-way, its lease is left to expire.
    fn kill(&mut self, index: usize) {
        let member = self.members.remove(index);
        member.run.abort();
        member.replica.crash();
    }
}

/// The invariants that hold at every moment, across every replica's switches so far.
async fn check_always(invariants: &mut Invariants, world: &World, store: &EtcdStore, when: &str) -> Result<(), String> {
    let switches = world.switches.lock().unwrap().clone();
    invariants
        .check_always(&world.clouds, store, &switches)
        .await
        .map_err(|err| format!("{when}: the store failed: {err}"))?
        .map_err(|violation| format!("{when}: {violation}"))
}

/// One seed's run; the error names the invariant that broke and when.
async fn run(seed: u64) -> Result<String, String> {
    let mut schedule = Schedule(seed);
    let fleet = FleetName::new(format!("chaos-{seed}")).unwrap();
    let clouds = vec![cloud("sim-a", &["east", "west"], seed), cloud("sim-b", &["central"], seed + 1)];
    let foreign = plant_foreign_clusters(&clouds);
    let mut scenario = Scenario::new(fleet.clone(), places_of(&clouds), 6, seed);
    let mut invariants = Invariants::new(fleet.clone(), foreign);
    for identity in scenario.identities() {
        invariants.allow_create(identity);
    }
    let etcd = Etcd::start();
    let publisher = EtcdStore::connect(&[etcd.endpoint()], &fleet).await.unwrap();
    let addons = BTreeMap::new();
    publisher.publish_desired(&scenario.desired(&addons)).await.unwrap();
    let mut world =
        World { etcd, fleet, clouds, members: Vec::new(), joined: 0, switches: Arc::new(Mutex::new(Vec::new())) };
    for _ in 0..3 {
        world.join().await;
    }
    let (mut kills, mut pauses, mut faults, mut changes) = (0, 0, 0, 0);
    for step in 1..=STEPS {
        match schedule.below(6) {
            0 | 1 => {
                match scenario.change() {
                    Change::Added(identity) | Change::Replacing(identity) => invariants.allow_create(&identity),
                    _ => {}
                }
                publisher.publish_desired(&scenario.desired(&addons)).await.unwrap();
                changes += 1;
            }
            2 if !world.members.is_empty() => {
                let index = schedule.below(world.members.len());
                world.kill(index);
                kills += 1;
            }
            3 if !world.members.is_empty() => {
                // Stalled past its lease: it loses its shards, and its writes are refused.
                let member = &world.members[schedule.below(world.members.len())];
                member.replica.pause();
                tokio::time::sleep(Duration::from_millis(2_500)).await;
                member.replica.resume();
                pauses += 1;
            }
            4 => {
                let cloud = &world.clouds[schedule.below(world.clouds.len())];
                let operation =
                    [Operation::Create, Operation::Get, Operation::List, Operation::Delete][schedule.below(4)];
                match schedule.below(3) {
                    0 => cloud.fail_next(operation, 1 + schedule.below(3) as u32, InjectedError::Unavailable),
                    1 => cloud.lose_next_responses(Operation::Create, 1),
                    _ => cloud.set_error_probability(operation, 0.2, InjectedError::Conflict),
                }
                faults += 1;
            }
            _ if world.members.len() < 3 => world.join().await,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        check_always(&mut invariants, &world, &publisher, &format!("step {step}")).await?;
    }
    for cloud in &world.clouds {
        cloud.clear_faults();
    }
    if world.members.is_empty() {
        world.join().await;
    }
    let wanted = scenario.desired(&addons);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let verdict = invariants
            .check_converged(&world.clouds, &publisher, &wanted)
            .await
            .map_err(|err| format!("the store failed: {err}"))?;
        match verdict {
            Ok(()) => break,
            Err(violation) if tokio::time::Instant::now() >= deadline => {
                return Err(format!("the fleet converges once faults stop: not within 60 s: {violation}"));
            }
            Err(_) => {}
        }
    }
    check_always(&mut invariants, &world, &publisher, "at the end").await?;
    for member in world.members.drain(..) {
        member.run.abort();
        member.replica.crash();
    }
    let pending = publisher.pending_intents().await.map_err(|err| err.to_string())?;
    Ok(format!(
        "{changes} spec changes, {kills} kills, {pauses} pauses past the lease, {} joins, {faults} faults, \
         {} creates, {} invariant checks, {} intents left",
        world.joined,
        world.clouds.iter().map(|c| c.creations().len()).sum::<usize>(),
        invariants.checks(),
        pending.len()
    ))
}

fn seeds() -> Vec<u64> {
    let number = |name: &str| std::env::var(name).ok().map(|v| v.trim().parse::<u64>().expect("a number"));
    match number("FLEET_ETCD_CHAOS_SEED") {
        Some(seed) => vec![seed],
        None => (0..number("FLEET_ETCD_CHAOS_SEEDS").unwrap_or(3)).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_die_pause_and_join_and_every_invariant_holds() {
    for seed in seeds() {
        match run(seed).await {
            Ok(summary) => println!("seed {seed}: {summary}"),
            Err(violation) => panic!(
                "etcd chaos seed {seed} broke: {violation}\nreplay: FLEET_ETCD_CHAOS_SEED={seed} cargo test -p fleet-etcd \
                 --test etcd_chaos -- --nocapture"
            ),
        }
    }
}
