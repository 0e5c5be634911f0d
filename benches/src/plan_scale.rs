//! Planning at fleet scale: the planner's cost with nothing to do and with 1% of the fleet
//! changed, and the memory a fleet's desired and observed state take per cluster.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use fleet::fleet_spec::{DesiredCluster, DesiredFleet};
use fleet::model::{ClusterPhase, FleetName, FleetTags, KubernetesVersion, ProviderName};
use fleet::plan::plan;
use fleet::provider::Capabilities;
use fleet::{Cluster, Result};

use crate::table::{Row, show};
use crate::{cluster_specs, instant_cloud};

/// The 100,000-cluster steady-state target.
const STEADY_TARGET: Duration = Duration::from_millis(50);
/// Extra plan time per changed cluster below which a difference of two timings is noise.
const NOISE_FLOOR: f64 = 2e-6;

/// A fleet of `count` clusters, and the clusters a provider reports for it once it runs, in
/// the engine's order (by id).
pub fn fleet_state(count: usize) -> Result<(DesiredFleet, Vec<Cluster>)> {
    let fleet = FleetName::new("bench")?;
    let cloud = instant_cloud("bench", 3, 1)?;
    let specs = cluster_specs(&cloud, count)?;
    let mut observed: Vec<Cluster> = specs
        .iter()
        .map(|spec| {
            let provider_id = format!("sim://{}", spec.id);
            Cluster::new(
                spec.id.clone(),
                spec.provider.clone(),
                provider_id,
                spec.region.clone(),
                ClusterPhase::Running,
            )
            .with_kubernetes_version(KubernetesVersion::new(1, 31, Some(4)))
            .with_node_pools(spec.node_pools.clone())
            .with_tags(FleetTags::cluster_tags(&fleet, spec))
        })
        .collect();
    // As the engine keeps them.
    observed.sort_by(|a, b| a.id.cmp(&b.id));
    let desired = DesiredFleet::new(fleet, specs.into_iter().map(|s| DesiredCluster::new(s, "bench", 0)).collect());
    Ok((desired, observed))
}

/// The shortest of `repeats` plans of `desired` against `observed` (the least disturbed by
/// the rest of the machine), and the number of actions that are not `Unchanged`.
fn time_plan(desired: &DesiredFleet, observed: &[Cluster], repeats: usize) -> (Duration, usize) {
    let capabilities = BTreeMap::from([(ProviderName::new("bench").expect("valid"), Capabilities::all())]);
    let now = SystemTime::now();
    let mut fastest = Duration::MAX;
    let mut changed = 0;
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        let planned = plan(desired, observed, &capabilities, now);
        fastest = fastest.min(started.elapsed());
        changed = planned.actions.iter().filter(|a| !matches!(a, fleet::plan::Action::Unchanged { .. })).count();
    }
    (fastest, changed)
}

/// `desired` with every `step`-th cluster asking for the next Kubernetes minor.
fn changed_every(desired: &DesiredFleet, step: usize) -> DesiredFleet {
    let mut changed = desired.clone();
    for cluster in changed.clusters.iter_mut().step_by(step) {
        cluster.spec.kubernetes_version = KubernetesVersion::new(1, 32, None);
    }
    changed
}

/// Every byte one plan of `desired` allocates, freed or kept (its plan included): a bound on
/// its peak memory. `allocated` reads the allocator's running total of bytes allocated.
fn planning_bytes(desired: &DesiredFleet, observed: &[Cluster], allocated: &dyn Fn() -> usize) -> usize {
    let capabilities = BTreeMap::from([(ProviderName::new("bench").expect("valid"), Capabilities::all())]);
    let before = allocated();
    let planned = plan(desired, observed, &capabilities, SystemTime::now());
    let bytes = allocated().saturating_sub(before);
    drop(planned);
    bytes
}

/// Plans fleets of each size in `sizes` (ascending), steady and 1% changed. For the largest,
/// `live_bytes` (the allocator's live bytes) measures the state planned over, and `allocated`
/// (its running total) what one plan allocates.
pub fn plan_rows(
    sizes: &[usize],
    repeats: usize,
    live_bytes: &dyn Fn() -> usize,
    allocated: &dyn Fn() -> usize,
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let mut per_change = Vec::new();
    for &size in sizes {
        let before = live_bytes();
        let (desired, observed) = fleet_state(size)?;
        let bytes = live_bytes().saturating_sub(before);
        let changed_fleet = changed_every(&desired, 100);
        // A tenth changed, for the cost per changed cluster: a signal well above the noise of
        // two timings.
        let tenth = changed_every(&desired, 10);
        // Interleaved, so that all three see the same machine.
        let (mut steady, mut changed, mut updates, mut slope) = (Duration::MAX, Duration::MAX, 0, Duration::MAX);
        for _ in 0..repeats.max(1) {
            let (time, nothing) = time_plan(&desired, &observed, 1);
            assert_eq!(nothing, 0, "a steady fleet plans nothing");
            steady = steady.min(time);
            let (time, count) = time_plan(&changed_fleet, &observed, 1);
            (changed, updates) = (changed.min(time), count);
            slope = slope.min(time_plan(&tenth, &observed, 1).0);
        }
        assert_eq!(updates, size.div_ceil(100), "1% of the fleet is updated");
        let incremental = slope.saturating_sub(steady).as_secs_f64() / size.div_ceil(10).max(1) as f64;
        per_change.push((size, incremental));
        let label = format!("plan {size} clusters, steady state");
        rows.push(if size >= 100_000 {
            Row::judged(label, show(steady), "< 50 ms (one core)", steady < STEADY_TARGET)
                .against(show(STEADY_TARGET), steady.as_secs_f64() / STEADY_TARGET.as_secs_f64())
        } else {
            Row::info(label, show(steady))
        });
        rows.push(Row::info(
            format!("plan {size} clusters, 1% ({updates}) changed"),
            format!(
                "{} ({} per changed cluster, from 10% changed)",
                show(changed),
                show(Duration::from_secs_f64(incremental))
            ),
        ));
        if Some(&size) == sizes.last() {
            let mut shuffled = observed.clone();
            shuffled.reverse();
            let (unordered, _) = time_plan(&desired, &shuffled, repeats);
            rows.push(Row::info(
                format!("plan {size} clusters, steady, clusters not in the engine's order (indexed)"),
                show(unordered),
            ));
            let planning = planning_bytes(&desired, &observed, allocated) / size.max(1);
            rows.push(Row::kib_per_cluster(
                format!("plan memory per cluster, all it allocates ({size} clusters, steady)"),
                planning as u64,
            ));
            rows.push(Row::info(
                format!("desired + observed state per cluster, the plan's input ({size} clusters)"),
                format!("{} B", bytes / size.max(1)),
            ));
        }
    }
    if let (Some((small, first)), Some((large, last))) = (per_change.first(), per_change.last())
        && large > small
    {
        // Below a few microseconds the difference of two plan times is noise: the floor.
        let base = first.max(NOISE_FLOOR);
        let ratio = last / base;
        let shown = |seconds: f64| show(Duration::from_secs_f64(seconds.max(0.0)));
        rows.push(
            Row::judged(
                format!("extra cost per changed cluster, {large} vs {small} clusters"),
                format!("{} vs {}", shown(*last), shown(*first)),
                "grows with changes, not size (<= 3x)",
                ratio <= 3.0,
            )
            .against(format!("{} (noise floor {})", shown(base), shown(NOISE_FLOOR)), ratio),
        );
    }
    Ok(rows)
}
