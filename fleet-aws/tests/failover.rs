//! The engine and the failover controller on EKS over moto, in real time: a fleet in
//! `us-east-1` whose policy falls back to `eu-west-1` loses its region (cut at the region's
//! proxy); its clusters are made again in `eu-west-1`, nothing in the cut region is deleted or
//! made again while it is cut, and once it is back the old clusters are deleted.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleet_core::engine::{Engine, EngineEvent, EngineOptions};
use fleet_core::failover::{FailoverController, FailoverOptions, FailoverPolicy, Fallback, LossThresholds};
use fleet_core::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet_core::*;
use tokio_util::sync::CancellationToken;

fn fleet() -> FleetName {
    FleetName::new("prod").unwrap()
}

fn aws() -> ProviderName {
    ProviderName::new("aws").unwrap()
}

fn desired(id: &str) -> DesiredCluster {
    let spec = common::spec_builder(id, "us-east-1", "1.34")
        .blueprint_version(BlueprintVersion::new("web-v1").unwrap())
        .build()
        .unwrap();
    DesiredCluster::new(spec, "web", 0)
}

/// The clusters moto holds in `region`: name, ARN and creation time.
async fn clusters_in(moto: &common::Moto, region: &str) -> BTreeMap<String, (String, String)> {
    let client = moto.client(region);
    let mut found = BTreeMap::new();
    for name in client.list_clusters().send().await.unwrap().clusters() {
        // A cluster deleted between the listing and here is gone.
        let Ok(described) = client.describe_cluster().name(name).send().await else { continue };
        let Some(cluster) = described.cluster() else { continue };
        let created = cluster.created_at().map(|t| t.to_string()).unwrap_or_default();
        found.insert(name.clone(), (cluster.arn().unwrap_or_default().to_owned(), created));
    }
    found
}

/// Polls `done` every 100 ms for at most `limit`.
async fn until<F: std::future::Future<Output = bool>>(limit: Duration, what: &str, done: impl Fn() -> F) {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "not done after {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cut_region_fails_over_to_the_other_region_and_is_cleaned_up_when_back() {
    let started = Instant::now();
    let moto = common::Moto::start();
    let proxies = common::RegionProxies::start(&moto).await;
    let provider = proxies
        .builder("prod")
        .with_rate_limits(RateLimits::new(RateLimit::new(500.0, 500), RateLimit::new(100.0, 100)))
        .build()
        .await
        .unwrap();

    let mut options = EngineOptions::default();
    options.poll_initial = Duration::from_millis(50);
    options.poll_max = Duration::from_millis(200);
    options.retry_initial = Duration::from_millis(50);
    options.retry_max = Duration::from_millis(500);
    options.reconcile_interval = Duration::from_millis(200);
    options.operation_timeout = Some(Duration::from_secs(20));
    let engine = Engine::builder(fleet()).provider(Arc::new(provider)).options(options).build().unwrap();
    let ids = ["web-0", "web-1", "web-2"];
    engine.set_desired(DesiredFleet::new(fleet(), ids.iter().map(|id| desired(id)).collect())).unwrap();
    let mut converged = false;
    for _ in 0..20 {
        if engine.run_once().await.unwrap().converged {
            converged = true;
            break;
        }
    }
    assert!(converged, "the fleet converges before the outage");
    let before = clusters_in(&moto, "us-east-1").await;
    assert_eq!(before.keys().map(String::as_str).collect::<Vec<_>>(), ids);
    assert!(clusters_in(&moto, "eu-west-1").await.is_empty());

    let mut failover = FailoverOptions::default();
    failover.probe_interval = Duration::from_millis(200);
    failover.thresholds = LossThresholds::new(3, Duration::from_secs(1), 0.5);
    let policy = FailoverPolicy::new(vec![Fallback::new(aws(), vec![Region::new("eu-west-1").unwrap()])]);
    let controller =
        FailoverController::builder(engine.clone()).policy("web", policy).options(failover).build().unwrap();

    // Every action the engine starts or fails (named by the cluster's identity), and whether
    // the region was cut then.
    let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let actions: Arc<Mutex<Vec<(ClusterId, String, bool)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut events = engine.subscribe();
    tokio::spawn({
        let (actions, cut) = (Arc::clone(&actions), Arc::clone(&cut));
        async move {
            while let Ok(event) = events.recv().await {
                let seen = match event {
                    EngineEvent::ActionStarted { cluster, action } => (cluster, action.to_owned()),
                    EngineEvent::ActionFailed { cluster, action, .. } => (cluster, format!("{action} failed")),
                    _ => continue,
                };
                let during_cut = cut.load(std::sync::atomic::Ordering::SeqCst);
                actions.lock().unwrap().push((seen.0, seen.1, during_cut));
            }
        }
    });
    let cancel = CancellationToken::new();
    let _stop = cancel.clone().drop_guard();
    tokio::spawn({
        let (engine, cancel) = (engine.clone(), cancel.clone());
        async move { engine.run(cancel).await }
    });
    tokio::spawn({
        let (controller, cancel) = (controller.clone(), cancel.clone());
        async move { controller.run(cancel).await }
    });
    tokio::time::sleep(Duration::from_millis(600)).await;

    cut.store(true, std::sync::atomic::Ordering::SeqCst);
    proxies.proxy("us-east-1").cut().await;
    until(Duration::from_secs(15), "every lost cluster running again in eu-west-1", || async {
        let report = controller.report();
        report.moves.len() == ids.len() && report.recovery_time.is_some()
    })
    .await;
    let report = controller.report();
    assert!(report.moves.iter().all(|m| m.to.region.as_str() == "eu-west-1"), "{report}");
    let replacements = clusters_in(&moto, "eu-west-1").await;
    assert_eq!(replacements.len(), ids.len(), "one replacement per lost cluster: {replacements:?}");
    let placements = engine.store().placements().await.unwrap();
    for placement in &placements {
        let active = placement.active.clone().unwrap();
        assert_eq!(active.location.region.as_str(), "eu-west-1", "{placement:?}");
        assert!(replacements.contains_key(active.cluster.as_str()), "{placement:?}");
    }
    // The old clusters wait for their region, untouched.
    until(Duration::from_secs(5), "the old clusters reported awaiting clean-up", || async {
        controller.report().awaiting_cleanup.len() == ids.len()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(clusters_in(&moto, "us-east-1").await, before, "nothing in the cut region changed");
    assert_eq!(clusters_in(&moto, "eu-west-1").await, replacements, "no replacement made twice");
    // While the region was cut the engine made one replacement per identity (in eu-west-1, as
    // moto shows), deleted nothing and had nothing refused: no call went to the cut region.
    let during: Vec<(ClusterId, String)> =
        actions.lock().unwrap().iter().filter(|(_, _, cut)| *cut).map(|(c, a, _)| (c.clone(), a.clone())).collect();
    let creates: BTreeSet<&str> = during.iter().filter(|(_, a)| a == "create").map(|(c, _)| c.as_str()).collect();
    assert_eq!(creates, ids.into_iter().collect(), "{during:?}");
    assert_eq!(during.iter().filter(|(_, a)| a == "create").count(), ids.len(), "{during:?}");
    assert!(
        during.iter().all(|(_, action)| action == "create" || action == "await"),
        "the engine acted on or failed at clusters while the region was cut: {during:?}"
    );

    // The region is back: the old clusters go, the replacements stay.
    proxies.proxy("us-east-1").restore().await.unwrap();
    cut.store(false, std::sync::atomic::Ordering::SeqCst);
    until(Duration::from_secs(15), "the old clusters deleted", || async {
        clusters_in(&moto, "us-east-1").await.is_empty() && controller.report().awaiting_cleanup.is_empty()
    })
    .await;
    assert_eq!(clusters_in(&moto, "eu-west-1").await, replacements, "the replacements stay");
    let deleted: BTreeSet<ClusterId> = actions
        .lock()
        .unwrap()
        .iter()
        .filter(|(cluster, action, _)| action == "delete" && before.contains_key(cluster.as_str()))
        .map(|(cluster, _, _)| cluster.clone())
        .collect();
    assert_eq!(deleted.len(), ids.len(), "each old cluster deleted by the engine: {deleted:?}");
    let identities: BTreeSet<&str> = placements.iter().map(|p| p.identity.as_str()).collect();
    assert_eq!(identities, ids.into_iter().collect(), "one placement per identity");
    assert!(started.elapsed() < Duration::from_secs(40), "took {:?}", started.elapsed());
}
