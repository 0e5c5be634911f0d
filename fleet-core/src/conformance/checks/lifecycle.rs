//! Creating, observing and deleting clusters: phases, idempotence, concurrency.

use super::{Mine, list, listed, mismatches};
use crate::conformance::runner::{Kit, Stop, Verdict, ensure};
use crate::{ClusterPhase, ErrorKind};

pub(crate) async fn info_is_consistent(kit: &Kit<'_>) -> Verdict {
    let info = kit.provider.info();
    ensure!(!info.regions.is_empty(), "info() lists no regions");
    ensure!(info.has_region(&kit.ctx.region), "info() does not list the test region `{}`", kit.ctx.region);
    if let Some(second) = &kit.ctx.second_region {
        ensure!(info.has_region(second), "info() does not list the second test region `{second}`");
        ensure!(second != &kit.ctx.region, "the second test region is the first one");
    }
    for (kind, limit) in [("reads", info.rate_limits.reads), ("writes", info.rate_limits.writes)] {
        ensure!(limit.per_second > 0.0 && limit.burst >= 1, "info() {kind} rate limit must be positive, got {limit:?}");
    }
    ensure!(
        info.name == kit.ctx.other_fleet.info().name,
        "the other fleet's provider must use the same backend (it is `{}`)",
        kit.ctx.other_fleet.info().name
    );
    Ok(())
}

pub(crate) async fn create_get_list_delete_round_trip(kit: &Kit<'_>) -> Verdict {
    let spec = kit.create_running(Mine, "roundtrip").await?;
    let got = kit.ok(kit.provider.get(&spec.id).await, "get")?;
    ensure!(got.id == spec.id, "get returned another cluster: `{}`", got.id);
    ensure!(got.region == spec.region, "get reports region `{}`, not `{}`", got.region, spec.region);
    ensure!(got.provider == kit.provider.info().name, "get reports provider `{}`", got.provider);
    ensure!(!got.provider_id.is_empty(), "the provider id is empty");
    let listing = list(kit, "list").await?;
    ensure!(listed(&listing.clusters, &spec.id).len() == 1, "list must show the cluster exactly once");
    kit.delete_and_wait(Mine, &spec.id).await?;
    kit.expect_err(kit.provider.get(&spec.id).await, &[ErrorKind::NotFound], "get after delete")?;
    let listing = list(kit, "list after delete").await?;
    ensure!(listed(&listing.clusters, &spec.id).is_empty(), "list still shows a deleted cluster");
    Ok(())
}

pub(crate) async fn create_progresses_to_running(kit: &Kit<'_>) -> Verdict {
    let spec = kit.spec("phases");
    let first = kit.ok(kit.create(Mine, &spec).await, "create")?;
    let mut seen = vec![first.phase.clone()];
    let deadline = tokio::time::Instant::now() + kit.wait.timeout;
    let running = loop {
        let cluster = match kit.provider.get(&spec.id).await {
            Ok(cluster) => cluster,
            Err(err) if err.is_retryable() => {
                kit.saw_error(&err);
                tokio::time::sleep(err.retry_after().unwrap_or(kit.wait.initial_interval)).await;
                continue;
            }
            Err(err) => return Err(Stop::Fail(format!("get while creating failed: {err} (phases seen: {seen:?})"))),
        };
        seen.push(cluster.phase.clone());
        match cluster.phase {
            ClusterPhase::Running => break cluster,
            ClusterPhase::Pending | ClusterPhase::Creating => {}
            other => return Err(Stop::Fail(format!("a new cluster went to phase {other} (phases seen: {seen:?})"))),
        }
        ensure!(tokio::time::Instant::now() < deadline, "the cluster was not running in time ({seen:?})");
        tokio::time::sleep(kit.wait.initial_interval).await;
    };
    let rank = |phase: &ClusterPhase| match phase {
        ClusterPhase::Pending => 0,
        ClusterPhase::Creating => 1,
        _ => 2,
    };
    ensure!(seen.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])), "phases went backwards: {seen:?}");
    ensure!(running.endpoint.is_some(), "a running cluster has no endpoint");
    let differences = mismatches(&running, &spec);
    ensure!(differences.is_empty(), "the running cluster differs from its spec: {differences:?}");
    Ok(())
}

pub(crate) async fn create_of_existing_cluster_returns_it_unchanged(kit: &Kit<'_>) -> Verdict {
    let spec = kit.spec("idem");
    let first = kit.ok(kit.create(Mine, &spec).await, "first create")?;
    let second = kit.ok(kit.create(Mine, &spec).await, "second create of the same id")?;
    ensure!(first.provider_id == second.provider_id, "a repeated create made another cluster");
    let running = kit.wait_running(Mine, &spec.id).await?;
    let again = kit.ok(kit.create(Mine, &spec).await, "create of a running cluster")?;
    ensure!(again.provider_id == running.provider_id, "create of a running cluster made another");
    ensure!(again.phase == ClusterPhase::Running, "create of a running cluster returned phase {}", again.phase);
    ensure!(
        again.created_at == running.created_at,
        "create of a running cluster changed its creation time: {:?} then {:?}",
        running.created_at,
        again.created_at
    );
    let after = kit.ok(kit.provider.get(&spec.id).await, "get after the repeated create")?;
    ensure!(after.phase == ClusterPhase::Running, "a repeated create reset the cluster to phase {}", after.phase);
    ensure!(after.provider_id == running.provider_id, "a repeated create replaced the cluster");
    let listing = list(kit, "list").await?;
    ensure!(listed(&listing.clusters, &spec.id).len() == 1, "list shows the cluster more than once");
    Ok(())
}

pub(crate) async fn concurrent_creates_make_one_cluster(kit: &Kit<'_>) -> Verdict {
    let spec = kit.spec("race");
    let create = || kit.create(Mine, &spec);
    let results = {
        let (a, b, c, d, e, f, g, h) =
            tokio::join!(create(), create(), create(), create(), create(), create(), create(), create());
        [a, b, c, d, e, f, g, h]
    };
    let mut ids = std::collections::BTreeSet::new();
    for result in results {
        match result {
            Ok(cluster) => {
                ensure!(cluster.id == spec.id, "a concurrent create returned cluster `{}`", cluster.id);
                ids.insert(cluster.provider_id);
            }
            Err(err) if err.is_retryable() => kit.saw_error(&err),
            Err(err) => return Err(Stop::Fail(format!("a concurrent create failed with a permanent error: {err}"))),
        }
    }
    ensure!(ids.len() <= 1, "concurrent creates returned {} different clusters: {ids:?}", ids.len());
    if ids.is_empty() {
        // Every call was told to try again: the next one must make the cluster.
        kit.ok(kit.create(Mine, &spec).await, "create after concurrent creates")?;
    }
    let running = kit.wait_running(Mine, &spec.id).await?;
    ensure!(ids.iter().all(|id| id == &running.provider_id), "the running cluster is not the one created");
    let listing = list(kit, "list").await?;
    ensure!(listed(&listing.clusters, &spec.id).len() == 1, "concurrent creates left more than one cluster listed");
    Ok(())
}

pub(crate) async fn create_during_delete_never_returns_the_deleting_cluster(kit: &Kit<'_>) -> Verdict {
    let spec = kit.create_running(Mine, "redo").await?;
    kit.ok(kit.provider.delete(&spec.id).await, "delete")?;
    let deadline = tokio::time::Instant::now() + kit.wait.timeout;
    let new = loop {
        match kit.create(Mine, &spec).await {
            Ok(cluster) => break cluster,
            Err(err) if err.kind() == ErrorKind::Conflict || err.is_retryable() => {
                kit.saw_error(&err);
                ensure!(tokio::time::Instant::now() < deadline, "create kept failing after the delete: {err}");
                tokio::time::sleep(err.retry_after().unwrap_or(kit.wait.initial_interval)).await;
            }
            Err(err) => {
                return Err(Stop::Fail(format!(
                    "create while the cluster is being deleted should be a retryable Conflict, got {:?}: {err}",
                    err.kind()
                )));
            }
        }
    };
    ensure!(
        !matches!(new.phase, ClusterPhase::Deleting | ClusterPhase::Deleted),
        "create returned the deleting cluster (phase {})",
        new.phase
    );
    kit.wait_running(Mine, &spec.id).await?;
    let listing = list(kit, "list").await?;
    ensure!(listed(&listing.clusters, &spec.id).len() == 1, "list shows the cluster more than once");
    Ok(())
}

pub(crate) async fn delete_of_missing_cluster_is_ok(kit: &Kit<'_>) -> Verdict {
    let id = kit.ctx.id("missing");
    kit.ok(kit.provider.delete(&id).await, "delete of a missing cluster")?;
    kit.ok(kit.provider.delete(&id).await, "second delete of a missing cluster")?;
    Ok(())
}
