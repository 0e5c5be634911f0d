//! The provider conformance kit: async test functions that check the [`ClusterProvider`]
//! contract against a real backend (a cloud, a local API server, a fake `kind`, the simulated
//! cloud). Every provider crate, in this workspace or outside it, runs all of them.
//!
//! Each check creates clusters named `<prefix>-<check>` in the context's region, cleans up
//! after itself, and panics with a message naming the broken promise, the way `#[test]`
//! functions do. [`run_all`] runs every check.
//!
//! # Running the kit from your provider crate
//! Add `fleet-core = { version = "...", features = ["conformance"] }` to your
//! `[dev-dependencies]`, then in `tests/conformance.rs` build your provider twice against the
//! same backend, for two fleet names, and call [`run_all`]. Here the simulated cloud stands in
//! for your backend:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use fleet_core::conformance::{run_all, ConformanceContext};
//! use fleet_core::sim::{RegionCapacity, SimCloud};
//! use fleet_core::*;
//!
//! // #[tokio::test(start_paused = true)] async fn conformance() { ... } in your crate.
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! let region = Region::new("eu-west-1").unwrap();
//! let backend = SimCloud::builder(ProviderName::new("mycloud").unwrap())
//!     .region(region.clone(), RegionCapacity::new(20, 200))
//!     .build();
//! let provider = backend.provider(FleetName::new("conformance").unwrap());
//! let other_fleet = Arc::new(backend.provider(FleetName::new("conformance-other").unwrap()));
//! let context = ConformanceContext::new("conf", region, other_fleet)
//!     .unwrap()
//!     .with_wait(WaitOptions::with_timeout(Duration::from_secs(3600)));
//! let report = run_all(&provider, &context).await;
//! assert_eq!(report.passed.len(), fleet_core::conformance::CHECKS.len());
//! # });
//! ```

pub mod hostile;
pub mod http;
pub mod store;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use crate::{
    ClusterId, ClusterPhase, ClusterProvider, ClusterProviderExt, ClusterSpec, Error, FleetTags, KubernetesVersion,
    NodePool, NodePoolName, Region, Result, SizeClass, WaitOptions,
};

/// The names of every check, in the order [`run_all`] runs them.
pub const CHECKS: [&str; 13] = [
    "info_is_consistent",
    "create_get_list_delete_round_trip",
    "create_progresses_to_running",
    "create_is_idempotent",
    "create_in_unknown_region_is_rejected",
    "delete_of_missing_cluster_is_ok",
    "get_of_missing_cluster_is_not_found",
    "credentials_of_missing_cluster_is_not_found",
    "tags_round_trip",
    "list_shows_only_this_fleet",
    "foreign_clusters_are_left_alone",
    "credentials_are_present_and_redacted",
    "unsupported_operations_follow_capabilities",
];

/// What the checks need to know about the backend under test.
#[derive(Clone)]
pub struct ConformanceContext {
    prefix: String,
    region: Region,
    kubernetes_version: KubernetesVersion,
    upgrade_version: KubernetesVersion,
    node_pool: NodePool,
    wait: WaitOptions,
    other_fleet: Arc<dyn ClusterProvider>,
}

impl Debug for ConformanceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConformanceContext")
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("kubernetes_version", &self.kubernetes_version)
            .field("upgrade_version", &self.upgrade_version)
            .finish_non_exhaustive()
    }
}

impl ConformanceContext {
    /// A context creating clusters `<prefix>-...` in `region` (a short prefix, at most 8
    /// characters, keeps every id within [`ClusterId`]'s 40). `other_fleet` is a provider for
    /// the same backend serving another fleet: it owns clusters this fleet must not see or touch.
    ///
    /// Defaults: Kubernetes 1.31, upgrades to 1.32, one `workers` pool of 1-2 small nodes,
    /// waits of at most an hour.
    pub fn new(prefix: &str, region: Region, other_fleet: Arc<dyn ClusterProvider>) -> Result<Self> {
        if prefix.len() > 8 {
            return Err(Error::InvalidSpec { path: "prefix".into(), reason: "at most 8 characters".into() });
        }
        ClusterId::new(prefix)?;
        Ok(Self {
            prefix: prefix.to_owned(),
            region,
            kubernetes_version: KubernetesVersion::new(1, 31, None),
            upgrade_version: KubernetesVersion::new(1, 32, None),
            node_pool: NodePool::new(NodePoolName::new("workers")?, SizeClass::Small, 1, 2)?,
            wait: WaitOptions::with_timeout(Duration::from_secs(3600)),
            other_fleet,
        })
    }

    /// Sets the version clusters are created with and the one upgrades go to.
    pub fn with_versions(mut self, create: KubernetesVersion, upgrade: KubernetesVersion) -> Self {
        self.kubernetes_version = create;
        self.upgrade_version = upgrade;
        self
    }

    /// Sets the node pool of every cluster the checks create.
    pub fn with_node_pool(mut self, pool: NodePool) -> Self {
        self.node_pool = pool;
        self
    }

    /// Sets how the checks wait for operations.
    pub fn with_wait(mut self, wait: WaitOptions) -> Self {
        self.wait = wait;
        self
    }

    fn id(&self, suffix: &str) -> ClusterId {
        let id = format!("{}-{suffix}", self.prefix);
        ClusterId::new(&id).unwrap_or_else(|err| panic!("conformance: cannot build a cluster id: {err}"))
    }

    fn spec_for(&self, provider: &dyn ClusterProvider, suffix: &str) -> ClusterSpec {
        ClusterSpec::builder(
            self.id(suffix),
            provider.info().name.clone(),
            self.region.clone(),
            self.kubernetes_version,
        )
        .node_pool(self.node_pool.clone())
        .label("purpose", "conformance")
        .build()
        .unwrap_or_else(|err| panic!("conformance: cannot build a spec: {err}"))
    }
}

/// Which checks passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConformanceReport {
    /// The names of the checks that passed, in the order they ran.
    pub passed: Vec<&'static str>,
}

/// Unwraps a result, or fails the check naming what was being done.
fn ok<T>(result: Result<T>, doing: &str) -> T {
    result.unwrap_or_else(|err| panic!("conformance: {doing} failed: {err}"))
}

/// Fails the check unless `result` is an error of the expected kind.
fn expect_err<T: Debug>(result: Result<T>, expected: crate::ErrorKind, doing: &str) -> Error {
    match result {
        Err(err) if err.kind() == expected => err,
        other => panic!("conformance: {doing} should fail with {expected:?}, got {other:?}"),
    }
}

async fn create_running(provider: &dyn ClusterProvider, ctx: &ConformanceContext, suffix: &str) -> ClusterSpec {
    let spec = ctx.spec_for(provider, suffix);
    ok(provider.create(&spec).await, &format!("create `{}`", spec.id));
    ok(provider.wait_until_running(&spec.id, ctx.wait).await, &format!("waiting for `{}` to run", spec.id));
    spec
}

async fn delete_and_wait(provider: &dyn ClusterProvider, ctx: &ConformanceContext, id: &ClusterId) {
    ok(provider.delete(id).await, &format!("delete `{id}`"));
    ok(provider.wait_until_deleted(id, ctx.wait).await, &format!("waiting for `{id}` to be deleted"));
}

/// `info()` names the provider, lists the context's region and has usable rate limits.
pub async fn info_is_consistent(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    let info = provider.info();
    assert!(!info.regions.is_empty(), "conformance: info() lists no regions");
    assert!(info.has_region(&ctx.region), "conformance: info() does not list the test region `{}`", ctx.region);
    for (kind, limit) in [("reads", info.rate_limits.reads), ("writes", info.rate_limits.writes)] {
        assert!(
            limit.per_second > 0.0 && limit.burst >= 1,
            "conformance: info() {kind} rate limit must be positive, got {limit:?}"
        );
    }
    assert_eq!(
        info.name,
        ctx.other_fleet.info().name,
        "conformance: the other fleet's provider must use the same backend"
    );
}

/// A created cluster is found by `get` and `list`, and is gone from both after `delete`.
pub async fn create_get_list_delete_round_trip(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    let spec = create_running(provider, ctx, "roundtrip").await;
    let got = ok(provider.get(&spec.id).await, "get");
    assert_eq!(got.id, spec.id, "conformance: get returned another cluster");
    assert_eq!(got.region, spec.region, "conformance: get reports another region");
    assert_eq!(got.provider, provider.info().name, "conformance: get reports another provider");
    assert!(!got.provider_id.is_empty(), "conformance: the provider id is empty");
    let listed = ok(provider.list().await, "list");
    assert_eq!(
        listed.iter().filter(|c| c.id == spec.id).count(),
        1,
        "conformance: list must show the cluster exactly once"
    );
    delete_and_wait(provider, ctx, &spec.id).await;
    expect_err(provider.get(&spec.id).await, crate::ErrorKind::NotFound, "get after delete");
    let listed = ok(provider.list().await, "list after delete");
    assert!(listed.iter().all(|c| c.id != spec.id), "conformance: list still shows a deleted cluster");
}

/// Phases move only forward through `Pending`/`Creating` to `Running`; a running cluster
/// reports its endpoint, version and node pools.
pub async fn create_progresses_to_running(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    let spec = ctx.spec_for(provider, "phases");
    let first = ok(provider.create(&spec).await, "create");
    let mut seen = vec![first.phase.clone()];
    let deadline = tokio::time::Instant::now() + ctx.wait.timeout;
    let running = loop {
        let cluster = ok(provider.get(&spec.id).await, "get while creating");
        seen.push(cluster.phase.clone());
        match cluster.phase {
            ClusterPhase::Running => break cluster,
            ClusterPhase::Pending | ClusterPhase::Creating => {}
            other => panic!("conformance: a new cluster went to phase {other} (phases seen: {seen:?})"),
        }
        assert!(tokio::time::Instant::now() < deadline, "conformance: cluster not running in time ({seen:?})");
        tokio::time::sleep(ctx.wait.initial_interval).await;
    };
    let rank = |phase: &ClusterPhase| match phase {
        ClusterPhase::Pending => 0,
        ClusterPhase::Creating => 1,
        _ => 2,
    };
    assert!(seen.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])), "conformance: phases went backwards: {seen:?}");
    assert!(running.endpoint.is_some(), "conformance: a running cluster has no endpoint");
    let version = running.kubernetes_version.unwrap_or_else(|| panic!("conformance: no version reported"));
    assert!(
        version.same_minor(&spec.kubernetes_version),
        "conformance: runs {version}, asked for {}",
        spec.kubernetes_version
    );
    assert_eq!(
        running.node_pools.iter().map(|p| &p.name).collect::<Vec<_>>(),
        spec.node_pools.iter().map(|p| &p.name).collect::<Vec<_>>(),
        "conformance: reported node pools differ from the spec"
    );
    delete_and_wait(provider, ctx, &spec.id).await;
}

/// A second `create` of the same id returns the same cluster and makes no second one.
pub async fn create_is_idempotent(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    let spec = ctx.spec_for(provider, "idem");
    let first = ok(provider.create(&spec).await, "first create");
    let second = ok(provider.create(&spec).await, "second create of the same id");
    assert_eq!(first.provider_id, second.provider_id, "conformance: a repeated create made another cluster");
    ok(provider.wait_until_running(&spec.id, ctx.wait).await, "waiting for the cluster to run");
    let third = ok(provider.create(&spec).await, "create of a running cluster");
    assert_eq!(first.provider_id, third.provider_id, "conformance: create of a running cluster made another");
    let listed = ok(provider.list().await, "list");
    assert_eq!(listed.iter().filter(|c| c.id == spec.id).count(), 1, "conformance: list shows duplicates");
    delete_and_wait(provider, ctx, &spec.id).await;
}

/// `create` in a region the provider does not list is `InvalidSpec`.
pub async fn create_in_unknown_region_is_rejected(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    let mut spec = ctx.spec_for(provider, "noregion");
    spec.region = Region::new("fleet-nowhere-9").unwrap_or_else(|err| panic!("conformance: {err}"));
    expect_err(provider.create(&spec).await, crate::ErrorKind::InvalidSpec, "create in an unknown region");
    expect_err(provider.get(&spec.id).await, crate::ErrorKind::NotFound, "get after a rejected create");
}

/// `delete` of a cluster that does not exist is `Ok`, twice.
pub async fn delete_of_missing_cluster_is_ok(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    let id = ctx.id("missing");
    ok(provider.delete(&id).await, "delete of a missing cluster");
    ok(provider.delete(&id).await, "second delete of a missing cluster");
}

/// `get` of a cluster that does not exist is `NotFound`.
pub async fn get_of_missing_cluster_is_not_found(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    expect_err(provider.get(&ctx.id("missing")).await, crate::ErrorKind::NotFound, "get of a missing cluster");
}

/// `credentials` of a cluster that does not exist is `NotFound`.
pub async fn credentials_of_missing_cluster_is_not_found(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    expect_err(
        provider.credentials(&ctx.id("missing")).await,
        crate::ErrorKind::NotFound,
        "credentials of a missing cluster",
    );
}

/// A created cluster carries Fleet's tags (fleet, id, blueprint version) and the spec's labels,
/// on `get` and on `list`.
pub async fn tags_round_trip(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    let spec = create_running(provider, ctx, "tags").await;
    let got = ok(provider.get(&spec.id).await, "get");
    let tags = got.fleet_tags().unwrap_or_else(|| panic!("conformance: no Fleet tags on the cluster: {:?}", got.tags));
    assert_eq!(tags.cluster_id, spec.id, "conformance: the cluster-id tag is wrong");
    assert_eq!(tags.blueprint_version, spec.blueprint_version, "conformance: the blueprint-version tag is wrong");
    assert_eq!(got.tags.get("purpose").map(String::as_str), Some("conformance"), "conformance: spec labels lost");
    let listed = ok(provider.list().await, "list");
    let from_list = listed.iter().find(|c| c.id == spec.id).unwrap_or_else(|| panic!("conformance: not listed"));
    assert_eq!(from_list.fleet_tags(), Some(tags.clone()), "conformance: list and get disagree on tags");
    assert!(
        listed.iter().all(|c| FleetTags::belongs_to(&c.tags, &tags.fleet)),
        "conformance: list returned a cluster of another fleet"
    );
    delete_and_wait(provider, ctx, &spec.id).await;
}

/// `list` shows this fleet's clusters and none of another fleet's on the same backend.
pub async fn list_shows_only_this_fleet(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    let other = ctx.other_fleet.as_ref();
    let mine = create_running(provider, ctx, "mine").await;
    let theirs = create_running(other, ctx, "theirs").await;
    let listed = ok(provider.list().await, "list");
    assert!(listed.iter().any(|c| c.id == mine.id), "conformance: list misses this fleet's cluster");
    assert!(listed.iter().all(|c| c.id != theirs.id), "conformance: list shows another fleet's cluster");
    let their_list = ok(other.list().await, "other fleet's list");
    assert!(their_list.iter().all(|c| c.id != mine.id), "conformance: the other fleet sees this fleet's cluster");
    delete_and_wait(provider, ctx, &mine.id).await;
    delete_and_wait(other, ctx, &theirs.id).await;
}

/// Another fleet's cluster cannot be taken over, changed, deleted or accessed.
pub async fn foreign_clusters_are_left_alone(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    let other = ctx.other_fleet.as_ref();
    let theirs = create_running(other, ctx, "foreign").await;
    expect_err(provider.create(&theirs).await, crate::ErrorKind::AlreadyExists, "create over a foreign cluster");
    expect_err(provider.delete(&theirs.id).await, crate::ErrorKind::PermissionDenied, "delete of a foreign cluster");
    expect_err(provider.update(&theirs).await, crate::ErrorKind::PermissionDenied, "update of a foreign cluster");
    expect_err(
        provider.credentials(&theirs.id).await,
        crate::ErrorKind::PermissionDenied,
        "credentials of a foreign cluster",
    );
    let still = ok(other.get(&theirs.id).await, "get of the foreign cluster");
    assert!(still.phase.is_running(), "conformance: the foreign cluster was disturbed: {}", still.phase);
    delete_and_wait(other, ctx, &theirs.id).await;
}

/// Credentials of a running cluster name its endpoint, hold a kubeconfig, and print redacted.
pub async fn credentials_are_present_and_redacted(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    let spec = create_running(provider, ctx, "creds").await;
    let cluster = ok(provider.get(&spec.id).await, "get");
    let credentials = ok(provider.credentials(&spec.id).await, "credentials");
    let kubeconfig = credentials.expose_kubeconfig();
    assert!(kubeconfig.contains("clusters:") && kubeconfig.contains("users:"), "conformance: not a kubeconfig");
    assert!(kubeconfig.contains(credentials.endpoint()), "conformance: the kubeconfig does not name its endpoint");
    if let Some(endpoint) = &cluster.endpoint {
        assert_eq!(credentials.endpoint(), endpoint, "conformance: credentials name another endpoint");
    }
    for shown in [format!("{credentials:?}"), format!("{credentials}")] {
        assert!(shown.contains("[redacted]"), "conformance: credentials print unredacted: {shown}");
        assert!(!shown.contains(kubeconfig), "conformance: credentials print their kubeconfig");
    }
    delete_and_wait(provider, ctx, &spec.id).await;
}

/// Upgrades, resizes and hibernation work where `info().capabilities` declares them and are
/// `Unsupported` where it does not.
pub async fn unsupported_operations_follow_capabilities(provider: &dyn ClusterProvider, ctx: &ConformanceContext) {
    let capabilities = provider.info().capabilities;
    let spec = create_running(provider, ctx, "caps").await;

    let mut upgraded = spec.clone();
    upgraded.kubernetes_version = ctx.upgrade_version;
    if capabilities.in_place_version_upgrade {
        ok(provider.update(&upgraded).await, "in-place version upgrade");
        let done = ok(provider.wait_until_running(&spec.id, ctx.wait).await, "waiting for the upgrade");
        let version = done.kubernetes_version.unwrap_or_else(|| panic!("conformance: no version after upgrade"));
        assert!(version.same_minor(&ctx.upgrade_version), "conformance: upgrade ended on {version}");
    } else {
        expect_err(
            provider.update(&upgraded).await,
            crate::ErrorKind::Unsupported,
            "version upgrade without capability",
        );
        upgraded = spec.clone();
    }

    let mut resized = upgraded.clone();
    if let Some(pool) = resized.node_pools.first_mut() {
        pool.max_count = pool.max_count.saturating_add(1);
    }
    if capabilities.node_pool_resize {
        ok(provider.update(&resized).await, "node pool resize");
        let done = ok(provider.wait_until_running(&spec.id, ctx.wait).await, "waiting for the resize");
        assert_eq!(
            done.node_pools.first().map(|p| p.max_count),
            resized.node_pools.first().map(|p| p.max_count),
            "conformance: the resize is not reported"
        );
    } else {
        expect_err(provider.update(&resized).await, crate::ErrorKind::Unsupported, "resize without capability");
    }

    if capabilities.hibernation {
        ok(provider.hibernate(&spec.id).await, "hibernate");
        ok(provider.wait_for_phase(&spec.id, ClusterPhase::Hibernated, ctx.wait).await, "waiting for hibernation");
        ok(provider.resume(&spec.id).await, "resume");
        ok(provider.wait_until_running(&spec.id, ctx.wait).await, "waiting for resume");
    } else {
        expect_err(provider.hibernate(&spec.id).await, crate::ErrorKind::Unsupported, "hibernate without capability");
        expect_err(provider.resume(&spec.id).await, crate::ErrorKind::Unsupported, "resume without capability");
    }
    delete_and_wait(provider, ctx, &spec.id).await;
}

/// Runs every check in [`CHECKS`] order; panics at the first failure, naming it.
pub async fn run_all(provider: &dyn ClusterProvider, ctx: &ConformanceContext) -> ConformanceReport {
    let mut report = ConformanceReport::default();
    macro_rules! check {
        ($name:ident) => {{
            tracing::info!(target: "fleet::conformance", check = stringify!($name), "running");
            $name(provider, ctx).await;
            report.passed.push(stringify!($name));
        }};
    }
    check!(info_is_consistent);
    check!(create_get_list_delete_round_trip);
    check!(create_progresses_to_running);
    check!(create_is_idempotent);
    check!(create_in_unknown_region_is_rejected);
    check!(delete_of_missing_cluster_is_ok);
    check!(get_of_missing_cluster_is_not_found);
    check!(credentials_of_missing_cluster_is_not_found);
    check!(tags_round_trip);
    check!(list_shows_only_this_fleet);
    check!(foreign_clusters_are_left_alone);
    check!(credentials_are_present_and_redacted);
    check!(unsupported_operations_follow_capabilities);
    debug_assert_eq!(report.passed, CHECKS);
    report
}
