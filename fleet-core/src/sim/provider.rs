//! [`SimProvider`]: one fleet's [`ClusterProvider`] on a [`SimCloud`].

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;

use super::call_log::Operation;
use super::cloud::{SimCloud, Target};
use super::shaped_calls::Observer;
use crate::Room;
use crate::{
    Cluster, ClusterId, ClusterProvider, ClusterSpec, Credentials, FleetName, KubernetesVersion, Listing, ProviderInfo,
    Region, Result,
};

/// A [`ClusterProvider`] backed by a simulated cloud, **not a real one**; made by
/// [`SimCloud::provider`]. Several fleets' providers can share one cloud, which is how tests
/// check that a fleet sees and touches only its own clusters.
#[derive(Debug, Clone)]
pub struct SimProvider {
    cloud: SimCloud,
    fleet: FleetName,
    observer: Arc<OnceLock<Observer>>,
}

impl SimProvider {
    pub(crate) fn new(cloud: SimCloud, fleet: FleetName) -> Self {
        Self { cloud, fleet, observer: Arc::new(OnceLock::new()) }
    }

    /// What this provider keeps between lists (shared by its clones).
    pub(crate) fn observer(&self) -> &Observer {
        self.observer.get_or_init(|| Observer::new(self))
    }

    /// How long a steady cluster may go without being described again: the cloud's
    /// [`resync`](SimCloud::resync), or longer when the fleet is too large for the read rate
    /// to describe it that often (only the [`super::ApiShape::Eks`] shape describes clusters
    /// one by one; the others see every change at the next list).
    pub fn resync_interval(&self) -> std::time::Duration {
        match self.cloud.api_shape() {
            super::ApiShape::Eks => self.observer().described.resync_interval(),
            _ => std::time::Duration::ZERO,
        }
    }

    fn region_of(&self, id: &ClusterId) -> Option<Region> {
        self.cloud.with_state(|state| state.region_of(id))
    }

    /// The simulated cloud behind this provider, for fault injection and the call log.
    pub fn cloud(&self) -> &SimCloud {
        &self.cloud
    }

    /// The fleet this provider serves.
    pub fn fleet(&self) -> &FleetName {
        &self.fleet
    }
}

#[async_trait]
impl ClusterProvider for SimProvider {
    fn info(&self) -> &ProviderInfo {
        self.cloud.info()
    }

    async fn create(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let fleet = &self.fleet;
        let call = self.cloud.call(fleet, Operation::Create, Target::Spec(spec), |state, completes_in, now| {
            state.create(fleet, spec, completes_in, now)
        });
        self.changing(Some(spec.region.clone()), &spec.id, call).await
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        self.shaped_get(id).await
    }

    async fn list(&self) -> Result<Listing> {
        self.shaped_list().await
    }

    async fn update(&self, spec: &ClusterSpec) -> Result<Cluster> {
        let fleet = &self.fleet;
        let call = self.cloud.call(fleet, Operation::Update, Target::Spec(spec), |state, completes_in, now| {
            state.update(fleet, spec, completes_in, now)
        });
        self.changing(Some(spec.region.clone()), &spec.id, call).await
    }

    async fn delete(&self, id: &ClusterId) -> Result<()> {
        let fleet = &self.fleet;
        let call = self.cloud.call(fleet, Operation::Delete, Target::Cluster(id), |state, completes_in, now| {
            state.delete(fleet, id, completes_in, now)
        });
        self.changing(self.region_of(id), id, call).await
    }

    async fn offered_versions(&self, region: &Region) -> Result<Option<Vec<KubernetesVersion>>> {
        Ok(self.cloud.info().offered_versions.get(region).cloned())
    }

    async fn room(&self, region: &Region) -> Result<Option<Room>> {
        self.read(Operation::Room, Target::Region(region), |state, _, now| state.room(region, now)).await.map(Some)
    }

    async fn credentials(&self, id: &ClusterId) -> Result<Credentials> {
        let fleet = &self.fleet;
        self.read(Operation::Credentials, Target::Cluster(id), |state, _, now| state.credentials(fleet, id, now)).await
    }

    async fn team_credentials(&self, id: &ClusterId, team: &crate::TeamName) -> Result<Credentials> {
        let fleet = &self.fleet;
        self.cloud
            .call(fleet, Operation::TeamCredentials, Target::Cluster(id), |state, _, now| {
                state.team_credentials(fleet, id, team, now)
            })
            .await
    }

    async fn hibernate(&self, id: &ClusterId) -> Result<Cluster> {
        let fleet = &self.fleet;
        let call = self.cloud.call(fleet, Operation::Hibernate, Target::Cluster(id), |state, completes_in, now| {
            state.set_hibernation(fleet, id, true, completes_in, now)
        });
        self.changing(self.region_of(id), id, call).await
    }

    async fn resume(&self, id: &ClusterId) -> Result<Cluster> {
        let fleet = &self.fleet;
        let call = self.cloud.call(fleet, Operation::Resume, Target::Cluster(id), |state, completes_in, now| {
            state.set_hibernation(fleet, id, false, completes_in, now)
        });
        self.changing(self.region_of(id), id, call).await
    }
}
