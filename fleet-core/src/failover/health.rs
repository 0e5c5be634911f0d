//! Is a cluster serving? [`HealthCheck`]s combine what its provider reports with a probe of
//! its API server.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::{Cluster, ClusterPhase, ClusterProvider, Credentials, Result};

/// The verdict of one health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "health", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Health {
    /// Serving.
    Healthy,
    /// Not serving.
    Unhealthy {
        /// Why.
        reason: String,
    },
}

impl Health {
    /// Whether the cluster serves.
    pub fn is_healthy(&self) -> bool {
        matches!(self, Health::Healthy)
    }
}

/// Probes a cluster's API server, e.g. `GET /readyz` with its credentials.
#[async_trait]
pub trait ApiProbe: Send + Sync {
    /// `Ok` when the API server answers ready.
    async fn readyz(&self, cluster: &Cluster, credentials: &Credentials) -> Result<()>;
}

/// Decides whether a cluster is healthy.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Checks `cluster` as last observed.
    async fn check(&self, cluster: &Cluster) -> Health;
}

/// The default check: the provider must report `Running`, give credentials, and the API
/// server must answer the probe.
pub struct PhaseAndProbe {
    provider: Arc<dyn ClusterProvider>,
    probe: Arc<dyn ApiProbe>,
}

impl PhaseAndProbe {
    /// A check through `provider` (for phase and credentials) and `probe`.
    pub fn new(provider: Arc<dyn ClusterProvider>, probe: Arc<dyn ApiProbe>) -> Self {
        Self { provider, probe }
    }
}

#[async_trait]
impl HealthCheck for PhaseAndProbe {
    async fn check(&self, cluster: &Cluster) -> Health {
        let unhealthy = |reason: String| Health::Unhealthy { reason };
        match &cluster.phase {
            ClusterPhase::Running => {}
            other => return unhealthy(format!("provider reports it {other}")),
        }
        let credentials = match self.provider.credentials(&cluster.id).await {
            Ok(credentials) => credentials,
            Err(err) => return unhealthy(format!("no credentials: {err}")),
        };
        match self.probe.readyz(cluster, &credentials).await {
            Ok(()) => Health::Healthy,
            Err(err) => unhealthy(format!("API server not ready: {err}")),
        }
    }
}
