//! The simulated cloud: determinism, capacity, rate limits, and every kind of injected fault
//! with its effect and its recovery.

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_core::sim::{CallOutcome, InjectedError, LatencyModel, Operation, RegionCapacity, SimCloud, SimProvider};
use fleet_core::*;

fn region(name: &str) -> Region {
    Region::new(name).unwrap()
}

fn cloud(seed: u64) -> SimCloud {
    SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(region("east"), RegionCapacity::new(5, 20))
        .region(region("west"), RegionCapacity::new(5, 20))
        .seed(seed)
        .build()
}

fn fleet(cloud: &SimCloud) -> SimProvider {
    cloud.provider(FleetName::new("test").unwrap())
}

fn spec(id: &str, region_name: &str) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new("sim").unwrap(),
        region(region_name),
        "1.31".parse().unwrap(),
    )
    .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 2).unwrap())
    .build()
    .unwrap()
}

fn hour() -> WaitOptions {
    WaitOptions::with_timeout(Duration::from_secs(3600))
}

/// A fixed scenario: create, poll, list, credentials, delete, over two regions.
async fn scenario(seed: u64) -> Vec<fleet_core::sim::CallRecord> {
    let cloud = cloud(seed);
    let provider = fleet(&cloud);
    for (index, name) in ["east", "west", "east"].into_iter().enumerate() {
        provider.create(&spec(&format!("c{index}"), name)).await.unwrap();
    }
    for index in 0..3 {
        let id = ClusterId::new(format!("c{index}")).unwrap();
        provider.wait_until_running(&id, hour()).await.unwrap();
        provider.credentials(&id).await.unwrap();
    }
    provider.list().await.unwrap();
    for index in 0..3 {
        let id = ClusterId::new(format!("c{index}")).unwrap();
        provider.delete(&id).await.unwrap();
        provider.wait_until_deleted(&id, hour()).await.unwrap();
    }
    cloud.call_log()
}

#[tokio::test(start_paused = true)]
async fn same_seed_gives_the_same_call_log_and_another_seed_differs() {
    let first = scenario(7).await;
    let again = scenario(7).await;
    let other = scenario(8).await;
    assert!(first.len() > 10, "the scenario made only {} calls", first.len());
    assert_eq!(first, again);
    assert_ne!(first, other, "a different seed should draw different latencies");
}

#[tokio::test(start_paused = true)]
async fn clusters_take_virtual_minutes_to_create_and_seconds_of_wall_time() {
    let cloud = cloud(1);
    let provider = fleet(&cloud);
    let wall = std::time::Instant::now();
    let created = provider.create(&spec("c1", "east")).await.unwrap();
    assert_eq!(created.phase, ClusterPhase::Creating);
    assert!(created.endpoint.is_none());
    let running = provider.wait_until_running(&created.id, hour()).await.unwrap();
    let virtual_time = cloud.elapsed();
    assert!(virtual_time >= Duration::from_secs(480), "created in {virtual_time:?}");
    assert!(running.endpoint.is_some());
    assert!(wall.elapsed() < Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn region_capacity_is_a_quota() {
    let cloud = cloud(1);
    let provider = fleet(&cloud);
    for index in 0..5 {
        provider.create(&spec(&format!("c{index}"), "east")).await.unwrap();
    }
    let err = provider.create(&spec("c5", "east")).await.unwrap_err();
    assert!(matches!(err, Error::QuotaExceeded { .. }), "{err}");
    assert!(!err.is_retryable());
    // Other regions have their own capacity, and deleting frees room.
    provider.create(&spec("c5", "west")).await.unwrap();
    provider.delete(&ClusterId::new("c0").unwrap()).await.unwrap();
    provider.wait_until_deleted(&ClusterId::new("c0").unwrap(), hour()).await.unwrap();
    provider.create(&spec("c6", "east")).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn node_capacity_is_a_quota() {
    let cloud =
        SimCloud::builder(ProviderName::new("sim").unwrap()).region(region("east"), RegionCapacity::new(10, 3)).build();
    let provider = fleet(&cloud);
    provider.create(&spec("c0", "east")).await.unwrap();
    let err = provider.create(&spec("c1", "east")).await.unwrap_err();
    assert!(err.to_string().contains("nodes"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn rate_limits_answer_with_retry_after_and_recover() {
    let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(region("east"), RegionCapacity::unlimited())
        .latency(LatencyModel::zero())
        .rate_limits(RateLimits::new(RateLimit::new(2.0, 2), RateLimit::new(1.0, 1)))
        .build();
    let provider = fleet(&cloud);
    provider.list().await.unwrap();
    provider.list().await.unwrap();
    let err = provider.list().await.unwrap_err();
    let wait = err.retry_after().expect("a rate limit says how long to wait");
    assert_eq!(wait, Duration::from_millis(500));
    tokio::time::sleep(wait).await;
    provider.list().await.unwrap();
    // Writes have their own bucket.
    provider.create(&spec("c0", "east")).await.unwrap();
    assert!(matches!(provider.create(&spec("c1", "east")).await, Err(Error::RateLimited { .. })));
    tokio::time::sleep(Duration::from_secs(1)).await;
    provider.create(&spec("c1", "east")).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn fail_next_fails_exactly_n_calls_without_effect() {
    let cloud = cloud(1);
    let provider = fleet(&cloud);
    cloud.fail_next(Operation::Create, 2, InjectedError::Unavailable);
    for _ in 0..2 {
        let err = provider.create(&spec("c0", "east")).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
    }
    assert!(cloud.clusters().is_empty(), "a failed call must have no effect");
    provider.create(&spec("c0", "east")).await.unwrap();
    assert_eq!(cloud.clusters().len(), 1);
    let outcomes: Vec<_> = cloud.call_log().iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [CallOutcome::Failed(ErrorKind::Unavailable), CallOutcome::Failed(ErrorKind::Unavailable), CallOutcome::Ok]
    );
}

#[tokio::test(start_paused = true)]
async fn error_probability_fails_about_that_share_and_can_be_turned_off() {
    let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(region("east"), RegionCapacity::unlimited())
        .latency(LatencyModel::zero())
        .unlimited_rate()
        .seed(3)
        .build();
    let provider = fleet(&cloud);
    cloud.set_error_probability(Operation::List, 0.3, InjectedError::Internal);
    let mut failures = 0;
    for _ in 0..1000 {
        if let Err(err) = provider.list().await {
            assert!(matches!(err, Error::Provider { .. }));
            failures += 1;
        }
    }
    assert!((220..380).contains(&failures), "{failures} of 1000 failed at p=0.3");
    cloud.set_error_probability(Operation::List, 0.0, InjectedError::Internal);
    for _ in 0..100 {
        provider.list().await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn lost_responses_take_effect_and_a_retry_finds_the_cluster() {
    let cloud = cloud(1);
    let provider = fleet(&cloud);
    cloud.lose_next_responses(Operation::Create, 1);
    let err = provider.create(&spec("c0", "east")).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(cloud.clusters().len(), 1, "the lost create still took effect");
    let retried = provider.create(&spec("c0", "east")).await.unwrap();
    assert_eq!(retried.provider_id, cloud.clusters()[0].provider_id, "the retry returned the same cluster");
    assert_eq!(cloud.clusters().len(), 1, "no second cluster");
    assert_eq!(cloud.call_log()[0].outcome, CallOutcome::ResponseLost);

    cloud.set_response_loss_probability(Operation::Get, 1.0);
    assert!(provider.get(&retried.id).await.is_err());
    cloud.set_response_loss_probability(Operation::Get, 0.0);
    provider.get(&retried.id).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_region_outage_makes_clusters_unreachable_until_it_returns() {
    let cloud = cloud(1);
    let provider = fleet(&cloud);
    provider.create(&spec("e0", "east")).await.unwrap();
    provider.create(&spec("w0", "west")).await.unwrap();
    let e0 = ClusterId::new("e0").unwrap();
    provider.wait_until_running(&e0, hour()).await.unwrap();
    provider.wait_until_running(&ClusterId::new("w0").unwrap(), hour()).await.unwrap();

    cloud.fail_region(&region("east"));
    assert!(matches!(provider.get(&e0).await, Err(Error::Unavailable { .. })));
    assert!(matches!(provider.create(&spec("e1", "east")).await, Err(Error::Unavailable { .. })));
    assert!(matches!(provider.delete(&e0).await, Err(Error::Unavailable { .. })));
    let listed = provider.list().await.unwrap();
    let phase_of = |id: &str| listed.clusters.iter().find(|c| c.id.as_str() == id).map(|c| c.phase.clone());
    assert_eq!(phase_of("e0"), None, "a cloud does not list what it cannot reach");
    assert!(listed.is_unreachable(&region("east")) && !listed.is_unreachable(&region("west")));
    assert_eq!(phase_of("w0"), Some(ClusterPhase::Running), "other regions are unaffected");
    provider.create(&spec("w1", "west")).await.unwrap();

    cloud.restore_region(&region("east"));
    assert_eq!(provider.get(&e0).await.unwrap().phase, ClusterPhase::Running);
    provider.create(&spec("e1", "east")).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_provider_outage_fails_every_call_until_it_returns() {
    let cloud = cloud(1);
    let provider = fleet(&cloud);
    provider.create(&spec("c0", "east")).await.unwrap();
    cloud.fail_provider();
    let id = ClusterId::new("c0").unwrap();
    assert!(matches!(provider.list().await, Err(Error::Unavailable { .. })));
    assert!(matches!(provider.get(&id).await, Err(Error::Unavailable { .. })));
    assert!(matches!(provider.create(&spec("c1", "west")).await, Err(Error::Unavailable { .. })));
    cloud.restore_provider();
    assert_eq!(provider.list().await.unwrap().clusters.len(), 1);
    provider.create(&spec("c1", "west")).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn clear_faults_lifts_every_fault() {
    let cloud = cloud(1);
    let provider = fleet(&cloud);
    cloud.fail_next(Operation::List, 5, InjectedError::Conflict);
    cloud.fail_region(&region("east"));
    cloud.fail_provider();
    cloud.clear_faults();
    provider.list().await.unwrap();
    provider.create(&spec("c0", "east")).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn untagged_clusters_are_invisible_to_list_and_untouchable() {
    let cloud = cloud(1);
    let provider = fleet(&cloud);
    let id = ClusterId::new("legacy").unwrap();
    cloud.insert_unmanaged_cluster(id.clone(), region("east"), "1.29".parse().unwrap(), BTreeMap::new());
    assert!(provider.list().await.unwrap().clusters.is_empty());
    assert!(matches!(provider.delete(&id).await, Err(Error::PermissionDenied { .. })));
    assert_eq!(provider.get(&id).await.unwrap().fleet_tags(), None, "get shows it, without Fleet tags");
    assert_eq!(cloud.clusters().len(), 1, "it is still there");
}

#[tokio::test(start_paused = true)]
async fn a_cluster_being_deleted_cannot_be_created_again_until_gone() {
    let cloud = cloud(1);
    let provider = fleet(&cloud);
    let s = spec("c0", "east");
    provider.create(&s).await.unwrap();
    provider.delete(&s.id).await.unwrap();
    assert!(matches!(provider.create(&s).await, Err(Error::Conflict { .. })));
    provider.wait_until_deleted(&s.id, hour()).await.unwrap();
    let again = provider.create(&s).await.unwrap();
    assert!(again.provider_id.ends_with("/2"), "a new cluster: {}", again.provider_id);
}

#[tokio::test(start_paused = true)]
async fn updates_that_cannot_happen_in_place_are_unsupported() {
    let cloud = cloud(1);
    let provider = fleet(&cloud);
    let s = spec("c0", "east");
    provider.create(&s).await.unwrap();
    assert!(matches!(provider.update(&s).await, Err(Error::Conflict { .. })), "not while creating");
    provider.wait_until_running(&s.id, hour()).await.unwrap();
    let mut bigger = s.clone();
    bigger.node_pools[0].size = SizeClass::Large;
    assert!(matches!(provider.update(&bigger).await, Err(Error::Unsupported { .. })));
    let mut moved = s.clone();
    moved.region = region("west");
    assert!(matches!(provider.update(&moved).await, Err(Error::Unsupported { .. })));
    let mut older = s.clone();
    older.kubernetes_version = "1.30".parse().unwrap();
    let kept = provider.update(&older).await.unwrap();
    assert_eq!(kept.kubernetes_version, s.kubernetes_version.into(), "a spec behind the cluster never downgrades it");
    let unchanged = provider.update(&s).await.unwrap();
    assert_eq!(unchanged.phase, ClusterPhase::Running, "a no-op update changes nothing");
}

#[tokio::test(start_paused = true)]
async fn waiting_times_out_and_honours_retry_after() {
    let cloud = cloud(1);
    let provider = fleet(&cloud);
    let s = spec("c0", "east");
    provider.create(&s).await.unwrap();
    let short = WaitOptions::with_timeout(Duration::from_secs(60));
    assert!(matches!(provider.wait_until_running(&s.id, short).await, Err(Error::Timeout { .. })));
    cloud.fail_next(Operation::Get, 1, InjectedError::RateLimited(Duration::from_secs(90)));
    let before = cloud.elapsed();
    provider.wait_until_running(&s.id, hour()).await.unwrap();
    let log = cloud.call_log();
    let throttled = log.iter().position(|r| r.outcome == CallOutcome::Failed(ErrorKind::RateLimited)).unwrap();
    let gap = log[throttled + 1].at - log[throttled].at;
    assert!(gap >= Duration::from_secs(90), "polled again after {gap:?}, before Retry-After");
    assert!(cloud.elapsed() > before);
}

/// On the EKS-like shape, a cluster another fleet owns stays out of this fleet's lists even
/// after this fleet's provider described it with `get` (its description is kept as not its own).
#[tokio::test(start_paused = true)]
async fn an_eks_shaped_list_never_lists_a_foreign_cluster_it_got() {
    let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
        .api_shape(fleet_core::sim::ApiShape::Eks)
        .region(region("east"), RegionCapacity::new(5, 20))
        .latency(LatencyModel::zero())
        .build();
    let ours = fleet(&cloud);
    let theirs = cloud.provider(FleetName::new("other").unwrap());
    theirs.create(&spec("theirs", "east")).await.unwrap();
    ours.create(&spec("mine", "east")).await.unwrap();
    let seen = ours.get(&ClusterId::new("theirs").unwrap()).await.unwrap();
    assert!(seen.phase.is_running(), "a foreign cluster may be read");
    let listed: Vec<String> = ours.list().await.unwrap().clusters.iter().map(|c| c.id.to_string()).collect();
    assert_eq!(listed, ["mine"]);
}
