//! The engine's exact provider calls, pinned with the `mockall` mock: create and poll, delete,
//! replace, and never a delete of a cluster without this fleet's tags.

use std::sync::Arc;
use std::time::Duration;

use fleet_core::engine::{Engine, EngineOptions};
use fleet_core::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet_core::*;
use mockall::Sequence;

fn fleet() -> FleetName {
    FleetName::new("mocked").unwrap()
}

fn spec(minor: u32) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new("c1").unwrap(),
        ProviderName::new("mock").unwrap(),
        Region::new("r1").unwrap(),
        KubernetesVersion::new(1, minor, None),
    )
    .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 2).unwrap())
    .build()
    .unwrap()
}

fn cluster(spec: &ClusterSpec, phase: ClusterPhase) -> Cluster {
    Cluster::for_spec(spec, &fleet(), "mock/c1", phase)
}

fn mock(capabilities: Capabilities) -> MockClusterProvider {
    let mut mock = MockClusterProvider::new();
    let info = ProviderInfo::new(ProviderName::new("mock").unwrap(), vec![Region::new("r1").unwrap()])
        .with_capabilities(capabilities)
        .with_rate_limits(RateLimits::new(RateLimit::new(100.0, 100), RateLimit::new(100.0, 100)));
    mock.expect_info().return_const(info);
    mock
}

fn engine(mock: MockClusterProvider) -> Engine {
    let mut options = EngineOptions::default();
    options.poll_initial = Duration::from_secs(1);
    Engine::builder(fleet()).provider(Arc::new(mock)).options(options).build().unwrap()
}

fn wanted(spec: Option<ClusterSpec>) -> DesiredFleet {
    DesiredFleet::new(fleet(), spec.into_iter().map(|s| DesiredCluster::new(s, "test", 0)).collect())
}

#[tokio::test(start_paused = true)]
async fn create_then_poll_until_running() {
    let want = spec(31);
    let mut mock = mock(Capabilities::all());
    let mut seq = Sequence::new();
    mock.expect_list().times(1).in_sequence(&mut seq).returning(|| Ok(Listing::new(vec![])));
    let created = cluster(&want, ClusterPhase::Creating);
    mock.expect_create()
        .withf(|s| s.id.as_str() == "c1")
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| Ok(created.clone()));
    let creating = cluster(&want, ClusterPhase::Creating);
    mock.expect_get().times(2).in_sequence(&mut seq).returning(move |_| Ok(creating.clone()));
    let running = cluster(&want, ClusterPhase::Running);
    mock.expect_get().times(1).in_sequence(&mut seq).returning(move |_| Ok(running.clone()));
    let engine = engine(mock);
    engine.set_desired(wanted(Some(want))).unwrap();
    let report = engine.run_once().await.unwrap();
    assert_eq!(report.succeeded, 1, "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn delete_an_unwanted_tagged_cluster_then_poll_until_gone() {
    let old = spec(31);
    let mut mock = mock(Capabilities::all());
    let mut seq = Sequence::new();
    let listed = cluster(&old, ClusterPhase::Running);
    mock.expect_list().times(1).in_sequence(&mut seq).returning(move || Ok(Listing::new(vec![listed.clone()])));
    mock.expect_delete().withf(|id| id.as_str() == "c1").times(1).in_sequence(&mut seq).returning(|_| Ok(()));
    let deleting = cluster(&old, ClusterPhase::Deleting);
    mock.expect_get().times(1).in_sequence(&mut seq).returning(move |_| Ok(deleting.clone()));
    mock.expect_get().times(1).in_sequence(&mut seq).returning(|id| Err(Error::cluster_not_found(id)));
    let engine = engine(mock);
    let report = engine.run_once().await.unwrap();
    assert_eq!((report.planned.delete, report.succeeded), (1, 1), "{report:?}");
    assert!(engine.store().observed().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn replace_creates_the_new_cluster_waits_for_it_then_deletes_the_old_one() {
    let old = spec(30);
    let new = spec(31);
    let new_name = fleet_core::plan::replacement_name(&new, [&old.id]);
    let replacement = new.named(new_name.clone());
    let mut mock = mock(Capabilities::default());
    let mut seq = Sequence::new();
    let listed = cluster(&old, ClusterPhase::Running);
    mock.expect_list().times(1).in_sequence(&mut seq).returning(move || Ok(Listing::new(vec![listed.clone()])));
    let created = cluster(&replacement, ClusterPhase::Creating);
    let expected_name = new_name.clone();
    mock.expect_create()
        .withf(move |s| s.id == expected_name && s.identity().as_str() == "c1" && s.kubernetes_version.minor() == 31)
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| Ok(created.clone()));
    let running = cluster(&replacement, ClusterPhase::Running);
    let polled = new_name.clone();
    mock.expect_get()
        .withf(move |id| *id == polled)
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| Ok(running.clone()));
    mock.expect_delete().withf(|id| id.as_str() == "c1").times(1).in_sequence(&mut seq).returning(|_| Ok(()));
    mock.expect_get()
        .withf(|id| id.as_str() == "c1")
        .times(1)
        .in_sequence(&mut seq)
        .returning(|id| Err(Error::cluster_not_found(id)));
    let engine = engine(mock);
    engine.set_desired(wanted(Some(new))).unwrap();
    let report = engine.run_once().await.unwrap();
    assert_eq!((report.planned.replace, report.succeeded), (1, 1), "{report:?}");
    let stored: Vec<_> = engine.store().observed().await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(stored, [new_name], "the store holds the replacement only");
}

#[tokio::test(start_paused = true)]
async fn clusters_without_this_fleets_tags_are_never_deleted() {
    let mut mock = mock(Capabilities::all());
    let untagged = Cluster::new(
        ClusterId::new("legacy").unwrap(),
        ProviderName::new("mock").unwrap(),
        "mock/legacy",
        Region::new("r1").unwrap(),
        ClusterPhase::Running,
    );
    let mut foreign = cluster(&spec(31), ClusterPhase::Running);
    foreign.tags.insert(FleetTags::FLEET_KEY.into(), "someone-else".into());
    mock.expect_list().times(2).returning(move || Ok(Listing::new(vec![untagged.clone(), foreign.clone()])));
    mock.expect_delete().never();
    mock.expect_update().never();
    let engine = engine(mock);
    let first = engine.run_once().await.unwrap();
    assert!(first.converged, "{first:?}");
    assert!(engine.run_once().await.unwrap().converged);
}
