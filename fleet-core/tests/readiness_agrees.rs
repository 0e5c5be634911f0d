//! Readiness and the failover controller agree: over random fleets, policies, capacities,
//! offered versions and outages on the simulated clouds, a template judged ready recovers from
//! the outage within its expected recovery time x 1.1, and a cluster readiness says cannot be
//! placed is reported degraded by the controller for the same reason.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleet_core::engine::{Engine, EngineOptions};
use fleet_core::failover::{
    FailoverController, FailoverEvent, FailoverOptions, FailoverPolicy, Fallback, LossThresholds, Outage, Readiness,
};
use fleet_core::fleet_spec::{AntiAffinity, DesiredCluster, DesiredFleet};
use fleet_core::sim::{Latency, LatencyModel, RegionCapacity, SimCloud};
use fleet_core::*;
use tokio_util::sync::CancellationToken;

const MINUTE: Duration = Duration::from_secs(60);
const CASES: u64 = 32;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn fleet() -> FleetName {
    FleetName::new("prod").unwrap()
}

/// The places of the two simulated clouds.
const PLACES: [(&str, &str); 5] = [("pa", "a1"), ("pa", "a2"), ("pa", "a3"), ("pb", "b1"), ("pb", "b2")];

fn location((provider, region): (&str, &str)) -> Location {
    Location::new(ProviderName::new(provider).unwrap(), Region::new(region).unwrap())
}

/// A random case: clouds, the desired clusters, their policies, and the outage to suffer.
struct Case {
    clouds: Vec<SimCloud>,
    clusters: Vec<DesiredCluster>,
    policies: BTreeMap<String, FailoverPolicy>,
    outage: Outage,
}

fn case(seed: u64) -> Case {
    let mut rng = Rng(seed);
    // `pb` offers the fleet's version half the time; without it, `pb` hosts nothing and any
    // move there is refused.
    let pb_offers_it = rng.below(2) == 0;
    let homes: Vec<(&str, &str)> = PLACES.iter().copied().filter(|(p, _)| pb_offers_it || *p == "pa").collect();
    let mut clusters = Vec::new();
    let mut policies = BTreeMap::new();
    let mut used: BTreeMap<Location, u32> = BTreeMap::new();
    for t in 0..1 + rng.below(3) {
        let template = format!("t{t}");
        for c in 0..1 + rng.below(3) {
            let place = location(homes[rng.below(homes.len())]);
            *used.entry(place.clone()).or_default() += 1;
            let spec = ClusterSpec::builder(
                ClusterId::new(format!("{template}-{c}")).unwrap(),
                place.provider.clone(),
                place.region.clone(),
                "1.31".parse().unwrap(),
            )
            .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
            .build()
            .unwrap();
            clusters.push(DesiredCluster::new(spec, template.clone(), rng.below(3) as i32));
        }
        let fallbacks = (0..1 + rng.below(3))
            .map(|_| {
                let place = location(PLACES[rng.below(PLACES.len())]);
                Fallback::new(place.provider, vec![place.region])
            })
            .collect();
        let mut policy = FailoverPolicy::new(fallbacks);
        policy.rto = [10, 15, 30][rng.below(3)] * MINUTE;
        policy.max_parallel = [1, 2, 50][rng.below(3)];
        policy.anti_affinity = if rng.below(2) == 0 { AntiAffinity::None } else { AntiAffinity::Region };
        policies.insert(template, policy);
    }
    // Room for what runs there and 0 to 4 more clusters.
    let pb_versions = if pb_offers_it { vec!["1.31", "1.32"] } else { vec!["1.33"] };
    let clouds = ["pa", "pb"]
        .into_iter()
        .map(|provider| {
            let mut builder = SimCloud::builder(ProviderName::new(provider).unwrap())
                .latency(
                    LatencyModel::zero()
                        .with_create(Latency::Fixed(8 * MINUTE))
                        .with_update(Latency::Fixed(5 * MINUTE))
                        .with_delete(Latency::Fixed(4 * MINUTE))
                        .with_calls(
                            Latency::Fixed(Duration::from_millis(100)),
                            Latency::Fixed(Duration::from_millis(200)),
                        ),
                )
                .rate_limits(RateLimits::new(RateLimit::new(400.0, 800), RateLimit::new(20.0, 50)))
                .offered_versions(
                    if provider == "pa" { vec!["1.31", "1.32"] } else { pb_versions.clone() }
                        .into_iter()
                        .map(|v| v.parse().unwrap())
                        .collect(),
                )
                .seed(seed);
            for place in PLACES.iter().filter(|(p, _)| *p == provider) {
                let running = used.get(&location(*place)).copied().unwrap_or(0);
                builder =
                    builder.region(location(*place).region, RegionCapacity::new(running + rng.below(5) as u32, 500));
            }
            builder.build()
        })
        .collect();
    let hosts: Vec<Location> = used.keys().cloned().collect();
    let lost = hosts[rng.below(hosts.len())].clone();
    let outage = if rng.below(2) == 0 {
        Outage::Region { location: lost }
    } else {
        Outage::Provider { provider: lost.provider }
    };
    Case { clouds, clusters, policies, outage }
}

/// Runs `case`: converges the fleet, judges readiness, suffers the outage for two hours of
/// virtual time with the engine and the controller running; returns the readiness judged and
/// every failover event.
async fn run(case: &Case) -> (Readiness, Vec<FailoverEvent>) {
    let mut options = EngineOptions::default();
    options.concurrency_per_provider = 500;
    options.poll_initial = Duration::from_secs(5);
    options.poll_max = Duration::from_secs(15);
    options.reconcile_interval = MINUTE;
    let mut builder = Engine::builder(fleet()).options(options);
    for cloud in &case.clouds {
        builder = builder.provider(Arc::new(cloud.provider(fleet())));
    }
    let engine = builder.build().unwrap();
    engine.set_desired(DesiredFleet::new(fleet(), case.clusters.clone())).unwrap();
    for _ in 0..10 {
        if engine.run_once().await.unwrap().converged {
            break;
        }
    }
    assert!(engine.run_once().await.unwrap().converged, "the fleet converges before the outage");
    let mut options = FailoverOptions::default();
    options.probe_interval = Duration::from_secs(10);
    options.thresholds = LossThresholds::new(3, MINUTE, 0.5);
    let controller =
        FailoverController::builder(engine.clone()).policies(case.policies.clone()).options(options).build().unwrap();
    // Quiet checks first, so that every cluster has a healthy history.
    let cancel = CancellationToken::new();
    tokio::spawn({
        let (engine, cancel) = (engine.clone(), cancel.clone());
        async move { engine.run(cancel).await }
    });
    tokio::spawn({
        let (controller, cancel) = (controller.clone(), cancel.clone());
        async move { controller.run(cancel).await }
    });
    tokio::time::sleep(2 * MINUTE).await;
    let readiness = controller.readiness().await.unwrap();

    let events = Arc::new(Mutex::new(Vec::new()));
    let mut subscription = controller.subscribe();
    tokio::spawn({
        let events = Arc::clone(&events);
        async move {
            while let Ok(event) = subscription.recv().await {
                events.lock().unwrap().push(event);
            }
        }
    });
    for cloud in &case.clouds {
        match &case.outage {
            Outage::Region { location } if location.provider == cloud.info().name => {
                cloud.fail_region(&location.region)
            }
            Outage::Provider { provider } if *provider == cloud.info().name => cloud.fail_provider(),
            _ => {}
        }
    }
    tokio::time::sleep(120 * MINUTE).await;
    cancel.cancel();
    let events = events.lock().unwrap().clone();
    (readiness, events)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_template_judged_ready_recovers_in_time_and_one_judged_not_ready_is_degraded_for_that_reason() {
    let (mut ready_checked, mut degraded_checked, mut worst) = (0, 0, 0.0_f64);
    for seed in 0..CASES {
        let case = case(seed);
        let (readiness, events) = run(&case).await;
        let what = format!("seed {seed}, {}:\n{readiness}\nevents: {events:#?}", case.outage);
        let recovered: BTreeMap<String, Duration> = events
            .iter()
            .filter_map(|e| match e {
                FailoverEvent::Recovered { identity, recovery_time, .. } => {
                    Some((identity.to_string(), *recovery_time))
                }
                _ => None,
            })
            .collect();
        let degraded: BTreeMap<String, String> = events
            .iter()
            .filter_map(|e| match e {
                FailoverEvent::Degraded { identity, reason } => Some((identity.to_string(), reason.clone())),
                _ => None,
            })
            .collect();
        for template in &readiness.templates {
            let Some(outage) = template.outages.iter().find(|o| o.outage == case.outage) else { continue };
            let displaced: BTreeSet<String> = case
                .clusters
                .iter()
                .filter(|c| c.origin == template.template && case.outage.loses(&Location::of_spec(&c.spec)))
                .map(|c| c.spec.id.to_string())
                .collect();
            if outage.is_ready() {
                let expected = outage.expected_recovery.expect("a ready outage has an expected recovery");
                for id in &displaced {
                    let took =
                        recovered.get(id).unwrap_or_else(|| panic!("`{id}` judged ready did not recover: {what}"));
                    assert!(
                        took.as_secs_f64() <= expected.as_secs_f64() * 1.1,
                        "`{id}` took {took:?}, expected {expected:?}: {what}"
                    );
                    ready_checked += 1;
                    worst = worst.max(took.as_secs_f64() / expected.as_secs_f64());
                }
            }
            for reason in &outage.reasons {
                let (id, why) = reason.split_once(": ").expect("a reason names its cluster");
                let id = id.trim_matches('`');
                assert_eq!(degraded.get(id), Some(&why.to_owned()), "`{id}` is degraded for the same reason: {what}");
                degraded_checked += 1;
            }
        }
    }
    eprintln!(
        "{CASES} cases: {ready_checked} recoveries within 1.1 x the expected time (the slowest at {worst:.3} x), {degraded_checked} degradations for readiness's reason"
    );
    assert!(
        ready_checked > 0 && degraded_checked > 0,
        "both verdicts were put to the test: {ready_checked} recoveries, {degraded_checked} degradations"
    );
}
