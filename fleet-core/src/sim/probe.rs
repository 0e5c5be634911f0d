//! The simulated cloud's API servers (a simulation: no HTTP is spoken): an [`ApiProbe`] that
//! answers `GET /readyz` as a real cluster would, and an [`AddonInstaller`] that records the
//! add-on objects applied into each cluster.

use async_trait::async_trait;
use tokio::time::Instant;

use super::SimCloud;
use crate::addons::{AddonInstaller, AddonReport, AddonSet, DriftPolicy, ObjectRef};
use crate::health::ApiProbe;
use crate::{Cluster, ClusterId, Credentials, Error, Result};

#[async_trait]
impl ApiProbe for SimCloud {
    /// Ready when the cloud and the cluster's region are up, the cluster serves, and the
    /// credentials carry its token.
    async fn readyz(&self, cluster: &Cluster, credentials: &Credentials) -> Result<()> {
        if self.is_provider_down() {
            return Err(Error::Unavailable { message: format!("provider `{}` is down", self.info().name) });
        }
        let bearer = bearer_of(credentials);
        self.with_state(|state| state.readyz(&cluster.id, &bearer, Instant::now()))
    }
}

#[async_trait]
impl AddonInstaller for SimCloud {
    /// Records `addons` as applied in the cluster (it must serve, and the credentials must carry
    /// its token), pruning objects applied before and no longer wanted. No drift is simulated.
    async fn install(
        &self,
        cluster: &Cluster,
        credentials: &Credentials,
        addons: &AddonSet,
        _policy: DriftPolicy,
    ) -> Result<AddonReport> {
        if self.is_provider_down() {
            return Err(Error::Unavailable { message: format!("provider `{}` is down", self.info().name) });
        }
        let bearer = bearer_of(credentials);
        self.with_state(|state| state.install_addons(&cluster.id, &bearer, addons, Instant::now()))
    }
}

impl SimCloud {
    /// The add-on objects applied in cluster `id` (none for a cluster this cloud lacks).
    pub fn addons_in(&self, id: &ClusterId) -> Vec<ObjectRef> {
        self.with_state(|state| state.addons_of(id))
    }
}

/// The bearer token in a kubeconfig Fleet wrote.
fn bearer_of(credentials: &Credentials) -> String {
    credentials
        .expose_kubeconfig()
        .lines()
        .find_map(|line| line.trim().strip_prefix("token: "))
        .and_then(|quoted| serde_json::from_str::<String>(quoted).ok())
        .unwrap_or_default()
}
