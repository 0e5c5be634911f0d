//! A provider whose every call is recorded in the metrics ([`crate::telemetry`]): the engine
//! holds each provider it is given through one, so that every call it or anything on its behalf
//! makes (passes, actions, add-on installs, failover, self-service) is counted and timed once,
//! by operation and outcome, with no call site to forget.

use std::sync::Arc;

use async_trait::async_trait;

use crate::telemetry::{ProviderCall, provider_call};
use crate::{
    Cluster, ClusterId, ClusterProvider, ClusterSpec, Credentials, KubernetesVersion, Listing, ProviderInfo, Region,
    Result, Room, TeamName,
};

/// `inner`, each call recorded.
pub(crate) struct RecordedProvider {
    inner: Arc<dyn ClusterProvider>,
}

impl RecordedProvider {
    pub(crate) fn new(inner: Arc<dyn ClusterProvider>) -> Self {
        Self { inner }
    }
}

#[async_trait]
impl ClusterProvider for RecordedProvider {
    fn info(&self) -> &ProviderInfo {
        self.inner.info()
    }

    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster> {
        provider_call(&self.info().name, ProviderCall::Create, self.inner.create(spec)).await
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        provider_call(&self.info().name, ProviderCall::Get, self.inner.get(id)).await
    }

    async fn list(&self) -> Result<Listing> {
        provider_call(&self.info().name, ProviderCall::List, self.inner.list()).await
    }

    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        provider_call(&self.info().name, ProviderCall::Update, self.inner.update(spec)).await
    }

    async fn delete(&self, id: &ClusterId) -> Result<()> {
        provider_call(&self.info().name, ProviderCall::Delete, self.inner.delete(id)).await
    }

    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        provider_call(&self.info().name, ProviderCall::Credentials, self.inner.credentials(id)).await
    }

    async fn team_credentials(&self, id: &ClusterId, team: &TeamName) -> Result<Credentials> {
        provider_call(&self.info().name, ProviderCall::TeamCredentials, self.inner.team_credentials(id, team)).await
    }

    async fn hibernate(&self, id: &ClusterId) -> Result<Cluster> {
        provider_call(&self.info().name, ProviderCall::Hibernate, self.inner.hibernate(id)).await
    }

    async fn room(&self, region: &Region) -> Result<Option<Room>> {
        provider_call(&self.info().name, ProviderCall::Room, self.inner.room(region)).await
    }

    async fn offered_versions(&self, region: &Region) -> Result<Option<Vec<KubernetesVersion>>> {
        provider_call(&self.info().name, ProviderCall::OfferedVersions, self.inner.offered_versions(region)).await
    }

    async fn resume(&self, id: &ClusterId) -> Result<Cluster> {
        provider_call(&self.info().name, ProviderCall::Resume, self.inner.resume(id)).await
    }
}
