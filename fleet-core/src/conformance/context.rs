//! [`ConformanceContext`]: what the checks need to know about the backend under test.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use super::hooks::{ConformanceHooks, NoHooks};
use crate::{
    ClusterId, ClusterProvider, ClusterSpec, Error, KubernetesVersion, NodePool, NodePoolName, ProviderInfo, Region,
    Result, SizeClass, WaitOptions,
};

/// What the checks need to know about the backend under test.
#[derive(Clone)]
pub struct ConformanceContext {
    pub(crate) prefix: String,
    pub(crate) region: Region,
    pub(crate) second_region: Option<Region>,
    pub(crate) kubernetes_version: KubernetesVersion,
    pub(crate) upgrade_version: KubernetesVersion,
    pub(crate) node_pool: NodePool,
    pub(crate) wait: Option<WaitOptions>,
    pub(crate) other_fleet: Arc<dyn ClusterProvider>,
    pub(crate) hooks: Arc<dyn ConformanceHooks>,
}

impl Debug for ConformanceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConformanceContext")
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("second_region", &self.second_region)
            .field("kubernetes_version", &self.kubernetes_version)
            .field("upgrade_version", &self.upgrade_version)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl ConformanceContext {
    /// A context creating clusters `<prefix>-...` in `region` (a short prefix, at most 8
    /// characters, keeps every id within [`ClusterId`]'s 40). `other_fleet` is a provider for
    /// the same backend serving another fleet: it owns clusters this fleet must not see or touch.
    ///
    /// Defaults: Kubernetes 1.34, upgrades to 1.35 (versions the clouds offered in late 2026), one `workers` pool of 1-2 small nodes, no
    /// second region, no hooks ([`NoHooks`]), and waits sized from the provider's
    /// [`crate::TypicalLatency`] (see [`ConformanceContext::wait_for`]).
    pub fn new(prefix: &str, region: Region, other_fleet: Arc<dyn ClusterProvider>) -> Result<Self> {
        if prefix.len() > 8 {
            return Err(Error::InvalidSpec { path: "prefix".into(), reason: "at most 8 characters".into() });
        }
        ClusterId::new(prefix)?;
        Ok(Self {
            prefix: prefix.to_owned(),
            region,
            second_region: None,
            kubernetes_version: KubernetesVersion::new(1, 34, None),
            upgrade_version: KubernetesVersion::new(1, 35, None),
            node_pool: NodePool::new(NodePoolName::new("workers")?, SizeClass::Small, 1, 2)?,
            wait: None,
            other_fleet,
            hooks: Arc::new(NoHooks),
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

    /// Sets how the checks wait for operations, in place of the default from the provider's
    /// latencies.
    pub fn with_wait(mut self, wait: WaitOptions) -> Self {
        self.wait = Some(wait);
        self
    }

    /// A second region of the provider, for the checks of a region outage (one region cut,
    /// the other still listed).
    pub fn with_second_region(mut self, region: Region) -> Self {
        self.second_region = Some(region);
        self
    }

    /// The harness's hooks into the backend.
    pub fn with_hooks(mut self, hooks: Arc<dyn ConformanceHooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// How the checks wait for a provider described by `info`: as set by
    /// [`with_wait`](Self::with_wait), else three times its slowest typical operation plus a
    /// minute, polling from a hundredth of that operation (10 ms to 1 s) up to a twentieth
    /// (at most 30 s).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use fleet_core::conformance::ConformanceContext;
    /// use fleet_core::sim::{RegionCapacity, SimCloud};
    /// use fleet_core::*;
    /// let region = Region::new("east").unwrap();
    /// let cloud = SimCloud::builder(ProviderName::new("sim").unwrap()).region(region.clone(), RegionCapacity::unlimited()).build();
    /// let other = Arc::new(cloud.provider(FleetName::new("other").unwrap()));
    /// let context = ConformanceContext::new("conf", region, other).unwrap();
    /// let info = ProviderInfo::new(ProviderName::new("sim").unwrap(), vec![])
    ///     .with_latency(TypicalLatency::new(Duration::from_secs(600), Duration::from_secs(300), Duration::from_secs(120)));
    /// assert_eq!(context.wait_for(&info).timeout, Duration::from_secs(1860));
    /// ```
    pub fn wait_for(&self, info: &ProviderInfo) -> WaitOptions {
        if let Some(wait) = self.wait {
            return wait;
        }
        let latency = info.latency;
        let slowest = latency.create.max(latency.update).max(latency.delete);
        let initial = (slowest / 100).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let max = (slowest / 20).clamp(initial, Duration::from_secs(30));
        WaitOptions::with_timeout(slowest * 3 + Duration::from_secs(60)).with_intervals(initial, max)
    }

    pub(crate) fn id(&self, suffix: &str) -> ClusterId {
        let id = format!("{}-{suffix}", self.prefix);
        ClusterId::new(&id).unwrap_or_else(|err| panic!("conformance: cannot build a cluster id `{id}`: {err}"))
    }

    pub(crate) fn spec_in(&self, provider: &dyn ClusterProvider, suffix: &str, region: &Region) -> ClusterSpec {
        let info = provider.info();
        // Where the provider needs a system pool, the kit's pool is it.
        let pool = self.node_pool.clone().with_system(self.node_pool.system || info.system_pool_required);
        ClusterSpec::builder(self.id(suffix), info.name.clone(), region.clone(), self.kubernetes_version)
            .node_pool(pool)
            .label("purpose", "conformance")
            .build()
            .unwrap_or_else(|err| panic!("conformance: cannot build a spec: {err}"))
    }
}
