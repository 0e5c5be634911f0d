//! Calls the provider must refuse: bad placements and missing clusters.

use super::{Mine, list, listed};
use crate::conformance::runner::{Kit, Stop, Verdict, ensure};
use crate::{ErrorKind, KubernetesVersion, ProviderName, Region};

pub(crate) async fn create_in_unknown_region_is_rejected(kit: &Kit<'_>) -> Verdict {
    let mut spec = kit.spec("noregion");
    spec.region =
        Region::new("fleet-nowhere-9").map_err(|err| crate::conformance::runner::Stop::Fail(err.to_string()))?;
    kit.expect_err(kit.create(Mine, &spec).await, &[ErrorKind::InvalidSpec], "create in an unknown region")?;
    kit.expect_err(kit.provider.get(&spec.id).await, &[ErrorKind::NotFound], "get after a rejected create")?;
    Ok(())
}

pub(crate) async fn create_for_another_provider_is_rejected(kit: &Kit<'_>) -> Verdict {
    let mut spec = kit.spec("elsewhere");
    let other = format!("{}-not", kit.provider.info().name);
    spec.provider =
        ProviderName::new(other.as_str()).map_err(|err| crate::conformance::runner::Stop::Fail(err.to_string()))?;
    kit.expect_err(kit.create(Mine, &spec).await, &[ErrorKind::InvalidSpec], "create of another provider's spec")?;
    kit.expect_err(kit.provider.get(&spec.id).await, &[ErrorKind::NotFound], "get after a rejected create")?;
    let listing = list(kit, "list").await?;
    ensure!(listed(&listing.clusters, &spec.id).is_empty(), "a rejected create left a cluster listed");
    Ok(())
}

pub(crate) async fn create_of_an_unoffered_version_is_rejected(kit: &Kit<'_>) -> Verdict {
    let offered = kit.ok(kit.provider.offered_versions(&kit.ctx.region).await, "offered_versions")?;
    let Some(offered) = offered else {
        return Err(Stop::Skip("the provider does not tell which versions it offers".into()));
    };
    let Some(unoffered) =
        (10..40).map(|minor| KubernetesVersion::new(1, minor, None)).find(|v| !v.offered_by(&offered))
    else {
        return Err(Stop::Skip("the provider offers every version from 1.10 to 1.39".into()));
    };
    let mut spec = kit.spec("unoffered");
    spec.kubernetes_version = unoffered;
    kit.expect_err(kit.create(Mine, &spec).await, &[ErrorKind::InvalidSpec], &format!("create of {unoffered}"))?;
    let listing = list(kit, "list").await?;
    ensure!(listed(&listing.clusters, &spec.id).is_empty(), "a create of unoffered {unoffered} left a cluster listed");
    Ok(())
}

pub(crate) async fn create_without_a_required_system_pool_is_rejected(kit: &Kit<'_>) -> Verdict {
    if !kit.provider.info().system_pool_required {
        return Err(Stop::Skip("the provider needs no system pool".into()));
    }
    let mut spec = kit.spec("nosystem");
    for pool in &mut spec.node_pools {
        pool.system = false;
    }
    kit.expect_err(kit.create(Mine, &spec).await, &[ErrorKind::InvalidSpec], "create without a system pool")?;
    let mut empty = kit.spec("emptysys");
    for pool in &mut empty.node_pools {
        pool.min_count = 0;
    }
    kit.expect_err(kit.create(Mine, &empty).await, &[ErrorKind::InvalidSpec], "create with a system pool of 0")?;
    let listing = list(kit, "list").await?;
    ensure!(
        listed(&listing.clusters, &spec.id).is_empty() && listed(&listing.clusters, &empty.id).is_empty(),
        "a refused create left a cluster listed"
    );
    Ok(())
}

pub(crate) async fn get_of_missing_cluster_is_not_found(kit: &Kit<'_>) -> Verdict {
    kit.expect_err(kit.provider.get(&kit.ctx.id("missing")).await, &[ErrorKind::NotFound], "get of a missing cluster")?;
    Ok(())
}

pub(crate) async fn credentials_of_missing_cluster_is_not_found(kit: &Kit<'_>) -> Verdict {
    let id = kit.ctx.id("missing");
    kit.expect_err(kit.provider.credentials(&id).await, &[ErrorKind::NotFound], "credentials of a missing cluster")?;
    Ok(())
}
