//! The engine's dry run agrees with the engine: over random fleets, spec changes, TTLs,
//! restarts on the same store and region outages with failover, what `Engine::dry_run` plans
//! is what the next pass plans.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use fleet_core::engine::{Engine, EngineOptions};
use fleet_core::failover::{
    FailoverController, FailoverOptions, FailoverPolicy, Fallback, LossThresholds, PhaseAndProbe,
};
use fleet_core::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet_core::plan::Summary;
use fleet_core::sim::{Latency, LatencyModel, RegionCapacity, SimCloud};
use fleet_core::store::{MemoryStore, StateStore};
use fleet_core::*;
use proptest::prelude::*;

const MINUTE: Duration = Duration::from_secs(60);
const TEMPLATE: &str = "template/web";

fn fleet() -> FleetName {
    FleetName::new("dry").unwrap()
}

fn region(name: &str) -> Region {
    Region::new(name).unwrap()
}

/// One cluster of the random fleet: its index, minor version, region and TTL in minutes.
#[derive(Debug, Clone)]
struct Wanted {
    index: u8,
    minor: u32,
    west: bool,
    ttl_minutes: Option<u64>,
}

fn desired(wanted: &[Wanted]) -> DesiredFleet {
    let clusters = wanted
        .iter()
        .map(|w| {
            let place = if w.west { "west" } else { "east" };
            let mut builder = ClusterSpec::builder(
                ClusterId::new(format!("c{}", w.index)).unwrap(),
                ProviderName::new("sim").unwrap(),
                region(place),
                KubernetesVersion::new(1, w.minor, None),
            )
            .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap());
            if let Some(minutes) = w.ttl_minutes {
                builder = builder.ttl(Duration::from_secs(minutes * 60));
            }
            DesiredCluster::new(builder.build().unwrap(), TEMPLATE, 0)
        })
        .collect();
    DesiredFleet::new(fleet(), clusters)
}

/// What happens between two checks.
#[derive(Debug, Clone)]
enum Step {
    /// The desired fleet changes to this.
    Spec(Vec<Wanted>),
    /// Virtual time passes.
    Wait(u64),
    /// A pass runs.
    Pass,
    /// The engine and controller restart on the same store.
    Restart,
    /// The east region fails, and the controller checks (and fails over).
    Outage,
    /// The east region comes back, and the controller checks.
    Recovery,
}

fn wanted_strategy() -> impl Strategy<Value = Vec<Wanted>> {
    prop::collection::btree_map(0u8..6, (33u32..35, any::<bool>(), prop::option::of(20u64..240)), 1..5).prop_map(
        |clusters| {
            clusters
                .into_iter()
                .map(|(index, (minor, west, ttl_minutes))| Wanted { index, minor, west, ttl_minutes })
                .collect()
        },
    )
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => wanted_strategy().prop_map(Step::Spec),
        3 => (1u64..90).prop_map(Step::Wait),
        3 => Just(Step::Pass),
        1 => Just(Step::Restart),
        1 => Just(Step::Outage),
        1 => Just(Step::Recovery),
    ]
}

struct World {
    cloud: SimCloud,
    store: Arc<dyn StateStore>,
    engine: Engine,
    controller: FailoverController,
}

impl World {
    fn start(cloud: SimCloud, store: Arc<dyn StateStore>, desired: DesiredFleet) -> Self {
        let mut options = EngineOptions::default();
        options.reconcile_interval = MINUTE;
        let clock = cloud.clone();
        let engine = Engine::builder(fleet())
            .provider(Arc::new(cloud.provider(fleet())))
            .store(Arc::clone(&store))
            .options(options)
            .clock(move || clock.wall_clock())
            .build()
            .unwrap();
        engine.set_desired(desired).unwrap();
        let policy = FailoverPolicy::new(vec![Fallback::new(ProviderName::new("sim").unwrap(), vec![region("west")])]);
        let mut options = FailoverOptions::default();
        options.thresholds = LossThresholds::new(1, Duration::ZERO, 0.5);
        let provider: Arc<dyn ClusterProvider> = Arc::new(cloud.provider(fleet()));
        let controller = FailoverController::builder(engine.clone())
            .policies(BTreeMap::from([(TEMPLATE.to_owned(), policy)]))
            .options(options)
            .health_check(
                ProviderName::new("sim").unwrap(),
                Arc::new(PhaseAndProbe::new(provider, Arc::new(cloud.clone()))),
            )
            .build()
            .unwrap();
        World { cloud, store, engine, controller }
    }

    /// The dry run's plan and the next pass's, side by side.
    async fn compare(&self) -> (Summary, Summary) {
        let dry = self.engine.dry_run().await.unwrap().summary();
        let pass = self.engine.run_once().await.unwrap().planned;
        (dry, pass)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn the_dry_run_plans_what_the_next_pass_plans(
        first in wanted_strategy(),
        steps in prop::collection::vec(step_strategy(), 1..14),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        let result: Result<(), TestCaseError> = runtime.block_on(async {
            let cloud = SimCloud::builder(ProviderName::new("sim").unwrap())
                .region(region("east"), RegionCapacity::unlimited())
                .region(region("west"), RegionCapacity::unlimited())
                .latency(
                    LatencyModel::zero()
                        .with_create(Latency::Fixed(5 * MINUTE))
                        .with_update(Latency::Fixed(3 * MINUTE))
                        .with_delete(Latency::Fixed(2 * MINUTE)),
                )
                .offered_versions((33..=36).map(|minor| KubernetesVersion::new(1, minor, None)).collect())
                .unlimited_rate()
                .seed(5)
                .build();
            let mut spec = desired(&first);
            let mut world = World::start(cloud, Arc::new(MemoryStore::new()), spec.clone());
            for (number, step) in steps.into_iter().enumerate() {
                match step {
                    Step::Spec(wanted) => {
                        spec = desired(&wanted);
                        world.engine.set_desired(spec.clone()).unwrap();
                    }
                    Step::Wait(minutes) => tokio::time::sleep(Duration::from_secs(minutes * 60)).await,
                    Step::Pass => {}
                    Step::Restart => {
                        world = World::start(world.cloud.clone(), Arc::clone(&world.store), spec.clone());
                    }
                    Step::Outage => {
                        world.cloud.fail_region(&region("east"));
                        world.controller.check_once().await.unwrap();
                    }
                    Step::Recovery => {
                        world.cloud.restore_region(&region("east"));
                        world.controller.check_once().await.unwrap();
                    }
                }
                let (dry, pass) = world.compare().await;
                prop_assert_eq!(dry, pass, "step {}: the dry run and the pass disagree", number);
            }
            Ok(())
        });
        result?;
    }
}
