//! Plans that converge: after a create and after each kind of update, the plan of the kit's
//! spec over what `list` reports is empty, so that the engine issues nothing more.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::update::update_and_reach;
use super::{Mine, list, listed, wait_until_matches};
use crate::conformance::runner::{Kit, Stop, Verdict, ensure};
use crate::fleet_spec::{DesiredCluster, DesiredFleet};
use crate::plan::{Action, plan};
use crate::{Cluster, ClusterSpec};

/// Fails unless the plan of `spec` over what `list` reports of it is `Unchanged`.
pub(crate) async fn ensure_plan_is_empty(kit: &Kit<'_>, spec: &ClusterSpec, after: &str) -> Verdict {
    let listing = list(kit, &format!("list after {after}")).await?;
    let observed: Vec<Cluster> = listed(&listing.clusters, &spec.id).into_iter().cloned().collect();
    let Some(fleet) = observed.first().and_then(Cluster::fleet_tags).map(|tags| tags.fleet) else {
        return Err(Stop::Fail(format!("after {after}: the cluster is not listed with this fleet's tags")));
    };
    let info = kit.provider.info();
    let desired = DesiredFleet::new(fleet, vec![DesiredCluster::new(spec.clone(), "conformance", 0)]);
    let capabilities = BTreeMap::from([(info.name.clone(), info.capabilities)]);
    let plan = plan(&desired, &observed, &capabilities, SystemTime::now());
    let pending = plan.actions.iter().filter(|action| !matches!(action, Action::Unchanged { .. })).count();
    ensure!(pending == 0, "after {after}, the plan is not empty (the engine would act on every pass):\n{plan}");
    Ok(())
}

pub(crate) async fn plan_is_empty_after_create(kit: &Kit<'_>) -> Verdict {
    let spec = kit.create_running(Mine, "settled").await?;
    wait_until_matches(kit, &spec, "create").await?;
    ensure_plan_is_empty(kit, &spec, "a create").await
}

pub(crate) async fn plan_is_empty_after_updates(kit: &Kit<'_>) -> Verdict {
    let caps = kit.provider.info().capabilities;
    let mut spec = kit.create_running(Mine, "settle").await?;
    wait_until_matches(kit, &spec, "create").await?;
    if caps.in_place_version_upgrade {
        spec.kubernetes_version = kit.ctx.upgrade_version;
        update_and_reach(kit, &spec, "in-place version upgrade").await?;
        ensure_plan_is_empty(kit, &spec, "an upgrade").await?;
    }
    if caps.node_pool_resize {
        for pool in &mut spec.node_pools {
            pool.max_count = pool.max_count.saturating_add(1);
        }
        update_and_reach(kit, &spec, "node pool resize").await?;
        ensure_plan_is_empty(kit, &spec, "a resize").await?;
    }
    spec.labels.insert("conformance-settled".into(), "yes".into());
    spec.blueprint_version = crate::BlueprintVersion::of(&"conformance settled blueprint");
    update_and_reach(kit, &spec, "update of labels and blueprint version").await?;
    ensure_plan_is_empty(kit, &spec, "a label change").await
}
