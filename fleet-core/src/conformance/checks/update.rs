//! Changing clusters in place: what an update must reach, what it must refuse, and the
//! operations the capabilities declare.

use super::{Mine, list, listed, mismatches, wait_until_matches};
use crate::conformance::runner::{Kit, Stop, Verdict, ensure};
use crate::plan::replacement_needed;
use crate::{ClusterPhase, ClusterProviderExt, ClusterSpec, ErrorKind, KubernetesVersion, NodePool, SizeClass};

/// Sends `update` of `changed` and waits until the cluster runs with it.
pub(crate) async fn update_and_reach(kit: &Kit<'_>, changed: &ClusterSpec, doing: &str) -> Verdict {
    kit.ok(kit.provider.update(changed).await, doing)?;
    let done = wait_until_matches(kit, changed, doing).await?;
    let listing = list(kit, "list after the update").await?;
    let Some(from_list) = listed(&listing.clusters, &changed.id).first().copied() else {
        return Err(Stop::Fail(format!("{doing}: the cluster is no longer listed")));
    };
    ensure!(from_list.tags == done.tags, "{doing}: list and get disagree on the tags after the update");
    Ok(())
}

pub(crate) async fn upgrade_in_place_reaches_the_spec(kit: &Kit<'_>) -> Verdict {
    if !kit.provider.info().capabilities.in_place_version_upgrade {
        return Err(Stop::Skip("the provider declares no in-place version upgrade".into()));
    }
    let spec = kit.create_running(Mine, "upgrade").await?;
    let mut upgraded = spec.clone();
    upgraded.kubernetes_version = kit.ctx.upgrade_version;
    ensure!(
        upgraded.kubernetes_version > spec.kubernetes_version,
        "the context's upgrade version {} is not above {}",
        upgraded.kubernetes_version,
        spec.kubernetes_version
    );
    update_and_reach(kit, &upgraded, "in-place version upgrade").await
}

pub(crate) async fn resize_in_place_reaches_the_spec(kit: &Kit<'_>) -> Verdict {
    if !kit.provider.info().capabilities.node_pool_resize {
        return Err(Stop::Skip("the provider declares no node pool resize".into()));
    }
    let spec = kit.create_running(Mine, "resize").await?;
    let mut resized = spec.clone();
    for pool in &mut resized.node_pools {
        pool.max_count = pool.max_count.saturating_add(1);
    }
    update_and_reach(kit, &resized, "node pool resize").await
}

pub(crate) async fn update_applies_labels_and_blueprint_version(kit: &Kit<'_>) -> Verdict {
    let spec = kit.create_running(Mine, "relabel").await?;
    let mut relabelled = spec.clone();
    relabelled.labels.insert("purpose".into(), "conformance-relabelled".into());
    relabelled.labels.insert("conformance-added".into(), "yes".into());
    relabelled.blueprint_version = crate::BlueprintVersion::of(&"conformance relabelled blueprint");
    ensure!(
        replacement_needed(
            &kit.ok(kit.provider.get(&spec.id).await, "get")?,
            &relabelled,
            kit.provider.info().capabilities
        )
        .is_none(),
        "the kit's label change needs a replacement by `plan::replacement_needed`"
    );
    update_and_reach(kit, &relabelled, "update of labels and blueprint version").await
}

pub(crate) async fn upgrade_goes_one_minor_at_a_time(kit: &Kit<'_>) -> Verdict {
    if !kit.provider.info().capabilities.in_place_version_upgrade {
        return Err(Stop::Skip("the provider declares no in-place version upgrade".into()));
    }
    let spec = kit.create_running(Mine, "steps").await?;
    let start = spec.kubernetes_version;
    let step = KubernetesVersion::new(start.major(), start.minor() + 1, None);
    let target = KubernetesVersion::new(start.major(), start.minor() + 2, None);
    let offered = kit.ok(kit.provider.offered_versions(&spec.region).await, "offered_versions")?;
    if offered.as_ref().is_some_and(|offered| !target.offered_by(offered)) {
        return Err(Stop::Skip(format!("the backend does not offer {target}, two minors above {start}")));
    }
    let mut upgraded = spec.clone();
    upgraded.kubernetes_version = target;
    kit.ok(kit.provider.update(&upgraded).await, "update two minors up")?;
    let mut first_step = upgraded.clone();
    first_step.kubernetes_version = step;
    wait_until_matches(kit, &first_step, "the first step of an upgrade two minors up (one minor at a time)").await?;
    update_and_reach(kit, &upgraded, "the second step of the upgrade").await
}

pub(crate) async fn update_never_downgrades(kit: &Kit<'_>) -> Verdict {
    let spec = kit.create_running(Mine, "behind").await?;
    let version = spec.kubernetes_version;
    if version.minor() == 0 {
        return Err(Stop::Skip(format!("no version below {version}")));
    }
    let mut behind = spec.clone();
    behind.kubernetes_version = KubernetesVersion::new(version.major(), version.minor() - 1, None);
    behind.labels.insert("conformance-behind".into(), "yes".into());
    behind.blueprint_version = crate::BlueprintVersion::of(&"conformance blueprint behind its cluster");
    let before = kit.ok(kit.provider.get(&spec.id).await, "get")?;
    let caps = kit.provider.info().capabilities;
    ensure!(
        replacement_needed(&before, &behind, caps).is_none(),
        "a spec behind its cluster's version needs a replacement by `plan::replacement_needed`"
    );
    kit.ok(
        kit.provider.update(&behind).await,
        "update of a spec whose version is behind the cluster's (the cloud upgraded it)",
    )?;
    let mut kept = behind.clone();
    kept.kubernetes_version = version;
    wait_until_matches(kit, &kept, "update of a spec behind the cluster: labels applied, version kept").await?;
    Ok(())
}

/// Specs differing from `spec` by one change each that needs a replacement with `caps`.
fn replacing_changes(kit: &Kit<'_>, spec: &ClusterSpec) -> Vec<(&'static str, ClusterSpec)> {
    let caps = kit.provider.info().capabilities;
    let mut changes = Vec::new();
    let other_region = kit.provider.info().regions.iter().find(|r| **r != spec.region).cloned();
    if let Some(region) = other_region {
        let mut moved = spec.clone();
        moved.region = region;
        changes.push(("a move to another region", moved));
    }
    let mut resized = spec.clone();
    for pool in &mut resized.node_pools {
        pool.size = if pool.size == SizeClass::Small { SizeClass::Medium } else { SizeClass::Small };
    }
    changes.push(("another machine size", resized));
    if let Ok(name) = crate::NodePoolName::new("extra")
        && let Ok(pool) = NodePool::new(name, SizeClass::Small, 1, 1)
    {
        let mut added = spec.clone();
        added.node_pools.push(pool);
        changes.push(("an added node pool", added));
    }
    if spec.node_pools.len() > 1 {
        let mut removed = spec.clone();
        removed.node_pools.pop();
        changes.push(("a removed node pool", removed));
    }
    if !caps.in_place_version_upgrade {
        let mut upgraded = spec.clone();
        upgraded.kubernetes_version = kit.ctx.upgrade_version;
        changes.push(("an upgrade the provider cannot make in place", upgraded));
    }
    if !caps.node_pool_resize {
        let mut grown = spec.clone();
        for pool in &mut grown.node_pools {
            pool.max_count = pool.max_count.saturating_add(1);
        }
        changes.push(("a resize the provider cannot make in place", grown));
    }
    let mut audited = spec.clone();
    audited.audit_logging = !spec.audit_logging;
    changes.push(("audit logging switched", audited));
    let mut fenced = spec.clone();
    fenced.network.network_policy = !spec.network.network_policy;
    changes.push(("network policy switched", fenced));
    changes
}

pub(crate) async fn update_refuses_what_needs_a_replacement(kit: &Kit<'_>) -> Verdict {
    let spec = kit.create_running(Mine, "replace").await?;
    let before = kit.ok(kit.provider.get(&spec.id).await, "get")?;
    let caps = kit.provider.info().capabilities;
    for (change, changed) in replacing_changes(kit, &spec) {
        let Some(replacement) = replacement_needed(&before, &changed, caps) else {
            return Err(Stop::Fail(format!(
                "{change} should need a replacement, but `plan::replacement_needed` finds none for the cluster as \
                 observed (does get report its version, node pools and Fleet's fixed-settings tag?)"
            )));
        };
        kit.expect_err(
            kit.provider.update(&changed).await,
            &[ErrorKind::Unsupported],
            &format!("update with {change} (needs a replacement: {replacement})"),
        )?;
        let after = kit.ok(kit.provider.get(&spec.id).await, "get after a refused update")?;
        ensure!(after.phase == ClusterPhase::Running, "a refused update ({change}) left the cluster {}", after.phase);
        let differences = mismatches(&after, &spec);
        ensure!(differences.is_empty(), "a refused update ({change}) changed the cluster: {differences:?}");
    }
    Ok(())
}

pub(crate) async fn unsupported_operations_follow_capabilities(kit: &Kit<'_>) -> Verdict {
    let caps = kit.provider.info().capabilities;
    let spec = kit.create_running(Mine, "caps").await?;
    if !caps.in_place_version_upgrade {
        let mut upgraded = spec.clone();
        upgraded.kubernetes_version = kit.ctx.upgrade_version;
        kit.expect_err(kit.provider.update(&upgraded).await, &[ErrorKind::Unsupported], "upgrade without capability")?;
    }
    if !caps.node_pool_resize {
        let mut resized = spec.clone();
        for pool in &mut resized.node_pools {
            pool.max_count = pool.max_count.saturating_add(1);
        }
        kit.expect_err(kit.provider.update(&resized).await, &[ErrorKind::Unsupported], "resize without capability")?;
    }
    if !caps.hibernation {
        kit.expect_err(
            kit.provider.hibernate(&spec.id).await,
            &[ErrorKind::Unsupported],
            "hibernate without capability",
        )?;
        kit.expect_err(kit.provider.resume(&spec.id).await, &[ErrorKind::Unsupported], "resume without capability")?;
    }
    if !caps.team_credentials {
        let team = crate::TeamName::new("conformance").map_err(|err| Stop::Fail(err.to_string()))?;
        kit.expect_err(
            kit.provider.team_credentials(&spec.id, &team).await,
            &[ErrorKind::Unsupported],
            "team credentials without capability",
        )?;
    }
    let after = kit.ok(kit.provider.get(&spec.id).await, "get")?;
    ensure!(after.phase == ClusterPhase::Running, "refused operations left the cluster {}", after.phase);
    Ok(())
}

pub(crate) async fn hibernate_and_resume_round_trip(kit: &Kit<'_>) -> Verdict {
    if !kit.provider.info().capabilities.hibernation {
        return Err(Stop::Skip("the provider declares no hibernation".into()));
    }
    let spec = kit.create_running(Mine, "sleep").await?;
    kit.ok(kit.provider.hibernate(&spec.id).await, "hibernate")?;
    kit.ok(kit.provider.wait_for_phase(&spec.id, ClusterPhase::Hibernated, kit.wait).await, "waiting for hibernation")?;
    kit.ok(kit.provider.hibernate(&spec.id).await, "hibernate of a hibernated cluster")?;
    kit.ok(kit.provider.resume(&spec.id).await, "resume")?;
    wait_until_matches(kit, &spec, "resume").await?;
    Ok(())
}
