//! The checks of the kit, one function per promise of the contract, grouped by what they
//! exercise. Each takes a [`Kit`](super::runner::Kit) and returns a verdict; the runner
//! cleans up after it.

pub(crate) mod access;
pub(crate) mod convergence;
pub(crate) mod faults;
pub(crate) mod lifecycle;
pub(crate) mod ownership;
pub(crate) mod refusals;
pub(crate) mod settings;
pub(crate) mod update;

use super::runner::{Kit, Stop, Whose};
use crate::{Cluster, ClusterId, ClusterPhase, ClusterSpec, FleetName, FleetTags};

/// Every way `cluster` differs from what `spec` asks of it: version, node pools, Fleet's tags
/// and labels. Empty when it matches.
pub(crate) fn mismatches(cluster: &Cluster, spec: &ClusterSpec) -> Vec<String> {
    let mut found = Vec::new();
    match cluster.kubernetes_version {
        Some(version) if version.satisfies(spec.kubernetes_version) => {}
        other => found.push(format!("version {other:?}, wanted {}", spec.kubernetes_version)),
    }
    let pools = |pools: &[crate::NodePool]| {
        pools.iter().map(|p| format!("{}:{}:{}-{}", p.name, p.size, p.min_count, p.max_count)).collect::<Vec<_>>()
    };
    if pools(&cluster.node_pools) != pools(&spec.node_pools) {
        found.push(format!("node pools {:?}, wanted {:?}", pools(&cluster.node_pools), pools(&spec.node_pools)));
    }
    match cluster.tags.get(FleetTags::FLEET_KEY).and_then(|f| FleetName::new(f.as_str()).ok()) {
        None => found.push(format!("no fleet tag among {:?}", cluster.tags)),
        Some(fleet) => {
            let wanted = FleetTags::cluster_tags(&fleet, spec);
            for (key, value) in &wanted {
                if cluster.tags.get(key) != Some(value) {
                    found.push(format!("tag `{key}` is {:?}, wanted {value:?}", cluster.tags.get(key)));
                }
            }
            for key in cluster.tags.keys().filter(|key| !wanted.contains_key(*key)) {
                found.push(format!("tag `{key}` is not in the spec"));
            }
        }
    }
    found
}

/// Polls `get` until the cluster runs and matches `spec`; fails with what still differs.
pub(crate) async fn wait_until_matches(kit: &Kit<'_>, spec: &ClusterSpec, doing: &str) -> Result<Cluster, Stop> {
    let deadline = tokio::time::Instant::now() + kit.wait.timeout;
    let mut interval = kit.wait.initial_interval;
    loop {
        let last = match kit.provider.get(&spec.id).await {
            Ok(cluster) if cluster.phase == ClusterPhase::Running && mismatches(&cluster, spec).is_empty() => {
                return Ok(cluster);
            }
            Ok(cluster) => match &cluster.phase {
                ClusterPhase::Running | ClusterPhase::Updating | ClusterPhase::Pending | ClusterPhase::Creating => {
                    format!("{} and {:?}", cluster.phase, mismatches(&cluster, spec))
                }
                other => return Err(Stop::Fail(format!("{doing}: the cluster went to phase {other}"))),
            },
            Err(err) if err.is_retryable() => {
                kit.saw_error(&err);
                err.to_string()
            }
            Err(err) => return Err(Stop::Fail(format!("{doing}: get failed: {err}"))),
        };
        if tokio::time::Instant::now() + interval > deadline {
            return Err(Stop::Fail(format!("{doing}: not running with the spec in time; last seen: {last}")));
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(kit.wait.max_interval);
    }
}

/// The listed clusters with `id`.
pub(crate) fn listed<'l>(clusters: &'l [Cluster], id: &ClusterId) -> Vec<&'l Cluster> {
    clusters.iter().filter(|c| &c.id == id).collect()
}

/// Lists the provider under test.
pub(crate) async fn list(kit: &Kit<'_>, doing: &str) -> Result<crate::Listing, Stop> {
    kit.ok(kit.provider.list().await, doing)
}

pub(crate) use Whose::{Mine, Theirs};
