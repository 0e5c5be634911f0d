//! A provider seen through an engine's API budget: every call waits for a token of the same
//! buckets the engine's own actions use, so that whatever else calls the provider on the
//! fleet's behalf (the failover controller's health checks and capacity queries, embedding
//! code) never takes the fleet over the API limits.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use super::Slot;
use super::budget::CallKind;
use crate::Room;
use crate::{
    Cluster, ClusterId, ClusterProvider, ClusterSpec, Credentials, KubernetesVersion, Listing, ProviderInfo, Region,
    Result, TeamName,
};

/// `slot`'s provider, each call charged to `slot`'s budget.
pub(crate) struct BudgetedProvider {
    slot: Arc<Slot>,
}

impl BudgetedProvider {
    pub(crate) fn new(slot: Arc<Slot>) -> Self {
        Self { slot }
    }

    fn provider(&self) -> &dyn ClusterProvider {
        self.slot.provider.as_ref()
    }

    /// Makes `call` (of `kind`) once the budget gives a token.
    async fn call<T>(&self, kind: CallKind, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.slot.budget.call(kind).await;
        call.await
    }
}

#[async_trait]
impl ClusterProvider for BudgetedProvider {
    fn info(&self) -> &ProviderInfo {
        self.provider().info()
    }

    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster> {
        self.call(CallKind::Write, self.provider().create(spec)).await
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        self.call(CallKind::Read, self.provider().get(id)).await
    }

    async fn list(&self) -> Result<Listing> {
        self.call(CallKind::Read, self.provider().list()).await
    }

    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        self.call(CallKind::Write, self.provider().update(spec)).await
    }

    async fn delete(&self, id: &ClusterId) -> Result<()> {
        self.call(CallKind::Write, self.provider().delete(id)).await
    }

    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        self.call(CallKind::Read, self.provider().credentials(id)).await
    }

    async fn team_credentials(&self, id: &ClusterId, team: &TeamName) -> Result<Credentials> {
        self.call(CallKind::Write, self.provider().team_credentials(id, team)).await
    }

    async fn hibernate(&self, id: &ClusterId) -> Result<Cluster> {
        self.call(CallKind::Write, self.provider().hibernate(id)).await
    }

    async fn room(&self, region: &Region) -> Result<Option<Room>> {
        self.call(CallKind::Read, self.provider().room(region)).await
    }

    async fn offered_versions(&self, region: &Region) -> Result<Option<Vec<KubernetesVersion>>> {
        self.call(CallKind::Read, self.provider().offered_versions(region)).await
    }

    async fn resume(&self, id: &ClusterId) -> Result<Cluster> {
        self.call(CallKind::Write, self.provider().resume(id)).await
    }
}
