//! The provider plugin trait: [`ClusterProvider`], what a provider declares about itself
//! ([`ProviderInfo`]), and helpers built only on the trait ([`ClusterProviderExt`]).
//!
//! Nothing here knows any cloud: provider crates implement the trait.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::Room;
use crate::{
    Cluster, ClusterId, ClusterPhase, ClusterSpec, Credentials, Error, KubernetesVersion, ProviderName, Region, Result,
};

mod listing;
mod request_kind;

pub use listing::{Listing, UnreachableRegion};
pub use request_kind::RequestKind;

/// A place that runs Kubernetes clusters: a cloud's managed Kubernetes service, local Kind, or
/// the simulated cloud ([`crate::sim::SimProvider`]).
///
/// One value serves one fleet (it is built with the fleet's name) and tags what it creates with
/// [`crate::FleetTags`].
///
/// # Contract
/// Every implementation, in this workspace or outside it, keeps these promises: the engine
/// relies on each of them, and the conformance kit (`fleet_core::conformance`, feature
/// `conformance`) has a check for each.
///
/// **Operations are asynchronous.** `create`, `update`, `delete`, `hibernate` and `resume`
/// start an operation and return; [`get`](Self::get) observes its progress through the
/// [`ClusterPhase`]s: `Pending`/`Creating` → `Running`; `Updating` → `Running` (also on the way
/// to and back from `Hibernated`); `Deleting` → gone ([`Error::NotFound`]). A new cluster's
/// phases never go backwards.
///
/// **`create`**
/// - Tags the new cluster with [`crate::FleetTags::cluster_tags`] (fleet, cluster id,
///   blueprint version, fixed settings) and the spec's labels, so that `list` finds it again.
/// - Of an id this fleet already has: returns the existing cluster **unchanged** (same
///   provider id, creation time and phase: a running cluster stays `Running`) and makes no
///   second one, so a retry after a lost response is safe; concurrent creates of one id make
///   one cluster (each call returns it or a retryable error).
/// - Of an id this fleet's cluster holds while it is being deleted: a retryable
///   [`Error::Conflict`] until the deletion has finished, never the deleting cluster.
/// - Of an id taken by a cluster outside this fleet (another fleet's, or untagged):
///   [`Error::AlreadyExists`], and that cluster is left as it was.
/// - In a region missing from [`ProviderInfo::regions`], or for a spec naming another
///   provider: [`Error::InvalidSpec`], and nothing is created.
/// - Applies every control-plane setting of the spec its [`Capabilities`] declare (audit
///   logging, private endpoint, allowed CIDRs, network policy) with the cloud's own fields,
///   and refuses with [`Error::InvalidSpec`] a spec asking for one they do not declare
///   ([`Capabilities::ensure_settings_apply`]): a setting is never dropped.
/// - Refuses with [`Error::InvalidSpec`] a version missing from
///   [`offered_versions`](Self::offered_versions), where the provider knows that list, and,
///   where [`ProviderInfo::system_pool_required`], a spec without a system pool of at least
///   one node.
///
/// **`get`** observes one cluster. A missing cluster is [`Error::NotFound`]. A cluster outside
/// this fleet may be reported (its tags say whose it is) or be `NotFound`; either way it is
/// only read. Of this fleet's own clusters, `get` may carry forward an operation the provider
/// already started where the cloud needs several calls for it (EKS makes node groups once the
/// control plane is up, and deletes the cluster once its node groups are gone), but never
/// starts one.
///
/// **`list`** returns exactly this fleet's clusters, each with its tags, whoever made them (the
/// tags decide): never an untagged cluster or another fleet's. When some regions (locations, resource groups) cannot be listed,
/// it still lists the others and names the failed ones in [`Listing::unreachable`]; it fails
/// only when no region could be listed. The engine neither recreates nor garbage-collects
/// anything in an unreachable region, and goes on acting in the others. Where the cloud lists
/// names only, a provider may answer a cluster in a steady phase (not
/// [`ClusterPhase::is_in_progress`]) from its last description
/// ([`crate::observe::DescribeCache`]) for at most its resync interval; a new name, a cluster in
/// progress, one the provider changed since, and every `get` are asked of the cloud, and a
/// cluster deleted is missing from the next list. A provider whose methods make several API
/// calls (a list that describes clusters, a get that describes node pools) paces every read
/// call at [`ProviderInfo::rate_limits`] itself ([`crate::observe::ReadPacer`]): the engine's
/// budget counts one call per method, and only the provider knows what a method costs.
///
/// **`update`** makes the cluster match the spec in place: afterwards (`Updating` → `Running`)
/// the cluster reports the spec's Kubernetes version, node pools and tags, blueprint version
/// and labels included. A version upgrade moves one minor version per call, as the clouds
/// do ([`KubernetesVersion::next_minor_toward`]): the engine calls `update` again once the
/// cluster runs, until it reports the spec's version. A spec whose version is behind the
/// cluster's (the cloud upgraded it) never downgrades it: the version is kept and the rest
/// applied. After a create or an update has taken, the plan of the spec over what `list`
/// reports is empty, so that the engine issues nothing more. It refuses with [`Error::Unsupported`], changing nothing, exactly the
/// changes [`crate::plan::replacement_needed`] says need a replacement for the provider's
/// [`Capabilities`] (check with [`crate::plan::ensure_in_place`] before changing anything). An
/// update of a cluster that is not running is a retryable [`Error::Conflict`].
///
/// **`delete`** of a missing or already deleting cluster is `Ok`.
///
/// **`credentials`** of a missing cluster is [`Error::NotFound`]; before the cluster runs it
/// is a retryable error or credentials that work once it runs. The kubeconfig names the
/// cluster's endpoint. [`team_credentials`](Self::team_credentials), where
/// [`Capabilities::team_credentials`] declares it, is scoped to the team's namespace and holds
/// none of the cluster-admin credentials.
///
/// **Hands off.** `update`, `delete`, `credentials`, `team_credentials`, `hibernate` and
/// `resume` refuse, with [`Error::PermissionDenied`], a cluster that does not carry this
/// fleet's tags, and leave it as it was.
///
/// **Capabilities.** An operation the provider's [`Capabilities`] do not declare returns
/// [`Error::Unsupported`].
///
/// **Errors.** Every failure is mapped into [`Error`]: transient ones retryable
/// ([`Error::is_retryable`]), throttling as [`Error::RateLimited`] with the provider's
/// `Retry-After`. No secret (kubeconfig, token, key) appears in an error's `Display` or
/// `Debug`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ClusterProvider: Send + Sync {
    /// What the provider is and can do.
    fn info(&self) -> &ProviderInfo;

    /// Starts creating the cluster `spec` describes, or returns it if it already exists.
    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster>;

    /// Observes one cluster.
    async fn get(&self, id: &ClusterId) -> Result<Cluster>;

    /// Every cluster carrying this fleet's tags, in every region that answered; see the
    /// contract for regions that do not.
    async fn list(&self) -> Result<Listing>;

    /// Starts changing the cluster in place to match `spec` (version upgrade, node pool resize,
    /// labels), or fails with [`Error::Unsupported`] when that needs a replacement.
    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster>;

    /// Starts deleting the cluster; `Ok` when it is already gone.
    async fn delete(&self, id: &ClusterId) -> Result<()>;

    /// Credentials for the cluster's API.
    async fn credentials(&self, id: &ClusterId) -> Result<Credentials>;

    /// Credentials for one team: a namespace named after the team, a service account and a
    /// role limited to that namespace, and a kubeconfig for that account only (never the
    /// cluster-admin credentials). Providers that cannot set this up keep this default, which
    /// is [`Error::Unsupported`].
    async fn team_credentials(&self, id: &ClusterId, team: &crate::TeamName) -> Result<Credentials> {
        let _ = (id, team);
        Err(Error::Unsupported { operation: format!("team credentials on provider `{}`", self.info().name) })
    }

    /// Scales the cluster to zero and stops it, keeping its configuration. Providers without
    /// [`Capabilities::hibernation`] keep this default, which is [`Error::Unsupported`].
    async fn hibernate(&self, id: &ClusterId) -> Result<Cluster> {
        let _ = id;
        Err(Error::Unsupported { operation: format!("hibernate on provider `{}`", self.info().name) })
    }

    /// What still fits in `region` (quota and capacity left), for placing clusters there after
    /// a failover; `None` when the provider cannot tell, which is the default.
    async fn room(&self, region: &Region) -> Result<Option<Room>> {
        let _ = region;
        Ok(None)
    }

    /// The Kubernetes versions the provider offers for new clusters in `region` (minor versions
    /// such as `1.35`, or full versions), from the cloud's own list (EKS
    /// `DescribeClusterVersions`, GKE `getServerConfig`, AKS's Kubernetes versions list);
    /// `None` when the provider cannot tell, which is the default. Plan time refuses a version
    /// missing from a known list (see [`ClusterProviderExt::info_with_offered_versions`]).
    async fn offered_versions(&self, region: &Region) -> Result<Option<Vec<KubernetesVersion>>> {
        let _ = region;
        Ok(None)
    }

    /// Brings a hibernated cluster back. Default: [`Error::Unsupported`].
    async fn resume(&self, id: &ClusterId) -> Result<Cluster> {
        let _ = id;
        Err(Error::Unsupported { operation: format!("resume on provider `{}`", self.info().name) })
    }
}

/// What a provider is and can do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProviderInfo {
    /// The provider's name, as specs refer to it.
    pub name: ProviderName,
    /// The regions (or locations) it can place clusters in.
    pub regions: Vec<Region>,
    /// What it can change without replacing a cluster.
    pub capabilities: Capabilities,
    /// How fast its API may be called.
    pub rate_limits: RateLimits,
    /// How long its operations typically take.
    pub latency: TypicalLatency,
    /// The Kubernetes versions offered for new clusters, by region (a region missing here is
    /// unknown); see [`ClusterProvider::offered_versions`].
    pub offered_versions: BTreeMap<Region, Vec<KubernetesVersion>>,
    /// Whether every cluster needs one node pool marked [`crate::NodePool::system`] with at
    /// least one node (AKS runs its system pods there).
    pub system_pool_required: bool,
}

impl ProviderInfo {
    /// Info with no capabilities, conservative rate limits (1 write/s, 10 reads/s) and
    /// 10-minute operations; refine it with the `with_*` methods.
    ///
    /// ```
    /// use fleet_core::*;
    /// let info = ProviderInfo::new(ProviderName::new("mycloud").unwrap(), vec![Region::new("north").unwrap()])
    ///     .with_capabilities(Capabilities::default().with_node_pool_resize(true));
    /// assert!(info.capabilities.node_pool_resize);
    /// assert!(info.has_region(&Region::new("north").unwrap()));
    /// ```
    pub fn new(name: ProviderName, regions: Vec<Region>) -> Self {
        Self {
            name,
            regions,
            capabilities: Capabilities::default(),
            rate_limits: RateLimits { reads: RateLimit::new(10.0, 20), writes: RateLimit::new(1.0, 5) },
            latency: TypicalLatency {
                create: Duration::from_secs(600),
                update: Duration::from_secs(600),
                delete: Duration::from_secs(600),
            },
            offered_versions: BTreeMap::new(),
            system_pool_required: false,
        }
    }

    /// Sets the versions offered in `region`.
    pub fn with_offered_versions(mut self, region: Region, versions: Vec<KubernetesVersion>) -> Self {
        self.offered_versions.insert(region, versions);
        self
    }

    /// Sets [`ProviderInfo::system_pool_required`].
    pub fn with_system_pool_required(mut self, required: bool) -> Self {
        self.system_pool_required = required;
        self
    }

    /// Whether `version` is offered in `region`: `None` when the list is unknown. A version
    /// without a patch number is offered when any patch of its minor is.
    ///
    /// ```
    /// use fleet_core::*;
    /// let east = Region::new("east").unwrap();
    /// let info = ProviderInfo::new(ProviderName::new("p").unwrap(), vec![east.clone()])
    ///     .with_offered_versions(east.clone(), vec!["1.34".parse().unwrap(), "1.35.2".parse().unwrap()]);
    /// assert_eq!(info.offers(&east, "1.35".parse().unwrap()), Some(true));
    /// assert_eq!(info.offers(&east, "1.33".parse().unwrap()), Some(false));
    /// assert_eq!(info.offers(&Region::new("west").unwrap(), "1.33".parse().unwrap()), None);
    /// ```
    pub fn offers(&self, region: &Region, version: KubernetesVersion) -> Option<bool> {
        let offered = self.offered_versions.get(region)?;
        Some(version.offered_by(offered))
    }

    /// Sets the capabilities.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Sets the API rate limits.
    pub fn with_rate_limits(mut self, rate_limits: RateLimits) -> Self {
        self.rate_limits = rate_limits;
        self
    }

    /// Sets the typical latencies.
    pub fn with_latency(mut self, latency: TypicalLatency) -> Self {
        self.latency = latency;
        self
    }

    /// Whether the provider can place clusters in `region`.
    pub fn has_region(&self, region: &Region) -> bool {
        self.regions.contains(region)
    }
}

/// What a provider can change in place; everything else is a replacement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Capabilities {
    /// Upgrade the Kubernetes version of a running cluster.
    pub in_place_version_upgrade: bool,
    /// Change a node pool's min/max counts.
    pub node_pool_resize: bool,
    /// Stop a cluster and start it again ([`ClusterProvider::hibernate`]).
    pub hibernation: bool,
    /// Give a team access to its own namespace only ([`ClusterProvider::team_credentials`]).
    pub team_credentials: bool,
    /// Keep control-plane audit logs ([`ClusterSpec::audit_logging`]).
    pub audit_logging: bool,
    /// Serve the API only on a private endpoint ([`crate::Network::private_endpoint`]).
    pub private_endpoint: bool,
    /// Limit the API endpoint to CIDR blocks ([`crate::Network::allowed_cidrs`]).
    pub allowed_cidrs: bool,
    /// Enforce Kubernetes network policies ([`crate::Network::network_policy`]).
    pub network_policy: bool,
}

impl Capabilities {
    /// Every capability.
    pub fn all() -> Self {
        Self {
            in_place_version_upgrade: true,
            node_pool_resize: true,
            hibernation: true,
            team_credentials: true,
            audit_logging: true,
            private_endpoint: true,
            allowed_cidrs: true,
            network_policy: true,
        }
    }

    /// Sets [`Capabilities::audit_logging`].
    pub fn with_audit_logging(mut self, yes: bool) -> Self {
        self.audit_logging = yes;
        self
    }

    /// Sets [`Capabilities::private_endpoint`].
    pub fn with_private_endpoint(mut self, yes: bool) -> Self {
        self.private_endpoint = yes;
        self
    }

    /// Sets [`Capabilities::allowed_cidrs`].
    pub fn with_allowed_cidrs(mut self, yes: bool) -> Self {
        self.allowed_cidrs = yes;
        self
    }

    /// Sets [`Capabilities::network_policy`].
    pub fn with_network_policy(mut self, yes: bool) -> Self {
        self.network_policy = yes;
        self
    }

    /// Every setting of `spec` these capabilities cannot apply, as `(path, what)` pairs such as
    /// `("auditLogging", "audit logging")`: what a provider's `create` refuses and plan time
    /// refuses first. Hibernation is the blueprint's concern, not the spec's.
    ///
    /// ```
    /// use fleet_core::*;
    /// let mut spec = ClusterSpec::builder(ClusterId::new("c1").unwrap(), ProviderName::new("p").unwrap(),
    ///         Region::new("r").unwrap(), "1.34".parse().unwrap())
    ///     .node_pool(NodePool::new(NodePoolName::new("workers").unwrap(), SizeClass::Small, 1, 3).unwrap())
    ///     .audit_logging(true)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(Capabilities::default().unsupported_settings(&spec), vec![("auditLogging", "audit logging")]);
    /// assert!(Capabilities::default().with_audit_logging(true).unsupported_settings(&spec).is_empty());
    /// ```
    pub fn unsupported_settings(&self, spec: &ClusterSpec) -> Vec<(&'static str, &'static str)> {
        self.unsupported(spec.audit_logging, &spec.network)
    }

    /// [`unsupported_settings`](Self::unsupported_settings) of an audit logging flag and
    /// network settings.
    pub(crate) fn unsupported(
        &self,
        audit_logging: bool,
        network: &crate::Network,
    ) -> Vec<(&'static str, &'static str)> {
        [
            (audit_logging && !self.audit_logging, "auditLogging", "audit logging"),
            (network.private_endpoint && !self.private_endpoint, "network.privateEndpoint", "a private API endpoint"),
            (
                !network.allowed_cidrs.is_empty() && !self.allowed_cidrs,
                "network.allowedCidrs",
                "API access limited to CIDR blocks",
            ),
            (network.network_policy && !self.network_policy, "network.networkPolicy", "network policy enforcement"),
        ]
        .into_iter()
        .filter_map(|(refused, path, what)| refused.then_some((path, what)))
        .collect()
    }

    /// `Ok` when these capabilities apply every setting of `spec`, else the
    /// [`Error::InvalidSpec`] a provider's `create` returns, naming the first setting refused
    /// and `provider`.
    pub fn ensure_settings_apply(&self, spec: &ClusterSpec, provider: &ProviderName) -> Result<()> {
        match self.unsupported_settings(spec).first() {
            None => Ok(()),
            Some((path, what)) => Err(Error::InvalidSpec {
                path: (*path).into(),
                reason: format!("provider `{provider}` cannot apply {what}; refused rather than dropped"),
            }),
        }
    }

    /// Sets [`Capabilities::in_place_version_upgrade`].
    pub fn with_in_place_version_upgrade(mut self, yes: bool) -> Self {
        self.in_place_version_upgrade = yes;
        self
    }

    /// Sets [`Capabilities::node_pool_resize`].
    pub fn with_node_pool_resize(mut self, yes: bool) -> Self {
        self.node_pool_resize = yes;
        self
    }

    /// Sets [`Capabilities::hibernation`].
    pub fn with_hibernation(mut self, yes: bool) -> Self {
        self.hibernation = yes;
        self
    }

    /// Sets [`Capabilities::team_credentials`].
    pub fn with_team_credentials(mut self, yes: bool) -> Self {
        self.team_credentials = yes;
        self
    }
}

/// The settings a backend applied to a cluster, as its API recorded them (what the
/// conformance kit compares with the spec, see
/// `ConformanceHooks::applied_settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppliedSettings {
    /// The network settings applied.
    pub network: crate::Network,
    /// Whether audit logs are kept.
    pub audit_logging: bool,
}

impl AppliedSettings {
    /// Settings of `network` and `audit_logging`.
    pub fn new(network: crate::Network, audit_logging: bool) -> Self {
        Self { network, audit_logging }
    }
}

/// A token-bucket rate: a sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Calls per second, sustained.
    pub per_second: f64,
    /// Calls allowed at once after a quiet period.
    pub burst: u32,
}

impl RateLimit {
    /// A rate of `per_second` calls with bursts of `burst` (both at least a small positive
    /// number: a zero rate would never refill).
    pub fn new(per_second: f64, burst: u32) -> Self {
        let per_second = if per_second.is_finite() && per_second > 0.0 { per_second } else { 0.001 };
        Self { per_second, burst: burst.max(1) }
    }
}

/// API rate limits, reads and writes separately.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RateLimits {
    /// `get`, `list`, `credentials`.
    pub reads: RateLimit,
    /// `create`, `update`, `delete`, `hibernate`, `resume`.
    pub writes: RateLimit,
}

impl RateLimits {
    /// Limits for reads and writes.
    pub fn new(reads: RateLimit, writes: RateLimit) -> Self {
        Self { reads, writes }
    }
}

/// How long a provider's operations typically take to complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypicalLatency {
    /// From `create` to `Running`.
    pub create: Duration,
    /// From `update` to `Running`.
    pub update: Duration,
    /// From `delete` to gone.
    pub delete: Duration,
}

impl TypicalLatency {
    /// Typical latencies of create, update and delete.
    pub fn new(create: Duration, update: Duration, delete: Duration) -> Self {
        Self { create, update, delete }
    }
}

/// How [`ClusterProviderExt`] polls: exponential intervals from `initial_interval` up to
/// `max_interval`, giving up after `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// First interval between polls.
    pub initial_interval: Duration,
    /// Longest interval between polls.
    pub max_interval: Duration,
    /// When to give up.
    pub timeout: Duration,
}

impl WaitOptions {
    /// Polls from 1 s doubling up to 30 s, for at most `timeout`.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self { initial_interval: Duration::from_secs(1), max_interval: Duration::from_secs(30), timeout }
    }

    /// Sets the interval bounds.
    pub fn with_intervals(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_interval = initial.max(Duration::from_millis(1));
        self.max_interval = max.max(self.initial_interval);
        self
    }
}

/// Helpers built only on [`ClusterProvider`]'s required methods, for every provider.
#[async_trait]
pub trait ClusterProviderExt: ClusterProvider {
    /// Polls [`ClusterProvider::get`] until the cluster is in phase `target`.
    ///
    /// Retryable errors and other phases keep it polling (a `Retry-After` is waited exactly,
    /// in place of the next interval);
    /// `Failed`, `Deleting` or a missing cluster (unless that is the target) and any other error
    /// end it; so does the timeout, as [`Error::Timeout`].
    async fn wait_for_phase(&self, id: &ClusterId, target: ClusterPhase, options: WaitOptions) -> Result<Cluster> {
        let mut poll = Poller::new(options);
        loop {
            let wait = match self.get(id).await {
                Ok(cluster) if cluster.phase == target => return Ok(cluster),
                Ok(cluster) => match &cluster.phase {
                    ClusterPhase::Failed { reason } => {
                        return Err(Error::Provider {
                            message: format!("cluster `{id}` failed: {reason}"),
                            source: None,
                        });
                    }
                    ClusterPhase::Deleted | ClusterPhase::Deleting => return Err(Error::cluster_not_found(id)),
                    _ => None,
                },
                Err(err) if err.is_retryable() => err.retry_after(),
                Err(err) => return Err(err),
            };
            poll.sleep(wait, || format!("cluster `{id}` to be {}", target.name())).await?;
        }
    }

    /// Polls [`ClusterProvider::get`] until the cluster is `Running`; see
    /// [`wait_for_phase`](Self::wait_for_phase).
    async fn wait_until_running(&self, id: &ClusterId, options: WaitOptions) -> Result<Cluster> {
        self.wait_for_phase(id, ClusterPhase::Running, options).await
    }

    /// Polls [`ClusterProvider::get`] until it answers [`Error::NotFound`] or the phase
    /// `Deleted`.
    async fn wait_until_deleted(&self, id: &ClusterId, options: WaitOptions) -> Result<()> {
        let mut poll = Poller::new(options);
        loop {
            let wait = match self.get(id).await {
                Ok(cluster) if cluster.phase == ClusterPhase::Deleted => return Ok(()),
                Ok(_) => None,
                Err(Error::NotFound { .. }) => return Ok(()),
                Err(err) if err.is_retryable() => err.retry_after(),
                Err(err) => return Err(err),
            };
            poll.sleep(wait, || format!("cluster `{id}` to be deleted")).await?;
        }
    }

    /// [`ClusterProvider::info`] with the versions each region offers filled in from
    /// [`ClusterProvider::offered_versions`], for plan time. A region whose list cannot be read
    /// stays unknown (and is logged), so that one failing call does not stop planning.
    async fn info_with_offered_versions(&self) -> ProviderInfo {
        let mut info = self.info().clone();
        for region in info.regions.clone() {
            match self.offered_versions(&region).await {
                Ok(Some(versions)) => {
                    info.offered_versions.insert(region, versions);
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(provider = %info.name, region = %region, error = %err, "could not list offered versions");
                }
            }
        }
        info
    }
}

impl<P: ClusterProvider + ?Sized> ClusterProviderExt for P {}

/// The polling schedule of every wait for a cluster (the helpers above and the engine):
/// exponential intervals, a `Retry-After` waited exactly in place of the interval, and a
/// deadline.
pub(crate) struct Poller {
    interval: Duration,
    max_interval: Duration,
    deadline: Instant,
}

impl Poller {
    pub(crate) fn new(options: WaitOptions) -> Self {
        Self {
            interval: options.initial_interval,
            max_interval: options.max_interval,
            deadline: Instant::now() + options.timeout,
        }
    }

    /// Sleeps `retry_after` when the provider gave one, else the next interval; fails with a
    /// time-out instead when that would pass the deadline.
    pub(crate) async fn sleep(&mut self, retry_after: Option<Duration>, what: impl FnOnce() -> String) -> Result<()> {
        let wait = retry_after.unwrap_or(self.interval);
        if Instant::now() + wait > self.deadline {
            return Err(Error::Timeout { message: format!("waiting for {}", what()) });
        }
        tokio::time::sleep(wait).await;
        self.interval = (self.interval * 2).min(self.max_interval);
        Ok(())
    }
}
