//! The `mockall` mock of the provider trait: usable as `Arc<dyn ClusterProvider>` and able to
//! pin exact call sequences.

use std::sync::Arc;
use std::time::Duration;

use fleet_core::*;
use mockall::Sequence;

fn cluster(phase: ClusterPhase) -> Cluster {
    Cluster::new(
        ClusterId::new("c1").unwrap(),
        ProviderName::new("mock").unwrap(),
        "mock/c1",
        Region::new("r1").unwrap(),
        phase,
    )
}

#[tokio::test(start_paused = true)]
async fn wait_until_running_polls_get_through_errors_and_phases() {
    let mut mock = MockClusterProvider::new();
    let mut sequence = Sequence::new();
    mock.expect_get().times(1).in_sequence(&mut sequence).returning(|_| Ok(cluster(ClusterPhase::Creating)));
    mock.expect_get()
        .times(1)
        .in_sequence(&mut sequence)
        .returning(|_| Err(Error::Unavailable { message: "blip".into() }));
    mock.expect_get().times(1).in_sequence(&mut sequence).returning(|_| Ok(cluster(ClusterPhase::Running)));
    let provider: Arc<dyn ClusterProvider> = Arc::new(mock);
    let id = ClusterId::new("c1").unwrap();
    let running = provider.wait_until_running(&id, WaitOptions::with_timeout(Duration::from_secs(60))).await.unwrap();
    assert!(running.phase.is_running());
}

#[tokio::test(start_paused = true)]
async fn a_failed_cluster_ends_the_wait_with_its_reason() {
    let mut mock = MockClusterProvider::new();
    mock.expect_get().times(1).returning(|_| Ok(cluster(ClusterPhase::Failed { reason: "subnet full".into() })));
    let err = mock
        .wait_until_running(&ClusterId::new("c1").unwrap(), WaitOptions::with_timeout(Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("subnet full"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_ends_the_wait_at_once() {
    let mut mock = MockClusterProvider::new();
    mock.expect_get().times(1).returning(|_| Err(Error::PermissionDenied { message: "no".into() }));
    let err = mock
        .wait_until_deleted(&ClusterId::new("c1").unwrap(), WaitOptions::with_timeout(Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }));
}
