//! The simulated cloud's API servers: a [`ApiProbe`] that answers `GET /readyz` as a real
//! cluster would (a simulation: no HTTP is spoken).

use async_trait::async_trait;
use tokio::time::Instant;

use super::SimCloud;
use crate::failover::ApiProbe;
use crate::{Cluster, Credentials, Error, Result};

#[async_trait]
impl ApiProbe for SimCloud {
    /// Ready when the cloud and the cluster's region are up, the cluster serves, and the
    /// credentials carry its token.
    async fn readyz(&self, cluster: &Cluster, credentials: &Credentials) -> Result<()> {
        if self.is_provider_down() {
            return Err(Error::Unavailable { message: format!("provider `{}` is down", self.info().name) });
        }
        let kubeconfig = credentials.expose_kubeconfig();
        let bearer = kubeconfig
            .lines()
            .find_map(|line| line.trim().strip_prefix("token: "))
            .and_then(|quoted| serde_json::from_str::<String>(quoted).ok())
            .unwrap_or_default();
        self.with_state(|state| state.readyz(&cluster.id, &bearer, Instant::now()))
    }
}
