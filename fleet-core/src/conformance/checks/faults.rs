//! A backend that misbehaves: a region out of reach, transient failures, throttling.

use std::time::Duration;

use super::{Mine, list, listed};
use crate::ErrorKind;
use crate::conformance::runner::{Kit, Stop, Verdict, ensure};

pub(crate) async fn unreachable_region_is_reported(kit: &Kit<'_>) -> Verdict {
    let Some(second) = kit.ctx.second_region.clone() else {
        return Err(Stop::Skip("needs a second region (`ConformanceContext::with_second_region`)".into()));
    };
    if kit.ctx.hooks.cut_region(&second).await.is_none() {
        return Err(Stop::Skip("needs hook `cut_region`, which this harness does not implement".into()));
    }
    kit.restore_region(&second).await?;
    let here = kit.create_running(Mine, "here").await?;
    let there_spec = kit.ctx.spec_in(kit.provider, "there", &second);
    kit.create_running_spec(Mine, &there_spec).await?;

    kit.cut_region(&second).await?;
    let listing = list(kit, "list with one region unreachable").await?;
    ensure!(
        !listed(&listing.clusters, &here.id).is_empty(),
        "with `{second}` unreachable, the cluster in `{}` is not listed",
        kit.ctx.region
    );
    ensure!(
        listing.is_unreachable(&second),
        "`{second}` is unreachable but the listing does not say so: {:?}",
        listing.unreachable
    );
    ensure!(!listing.is_unreachable(&kit.ctx.region), "the listing reports `{}` unreachable too", kit.ctx.region);
    ensure!(
        listed(&listing.clusters, &there_spec.id).iter().all(|c| c.phase == crate::ClusterPhase::Unreachable),
        "a cluster of the unreachable region is listed as if it were seen"
    );

    let regions = kit.provider.info().regions.clone();
    for region in &regions {
        kit.cut_region(region).await?;
    }
    match kit.provider.list().await {
        Err(err) => kit.saw_error(&err),
        Ok(listing) => {
            return Err(Stop::Fail(format!(
                "with every region unreachable, list answered {} clusters and {} unreachable regions instead of failing",
                listing.clusters.len(),
                listing.unreachable.len()
            )));
        }
    }
    for region in &regions {
        kit.restore_region(region).await?;
    }
    let listing = list(kit, "list after the regions are back").await?;
    ensure!(listing.is_complete(), "regions are back, the listing still reports {:?}", listing.unreachable);
    ensure!(
        !listed(&listing.clusters, &here.id).is_empty() && !listed(&listing.clusters, &there_spec.id).is_empty(),
        "regions are back, and not every cluster is listed"
    );
    Ok(())
}

pub(crate) async fn transient_failures_are_retryable(kit: &Kit<'_>) -> Verdict {
    let spec = kit.create_running(Mine, "flaky").await?;
    let answer = kit.ctx.hooks.fail_next_calls(1).await;
    kit.hook("fail_next_calls", answer)?;
    let err = match kit.provider.get(&spec.id).await {
        Err(err) => err,
        Ok(_) => {
            return Err(Stop::Fail(
                "the call after `fail_next_calls` succeeded: the failure was hidden or not injected".into(),
            ));
        }
    };
    kit.saw_error(&err);
    ensure!(err.is_retryable(), "a transient server failure is not retryable: {:?}: {err}", err.kind());
    kit.ok(kit.provider.get(&spec.id).await, "get after a transient failure")?;
    Ok(())
}

pub(crate) async fn throttling_is_rate_limited(kit: &Kit<'_>) -> Verdict {
    let spec = kit.create_running(Mine, "throttle").await?;
    let retry_after = Duration::from_secs(7);
    let answer = kit.ctx.hooks.throttle_next_calls(1, retry_after).await;
    kit.hook("throttle_next_calls", answer)?;
    let err = kit.expect_err(kit.provider.get(&spec.id).await, &[ErrorKind::RateLimited], "get when throttled")?;
    ensure!(err.is_retryable(), "throttling is not retryable");
    match err.retry_after() {
        Some(wait) => ensure!(
            wait >= Duration::from_secs(6) && wait <= Duration::from_secs(8),
            "the backend asked to retry after {retry_after:?}, the error says {wait:?}"
        ),
        None => {
            return Err(Stop::Fail(format!(
                "the backend asked to retry after {retry_after:?}, the error has no retry time"
            )));
        }
    }
    kit.ok(kit.provider.get(&spec.id).await, "get after throttling")?;
    Ok(())
}
