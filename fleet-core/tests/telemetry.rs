//! The metrics the engine and the failover controller record, read by a recorder local to
//! each test (the library never installs one): names, labels and values after a small fleet
//! converges, shrinks and fails over, and no cluster name, identity or template in any label.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleet_core::engine::{Engine, EngineOptions};
use fleet_core::failover::{FailoverController, FailoverOptions, FailoverPolicy, Fallback, LossThresholds};
use fleet_core::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet_core::sim::{InjectedError, Latency, LatencyModel, Operation, RegionCapacity, SimCloud};
use fleet_core::telemetry;
use fleet_core::*;
use metrics::{Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, SharedString, Unit};
use tokio_util::sync::CancellationToken;

const MINUTE: Duration = Duration::from_secs(60);

/// One series: its name and labels.
type Series = (String, BTreeMap<String, String>);

/// What one series received: a counter's total, a gauge's value, a histogram's samples.
#[derive(Default)]
struct Values {
    counter: AtomicU64,
    gauge: Mutex<Option<f64>>,
    samples: Mutex<Vec<f64>>,
}

impl CounterFn for Values {
    fn increment(&self, value: u64) {
        self.counter.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.counter.store(value, Ordering::SeqCst);
    }
}

impl GaugeFn for Values {
    fn increment(&self, value: f64) {
        let mut gauge = self.gauge.lock().unwrap();
        *gauge = Some(gauge.unwrap_or(0.0) + value);
    }
    fn decrement(&self, value: f64) {
        GaugeFn::increment(self, -value);
    }
    fn set(&self, value: f64) {
        *self.gauge.lock().unwrap() = Some(value);
    }
}

impl HistogramFn for Values {
    fn record(&self, value: f64) {
        self.samples.lock().unwrap().push(value);
    }
}

/// A recorder that keeps everything in memory.
#[derive(Default)]
struct TestRecorder {
    series: Mutex<BTreeMap<Series, Arc<Values>>>,
    described: Mutex<BTreeMap<String, Option<Unit>>>,
}

impl TestRecorder {
    fn values(&self, key: &Key) -> Arc<Values> {
        let labels = key.labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect();
        let series = (key.name().to_owned(), labels);
        Arc::clone(self.series.lock().unwrap().entry(series).or_default())
    }

    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<Arc<Values>> {
        let labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.series.lock().unwrap().get(&(name.to_owned(), labels)).cloned()
    }

    /// A counter's total (0 when never recorded).
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.find(name, labels).map_or(0, |v| v.counter.load(Ordering::SeqCst))
    }

    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.find(name, labels).and_then(|v| *v.gauge.lock().unwrap())
    }

    fn samples(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        self.find(name, labels).map(|v| v.samples.lock().unwrap().clone()).unwrap_or_default()
    }

    /// Every series of `name`.
    fn series_of(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        self.series.lock().unwrap().keys().filter(|(n, _)| n == name).map(|(_, labels)| labels.clone()).collect()
    }

    /// The sum of a counter over all its series whose labels include `labels`.
    fn counter_sum(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.series
            .lock()
            .unwrap()
            .iter()
            .filter(|((n, l), _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
            .map(|(_, v)| v.counter.load(Ordering::SeqCst))
            .sum()
    }

    /// Asserts that every label is one of the documented keys, and that no value names any of
    /// `forbidden` (cluster names, identities, templates).
    fn assert_bounded_labels(&self, forbidden: &BTreeSet<String>) {
        let keys = ["outcome", "kind", "provider", "operation", "phase", "rule"];
        for (name, labels) in self.series.lock().unwrap().keys() {
            assert!(telemetry::NAMES.contains(&name.as_str()), "undocumented metric `{name}`");
            for (key, value) in labels {
                assert!(keys.contains(&key.as_str()), "{name}: unexpected label `{key}`");
                assert!(!forbidden.contains(value), "{name}: label {key}=`{value}` names a cluster");
            }
        }
    }
}

impl metrics::Recorder for TestRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.described.lock().unwrap().insert(key.as_str().to_owned(), unit);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.described.lock().unwrap().insert(key.as_str().to_owned(), unit);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.described.lock().unwrap().insert(key.as_str().to_owned(), unit);
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.values(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.values(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.values(key))
    }
}

fn fleet() -> FleetName {
    FleetName::new("tele").unwrap()
}

fn spec(id: &str, provider: &str, region: &str) -> ClusterSpec {
    ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        ProviderName::new(provider).unwrap(),
        Region::new(region).unwrap(),
        "1.31".parse().unwrap(),
    )
    .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
    .build()
    .unwrap()
}

fn desired(clusters: Vec<DesiredCluster>) -> DesiredFleet {
    DesiredFleet::new(fleet(), clusters)
}

#[test]
fn describe_gives_every_metric_a_unit() {
    let recorder = TestRecorder::default();
    metrics::with_local_recorder(&recorder, telemetry::describe);
    let described = recorder.described.lock().unwrap().clone();
    assert_eq!(described.keys().map(String::as_str).collect::<BTreeSet<_>>(), telemetry::NAMES.into());
    for (name, unit) in described {
        let expected = if name.ends_with("_seconds") { Unit::Seconds } else { Unit::Count };
        assert_eq!(unit, Some(expected), "{name}");
        assert!(name.starts_with("fleet_"), "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn passes_actions_provider_calls_and_cluster_gauges_are_recorded_with_bounded_labels() {
    let recorder = TestRecorder::default();
    let _local = metrics::set_default_local_recorder(&recorder);
    let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
        .seed(3)
        .build();
    let mut options = EngineOptions::default();
    options.retry_initial = Duration::from_millis(100);
    let engine = Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(options).build().unwrap();
    let web = DesiredCluster::new(spec("web-1", "sim", "east"), "web", 0);
    let api = DesiredCluster::new(spec("api-1", "sim", "west"), "api", 0);
    engine.set_desired(desired(vec![web.clone(), api])).unwrap();
    cloud.fail_next(Operation::Create, 1, InjectedError::RateLimited(Duration::from_secs(2)));

    // Create both: a pass that acts, then one that finds nothing to do.
    let first = engine.run_once().await.unwrap();
    assert_eq!((first.succeeded, first.converged), (2, false));
    assert!(engine.run_once().await.unwrap().converged);
    let passes = telemetry::PASSES_TOTAL;
    assert_eq!(recorder.counter(passes, &[("outcome", "pending")]), 1);
    assert_eq!(recorder.counter(passes, &[("outcome", "converged")]), 1);
    assert_eq!(recorder.counter(passes, &[("outcome", "failed")]), 0);
    let durations = recorder.samples(telemetry::PASS_DURATION_SECONDS, &[]);
    assert_eq!(durations.len(), 2);
    assert!(durations[0] > 0.0, "the creating pass took virtual time: {durations:?}");

    let actions = telemetry::ACTIONS_TOTAL;
    assert_eq!(recorder.counter(actions, &[("kind", "create"), ("outcome", "succeeded")]), 2);
    assert_eq!(recorder.counter_sum(actions, &[("outcome", "failed")]), 0);

    let calls = telemetry::PROVIDER_CALLS_TOTAL;
    let sim = ("provider", "sim");
    assert_eq!(recorder.counter(calls, &[sim, ("operation", "create"), ("outcome", "ok")]), 2);
    assert_eq!(recorder.counter(calls, &[sim, ("operation", "create"), ("outcome", "rate_limited")]), 1);
    assert_eq!(recorder.counter(calls, &[sim, ("operation", "list"), ("outcome", "ok")]), 2, "one list a pass");
    assert!(recorder.counter(calls, &[sim, ("operation", "get"), ("outcome", "ok")]) >= 2, "creates are polled");
    let creates = recorder.samples(telemetry::PROVIDER_CALL_DURATION_SECONDS, &[sim, ("operation", "create")]);
    assert_eq!(creates.len(), 3, "every create attempt is timed");
    let waits = recorder.samples(telemetry::API_BUDGET_WAIT_SECONDS, &[sim]);
    assert_eq!(
        waits.len() as u64,
        recorder.counter_sum(calls, &[sim]),
        "every call of the engine goes through the budget once"
    );
    assert!(waits.iter().any(|w| *w > 0.0), "the empty buckets make the first calls wait: {waits:?}");

    let clusters = telemetry::CLUSTERS;
    assert_eq!(recorder.gauge(clusters, &[sim, ("phase", "running")]), Some(2.0));

    // Shrink to one cluster, then to none: the gauge follows, down to 0.
    engine.set_desired(desired(vec![web])).unwrap();
    for _ in 0..3 {
        engine.run_once().await.unwrap();
    }
    assert_eq!(recorder.counter(actions, &[("kind", "delete"), ("outcome", "succeeded")]), 1);
    assert_eq!(recorder.gauge(clusters, &[sim, ("phase", "running")]), Some(1.0));
    engine.set_desired(desired(Vec::new())).unwrap();
    for _ in 0..3 {
        engine.run_once().await.unwrap();
    }
    assert!(cloud.clusters().is_empty());
    assert_eq!(recorder.counter(actions, &[("kind", "delete"), ("outcome", "succeeded")]), 2);
    assert_eq!(recorder.gauge(clusters, &[sim, ("phase", "running")]), Some(0.0), "no stale gauge");
    assert!(recorder.counter(calls, &[sim, ("operation", "delete"), ("outcome", "ok")]) >= 2);

    // Every pass is counted once, and timed once.
    let total: u64 =
        ["converged", "pending", "failed"].iter().map(|o| recorder.counter(passes, &[("outcome", o)])).sum();
    assert_eq!(total, 8);
    assert_eq!(recorder.samples(telemetry::PASS_DURATION_SECONDS, &[]).len(), 8);

    let forbidden: BTreeSet<String> =
        ["web-1", "api-1", "web", "api", "tele", "east", "west"].into_iter().map(String::from).collect();
    recorder.assert_bounded_labels(&forbidden);
    for labels in recorder.series_of(calls) {
        assert!(["create", "get", "list", "delete"].contains(&labels["operation"].as_str()), "operation {labels:?}");
    }
}

/// A cloud whose creates take 8 minutes, with a generous API budget.
fn slow_cloud() -> SimCloud {
    SimCloud::builder(ProviderName::new("aws").unwrap())
        .region(Region::new("east").unwrap(), RegionCapacity::unlimited())
        .region(Region::new("west").unwrap(), RegionCapacity::unlimited())
        .latency(
            LatencyModel::zero()
                .with_create(Latency::Fixed(8 * MINUTE))
                .with_delete(Latency::Fixed(4 * MINUTE))
                .with_calls(Latency::Fixed(Duration::from_millis(100)), Latency::Fixed(Duration::from_millis(200))),
        )
        .rate_limits(RateLimits::new(RateLimit::new(400.0, 800), RateLimit::new(20.0, 50)))
        .seed(7)
        .build()
}

#[tokio::test(start_paused = true)]
async fn failover_moves_are_counted_against_their_objective_and_degraded_clusters_too() {
    let recorder = TestRecorder::default();
    let _local = metrics::set_default_local_recorder(&recorder);
    let cloud = slow_cloud();
    let mut options = EngineOptions::default();
    options.poll_initial = Duration::from_secs(5);
    options.poll_max = Duration::from_secs(15);
    let engine = Engine::builder(fleet()).provider(Arc::new(cloud.provider(fleet()))).options(options).build().unwrap();
    let clusters = vec![
        DesiredCluster::new(spec("patient-1", "aws", "east"), "patient", 0),
        DesiredCluster::new(spec("hasty-1", "aws", "east"), "hasty", 0),
        DesiredCluster::new(spec("pinned-1", "aws", "east"), "pinned", 0),
    ];
    engine.set_desired(desired(clusters)).unwrap();
    for _ in 0..5 {
        if engine.run_once().await.unwrap().converged {
            break;
        }
    }
    assert_eq!(recorder.gauge(telemetry::CLUSTERS, &[("provider", "aws"), ("phase", "running")]), Some(3.0));

    let west = || Fallback::new(ProviderName::new("aws").unwrap(), vec![Region::new("west").unwrap()]);
    let east = || Fallback::new(ProviderName::new("aws").unwrap(), vec![Region::new("east").unwrap()]);
    let policies = BTreeMap::from([
        ("patient".to_owned(), FailoverPolicy::new(vec![west()]).with_rto(30 * MINUTE)),
        ("hasty".to_owned(), FailoverPolicy::new(vec![west()]).with_rto(MINUTE)),
        ("pinned".to_owned(), FailoverPolicy::new(vec![east()])),
    ]);
    let mut failover = FailoverOptions::default();
    failover.probe_interval = Duration::from_secs(10);
    failover.thresholds = LossThresholds::new(3, MINUTE, 0.5);
    let controller = FailoverController::builder(engine.clone()).policies(policies).options(failover).build().unwrap();
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
    tokio::time::sleep(2 * MINUTE).await;

    cloud.fail_region(&Region::new("east").unwrap());
    let started = tokio::time::Instant::now();
    let report = loop {
        let report = controller.report();
        if report.moves.len() == 2 && report.moves.iter().all(|m| m.recovery_time.is_some()) {
            break report;
        }
        assert!(started.elapsed() < 60 * MINUTE, "no recovery:\n{report}");
        tokio::time::sleep(Duration::from_secs(10)).await;
    };
    assert_eq!(report.degraded.len(), 1, "{report}");

    let moves = telemetry::FAILOVER_MOVES_TOTAL;
    assert_eq!(recorder.counter(moves, &[("outcome", "within_objective")]), 1, "{report}");
    assert_eq!(recorder.counter(moves, &[("outcome", "late")]), 1, "{report}");
    assert_eq!(recorder.counter(moves, &[("outcome", "degraded")]), 1, "{report}");
    let mut recorded = recorder.samples(telemetry::FAILOVER_RECOVERY_SECONDS, &[]);
    recorded.sort_by(f64::total_cmp);
    let mut reported: Vec<f64> = report.moves.iter().filter_map(|m| m.recovery_time).map(|d| d.as_secs_f64()).collect();
    reported.sort_by(f64::total_cmp);
    assert_eq!(recorded, reported);
    assert!(recorded.iter().all(|r| *r > 60.0 && *r < 30.0 * 60.0), "{recorded:?}");

    // The failover controller's calls go through the engine's budget, and are counted too.
    let calls = telemetry::PROVIDER_CALLS_TOTAL;
    // (The engine never asks for room; placing the lost clusters does.)
    assert!(recorder.counter(calls, &[("provider", "aws"), ("operation", "room"), ("outcome", "ok")]) > 0);
    let forbidden: BTreeSet<String> = ["patient-1", "hasty-1", "pinned-1", "patient", "hasty", "pinned", "tele"]
        .into_iter()
        .map(String::from)
        .collect();
    recorder.assert_bounded_labels(&forbidden);
}
