//! The engine on the simulated cloud: convergence, crash safety at every call, lost responses,
//! throttling, adoption and garbage collection.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use fleet_core::engine::{Engine, EngineOptions};
use fleet_core::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet_core::sim::{CallOutcome, InjectedError, Latency, LatencyModel, Operation, RegionCapacity, SimCloud};
use fleet_core::store::{SqliteStore, StateStore};
use fleet_core::*;

fn fleet() -> FleetName {
    FleetName::new("eng").unwrap()
}

fn cloud(seed: u64, latency: LatencyModel) -> SimCloud {
    SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
        .latency(latency)
        .seed(seed)
        .build()
}

fn spec(id: &str, minor: u32) -> ClusterSpec {
    let region = if id.len().is_multiple_of(2) { "east" } else { "west" };
    ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new("sim").unwrap(),
        Region::new(region).unwrap(),
        KubernetesVersion::new(1, minor, None),
    )
    .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
    .build()
    .unwrap()
}

fn desired(specs: Vec<ClusterSpec>) -> DesiredFleet {
    DesiredFleet::new(fleet(), specs.into_iter().map(|s| DesiredCluster::new(s, "test", 0)).collect())
}

fn quick_options() -> EngineOptions {
    let mut options = EngineOptions::default();
    options.retry_initial = Duration::from_millis(100);
    options.retry_max = Duration::from_secs(5);
    options.poll_initial = Duration::from_secs(10);
    options.poll_max = Duration::from_secs(30);
    options
}

async fn converge(engine: &Engine, passes: usize) -> usize {
    for pass in 1..=passes {
        let report = engine.run_once().await.unwrap();
        if report.converged {
            return pass;
        }
    }
    panic!("not converged after {passes} passes");
}

async fn assert_no_orphans(cloud: &SimCloud, store: &dyn StateStore, wanted: &[&str]) {
    let identity = |c: &Cluster| c.fleet_tags().map(|t| t.identity.to_string()).unwrap_or_default();
    let ours: Vec<Cluster> =
        cloud.clusters().into_iter().filter(|c| FleetTags::belongs_to(&c.tags, &fleet())).collect();
    let at_provider: BTreeSet<String> = ours.iter().map(identity).collect();
    assert_eq!(ours.len(), at_provider.len(), "one cluster per identity: no leftover of a replacement");
    let wanted: BTreeSet<String> = wanted.iter().map(|s| s.to_string()).collect();
    assert_eq!(at_provider, wanted, "provider holds exactly the wanted clusters");
    let physical: BTreeSet<String> = ours.iter().map(|c| c.id.to_string()).collect();
    let in_store: BTreeSet<String> = store.observed().await.unwrap().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(in_store, physical, "store and provider agree: no orphans");
    assert!(store.pending_intents().await.unwrap().is_empty(), "every intent is resolved");
}

#[tokio::test(start_paused = true)]
async fn a_fleet_converges_and_then_stays_converged() {
    let cloud = cloud(1, LatencyModel::realistic());
    let engine =
        Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(quick_options()).build().unwrap();
    engine.set_desired(desired(vec![spec("a", 31), spec("bb", 31), spec("c", 31)])).unwrap();
    let report = engine.run_once().await.unwrap();
    assert_eq!((report.planned.create, report.succeeded), (3, 3), "{report:?}");
    assert_eq!(converge(&engine, 3).await, 1);
    assert_no_orphans(&cloud, engine.store().as_ref(), &["a", "bb", "c"]).await;

    engine.set_desired(desired(vec![spec("a", 32), spec("bb", 31)])).unwrap();
    let report = engine.run_once().await.unwrap();
    assert_eq!((report.planned.update, report.planned.delete, report.succeeded), (1, 1, 2), "{report:?}");
    converge(&engine, 3).await;
    assert_no_orphans(&cloud, engine.store().as_ref(), &["a", "bb"]).await;
    let a = cloud.clusters().into_iter().find(|c| c.id.as_str() == "a").unwrap();
    assert_eq!(a.kubernetes_version, Some(KubernetesVersion::new(1, 32, None)));
}

/// A provider that stops answering after its `k`-th call, as if the process died just after
/// that call reached the cloud.
struct CrashAfter {
    inner: fleet_core::sim::SimProvider,
    calls: AtomicU64,
    crash_at: u64,
    crashed: tokio::sync::Notify,
}

impl CrashAfter {
    async fn check<T>(&self, result: Result<T>) -> Result<T> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= self.crash_at {
            self.crashed.notify_one();
            std::future::pending::<()>().await;
        }
        result
    }
}

#[async_trait]
impl ClusterProvider for CrashAfter {
    fn info(&self) -> &ProviderInfo {
        self.inner.info()
    }
    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let r = self.inner.create(spec).await;
        self.check(r).await
    }
    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        let r = self.inner.get(id).await;
        self.check(r).await
    }
    async fn list(&self) -> Result<Listing> {
        let r = self.inner.list().await;
        self.check(r).await
    }
    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let r = self.inner.update(spec).await;
        self.check(r).await
    }
    async fn delete(&self, id: &ClusterId) -> Result<()> {
        let r = self.inner.delete(id).await;
        self.check(r).await
    }
    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        let r = self.inner.credentials(id).await;
        self.check(r).await
    }
}

fn phases() -> [Vec<ClusterSpec>; 2] {
    let mut bigger = spec("bb", 31);
    bigger.node_pools[0].size = SizeClass::Large;
    [
        vec![spec("a", 31), spec("bb", 31), spec("c", 31), spec("dd", 31)],
        // `a` is upgraded in place, `bb` replaced (machine sizes are fixed), `c` deleted, `e` created.
        vec![spec("a", 32), bigger, spec("dd", 31), spec("e", 31)],
    ]
}

/// Runs the two-phase scenario from `start_phase`; returns the phase reached if the provider
/// crashed, `None` when it finished.
async fn scenario(engine: &Engine, start_phase: usize, crashed: Option<&tokio::sync::Notify>) -> Option<usize> {
    for (index, specs) in phases().into_iter().enumerate().skip(start_phase) {
        engine.set_desired(desired(specs)).unwrap();
        let run = async {
            for _ in 0..10 {
                let report = engine.run_once().await.unwrap();
                if std::env::var("FLEET_DEBUG").is_ok() {
                    eprintln!("phase {index}: {report:?}");
                }
                if report.converged {
                    return;
                }
            }
            panic!("phase {index} did not converge");
        };
        match crashed {
            Some(crashed) => {
                tokio::select! {
                    () = run => {}
                    () = crashed.notified() => return Some(index),
                }
            }
            None => run.await,
        }
    }
    None
}

#[tokio::test(start_paused = true)]
async fn a_crash_after_any_call_converges_with_no_duplicate_and_no_orphan() {
    let latency = LatencyModel::zero()
        .with_create(Latency::seconds(60, 120))
        .with_delete(Latency::seconds(30, 60))
        .with_update(Latency::seconds(60, 90));
    // A clean run counts the scenario's calls.
    let clean = cloud(9, latency);
    let engine =
        Engine::builder(fleet()).provider(Arc::new(clean.provider(fleet()))).options(quick_options()).build().unwrap();
    assert_eq!(scenario(&engine, 0, None).await, None);
    let total = clean.call_log().len() as u64;
    let creations = clean.clusters_created();
    assert_eq!(creations, 6, "four clusters, then one more and one replacement");
    assert!(total > 20, "the scenario makes {total} calls");
    if std::env::var("FLEET_DEBUG").is_ok() {
        eprintln!("crash scenario: {total} provider calls, {creations} creations");
    }

    let dir = std::env::temp_dir().join(format!("fleet-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for k in 1..=total {
        let path = dir.join(format!("crash-{k}.db"));
        let _ = std::fs::remove_file(&path);
        let cloud = cloud(9, latency);
        let crashing = Arc::new(CrashAfter {
            inner: cloud.provider(fleet()),
            calls: AtomicU64::new(0),
            crash_at: k,
            crashed: tokio::sync::Notify::new(),
        });
        let store = Arc::new(SqliteStore::open(&path, &fleet()).await.unwrap());
        let first =
            Engine::builder(fleet()).provider(crashing.clone()).store(store).options(quick_options()).build().unwrap();
        let crashed_in = scenario(&first, 0, Some(&crashing.crashed)).await;
        if std::env::var("FLEET_DEBUG").is_ok() {
            eprintln!("k={k}: crashed in phase {crashed_in:?}");
        }
        drop(first);

        let store = Arc::new(SqliteStore::open(&path, &fleet()).await.unwrap());
        let restarted = Engine::builder(fleet())
            .provider(Arc::new(cloud.provider(fleet())))
            .store(store.clone())
            .options(quick_options())
            .build()
            .unwrap();
        scenario(&restarted, crashed_in.unwrap_or(1), None).await;
        assert_eq!(cloud.clusters_created(), creations, "crash after call {k}: a cluster was created twice");
        assert_no_orphans(&cloud, store.as_ref(), &["a", "bb", "dd", "e"]).await;
        let _ = std::fs::remove_file(&path);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(start_paused = true)]
async fn a_lost_create_response_is_adopted_not_repeated() {
    let cloud = cloud(2, LatencyModel::realistic());
    cloud.lose_next_responses(Operation::Create, 1);
    let engine =
        Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(quick_options()).build().unwrap();
    engine.set_desired(desired(vec![spec("a", 31)])).unwrap();
    let report = engine.run_once().await.unwrap();
    assert_eq!(report.succeeded, 1, "{report:?}");
    assert_eq!(cloud.clusters_created(), 1, "one cluster, though create was called twice");
    let creates: Vec<_> =
        cloud.call_log().into_iter().filter(|r| r.operation == Operation::Create).map(|r| r.outcome).collect();
    assert_eq!(creates, [CallOutcome::ResponseLost, CallOutcome::Ok]);
    assert!(engine.run_once().await.unwrap().converged);
}

#[tokio::test(start_paused = true)]
async fn throttling_never_exceeds_the_budget_and_retry_after_is_honoured() {
    let limits = RateLimits::new(RateLimit::new(4.0, 4), RateLimit::new(1.0, 2));
    let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
        .latency(LatencyModel::zero().with_create(Latency::seconds(30, 60)))
        .rate_limits(limits)
        .build();
    let engine =
        Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(quick_options()).build().unwrap();
    let ids: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
    engine.set_desired(desired(ids.iter().map(|id| spec(id, 31)).collect())).unwrap();
    converge(&engine, 3).await;
    let log = cloud.call_log();
    assert!(log.iter().all(|r| r.outcome != CallOutcome::OverBudget), "the engine's budget kept it under the limit");
    for (kind, limit) in [(true, limits.writes), (false, limits.reads)] {
        let times: Vec<Duration> = log.iter().filter(|r| r.operation.is_write() == kind).map(|r| r.at).collect();
        for (i, start) in times.iter().enumerate() {
            for (j, end) in times.iter().enumerate().skip(i) {
                let allowed = f64::from(limit.burst) + (*end - *start).as_secs_f64() * limit.per_second + 1e-6;
                assert!(
                    ((j - i + 1) as f64) <= allowed,
                    "{} calls in {:?} exceed the budget",
                    j - i + 1,
                    *end - *start
                );
            }
        }
    }

    // When the provider throttles anyway, the engine waits exactly as long as it is told.
    cloud.fail_next(Operation::Create, 1, InjectedError::RateLimited(Duration::from_secs(42)));
    engine.set_desired(desired(vec![spec("late", 31)])).unwrap();
    engine.run_once().await.unwrap();
    let creates: Vec<_> = cloud
        .call_log()
        .into_iter()
        .filter(|r| r.operation == Operation::Create && r.cluster.as_ref().is_some_and(|c| c.as_str() == "late"))
        .collect();
    assert_eq!(creates.len(), 2);
    assert_eq!(creates[1].at - creates[0].at, Duration::from_secs(42));
}

#[tokio::test(start_paused = true)]
async fn clusters_found_at_the_provider_are_adopted_and_unwanted_ones_collected_after_grace() {
    let cloud = cloud(3, LatencyModel::zero());
    let provider = cloud.provider(fleet());
    provider.create(&spec("a", 31)).await.unwrap();
    provider.create(&spec("stale", 31)).await.unwrap();
    cloud.insert_unmanaged_cluster(
        ClusterId::new("legacy").unwrap(),
        Region::new("east").unwrap(),
        KubernetesVersion::new(1, 29, None),
        Default::default(),
    );
    let mut options = quick_options();
    options.gc_grace = Duration::from_secs(300);
    let engine = Engine::builder(fleet()).provider(Arc::new(provider)).options(options).build().unwrap();
    let mut events = engine.subscribe();
    engine.set_desired(desired(vec![spec("a", 31)])).unwrap();
    let report = engine.run_once().await.unwrap();
    assert_eq!(report.adopted, 2);
    assert_eq!(report.awaiting_grace, 1, "{report:?}");
    assert_eq!(cloud.clusters_created(), 3, "adopted, not recreated");
    tokio::time::sleep(Duration::from_secs(301)).await;
    let report = engine.run_once().await.unwrap();
    assert_eq!(report.succeeded, 1, "{report:?}");
    let ids: Vec<_> = cloud.clusters().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(ids, ["a", "legacy"], "the untagged cluster is never touched");
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    assert!(seen.iter().any(|e| matches!(e, fleet_core::engine::EngineEvent::ClusterAdopted { .. })));
    assert!(seen.iter().any(
        |e| matches!(e, fleet_core::engine::EngineEvent::GarbageCollected { cluster } if cluster.as_str() == "stale")
    ));
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_marks_the_cluster_failed_without_spinning() {
    let cloud = cloud(4, LatencyModel::zero());
    cloud.fail_next(Operation::Create, 1, InjectedError::PermissionDenied);
    let engine =
        Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(quick_options()).build().unwrap();
    engine.set_desired(desired(vec![spec("a", 31), spec("bb", 31)])).unwrap();
    let report = engine.run_once().await.unwrap();
    assert_eq!(report.succeeded, 1);
    assert!(report.failed.values().next().unwrap().contains("permission denied"), "{report:?}");
    let calls = cloud.call_log().len();
    let again = engine.run_once().await.unwrap();
    assert_eq!(again.failed.len(), 1, "still reported failed");
    assert_eq!(cloud.call_log().len(), calls + 1, "only the observing list call, no retry of the failed create");
}

#[tokio::test(start_paused = true)]
async fn run_reconciles_on_spec_change_until_cancelled() {
    let cloud = cloud(5, LatencyModel::zero());
    let mut options = quick_options();
    options.reconcile_interval = Duration::from_secs(3600);
    let engine = Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(options).build().unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn({
        let engine = engine.clone();
        let cancel = cancel.clone();
        async move { engine.run(cancel).await }
    });
    let mut events = engine.subscribe();
    engine.set_desired(desired(vec![spec("a", 31)])).unwrap();
    loop {
        if let fleet_core::engine::EngineEvent::ClusterReady { cluster } = events.recv().await.unwrap() {
            assert_eq!(cluster.as_str(), "a");
            break;
        }
    }
    assert!(cloud.elapsed() < Duration::from_secs(3600), "reacted to the change, not the interval");
    engine.set_desired(desired(vec![])).unwrap();
    loop {
        if let fleet_core::engine::EngineEvent::GarbageCollected { .. } = events.recv().await.unwrap() {
            break;
        }
    }
    cancel.cancel();
    running.await.unwrap();
    assert!(cloud.clusters().is_empty());
    let progress = engine.progress();
    assert!(progress.calls[&ProviderName::new("sim").unwrap()].writes >= 2, "{progress:?}");
}

#[tokio::test(start_paused = true)]
async fn ttls_are_judged_on_the_engines_clock() {
    let cloud = cloud(6, LatencyModel::zero());
    let clock = cloud.clone();
    let engine = Engine::builder(fleet())
        .provider(Arc::new(cloud.provider(fleet())))
        .options(quick_options())
        .clock(move || clock.wall_clock())
        .build()
        .unwrap();
    let mut temporary = spec("tmp", 31);
    temporary.ttl = Some(Duration::from_secs(3600));
    engine.set_desired(desired(vec![temporary])).unwrap();
    engine.run_once().await.unwrap();
    assert!(engine.run_once().await.unwrap().converged, "not expired an instant after creation");
    tokio::time::sleep(Duration::from_secs(3601)).await;
    let report = engine.run_once().await.unwrap();
    assert_eq!((report.planned.delete, report.succeeded), (1, 1), "{report:?}");
    assert!(cloud.clusters().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_create_in_an_unreachable_region_waits_while_the_others_go_on() {
    let cloud = cloud(7, LatencyModel::zero().with_create(Latency::seconds(1, 1)));
    cloud.fail_region(&Region::new("west").unwrap());
    let engine =
        Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(quick_options()).build().unwrap();
    let mut events = engine.subscribe();
    // "a" goes west (out of sight), "bb" east.
    engine.set_desired(desired(vec![spec("a", 31), spec("bb", 31)])).unwrap();
    let report = engine.run_once().await.unwrap();
    assert_eq!(report.succeeded, 1, "{report:?}");
    assert_eq!(report.unreachable, 1, "the create in the unreachable region waits: {report:?}");
    assert!(report.failed.is_empty(), "{report:?}");
    let creates: Vec<_> = cloud.call_log().into_iter().filter(|c| c.operation == Operation::Create).collect();
    assert_eq!(creates.len(), 1, "nothing is created where the engine cannot look: {creates:?}");
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        match event {
            fleet_core::engine::EngineEvent::ClusterReady { cluster } => seen.push(format!("ready {cluster}")),
            fleet_core::engine::EngineEvent::RegionUnavailable { region, .. } => seen.push(format!("unseen {region}")),
            _ => {}
        }
    }
    assert_eq!(seen, ["unseen west", "ready bb"]);
    cloud.restore_region(&Region::new("west").unwrap());
    assert_eq!(engine.run_once().await.unwrap().succeeded, 1);
    assert!(engine.run_once().await.unwrap().converged);
}

#[tokio::test(start_paused = true)]
async fn long_operations_time_out_per_provider() {
    let cloud = cloud(8, LatencyModel::zero().with_create(Latency::seconds(7200, 7200)));
    let mut options = quick_options();
    options.operation_timeout = Some(Duration::from_secs(600));
    let engine = Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(options).build().unwrap();
    engine.set_desired(desired(vec![spec("a", 31)])).unwrap();
    let report = engine.run_once().await.unwrap();
    let reason = &report.failed[&ClusterId::new("a").unwrap()];
    assert!(reason.contains("timed out") && reason.contains("running"), "{reason}");
    assert!(cloud.elapsed() < Duration::from_secs(700), "gave up at the timeout, not later");
}

#[tokio::test(start_paused = true)]
async fn every_attempt_of_a_mutating_call_is_journalled_before_it_is_made() {
    let cloud = cloud(10, LatencyModel::zero());
    cloud.fail_next(Operation::Create, 1, InjectedError::Unavailable);
    let engine =
        Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(quick_options()).build().unwrap();
    engine.set_desired(desired(vec![spec("a", 31)])).unwrap();
    engine.run_once().await.unwrap();
    let intents = engine.store().intents().await.unwrap();
    let attempts: Vec<_> = intents.iter().map(|i| (i.intent.operation, i.intent.attempt, i.outcome.clone())).collect();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!((attempts[0].0, attempts[0].1), (fleet_core::store::IntentOperation::Create, 1));
    assert!(
        matches!(&attempts[0].2, Some(fleet_core::store::IntentOutcome::Failed { reason }) if reason.contains("unavailable"))
    );
    assert_eq!((attempts[1].1, attempts[1].2.clone()), (2, Some(fleet_core::store::IntentOutcome::Succeeded)));
    assert_eq!(intents[1].intent.spec.as_ref().map(|s| s.id.as_str()), Some("a"), "the target spec is journalled");
}

#[tokio::test(start_paused = true)]
async fn expiry_is_announced_in_advance_and_an_expired_cluster_stays_gone_across_restarts() {
    let cloud = cloud(11, LatencyModel::zero());
    let path = std::env::temp_dir().join(format!("fleet-expiry-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let build = |store: Arc<SqliteStore>| {
        let clock = cloud.clone();
        let mut options = quick_options();
        options.expiry_warning = Duration::from_secs(1800);
        Engine::builder(fleet())
            .provider(Arc::new(cloud.provider(fleet())))
            .store(store)
            .options(options)
            .clock(move || clock.wall_clock())
            .build()
            .unwrap()
    };
    let engine = build(Arc::new(SqliteStore::open(&path, &fleet()).await.unwrap()));
    let mut events = engine.subscribe();
    let mut temporary = spec("tmp", 31);
    temporary.ttl = Some(Duration::from_secs(7200));
    let wanted = desired(vec![temporary, spec("keep", 31)]);
    engine.set_desired(wanted.clone()).unwrap();
    for _ in 0..4 {
        engine.run_once().await.unwrap();
        tokio::time::sleep(Duration::from_secs(1800)).await;
    }
    // Passes at 0, 30, 60, 90 and 120 minutes: warned at 90, expired at 120.
    let report = engine.run_once().await.unwrap();
    assert_eq!(report.planned.delete, 1, "{report:?}");
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        match event {
            fleet_core::engine::EngineEvent::ExpiringSoon { identity, remaining } => {
                seen.push(format!("expiring {identity} in {remaining:?}"))
            }
            fleet_core::engine::EngineEvent::ClusterExpired { identity } => seen.push(format!("expired {identity}")),
            _ => {}
        }
    }
    assert_eq!(seen, ["expiring tmp in 1800s", "expired tmp"]);
    assert!(engine.run_once().await.unwrap().converged, "not created again");
    drop(engine);

    let restarted = build(Arc::new(SqliteStore::open(&path, &fleet()).await.unwrap()));
    restarted.set_desired(wanted).unwrap();
    let report = restarted.run_once().await.unwrap();
    assert_eq!(report.planned.create, 0, "the expiry is remembered across restarts: {report:?}");
    let ids: Vec<_> = cloud.clusters().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(ids, ["keep"]);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(start_paused = true)]
async fn clusters_hibernate_and_resume_where_the_provider_can() {
    let cloud = cloud(12, LatencyModel::zero().with_update(Latency::seconds(120, 120)));
    let engine =
        Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(quick_options()).build().unwrap();
    let awake = spec("a", 31);
    let mut asleep = awake.clone();
    asleep.hibernated = true;
    engine.set_desired(desired(vec![awake.clone()])).unwrap();
    converge(&engine, 3).await;
    engine.set_desired(desired(vec![asleep])).unwrap();
    let report = engine.run_once().await.unwrap();
    assert_eq!((report.planned.update, report.succeeded), (1, 1), "{report:?}");
    assert_eq!(cloud.clusters()[0].phase, ClusterPhase::Hibernated);
    assert!(engine.run_once().await.unwrap().converged);
    engine.set_desired(desired(vec![awake])).unwrap();
    engine.run_once().await.unwrap();
    assert_eq!(cloud.clusters()[0].phase, ClusterPhase::Running);
    let operations: Vec<_> = engine.store().intents().await.unwrap().iter().map(|i| i.intent.operation).collect();
    use fleet_core::store::IntentOperation::*;
    assert_eq!(operations, [Create, Hibernate, Resume], "each call journalled");

    let incapable = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
        .latency(LatencyModel::zero())
        .capabilities(Capabilities::default())
        .build();
    let engine = Engine::builder(fleet())
        .provider(Arc::new(incapable.provider(fleet())))
        .options(quick_options())
        .build()
        .unwrap();
    let mut asleep = spec("a", 31);
    engine.set_desired(desired(vec![asleep.clone()])).unwrap();
    converge(&engine, 3).await;
    asleep.hibernated = true;
    engine.set_desired(desired(vec![asleep])).unwrap();
    let report = engine.run_once().await.unwrap();
    assert!(report.failed.values().next().is_some_and(|r| r.contains("unsupported")), "{report:?}");
}

/// Fails every cluster running Kubernetes 1.32: a release that breaks the workloads.
struct BrokenRelease;

#[async_trait]
impl fleet_core::failover::HealthCheck for BrokenRelease {
    async fn check(&self, cluster: &Cluster) -> fleet_core::failover::Health {
        match cluster.kubernetes_version {
            Some(version) if version.minor() == 32 => {
                fleet_core::failover::Health::Unhealthy { reason: "readiness probe of `web` fails".into() }
            }
            _ => fleet_core::failover::Health::Healthy,
        }
    }
}

fn rollout_engine(cloud: &SimCloud, gate: Option<Arc<dyn fleet_core::failover::HealthCheck>>) -> Engine {
    let mut options = quick_options();
    options.rollout.canary = 1;
    options.rollout.max_unavailable = 3;
    let mut builder = Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(options);
    if let Some(gate) = gate {
        builder = builder.health_gate(gate);
    }
    builder.build().unwrap()
}

/// A cloud that changes nothing in place: every upgrade is a replacement.
fn rigid_cloud(seed: u64) -> SimCloud {
    SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
        .capabilities(Capabilities::default())
        .seed(seed)
        .build()
}

fn ten(minor: u32) -> Vec<ClusterSpec> {
    (0..10).map(|i| spec(&format!("web-{i}"), minor)).collect()
}

#[tokio::test(start_paused = true)]
async fn replacements_roll_out_as_a_canary_then_waves_bounded_by_max_unavailable() {
    let cloud = rigid_cloud(11);
    let engine = rollout_engine(&cloud, None);
    engine.set_desired(desired(ten(31))).unwrap();
    converge(&engine, 5).await;

    engine.set_desired(desired(ten(32))).unwrap();
    let mut waves = Vec::new();
    loop {
        let report = engine.run_once().await.unwrap();
        if report.converged {
            break;
        }
        assert!(report.halted.is_none());
        waves.push(report.succeeded);
        assert!(waves.len() < 10, "{waves:?}");
    }
    assert_eq!(waves, [1, 3, 3, 3], "one canary, then waves of three");
    let names: Vec<&str> =
        ["web-0", "web-1", "web-2", "web-3", "web-4", "web-5", "web-6", "web-7", "web-8", "web-9"].to_vec();
    assert_no_orphans(&cloud, engine.store().as_ref(), &names).await;
}

#[tokio::test(start_paused = true)]
async fn a_canary_failing_its_health_gate_halts_the_rollout_and_leaves_the_old_clusters_serving() {
    let cloud = rigid_cloud(12);
    let engine = rollout_engine(&cloud, Some(Arc::new(BrokenRelease)));
    engine.set_desired(desired(ten(31))).unwrap();
    converge(&engine, 5).await;
    let mut events = engine.subscribe();

    engine.set_desired(desired(ten(32))).unwrap();
    let first = engine.run_once().await.unwrap();
    assert_eq!(first.planned.replace, 10);
    assert_eq!(first.deferred, 9, "only the canary starts");
    assert_eq!(first.failed.len(), 1, "the canary failed its gate: {:?}", first.failed);
    for _ in 0..3 {
        let report = engine.run_once().await.unwrap();
        assert_eq!(report.succeeded, 0, "nothing more is replaced");
        assert!(report.halted.as_ref().is_some_and(|why| why.contains("readiness probe")), "{report:?}");
    }
    let ours: Vec<Cluster> =
        cloud.clusters().into_iter().filter(|c| FleetTags::belongs_to(&c.tags, &fleet())).collect();
    assert_eq!(ours.len(), 10, "the canary's new cluster is deleted");
    assert!(ours.iter().all(|c| c.phase.is_running() && c.kubernetes_version.unwrap().minor() == 31));
    let mut halted = None;
    while let Ok(event) = events.try_recv() {
        if let fleet_core::engine::EngineEvent::RolloutHalted { version, reason, .. } = event {
            halted = Some((version, reason));
        }
    }
    let (_, reason) = halted.expect("a RolloutHalted event");
    assert!(reason.contains("readiness probe"));
    let recorded = engine.store().events_after(0).await.unwrap();
    assert!(
        recorded.iter().any(|e| e.kind == fleet_core::store::RecordKind::RolloutHalted),
        "the halt is an event of record"
    );
}

fn with_addons(specs: Vec<ClusterSpec>, manifest: &str) -> DesiredFleet {
    let addons = std::collections::BTreeMap::from([("base".to_owned(), fleet_core::blueprint::Addon::new(manifest))]);
    DesiredFleet::new(
        fleet(),
        specs.into_iter().map(|s| DesiredCluster::new(s, "test", 0).with_addons(addons.clone())).collect(),
    )
}

const NAMESPACE_AND_CONFIG: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\n";
const NAMESPACE_AND_DEPLOYMENT: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n";

#[tokio::test(start_paused = true)]
async fn add_ons_go_in_before_a_cluster_becomes_active_and_follow_blueprint_changes() {
    let cloud = cloud(21, LatencyModel::realistic());
    let mut options = quick_options();
    options.addon_interval = Duration::from_secs(1800);
    let engine = Engine::builder(fleet())
        .provider(Arc::new(cloud.provider(fleet())))
        .addons_for(ProviderName::new("sim").unwrap(), Arc::new(cloud.clone()))
        .options(options)
        .build()
        .unwrap();
    let mut events = engine.subscribe();
    let specs: Vec<ClusterSpec> = (0..3).map(|i| spec(&format!("shop-{i}"), 31)).collect();
    engine.set_desired(with_addons(specs.clone(), NAMESPACE_AND_CONFIG)).unwrap();
    converge(&engine, 5).await;

    let mut order = Vec::new();
    while let Ok(event) = events.try_recv() {
        match event {
            fleet_core::engine::EngineEvent::AddonsApplied { cluster, applied, .. } => {
                assert_eq!(applied, 2);
                order.push(format!("addons {cluster}"));
            }
            fleet_core::engine::EngineEvent::PlacementSwitched { cluster, .. } => {
                order.push(format!("active {cluster}"))
            }
            _ => {}
        }
    }
    for spec in &specs {
        let addons = order.iter().position(|e| *e == format!("addons {}", spec.id)).unwrap();
        let active = order.iter().position(|e| *e == format!("active {}", spec.id)).unwrap();
        assert!(addons < active, "add-ons before activation: {order:?}");
        let objects: Vec<String> = cloud.addons_in(&spec.id).iter().map(ToString::to_string).collect();
        assert_eq!(objects, ["ConfigMap shop/settings", "Namespace shop"]);
    }

    // The blueprint drops the ConfigMap and adds a Deployment: every cluster follows.
    engine.set_desired(with_addons(specs.clone(), NAMESPACE_AND_DEPLOYMENT)).unwrap();
    let report = engine.run_once().await.unwrap();
    assert_eq!(report.addons_installed, 3, "{report:?}");
    for spec in &specs {
        let objects: Vec<String> = cloud.addons_in(&spec.id).iter().map(ToString::to_string).collect();
        assert_eq!(objects, ["Deployment.apps shop/web", "Namespace shop"]);
    }
    let recorded = engine.store().events_after(0).await.unwrap();
    assert!(
        recorded
            .iter()
            .any(|e| e.kind == fleet_core::store::RecordKind::AddonsApplied && e.message == "1 applied, 1 pruned")
    );

    // Unchanged add-ons are installed again only when the interval has passed.
    assert_eq!(engine.run_once().await.unwrap().addons_installed, 0);
    tokio::time::sleep(Duration::from_secs(1800)).await;
    assert_eq!(engine.run_once().await.unwrap().addons_installed, 3, "re-applied to find drift");
}

/// Owns the identities whose last character's code has the given parity.
struct Parity(u32);

impl fleet_core::engine::Ownership for Parity {
    fn owns(&self, identity: &ClusterIdentity) -> bool {
        identity.as_str().chars().last().is_some_and(|c| c as u32 % 2 == self.0)
    }
}

#[tokio::test(start_paused = true)]
async fn engines_sharing_a_store_act_only_on_the_clusters_they_own() {
    let cloud = cloud(11, LatencyModel::zero());
    let store: Arc<dyn StateStore> = Arc::new(fleet_core::store::MemoryStore::new());
    let engines: Vec<Engine> = (0..2)
        .map(|parity| {
            Engine::builder(fleet())
                .provider(Arc::new(cloud.provider(fleet())))
                .store(Arc::clone(&store))
                .ownership(Arc::new(Parity(parity)))
                .options(quick_options())
                .build()
                .unwrap()
        })
        .collect();
    let ids = ["a-1", "a-2", "a-3", "a-4", "a-5", "a-6"];
    for engine in &engines {
        engine.set_desired(desired(ids.iter().map(|id| spec(id, 31)).collect())).unwrap();
    }
    // The first engine alone: it creates its three and leaves the others alone.
    converge(&engines[0], 10).await;
    let created: BTreeSet<String> = cloud.clusters().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(created, BTreeSet::from(["a-2".into(), "a-4".into(), "a-6".into()]));
    // The second one: its three, and it neither deletes nor recovers the first one's.
    converge(&engines[1], 10).await;
    converge(&engines[0], 10).await;
    let creates = cloud.call_log().iter().filter(|c| c.operation == Operation::Create).count();
    assert_eq!(creates, 6, "each cluster created once, by its owner");
    assert_no_orphans(&cloud, store.as_ref(), &ids).await;
    assert_eq!(cloud.call_log().iter().filter(|c| c.operation == Operation::Delete).count(), 0);
}

/// A provider that answers every update with success and changes nothing.
struct IgnoresUpdates {
    inner: fleet_core::sim::SimProvider,
    updates: AtomicU64,
}

#[async_trait]
impl ClusterProvider for IgnoresUpdates {
    fn info(&self) -> &ProviderInfo {
        self.inner.info()
    }
    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster> {
        self.inner.create(spec).await
    }
    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        self.inner.get(id).await
    }
    async fn list(&self) -> Result<Listing> {
        self.inner.list().await
    }
    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        self.updates.fetch_add(1, Ordering::SeqCst);
        self.inner.get(&spec.id).await
    }
    async fn delete(&self, id: &ClusterId) -> Result<()> {
        self.inner.delete(id).await
    }
    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        self.inner.credentials(id).await
    }
}

#[tokio::test(start_paused = true)]
async fn an_update_that_does_not_take_is_retried_a_bounded_number_of_times_then_failed() {
    let cloud = cloud(9, LatencyModel::zero());
    let provider = Arc::new(IgnoresUpdates { inner: cloud.provider(fleet()), updates: AtomicU64::new(0) });
    let engine = Engine::builder(fleet()).provider(provider.clone()).options(quick_options()).build().unwrap();
    engine.set_desired(desired(vec![spec("a", 31)])).unwrap();
    for _ in 0..3 {
        engine.run_once().await.unwrap();
    }
    assert!(engine.run_once().await.unwrap().converged);
    let mut relabelled = spec("a", 31);
    relabelled.labels.insert("tier".into(), "gold".into());
    engine.set_desired(desired(vec![relabelled])).unwrap();
    let mut last = None;
    for _ in 0..10 {
        last = Some(engine.run_once().await.unwrap());
    }
    let updates = provider.updates.load(Ordering::SeqCst);
    assert_eq!(updates, 3, "tried a bounded number of times, not on every pass");
    let report = last.unwrap();
    let reason = &report.failed[&ClusterId::new("a").unwrap()];
    assert!(reason.contains("did not apply the update") && reason.contains("labels.tier"), "{reason}");
    assert!(!report.converged);
}

#[tokio::test(start_paused = true)]
async fn an_upgrade_goes_one_minor_at_a_time_each_step_running_first() {
    let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
        .latency(LatencyModel::zero())
        .offered_versions((33..=37).map(|minor| KubernetesVersion::new(1, minor, None)).collect())
        .build();
    let engine =
        Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(quick_options()).build().unwrap();
    engine.set_desired(desired(vec![spec("a", 33)])).unwrap();
    converge(&engine, 3).await;
    engine.set_desired(desired(vec![spec("a", 36)])).unwrap();
    converge(&engine, 3).await;
    let a = cloud.clusters().into_iter().find(|c| c.id.as_str() == "a").unwrap();
    assert_eq!(a.kubernetes_version, Some(KubernetesVersion::new(1, 36, None)));
    let updates = cloud
        .call_log()
        .iter()
        .filter(|call| call.operation == Operation::Update && call.outcome == CallOutcome::Ok)
        .count();
    assert_eq!(updates, 3, "1.33 -> 1.34 -> 1.35 -> 1.36, one call per minor");

    engine.set_desired(desired(vec![spec("a", 38)])).unwrap();
    let report = engine.run_once().await.unwrap();
    assert!(!report.failed.is_empty(), "1.37 is offered, 1.38 is not: the step past 1.37 is refused, {report:?}");
}

#[tokio::test(start_paused = true)]
async fn a_cluster_upgraded_by_its_provider_is_adopted_and_reported_once() {
    let cloud = cloud(3, LatencyModel::zero());
    let engine =
        Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(quick_options()).build().unwrap();
    let mut events = engine.subscribe();
    engine.set_desired(desired(vec![spec("a", 34)])).unwrap();
    converge(&engine, 3).await;
    assert!(cloud.upgrade_by_provider(&ClusterId::new("a").unwrap(), KubernetesVersion::new(1, 35, Some(2))));
    for _ in 0..3 {
        let report = engine.run_once().await.unwrap();
        assert!(report.converged, "nothing to do for a cluster ahead of its spec: {report:?}");
        assert_eq!((report.planned.replace, report.planned.update), (0, 0), "{report:?}");
    }
    let mut ahead = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let fleet_core::engine::EngineEvent::VersionAhead { cluster, spec, running } = event {
            ahead.push((cluster.to_string(), spec.to_string(), running.to_string()));
        }
    }
    assert_eq!(ahead, [("a".to_string(), "1.34".to_string(), "1.35.2".to_string())]);
    let records = engine.store().events_after(0).await.unwrap();
    assert_eq!(
        records.iter().filter(|e| e.kind == fleet_core::store::RecordKind::VersionAdopted).count(),
        1,
        "{records:?}"
    );
    let a = cloud.clusters().into_iter().find(|c| c.id.as_str() == "a").unwrap();
    assert_eq!(a.kubernetes_version, Some(KubernetesVersion::new(1, 35, Some(2))), "never downgraded");
}

/// The simulated cloud's add-on installer, except that API servers of clusters running
/// Kubernetes 1.32 cannot be reached until `reachable` is set: a new private cluster whose
/// route is not configured yet.
struct UnreachableSuccessors {
    cloud: SimCloud,
    reachable: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl fleet_core::addons::AddonInstaller for UnreachableSuccessors {
    async fn install(
        &self,
        cluster: &Cluster,
        credentials: &Credentials,
        addons: &fleet_core::addons::AddonSet,
        policy: fleet_core::addons::DriftPolicy,
    ) -> Result<fleet_core::addons::AddonReport> {
        if cluster.kubernetes_version.is_some_and(|v| v.minor() == 32) && !self.reachable.load(Ordering::SeqCst) {
            return Err(Error::Unavailable {
                message: format!(
                    "cluster `{}`: its API server at https://10.0.0.1 is unreachable over the configured route (direct): connection timed out",
                    cluster.id
                ),
            });
        }
        self.cloud.install(cluster, credentials, addons, policy).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_replaced_cluster_keeps_serving_until_its_successors_add_ons_are_installed() {
    let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
        .capabilities(Capabilities::default().with_private_endpoint(true))
        .seed(31)
        .build();
    let installer = Arc::new(UnreachableSuccessors { cloud: cloud.clone(), reachable: false.into() });
    let engine = Engine::builder(fleet())
        .provider(Arc::new(cloud.provider(fleet())))
        .addons_for(ProviderName::new("sim").unwrap(), installer.clone())
        .options(quick_options())
        .build()
        .unwrap();
    let private = |minor: u32| {
        let mut spec = spec("vault", minor);
        let mut network = Network::default();
        network.private_endpoint = true;
        spec.network = network;
        spec
    };
    engine.set_desired(with_addons(vec![private(31)], NAMESPACE_AND_CONFIG)).unwrap();
    converge(&engine, 5).await;
    let old: Vec<ClusterId> = cloud.clusters().iter().map(|c| c.id.clone()).collect();
    assert_eq!(old.len(), 1);
    let mut events = engine.subscribe();

    // The upgrade needs a replacement; the new cluster runs, but its add-ons cannot go in.
    engine.set_desired(with_addons(vec![private(32)], NAMESPACE_AND_CONFIG)).unwrap();
    for pass in 0..4 {
        let report = engine.run_once().await.unwrap();
        assert!(!report.converged, "pass {pass}: {report:?}");
        let running: Vec<Cluster> = cloud.clusters().into_iter().filter(|c| c.phase.is_running()).collect();
        assert!(
            running.iter().any(|c| c.id == old[0] && c.kubernetes_version.unwrap().minor() == 31),
            "pass {pass}: the old cluster keeps serving: {running:?}"
        );
    }
    let mut failed = Vec::new();
    while let Ok(event) = events.try_recv() {
        match event {
            fleet_core::engine::EngineEvent::AddonsFailed { cluster, reason } => failed.push((cluster, reason)),
            fleet_core::engine::EngineEvent::PlacementSwitched { cluster, .. } => {
                panic!("`{cluster}` became active without its add-ons")
            }
            _ => {}
        }
    }
    let (cluster, reason) = failed.first().expect("an AddonsFailed event");
    assert_ne!(*cluster, old[0]);
    assert!(reason.contains("unreachable over the configured route"), "{reason}");
    assert!(reason.contains("has a private endpoint") && reason.contains("KubeAddons::with_route"), "{reason}");
    let recorded = engine.store().events_after(0).await.unwrap();
    assert!(
        recorded
            .iter()
            .any(|e| e.kind == fleet_core::store::RecordKind::AddonsFailed && e.message.contains("unreachable")),
        "an event of record: {recorded:?}"
    );

    // Once the route reaches it, the successor gets its add-ons, becomes active, and the old
    // cluster goes.
    installer.reachable.store(true, Ordering::SeqCst);
    converge(&engine, 8).await;
    let left: Vec<Cluster> = cloud.clusters();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_ne!(left[0].id, old[0]);
    assert_eq!(cloud.addons_in(&left[0].id).len(), 2);
    assert_no_orphans(&cloud, engine.store().as_ref(), &["vault"]).await;
}

#[tokio::test(start_paused = true)]
async fn a_desired_fleet_of_another_name_is_refused_and_the_last_one_kept() {
    let cloud = cloud(2, LatencyModel::zero());
    let engine =
        Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(quick_options()).build().unwrap();
    engine.set_desired(desired(vec![spec("a", 31)])).unwrap();
    converge(&engine, 3).await;

    let other = DesiredFleet::new(FleetName::new("other").unwrap(), vec![DesiredCluster::new(spec("b", 31), "t", 0)]);
    let err = engine.set_desired(other).unwrap_err();
    assert!(matches!(&err, Error::InvalidSpec { path, .. } if path == "fleet.name"), "{err}");
    let message = err.to_string();
    assert!(message.contains("`other`") && message.contains("`eng`"), "names both fleets: {message}");
    assert_eq!(engine.desired().clusters.len(), 1, "the last desired fleet is kept");
    assert!(engine.run_once().await.unwrap().converged, "nothing to create, nothing deleted");
    assert_eq!(cloud.clusters().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn every_record_in_the_store_is_stamped_by_the_engines_clock() {
    let cloud = cloud(3, LatencyModel::zero());
    let then = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let engine = Engine::builder(fleet())
        .provider(Arc::new(cloud.provider(fleet())))
        .options(quick_options())
        .clock(move || then)
        .build()
        .unwrap();
    engine.set_desired(desired(vec![spec("a", 31)])).unwrap();
    converge(&engine, 3).await;
    engine.set_desired(desired(vec![])).unwrap();
    converge(&engine, 3).await;
    let intents = engine.store().intents().await.unwrap();
    let events = engine.store().events_after(0).await.unwrap();
    assert!(!intents.is_empty() && !events.is_empty());
    assert!(intents.iter().all(|i| i.recorded_at == then), "{intents:?}");
    assert!(events.iter().all(|e| e.at == then), "{events:?}");
    assert_eq!(engine.now(), then);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_run_stops_within_its_grace_and_a_restart_creates_nothing_twice() {
    let cloud = cloud(4, LatencyModel::zero().with_create(Latency::Fixed(Duration::from_secs(20 * 60))));
    let store: Arc<dyn StateStore> = Arc::new(fleet_core::store::MemoryStore::new());
    let build = |store: Arc<dyn StateStore>| {
        let mut options = quick_options();
        options.shutdown_grace = Duration::from_secs(30);
        Engine::builder(fleet())
            .provider(Arc::new(cloud.provider(fleet())))
            .store(store)
            .options(options)
            .build()
            .unwrap()
    };
    let engine = build(Arc::clone(&store));
    engine.set_desired(desired(vec![spec("a", 31), spec("bb", 31)])).unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn({
        let (engine, cancel) = (engine.clone(), cancel.clone());
        async move { engine.run(cancel).await }
    });
    // The pass is waiting on 20-minute creates when the service shuts down.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let asked = tokio::time::Instant::now();
    cancel.cancel();
    running.await.unwrap();
    let took = asked.elapsed();
    assert!(took <= Duration::from_secs(31), "run ended {took:?} after it was cancelled");
    assert!(!engine.is_running());
    let journalled = store.intents().await.unwrap();
    assert_eq!(journalled.len(), 2, "both creates were journalled before they were made: {journalled:?}");

    // The next engine on the store finds them and creates nothing twice.
    let restarted = build(Arc::clone(&store));
    restarted.set_desired(desired(vec![spec("a", 31), spec("bb", 31)])).unwrap();
    let report = restarted.run_once().await.unwrap();
    assert_eq!(report.planned.create, 0, "the clusters being created are found, not made again: {report:?}");
    converge(&restarted, 5).await;
    assert_no_orphans(&cloud, store.as_ref(), &["a", "bb"]).await;
    assert_eq!(cloud.clusters().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_call_log_counts_what_a_pass_cost() {
    let cloud = cloud(6, LatencyModel::zero());
    let engine =
        Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(quick_options()).build().unwrap();
    engine.set_desired(desired(vec![spec("a", 31), spec("bb", 31)])).unwrap();
    let before = cloud.call_log().len() as u64;
    engine.run_once().await.unwrap();
    let first = cloud.call_counts(before);
    assert_eq!(first.get(&fleet_core::sim::Operation::Create), Some(&2), "{first:?}");
    converge(&engine, 3).await;
    let steady = cloud.call_log().len() as u64;
    assert!(engine.run_once().await.unwrap().converged);
    let pass = cloud.call_counts(steady);
    assert_eq!(
        pass,
        std::collections::BTreeMap::from([(fleet_core::sim::Operation::List, 1)]),
        "a steady pass lists once"
    );
    let all: u64 = cloud.call_counts(0).values().sum();
    assert_eq!(all, cloud.call_log().len() as u64);
}

#[tokio::test(start_paused = true)]
async fn a_placement_left_behind_by_a_kill_between_delete_and_release_is_released() {
    use fleet_core::failover::Location;
    use fleet_core::store::{ActiveCluster, MemoryStore, Placement};
    let cloud = cloud(21, LatencyModel::zero());
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let build = || {
        Engine::builder(fleet())
            .provider(Arc::new(cloud.provider(fleet())))
            .store(Arc::clone(&store))
            .options(quick_options())
            .build()
            .unwrap()
    };
    let engine = build();
    engine.set_desired(desired(vec![spec("keep", 31), spec("gone", 31)])).unwrap();
    converge(&engine, 5).await;
    // What a kill leaves after a garbage-collecting delete removed `gone` (whose placement a
    // past failover had moved from east to west) and before its placement was released.
    let east = Location::new(ProviderName::new("sim").unwrap(), Region::new("east").unwrap());
    let west = Location::new(ProviderName::new("sim").unwrap(), Region::new("west").unwrap());
    let identity = ClusterIdentity::new("gone").unwrap();
    let stored = store.placement(&identity).await.unwrap().unwrap();
    let mut moved = stored.clone();
    moved.location = west.clone();
    moved.home = Some(east.clone());
    moved.active = Some(ActiveCluster::new(ClusterId::new("gone-w").unwrap(), west.clone()));
    store.write_placement(&moved).await.unwrap();
    assert!(cloud.remove_cluster(&identity.first_name()));
    drop(engine);

    let engine = build();
    engine.set_desired(desired(vec![spec("keep", 31)])).unwrap();
    converge(&engine, 5).await;
    assert_eq!(store.placement(&identity).await.unwrap(), None, "the placement no spec wants is released");
    assert!(store.placement(&ClusterIdentity::new("keep").unwrap()).await.unwrap().is_some(), "a wanted one stays");

    // The identity returns: it is made where its spec says, not where the old move sent it.
    let returning = spec("gone", 31);
    assert_eq!(Location::of_spec(&returning), east);
    engine.set_desired(desired(vec![spec("keep", 31), returning])).unwrap();
    converge(&engine, 5).await;
    let made: Vec<Cluster> = cloud.clusters().into_iter().filter(|c| c.id.as_str().starts_with("gone")).collect();
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(Location::of(&made[0]), east, "made at home");
    let placement: Placement = store.placement(&identity).await.unwrap().unwrap();
    assert_eq!((placement.location, placement.home), (east, None));
}

#[tokio::test(start_paused = true)]
async fn a_steady_engine_sees_what_another_writer_changed_in_its_store() {
    // The engine keeps what it read from a store while the store's revision stands; a write
    // by anyone else moves it, and the next pass reads again.
    let cloud = cloud(2, LatencyModel::zero());
    let store: Arc<dyn StateStore> = Arc::new(fleet_core::store::MemoryStore::new());
    let engine = Engine::builder(fleet())
        .provider(Arc::new(cloud.provider(fleet())))
        .store(Arc::clone(&store))
        .options(quick_options())
        .build()
        .unwrap();
    engine.set_desired(desired(vec![spec("a", 31), spec("bb", 31)])).unwrap();
    converge(&engine, 3).await;
    assert_eq!(engine.run_once().await.unwrap().adopted, 0, "a steady pass");

    store.remove_observed(&ClusterId::new("a").unwrap()).await.unwrap();
    let report = engine.run_once().await.unwrap();
    assert_eq!(report.adopted, 1, "the record another writer removed is missed and put back: {report:?}");
    assert_no_orphans(&cloud, store.as_ref(), &["a", "bb"]).await;

    let mut stale = store.observed().await.unwrap().remove(0);
    stale.phase = ClusterPhase::Failed { reason: "written by another writer".into() };
    store.put_observed(&stale).await.unwrap();
    engine.run_once().await.unwrap();
    let kept = store.observed().await.unwrap();
    assert!(kept.iter().all(|c| c.phase.is_running()), "the other writer's record is corrected: {kept:?}");
}
