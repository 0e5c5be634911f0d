//! Fleet on a real etcd: the store conformance suite, several engines sharing one simulated
//! fleet, a killed replica, a paused one, and etcd restarting under a running fleet.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use common::Etcd;
use fleet_core::engine::{Engine, EngineEvent};
use fleet_core::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet_core::sim::{CallOutcome, LatencyModel, Operation, RegionCapacity, SimCloud};
use fleet_core::store::{IntentOperation, IntentOutcome, NewIntent, StateStore};
use fleet_core::*;
use fleet_etcd::{EtcdStore, Replica, ReplicaOptions};
use tokio_util::sync::CancellationToken as Cancel;

fn fleet() -> FleetName {
    FleetName::new("etcd-test").unwrap()
}

fn cloud() -> SimCloud {
    SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .latency(LatencyModel::zero())
        .seed(7)
        .build()
}

fn desired(count: usize) -> DesiredFleet {
    let clusters = (0..count)
        .map(|n| {
            let spec = ClusterSpec::builder(
                ClusterId::new(format!("c-{n}")).unwrap(),
                ProviderName::new("sim").unwrap(),
                Region::new("east").unwrap(),
                KubernetesVersion::new(1, 31, None),
            )
            .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 2).unwrap())
            .build()
            .unwrap();
            DesiredCluster::new(spec, "test", 0)
        })
        .collect();
    DesiredFleet::new(fleet(), clusters)
}

fn options() -> ReplicaOptions {
    ReplicaOptions::default().with_shards(16).with_lease_ttl(Duration::from_secs(2))
}

/// A replica with its engine, running until the test ends; every cluster its engine starts
/// an action on is collected.
struct Running {
    replica: Replica,
    engine: Engine,
    cancel: Cancel,
    acted_on: Arc<std::sync::Mutex<BTreeSet<String>>>,
}

async fn running(etcd: &Etcd, cloud: &SimCloud, id: &str) -> Running {
    let replica = Replica::join(&[etcd.endpoint()], &fleet(), id, options()).await.unwrap();
    let engine = Engine::builder(fleet())
        .provider(Arc::new(cloud.provider(fleet())))
        .store(replica.store())
        .ownership(replica.ownership())
        .options(common::engine_options(Duration::from_millis(500)))
        .build()
        .unwrap();
    let acted_on = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let mut events = engine.subscribe();
    let seen = Arc::clone(&acted_on);
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            if let EngineEvent::ActionStarted { cluster, .. } = event {
                seen.lock().unwrap().insert(cluster.to_string());
            }
        }
    });
    replica.attach(engine.clone());
    let cancel = Cancel::new();
    let (looping, stop) = (engine.clone(), cancel.clone());
    tokio::spawn(async move { looping.run(stop).await });
    Running { replica, engine, cancel, acted_on }
}

/// Waits (up to a minute) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates that took effect, by cluster; a create that found its cluster already made (by
/// another replica) fails the test at once. Throttled attempts (the replicas share the
/// cloud's API limits) are not creates.
fn effective_creates(cloud: &SimCloud) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for call in cloud.call_log().iter().filter(|c| c.operation == Operation::Create) {
        let cluster = call.cluster.as_ref().map(ToString::to_string).unwrap_or_default();
        assert_ne!(call.outcome, CallOutcome::Failed(ErrorKind::AlreadyExists), "{cluster} was created twice");
        if matches!(call.outcome, CallOutcome::Ok | CallOutcome::ResponseLost) {
            *counts.entry(cluster).or_default() += 1;
        }
    }
    counts
}

fn running_clusters(cloud: &SimCloud) -> usize {
    cloud.clusters().iter().filter(|c| c.phase.is_running()).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_passes_the_conformance_suite_and_fleets_do_not_mix() {
    let etcd = Etcd::start();
    let store = EtcdStore::connect(&[etcd.endpoint()], &fleet()).await.unwrap();
    fleet_core::conformance::store::run_all(&store).await;
    let other = EtcdStore::connect(&[etcd.endpoint()], &FleetName::new("another").unwrap()).await.unwrap();
    assert!(other.intents().await.unwrap().is_empty(), "another fleet sees none of this fleet's records");
    assert!(other.events_after(0).await.unwrap().is_empty());
    fleet_core::conformance::store::run_all(&other).await;

    // A replica alone holds every shard; its fenced store passes the suite as well.
    let fenced = FleetName::new("fenced").unwrap();
    let replica = Replica::join(&[etcd.endpoint()], &fenced, "only", options()).await.unwrap();
    assert_eq!(replica.held_shards().len(), 16);
    fleet_core::conformance::store::run_all(replica.store().as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_the_fleet_and_each_cluster_is_acted_on_by_one() {
    let etcd = Etcd::start();
    let cloud = cloud();
    let replicas =
        vec![running(&etcd, &cloud, "a").await, running(&etcd, &cloud, "b").await, running(&etcd, &cloud, "c").await];
    until("the three replicas split the shards", || {
        let held: Vec<u32> = replicas.iter().flat_map(|r| r.replica.held_shards()).collect();
        held.len() == 16
            && held.iter().collect::<BTreeSet<_>>().len() == 16
            && replicas.iter().all(|r| !r.replica.held_shards().is_empty())
    })
    .await;
    let publisher = EtcdStore::connect(&[etcd.endpoint()], &fleet()).await.unwrap();
    publisher.publish_desired(&desired(30)).await.unwrap();
    until("30 clusters run", || running_clusters(&cloud) == 30).await;

    let creates = effective_creates(&cloud);
    assert_eq!(creates.len(), 30);
    assert!(creates.values().all(|n| *n == 1), "no cluster created twice: {creates:?}");
    let acted: Vec<BTreeSet<String>> = replicas.iter().map(|r| r.acted_on.lock().unwrap().clone()).collect();
    for (i, a) in acted.iter().enumerate() {
        for b in &acted[i + 1..] {
            assert!(a.is_disjoint(b), "two replicas acted on {:?}", a.intersection(b).collect::<Vec<_>>());
        }
    }
    assert_eq!(acted.iter().map(BTreeSet::len).sum::<usize>(), 30, "every cluster acted on by exactly one replica");
    for r in &replicas {
        r.cancel.cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_shards_move_and_the_fleet_converges() {
    let etcd = Etcd::start();
    let cloud = cloud();
    let publisher = EtcdStore::connect(&[etcd.endpoint()], &fleet()).await.unwrap();
    publisher.publish_desired(&desired(12)).await.unwrap();
    // Replicas join while the fleet is being created: shards are handed over under work.
    let replicas =
        vec![running(&etcd, &cloud, "a").await, running(&etcd, &cloud, "b").await, running(&etcd, &cloud, "c").await];
    until("12 clusters run", || running_clusters(&cloud) == 12).await;
    until("every replica holds shards", || replicas.iter().all(|r| !r.replica.held_shards().is_empty())).await;
    let creates = effective_creates(&cloud);
    assert!(creates.values().all(|n| *n == 1), "no cluster created twice while shards moved to joiners: {creates:?}");

    let killed = &replicas[2];
    let orphaned = killed.replica.held_shards();
    killed.cancel.cancel();
    killed.replica.crash();
    let started = tokio::time::Instant::now();
    until("the survivors hold every shard", || {
        replicas[..2].iter().map(|r| r.replica.held_shards().len()).sum::<usize>() == 16
    })
    .await;
    println!("{} shards of the killed replica moved after {:?} (lease TTL 2 s)", orphaned.len(), started.elapsed());

    // The fleet goes on: a new desired fleet is followed by the two survivors alone.
    let before = killed.acted_on.lock().unwrap().clone();
    publisher.publish_desired(&desired(20)).await.unwrap();
    until("20 clusters run", || running_clusters(&cloud) == 20).await;
    assert_eq!(*killed.acted_on.lock().unwrap(), before, "the killed replica did nothing more");
    let creates = effective_creates(&cloud);
    assert!(
        creates.len() == 20 && creates.values().all(|n| *n == 1),
        "no cluster created twice across the handover: {creates:?}"
    );
    for r in &replicas {
        r.cancel.cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_replica_that_lost_its_lease_has_its_writes_rejected() {
    let etcd = Etcd::start();
    let cloud = cloud();
    let a = Replica::join(&[etcd.endpoint()], &fleet(), "a", options()).await.unwrap();
    let b = Replica::join(&[etcd.endpoint()], &fleet(), "b", options()).await.unwrap();
    let split = || !a.held_shards().is_empty() && a.held_shards().len() + b.held_shards().len() == 16;
    until("both hold shards", split).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    until("the split is settled", split).await;
    let held = a.held_shards();
    let store = a.store();
    let mine = (0..200)
        .map(|n| ClusterId::new(format!("x-{n}")).unwrap())
        .find(|id| held.contains(&fleet_etcd::shard_of(&ClusterIdentity::of(id), 16)))
        .unwrap();
    store
        .record_intent(NewIntent::new(mine.clone(), IntentOperation::Delete, 1, None), std::time::SystemTime::now())
        .await
        .unwrap();

    a.pause();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stale = a.held_shards();
    assert!(stale.contains(&fleet_etcd::shard_of(&ClusterIdentity::of(&mine), 16)));
    until("b took every shard", || b.held_shards().len() == 16).await;
    assert_eq!(a.held_shards(), stale, "the paused replica has not noticed");
    let err = store
        .record_intent(NewIntent::new(mine.clone(), IntentOperation::Delete, 1, None), std::time::SystemTime::now())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("lost shard"), "{err}");

    // Its engine, woken with a fleet to create, makes no provider call.
    let engine = Engine::builder(fleet())
        .provider(Arc::new(cloud.provider(fleet())))
        .store(a.store())
        .ownership(a.ownership())
        .options(common::engine_options(Duration::from_millis(500)))
        .build()
        .unwrap();
    engine.set_desired(desired(8)).unwrap();
    engine.run_once().await.unwrap();
    assert!(effective_creates(&cloud).is_empty(), "no create from a fenced replica");
    assert!(cloud.call_log().iter().all(|c| c.operation != Operation::Create), "not even an attempt");

    a.resume();
    until("a rejoins and takes shards back", || {
        !a.held_shards().is_empty() && a.held_shards().len() + b.held_shards().len() == 16
    })
    .await;
    a.store()
        .record_intent(NewIntent::new(mine, IntentOperation::Delete, 2, None), std::time::SystemTime::now())
        .await
        .map(|_| ())
        .or_else(|err| {
            // The cluster's shard may now be b's; then the refusal is the right answer.
            if err.kind() == ErrorKind::Conflict { Ok(()) } else { Err(err) }
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_etcd_mid_run_loses_no_intent() {
    let mut etcd = Etcd::start();
    let cloud = cloud();
    let store = EtcdStore::connect(&[etcd.endpoint()], &fleet()).await.unwrap();
    store.publish_desired(&desired(6)).await.unwrap();
    let replica = running(&etcd, &cloud, "a").await;
    until("6 clusters run", || running_clusters(&cloud) == 6).await;
    // A journal of another fleet, which no engine settles, beside the running fleet's own.
    let journal = EtcdStore::connect(&[etcd.endpoint()], &FleetName::new("journal").unwrap()).await.unwrap();
    for n in 0..20 {
        let id = journal
            .record_intent(
                NewIntent::new(ClusterId::new(format!("j-{n}")).unwrap(), IntentOperation::Delete, 1, None),
                std::time::SystemTime::now(),
            )
            .await
            .unwrap();
        if n % 2 == 0 {
            journal.resolve_intent(id, IntentOutcome::Succeeded).await.unwrap();
        }
    }
    let before = journal.intents().await.unwrap();
    let fleet_before = store.intents().await.unwrap();

    etcd.restart();
    let after = async {
        loop {
            match journal.intents().await {
                Ok(intents) => return intents,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    };
    let after = tokio::time::timeout(Duration::from_secs(30), after).await.expect("etcd answers again");
    assert_eq!(after, before, "every intent and outcome survived the restart");
    assert_eq!(after.iter().filter(|i| i.outcome.is_none()).count(), 10);
    let fleet_after = store.intents().await.unwrap();
    assert!(fleet_before.iter().all(|i| fleet_after.iter().any(|a| a.id == i.id)), "the fleet's own intents too");

    // The replica kept (or regained) its shards, and the fleet converges on a new spec.
    store.publish_desired(&desired(9)).await.unwrap();
    until("9 clusters run", || running_clusters(&cloud) == 9).await;
    let creates = effective_creates(&cloud);
    assert!(creates.len() == 9 && creates.values().all(|n| *n == 1), "{creates:?}");
    replica.cancel.cancel();
    let _ = &replica.engine;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_values_give_errors_naming_the_store_never_a_panic() {
    let etcd = Etcd::start();
    let store = EtcdStore::connect(&[etcd.endpoint()], &fleet()).await.unwrap();
    let mut client = etcd_client::Client::connect([etcd.endpoint()], None).await.unwrap();
    let hostile: [&[u8]; 5] = [b"not json", b"{\"id\": [], \"phase\": 7}", b"\xff\xfe\x00", b"null", b""];
    for body in hostile {
        for key in ["observed/x", "placements/p", "intents/00000000000000000001", "events/00000000000000000001"] {
            client.put(format!("/fleet/{}/{key}", fleet()), body, None).await.unwrap();
        }
        client.put(format!("/fleet/{}/counters/intents", fleet()), body, None).await.unwrap();
        for (what, result) in [
            ("observed", store.observed().await.map(|_| ())),
            ("placements", store.placements().await.map(|_| ())),
            ("intents", store.intents().await.map(|_| ())),
            ("events", store.events_after(0).await.map(|_| ())),
        ] {
            let err = result.expect_err(what);
            assert!(err.to_string().contains("etcd") || err.to_string().contains("store"), "{what}: {err}");
        }
        let intent = NewIntent::new(ClusterId::new("c").unwrap(), IntentOperation::Create, 1, None);
        assert!(
            store.record_intent(intent, std::time::SystemTime::now()).await.is_err(),
            "a garbled counter is an error, not id 0"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_larger_than_one_etcd_answer_come_whole_and_writes_are_counted() {
    let etcd = Etcd::start();
    let store = Arc::new(EtcdStore::connect(&[etcd.endpoint()], &fleet()).await.unwrap());
    assert_eq!(store.writes(), 0);
    // 2,500 observations of over 2 KB each: more than the etcd client takes in one answer
    // (4 MiB), written by eight writers at once.
    let count = 2_500;
    let mut writers = tokio::task::JoinSet::new();
    for first in 0..8 {
        let store = Arc::clone(&store);
        writers.spawn(async move {
            for n in (first..count).step_by(8) {
                let id = ClusterId::new(format!("c-{n:05}")).unwrap();
                let region = Region::new("east").unwrap();
                let mut cluster =
                    Cluster::new(id, ProviderName::new("sim").unwrap(), "sim-id", region, ClusterPhase::Running);
                cluster.tags.insert("padding".into(), "x".repeat(2_048));
                store.put_observed(&cluster).await.unwrap();
            }
        });
    }
    while let Some(written) = writers.join_next().await {
        written.unwrap();
    }
    assert_eq!(store.writes(), count as u64, "one write request per observation");
    let observed = store.observed().await.unwrap();
    let ids: Vec<String> = observed.iter().map(|c| c.id.to_string()).collect();
    let expected: Vec<String> = (0..count).map(|n| format!("c-{n:05}")).collect();
    assert_eq!(ids, expected, "every observation, once, in order");
    assert!(observed.iter().all(|c| c.tags["padding"].len() == 2_048));

    // Events too, from any point on.
    let message = "y".repeat(2_048);
    for _ in 0..count {
        store
            .append_event(fleet_core::store::RecordKind::ClusterAdopted, None, &message, std::time::SystemTime::now())
            .await
            .unwrap();
    }
    assert_eq!(store.writes(), 2 * count as u64, "an event is one write (a transaction on counter and record)");
    let events = store.events_after(0).await.unwrap();
    assert_eq!(events.len(), count);
    assert!(events.windows(2).all(|pair| pair[0].seq + 1 == pair[1].seq));
    assert_eq!(store.events_after(count as u64 - 10).await.unwrap().len(), 10);
    assert_eq!(store.writes(), 2 * count as u64, "reads are not writes");
}
