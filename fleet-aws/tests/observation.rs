//! What observing a fleet costs against moto's EKS API, counted on the client side with an SDK
//! interceptor: 300 clusters in two regions, listed once in full, then again with only the
//! list pages, the clusters the provider changed and the resync share described.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_eks::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_eks::config::{ConfigBag, Intercept, RuntimeComponents};
use fleet_core::*;

/// EKS calls by kind, as the SDK sent them.
#[derive(Debug, Clone, Default)]
struct CallCounter {
    calls: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl CallCounter {
    fn take(&self) -> BTreeMap<&'static str, u64> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

/// The EKS operation of a REST request: its method and path pattern.
fn operation(method: &str, path: &str) -> &'static str {
    let segments: Vec<&str> = path.split('?').next().unwrap_or_default().trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["clusters"]) => "ListClusters",
        ("GET", ["clusters", _]) => "DescribeCluster",
        ("GET", ["clusters", _, "node-groups"]) => "ListNodegroups",
        ("GET", ["clusters", _, "node-groups", _]) => "DescribeNodegroup",
        ("GET", _) => "other read",
        _ => "write",
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_eks::error::BoxError> {
        let request = context.request();
        let path = request.uri().split_once("://").map_or(request.uri(), |(_, rest)| rest);
        let path = path.find('/').map_or("/", |at| &path[at..]);
        *self.calls.lock().unwrap().entry(operation(request.method(), path)).or_default() += 1;
        Ok(())
    }
}

fn total(calls: &BTreeMap<&'static str, u64>) -> u64 {
    calls.values().sum()
}

/// `per_region` clusters of fleet `prod` and five of `staging` in each test region.
async fn fill(moto: &common::Moto, per_region: usize) {
    for (region, prefix) in [("us-east-1", "east"), ("eu-west-1", "west")] {
        let client = moto.client(region);
        for i in 0..per_region {
            common::make_fleet_cluster(&client, "prod", &format!("{prefix}-{i}")).await;
        }
        for i in 0..5 {
            common::make_fleet_cluster(&client, "staging", &format!("{prefix}-theirs-{i}")).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn steady_lists_describe_only_what_changed_and_the_resync_share() {
    let moto = common::Moto::start();
    fill(&moto, 150).await;
    let counter = CallCounter::default();
    let provider = common::builder("prod", &moto.url)
        .with_capabilities(common::moto_capabilities())
        .with_rate_limits(RateLimits::new(RateLimit::new(5000.0, 5000), RateLimit::new(2.0, 5)))
        .with_resync_interval(Duration::from_secs(24 * 3600))
        .with_interceptor(counter.clone())
        .build()
        .await
        .unwrap();
    assert_eq!(provider.info().regions.len(), 2);
    // Pages of 100 names: two in each region for 155 clusters.
    let pages = 4;

    let first = provider.list().await.unwrap();
    assert_eq!(first.clusters.len(), 300);
    let calls = counter.take();
    assert_eq!(calls["ListClusters"], pages, "{calls:?}");
    assert_eq!(calls["DescribeCluster"], 310, "every name once, the other fleet's too: {calls:?}");
    assert_eq!(calls["ListNodegroups"], 300, "this fleet's active clusters: {calls:?}");
    assert_eq!(total(&calls), pages + 610, "{calls:?}");

    let steady = provider.list().await.unwrap();
    assert_eq!(steady.clusters, first.clusters, "the same answer");
    let calls = counter.take();
    assert_eq!(total(&calls), pages, "a steady list within the resync costs its pages only: {calls:?}");

    // A new cluster is described at the next list, the others are not; one changed behind
    // the provider's back waits for the resync (a deleted one is gone from the next list, as
    // its name is).
    let new = common::spec_builder("east-new", "us-east-1", "1.31").build().unwrap();
    provider.create(&new).await.unwrap();
    moto.client("eu-west-1").delete_cluster().name("west-3").send().await.unwrap();
    counter.take();
    let after = provider.list().await.unwrap();
    assert_eq!(after.clusters.len(), 300, "the deleted one is gone at once, the new one is there");
    let calls = counter.take();
    assert_eq!(calls["DescribeCluster"], 1, "only the new cluster: {calls:?}");
    assert_eq!(total(&calls), pages + 2, "{calls:?}");

    // `get` always asks EKS.
    provider.get(&ClusterId::new("east-9").unwrap()).await.unwrap();
    assert_eq!(counter.take()["DescribeCluster"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_steady_cluster_is_described_again_within_the_resync_interval() {
    let moto = common::Moto::start();
    fill(&moto, 20).await;
    let counter = CallCounter::default();
    let resync = Duration::from_secs(2);
    let provider = common::builder("prod", &moto.url)
        .with_capabilities(common::moto_capabilities())
        .with_rate_limits(RateLimits::new(RateLimit::new(5000.0, 5000), RateLimit::new(2.0, 5)))
        .with_resync_interval(resync)
        .with_interceptor(counter.clone())
        .build()
        .await
        .unwrap();
    provider.list().await.unwrap();
    counter.take();
    // Changed behind the provider's back: a tag only a new describe shows.
    moto.client("us-east-1")
        .tag_resource()
        .resource_arn(
            moto.client("us-east-1")
                .describe_cluster()
                .name("east-1")
                .send()
                .await
                .unwrap()
                .cluster()
                .unwrap()
                .arn()
                .unwrap(),
        )
        .tags("owner", "ops")
        .send()
        .await
        .unwrap();
    tokio::time::sleep(resync + Duration::from_millis(100)).await;
    let listed = provider.list().await.unwrap();
    let calls = counter.take();
    assert_eq!(calls["DescribeCluster"], 50, "each cluster once in the interval: {calls:?}");
    let seen = listed.clusters.iter().find(|c| c.id.as_str() == "east-1").unwrap();
    assert_eq!(seen.tags.get("owner").map(String::as_str), Some("ops"), "the change is seen");
}
