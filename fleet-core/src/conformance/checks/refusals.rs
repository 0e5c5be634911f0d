//! Calls the provider must refuse: bad placements and missing clusters.

use super::{Mine, list, listed};
use crate::conformance::runner::{Kit, Verdict, ensure};
use crate::{ErrorKind, ProviderName, Region};

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

pub(crate) async fn get_of_missing_cluster_is_not_found(kit: &Kit<'_>) -> Verdict {
    kit.expect_err(kit.provider.get(&kit.ctx.id("missing")).await, &[ErrorKind::NotFound], "get of a missing cluster")?;
    Ok(())
}

pub(crate) async fn credentials_of_missing_cluster_is_not_found(kit: &Kit<'_>) -> Verdict {
    let id = kit.ctx.id("missing");
    kit.expect_err(kit.provider.credentials(&id).await, &[ErrorKind::NotFound], "credentials of a missing cluster")?;
    Ok(())
}
