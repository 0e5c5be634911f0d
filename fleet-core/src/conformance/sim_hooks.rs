//! [`SimHooks`]: the conformance hooks of the simulated cloud, every one of them.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use super::ConformanceHooks;
use crate::sim::{InjectedError, Operation, SimCloud};
use crate::{AppliedSettings, ClusterId, Error, KubernetesVersion, Region, Result};

/// Acts on a [`SimCloud`] directly: plants clusters, takes regions down, fails and throttles
/// the next `get` calls (the calls the kit makes after these hooks).
#[derive(Debug, Clone)]
pub struct SimHooks {
    cloud: SimCloud,
}

impl SimHooks {
    /// Hooks into `cloud`.
    pub fn new(cloud: SimCloud) -> Self {
        Self { cloud }
    }
}

#[async_trait]
impl ConformanceHooks for SimHooks {
    async fn plant_cluster(
        &self,
        id: &ClusterId,
        region: &Region,
        tags: &BTreeMap<String, String>,
    ) -> Option<Result<()>> {
        let version = KubernetesVersion::new(1, 34, None);
        self.cloud.insert_unmanaged_cluster(id.clone(), region.clone(), version, tags.clone());
        Some(Ok(()))
    }

    async fn remove_planted(&self, id: &ClusterId, _region: &Region) -> Option<Result<()>> {
        Some(if self.cloud.remove_unmanaged_cluster(id) { Ok(()) } else { Err(Error::cluster_not_found(id)) })
    }

    async fn cut_region(&self, region: &Region) -> Option<Result<()>> {
        self.cloud.fail_region(region);
        Some(Ok(()))
    }

    async fn restore_region(&self, region: &Region) -> Option<Result<()>> {
        self.cloud.restore_region(region);
        Some(Ok(()))
    }

    async fn fail_next_calls(&self, count: u32) -> Option<Result<()>> {
        self.cloud.fail_next(Operation::Get, count, InjectedError::Unavailable);
        Some(Ok(()))
    }

    async fn throttle_next_calls(&self, count: u32, retry_after: Duration) -> Option<Result<()>> {
        self.cloud.fail_next(Operation::Get, count, InjectedError::RateLimited(retry_after));
        Some(Ok(()))
    }

    async fn applied_settings(&self, id: &ClusterId, _region: &Region) -> Option<Result<AppliedSettings>> {
        Some(self.cloud.applied_settings(id).ok_or_else(|| Error::cluster_not_found(id)))
    }

    /// The simulated cloud simulates team access without a Kubernetes API of its own.
    fn clusters_serve_kubernetes_api(&self) -> bool {
        true
    }
}
