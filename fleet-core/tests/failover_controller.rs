//! The failover controller end to end on simulated clouds under paused time: a region outage
//! of 300 clusters, a provider-wide outage, flapping shorter than the grace period, a quota
//! shortage, and failing back when a region returns.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleet_core::engine::{Engine, EngineEvent, EngineOptions};
use fleet_core::failover::{
    FailoverController, FailoverEvent, FailoverOptions, FailoverPolicy, FailoverReport, Fallback, Health, HealthCheck,
    Location, LossThresholds, OnReturn, PhaseAndProbe,
};
use fleet_core::fleet_spec::{AntiAffinity, DesiredCluster, DesiredFleet};
use fleet_core::sim::{Latency, LatencyModel, RegionCapacity, SimCloud};
use fleet_core::*;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const MINUTE: Duration = Duration::from_secs(60);

fn name(text: &str) -> ProviderName {
    ProviderName::new(text).unwrap()
}

fn region(text: &str) -> Region {
    Region::new(text).unwrap()
}

fn at(provider: &str, place: &str) -> Location {
    Location::new(name(provider), region(place))
}

fn fleet() -> FleetName {
    FleetName::new("prod").unwrap()
}

/// A cloud whose creates take exactly 8 minutes and deletes 4, with a generous API budget.
fn cloud(provider: &str, regions: &[(&str, RegionCapacity)]) -> SimCloud {
    let mut builder = SimCloud::builder(name(provider))
        .latency(
            LatencyModel::zero()
                .with_create(Latency::Fixed(8 * MINUTE))
                .with_update(Latency::Fixed(5 * MINUTE))
                .with_delete(Latency::Fixed(4 * MINUTE))
                .with_calls(Latency::Fixed(Duration::from_millis(100)), Latency::Fixed(Duration::from_millis(200))),
        )
        .rate_limits(RateLimits::new(RateLimit::new(400.0, 800), RateLimit::new(20.0, 50)))
        .seed(7);
    for (place, capacity) in regions {
        builder = builder.region(region(place), *capacity);
    }
    builder.build()
}

fn desired(id: &str, provider: &str, place: &str, template: &str, priority: i32) -> DesiredCluster {
    let spec =
        ClusterSpec::builder(ClusterId::new(id).unwrap(), name(provider), region(place), "1.31".parse().unwrap())
            .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
            .blueprint_version(BlueprintVersion::new("web-v7").unwrap())
            .build()
            .unwrap();
    let addons = BTreeMap::from([("network".to_owned(), fleet_core::blueprint::Addon::new(DEFAULT_DENY))]);
    DesiredCluster::new(spec, template, priority).with_addons(addons)
}

const DEFAULT_DENY: &str =
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny}\nspec: {podSelector: {}}\n";

/// A health check that answers as `PhaseAndProbe` does, four minutes late while `slow` is set:
/// a check of a large fleet at a strict API limit.
struct SlowWhenAsked {
    inner: PhaseAndProbe,
    slow: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl HealthCheck for SlowWhenAsked {
    async fn check(&self, cluster: &Cluster) -> Health {
        if self.slow.load(Ordering::SeqCst) {
            tokio::time::sleep(4 * MINUTE).await;
        }
        self.inner.check(cluster).await
    }
}

/// A placement switch seen: identity, the cluster now serving it, the placement's generation,
/// and when.
type Switch = (ClusterIdentity, ClusterId, u64, Instant);

struct World {
    clouds: BTreeMap<String, SimCloud>,
    engine: Engine,
    controller: FailoverController,
    switches: Arc<Mutex<Vec<Switch>>>,
    slow_checks: Arc<AtomicBool>,
    failover_events: Arc<Mutex<Vec<FailoverEvent>>>,
    cancel: CancellationToken,
}

impl World {
    /// Creates the fleet, waits until it converges, then runs the engine and the controller.
    async fn start(
        clouds: Vec<SimCloud>,
        clusters: Vec<DesiredCluster>,
        policies: BTreeMap<String, FailoverPolicy>,
    ) -> World {
        Self::start_with(clouds, clusters, policies, true).await
    }

    /// As [`World::start`]; the controller runs on its own only if `run_controller`.
    async fn start_with(
        clouds: Vec<SimCloud>,
        clusters: Vec<DesiredCluster>,
        policies: BTreeMap<String, FailoverPolicy>,
        run_controller: bool,
    ) -> World {
        let mut options = EngineOptions::default();
        options.concurrency_per_provider = 500;
        options.poll_initial = Duration::from_secs(5);
        options.poll_max = Duration::from_secs(15);
        options.reconcile_interval = MINUTE;
        let mut builder = Engine::builder(fleet()).options(options);
        for cloud in &clouds {
            builder = builder
                .provider(Arc::new(cloud.provider(fleet())))
                .addons_for(cloud.info().name.clone(), Arc::new(cloud.clone()));
        }
        let engine = builder.build().unwrap();
        engine.set_desired(DesiredFleet::new(fleet(), clusters)).unwrap();
        for _ in 0..10 {
            if engine.run_once().await.unwrap().converged {
                break;
            }
        }
        assert!(engine.run_once().await.unwrap().converged, "the fleet converges before the outage");

        let mut options = FailoverOptions::default();
        options.probe_interval = Duration::from_secs(10);
        options.thresholds = LossThresholds::new(3, MINUTE, 0.5);
        options.probe_concurrency = 64;
        let mut controller = FailoverController::builder(engine.clone()).policies(policies).options(options);
        let slow_checks = Arc::new(AtomicBool::new(false));
        for cloud in &clouds {
            let provider: Arc<dyn ClusterProvider> = Arc::new(cloud.provider(fleet()));
            let inner = PhaseAndProbe::new(provider, Arc::new(cloud.clone()));
            let check = SlowWhenAsked { inner, slow: Arc::clone(&slow_checks) };
            controller = controller.health_check(cloud.info().name.clone(), Arc::new(check));
        }
        let controller = controller.build().unwrap();

        let switches = Arc::new(Mutex::new(Vec::new()));
        let mut engine_events = engine.subscribe();
        let recorded = Arc::clone(&switches);
        tokio::spawn(async move {
            while let Ok(event) = engine_events.recv().await {
                if let EngineEvent::PlacementSwitched { identity, cluster, generation, .. } = event {
                    recorded.lock().unwrap().push((identity, cluster, generation, Instant::now()));
                }
            }
        });
        let failover_events = Arc::new(Mutex::new(Vec::new()));
        let mut events = controller.subscribe();
        let recorded = Arc::clone(&failover_events);
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                recorded.lock().unwrap().push(event);
            }
        });
        let cancel = CancellationToken::new();
        tokio::spawn({
            let (engine, cancel) = (engine.clone(), cancel.clone());
            async move { engine.run(cancel).await }
        });
        if run_controller {
            tokio::spawn({
                let (controller, cancel) = (controller.clone(), cancel.clone());
                async move { controller.run(cancel).await }
            });
        }
        // A few quiet checks, so that every cluster has a healthy history.
        tokio::time::sleep(2 * MINUTE).await;
        let clouds = clouds.into_iter().map(|c| (c.info().name.to_string(), c)).collect();
        World { clouds, engine, controller, switches, slow_checks, failover_events, cancel }
    }

    /// Waits (virtual time) until `done` holds of the report, checking every 10 seconds.
    async fn until(&self, limit: Duration, done: impl Fn(&FailoverReport) -> bool) -> FailoverReport {
        let start = Instant::now();
        loop {
            let report = self.controller.report();
            if done(&report) {
                return report;
            }
            assert!(start.elapsed() < limit, "not done after {limit:?}:\n{report}");
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    }

    /// Every cluster of the fleet in every cloud, with where it runs.
    fn clusters(&self) -> Vec<(Cluster, Location)> {
        self.clouds
            .values()
            .flat_map(|cloud| cloud.clusters())
            .filter(|c| FleetTags::belongs_to(&c.tags, &fleet()))
            .map(|c| {
                let location = Location::of(&c);
                (c, location)
            })
            .collect()
    }

    /// Checks that the placement switches seen never left an identity with two active
    /// clusters: each switch names the next generation of its identity's placement.
    fn assert_single_active_placements(&self) {
        let mut generation: BTreeMap<ClusterIdentity, u64> = BTreeMap::new();
        let mut active: BTreeMap<ClusterIdentity, ClusterId> = BTreeMap::new();
        for (identity, cluster, at, _) in self.switches.lock().unwrap().iter() {
            let last = generation.insert(identity.clone(), *at).unwrap_or(0);
            assert!(*at > last, "{identity}: switch to `{cluster}` at generation {at} after {last}");
            assert_ne!(active.insert(identity.clone(), cluster.clone()).as_ref(), Some(cluster));
        }
    }

    /// Every cluster left is the active placement of a wanted identity: nothing orphaned.
    async fn assert_no_orphans(&self) {
        let placements: BTreeMap<ClusterIdentity, fleet_core::store::Placement> =
            self.engine.store().placements().await.unwrap().into_iter().map(|p| (p.identity.clone(), p)).collect();
        let wanted: BTreeSet<ClusterIdentity> = self.engine.desired().specs().map(ClusterSpec::identity).collect();
        for (cluster, location) in self.clusters() {
            let identity = cluster.fleet_tags().unwrap().identity;
            assert!(wanted.contains(&identity), "orphan `{}` at {location}", cluster.id);
            let active = placements[&identity].active.clone().unwrap();
            assert_eq!((active.cluster, active.location), (cluster.id.clone(), location), "orphan");
        }
        assert_eq!(self.clusters().len(), wanted.len(), "one cluster per wanted identity");
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

#[tokio::test(start_paused = true)]
async fn a_region_outage_of_300_clusters_recovers_within_a_tenth_of_the_lower_bound() {
    let aws = cloud("aws", &[("east", RegionCapacity::unlimited()), ("west", RegionCapacity::new(280, 100_000))]);
    let gcp = cloud("gcp", &[("central", RegionCapacity::unlimited())]);
    let mut clusters = Vec::new();
    let mut policies = BTreeMap::new();
    // 150 services with one cluster in each aws region, never two in one region.
    for i in 0..150 {
        let template = format!("svc{i}");
        clusters.push(desired(&format!("svc{i}-east"), "aws", "east", &template, 10));
        clusters.push(desired(&format!("svc{i}-west"), "aws", "west", &template, 10));
        let policy = FailoverPolicy::new(vec![
            Fallback::new(name("aws"), vec![region("west")]),
            Fallback::new(name("gcp"), vec![region("central")]),
        ])
        .with_anti_affinity(AntiAffinity::Region)
        .with_rto(20 * MINUTE)
        .with_max_parallel(5);
        policies.insert(template, policy);
    }
    // 150 batch clusters in aws/east, free to share a region.
    for i in 0..150 {
        clusters.push(desired(&format!("batch-{i}"), "aws", "east", "batch", 0));
    }
    policies.insert(
        "batch".into(),
        FailoverPolicy::new(vec![
            Fallback::new(name("aws"), vec![region("west")]),
            Fallback::new(name("gcp"), vec![region("central")]),
        ])
        .with_rto(20 * MINUTE)
        .with_max_parallel(500),
    );
    let world = World::start(vec![aws, gcp], clusters, policies).await;
    let created_before = world.clouds["aws"].clusters_created() + world.clouds["gcp"].clusters_created();

    world.clouds["aws"].fail_region(&region("east"));
    let report = world.until(2 * 60 * MINUTE, |r| r.moves.len() == 300 && r.recovery_time.is_some()).await;
    println!("{report}");

    assert!(report.degraded.is_empty(), "{:?}", report.degraded);
    let recovery = report.recovery_time.unwrap();
    let bound = report.lower_bound.unwrap();
    assert!(bound >= 9 * MINUTE, "detection (1 min) plus an 8-minute create at least: {bound:?}");
    assert!(recovery.as_secs_f64() <= bound.as_secs_f64() * 1.1, "recovered in {recovery:?}, lower bound {bound:?}");
    assert!(report.all_within_rto());
    world.until(MINUTE, |r| r.awaiting_cleanup.len() == 300).await;
    let created = world.clouds["aws"].clusters_created() + world.clouds["gcp"].clusters_created();
    assert_eq!(created - created_before, 300, "one replacement per lost cluster, none created twice");

    // Anti-affinity: no service has two clusters in one place; quota: aws/west holds 280.
    let placements = world.engine.store().placements().await.unwrap();
    let mut places: BTreeMap<String, BTreeSet<Location>> = BTreeMap::new();
    for placement in &placements {
        let identity = placement.identity.as_str();
        if let Some(service) = identity.strip_suffix("-east").or_else(|| identity.strip_suffix("-west")) {
            assert!(
                places.entry(service.to_owned()).or_default().insert(placement.location.clone()),
                "{service} has two clusters at {}",
                placement.location
            );
        }
    }
    let west = world.clusters().iter().filter(|(_, l)| *l == at("aws", "west")).count();
    assert_eq!(west, 280, "aws/west filled to its quota");
    let moved_svc = report.moves.iter().filter(|m| m.template.starts_with("svc")).collect::<Vec<_>>();
    assert!(moved_svc.iter().all(|m| m.to == at("gcp", "central")), "services go where their sibling is not");
    assert_eq!(report.moves.iter().filter(|m| m.to == at("aws", "west")).count(), 130);
    world.assert_single_active_placements();
    for placement in &placements {
        let active = placement.active.clone().unwrap();
        let objects = world.clouds[active.location.provider.as_str()].addons_in(&active.cluster);
        assert_eq!(objects.len(), 1, "`{}` serves with its add-ons", active.cluster);
    }

    // The region returns: the old clusters are deleted, nothing is left over.
    world.clouds["aws"].restore_region(&region("east"));
    world.until(60 * MINUTE, |r| r.awaiting_cleanup.is_empty()).await;
    tokio::time::sleep(10 * MINUTE).await;
    world.assert_no_orphans().await;
    world.assert_single_active_placements();
    let events = world.failover_events.lock().unwrap().clone();
    assert!(events.contains(&FailoverEvent::LocationBack { location: at("aws", "east") }), "{events:?}");
}

#[tokio::test(start_paused = true)]
async fn a_provider_outage_moves_what_may_leave_and_reports_the_rest_degraded() {
    let aws = cloud("aws", &[("east", RegionCapacity::unlimited())]);
    let gcp = cloud("gcp", &[("central", RegionCapacity::unlimited()), ("west", RegionCapacity::unlimited())]);
    let mut clusters = Vec::new();
    for i in 0..6 {
        clusters.push(desired(&format!("portable-{i}"), "gcp", "central", "portable", 0));
        clusters.push(desired(&format!("pinned-{i}"), "gcp", "central", "pinned", 0));
    }
    let policies = BTreeMap::from([
        (
            "portable".to_owned(),
            FailoverPolicy::new(vec![
                Fallback::new(name("gcp"), vec![region("west")]),
                Fallback::new(name("aws"), vec![region("east")]),
            ]),
        ),
        ("pinned".to_owned(), FailoverPolicy::new(vec![Fallback::new(name("gcp"), vec![region("west")])])),
    ]);
    let world = World::start(vec![aws, gcp], clusters, policies).await;

    world.clouds["gcp"].fail_provider();
    let report = world.until(60 * MINUTE, |r| r.moves.len() == 6 && r.recovery_time.is_some()).await;
    println!("{report}");
    assert!(report.moves.iter().all(|m| m.template == "portable" && m.to == at("aws", "east")), "{report}");
    assert_eq!(report.degraded.len(), 6, "{report}");
    for (identity, reason) in &report.degraded {
        assert!(identity.as_str().starts_with("pinned-"));
        assert!(reason.contains("gcp/west: provider lost"), "{reason}");
    }
    let report = world.until(MINUTE, |r| r.awaiting_cleanup.len() == 6).await;
    assert!(
        report.awaiting_cleanup.iter().all(|old| old.identity.as_str().starts_with("portable-")),
        "the replaced gcp clusters are out of sight and reported, none forgotten"
    );
    world.assert_single_active_placements();
}

#[tokio::test(start_paused = true)]
async fn outages_shorter_than_the_grace_period_cause_no_action() {
    let aws = cloud("aws", &[("east", RegionCapacity::unlimited()), ("west", RegionCapacity::unlimited())]);
    let clusters = (0..10).map(|i| desired(&format!("web-{i}"), "aws", "east", "web", 0)).collect();
    let policies = BTreeMap::from([(
        "web".to_owned(),
        FailoverPolicy::new(vec![Fallback::new(name("aws"), vec![region("west")])]),
    )]);
    let world = World::start(vec![aws], clusters, policies).await;
    let created_before = world.clouds["aws"].clusters_created();
    let placements_before = world.engine.store().placements().await.unwrap();

    for _ in 0..20 {
        world.clouds["aws"].fail_region(&region("east"));
        tokio::time::sleep(Duration::from_secs(45)).await;
        world.clouds["aws"].restore_region(&region("east"));
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let report = world.controller.report();
    assert!(report.moves.is_empty() && report.degraded.is_empty(), "{report}");
    assert_eq!(world.clouds["aws"].clusters_created(), created_before, "nothing was created");
    assert_eq!(world.engine.store().placements().await.unwrap(), placements_before, "no placement moved");
    let events = world.failover_events.lock().unwrap().clone();
    assert!(events.is_empty(), "{events:?}");
}

#[tokio::test(start_paused = true)]
async fn a_quota_shortage_moves_the_highest_priorities_first_and_reports_the_shortfall() {
    let aws = cloud("aws", &[("east", RegionCapacity::unlimited()), ("west", RegionCapacity::new(4, 1000))]);
    let clusters = (0..10).map(|i| desired(&format!("app-{i}"), "aws", "east", "app", i)).collect();
    let policies = BTreeMap::from([(
        "app".to_owned(),
        FailoverPolicy::new(vec![Fallback::new(name("aws"), vec![region("west")])]),
    )]);
    let world = World::start(vec![aws], clusters, policies).await;

    world.clouds["aws"].fail_region(&region("east"));
    let report = world.until(60 * MINUTE, |r| r.moves.len() == 4 && r.recovery_time.is_some()).await;
    println!("{report}");
    let moved: BTreeSet<&str> = report.moves.iter().map(|m| m.identity.as_str()).collect();
    assert_eq!(moved, BTreeSet::from(["app-6", "app-7", "app-8", "app-9"]), "the four highest priorities");
    assert_eq!(report.degraded.len(), 6);
    for reason in report.degraded.values() {
        assert!(reason.contains("aws/west: no capacity"), "{reason}");
    }
}

#[tokio::test(start_paused = true)]
async fn clusters_whose_policy_fails_back_go_home_when_their_region_returns() {
    let aws = cloud("aws", &[("east", RegionCapacity::unlimited()), ("west", RegionCapacity::unlimited())]);
    let clusters = (0..3).map(|i| desired(&format!("api-{i}"), "aws", "east", "api", 0)).collect();
    let policies = BTreeMap::from([(
        "api".to_owned(),
        FailoverPolicy::new(vec![Fallback::new(name("aws"), vec![region("west")])]).with_on_return(OnReturn::FailBack),
    )]);
    let world = World::start(vec![aws], clusters, policies).await;

    world.clouds["aws"].fail_region(&region("east"));
    world.until(60 * MINUTE, |r| r.moves.len() == 3 && r.recovery_time.is_some()).await;
    world.clouds["aws"].restore_region(&region("east"));
    world.until(60 * MINUTE, |r| r.moves.iter().all(|m| m.failed_back)).await;
    tokio::time::sleep(30 * MINUTE).await;

    for (cluster, location) in world.clusters() {
        assert_eq!(location, at("aws", "east"), "`{}` is home", cluster.id);
    }
    assert_eq!(world.clusters().len(), 3);
    world.assert_no_orphans().await;
    world.assert_single_active_placements();
    for placement in world.engine.store().placements().await.unwrap() {
        assert!(!placement.is_relocated());
        assert!(placement.generation >= 4, "created, moved, switched, moved home, switched: {placement:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn two_controllers_on_one_store_move_each_lost_cluster_once() {
    let aws = cloud("aws", &[("east", RegionCapacity::unlimited()), ("west", RegionCapacity::unlimited())]);
    let clusters = (0..8).map(|i| desired(&format!("web-{i}"), "aws", "east", "web", 0)).collect();
    let policy = FailoverPolicy::new(vec![Fallback::new(name("aws"), vec![region("west")])]);
    let policies = BTreeMap::from([("web".to_owned(), policy.clone())]);
    let world = World::start_with(vec![aws], clusters, policies, false).await;
    // A second replica: its own controller, the same engine and store; both check at the
    // same moments, so both see every loss and race to move it.
    let mut options = FailoverOptions::default();
    options.thresholds = LossThresholds::new(3, MINUTE, 0.5);
    let twin =
        FailoverController::builder(world.engine.clone()).policy("web", policy).options(options).build().unwrap();
    let check_both = || async {
        let (a, b) = tokio::join!(world.controller.check_once(), twin.check_once());
        a.unwrap();
        b.unwrap();
    };
    check_both().await;

    world.clouds["aws"].fail_region(&region("east"));
    for _ in 0..180 {
        check_both().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let moved = world.controller.report().moves.len() + twin.report().moves.len();
    assert_eq!(moved, 8, "each lost cluster moved by one of the two");
    let started = world.engine.store().events_after(0).await.unwrap();
    assert_eq!(started.iter().filter(|e| e.kind == fleet_core::store::RecordKind::FailoverStarted).count(), 8);
    for placement in world.engine.store().placements().await.unwrap() {
        assert_eq!(placement.location, at("aws", "west"));
        assert_eq!(placement.generation, 3, "created, moved once, switched once: {placement:?}");
    }
    assert_eq!(world.clusters().len(), 16, "eight replacements, eight old clusters awaiting their region");
}

#[tokio::test(start_paused = true)]
async fn a_region_outage_of_a_single_provider_recreates_its_clusters_in_that_providers_other_region() {
    // One provider, two regions: the listing of the lost region fails while the other answers,
    // and the provider as a whole stays available to the engine.
    let aws = cloud("aws", &[("east", RegionCapacity::unlimited()), ("west", RegionCapacity::unlimited())]);
    let clusters: Vec<DesiredCluster> = (0..6).map(|i| desired(&format!("api-{i}"), "aws", "east", "api", 5)).collect();
    let policy = FailoverPolicy::new(vec![Fallback::new(name("aws"), vec![region("west")])])
        .with_rto(20 * MINUTE)
        .with_max_parallel(10);
    let world = World::start(vec![aws], clusters, BTreeMap::from([("api".to_owned(), policy)])).await;
    let mut unseen = world.engine.subscribe();
    let created_before = world.clouds["aws"].clusters_created();

    world.clouds["aws"].fail_region(&region("east"));
    let report = world.until(60 * MINUTE, |r| r.moves.len() == 6 && r.recovery_time.is_some()).await;
    assert!(report.degraded.is_empty(), "{:?}", report.degraded);
    assert!(report.moves.iter().all(|m| m.to == at("aws", "west")), "{report}");
    assert_eq!(world.clouds["aws"].clusters_created() - created_before, 6, "one replacement each, in west");
    let east = world.clusters().iter().filter(|(_, l)| *l == at("aws", "east")).count();
    assert_eq!(east, 6, "nothing in the unreachable region is deleted or recreated while it is out of sight");
    let mut saw_region_event = false;
    while let Ok(event) = unseen.try_recv() {
        match event {
            EngineEvent::RegionUnavailable { region: lost, .. } => saw_region_event |= lost == region("east"),
            EngineEvent::ProviderUnavailable { provider, .. } => panic!("`{provider}` was judged unavailable"),
            _ => {}
        }
    }
    assert!(saw_region_event, "the engine reports the region it could not see");

    world.clouds["aws"].restore_region(&region("east"));
    world.until(60 * MINUTE, |r| r.awaiting_cleanup.is_empty()).await;
    tokio::time::sleep(10 * MINUTE).await;
    world.assert_no_orphans().await;
    world.assert_single_active_placements();
}

#[tokio::test(start_paused = true)]
async fn a_move_finishes_when_its_replacement_serves_even_while_a_slow_check_runs() {
    let aws = cloud("aws", &[("east", RegionCapacity::unlimited()), ("west", RegionCapacity::unlimited())]);
    let clusters: Vec<DesiredCluster> = (0..8).map(|i| desired(&format!("api-{i}"), "aws", "east", "api", 5)).collect();
    let policy = FailoverPolicy::new(vec![Fallback::new(name("aws"), vec![region("west")])])
        .with_rto(30 * MINUTE)
        .with_max_parallel(10);
    let world = World::start(vec![aws], clusters, BTreeMap::from([("api".to_owned(), policy)])).await;
    world.clouds["aws"].fail_region(&region("east"));
    let failed_at = Instant::now();
    world.until(10 * MINUTE, |r| r.moves.len() == 8).await;
    // From now on every check takes four minutes, longer than the probe interval.
    world.slow_checks.store(true, Ordering::SeqCst);
    let report = world.until(60 * MINUTE, |r| r.recovery_time.is_some()).await;

    let switches = world.switches.lock().unwrap().clone();
    for m in &report.moves {
        let switched = switches
            .iter()
            .filter(|(identity, ..)| *identity == m.identity)
            .map(|(.., at)| *at)
            .max()
            .unwrap_or_else(|| panic!("`{}` never switched", m.identity));
        // The move began at its first failed check, at or after the outage; it finished when
        // its replacement became active, not when the check running then ended.
        let finished_no_earlier_than = failed_at + m.recovery_time.unwrap();
        assert!(
            finished_no_earlier_than <= switched + Duration::from_secs(1),
            "`{}` counted as finished {:?} after its switch",
            m.identity,
            finished_no_earlier_than - switched
        );
    }
}
