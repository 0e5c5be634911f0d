//! Is a cluster serving? [`HealthCheck`]s combine what its provider reports with a probe of
//! its API server ([`ApiProbe`]; `KubeApiProbe`, feature `kube`, probes `GET /readyz` over
//! the `ApiRoute` that reaches private endpoints). The engine's rollouts and the failover
//! controller both judge clusters with them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;

use crate::mutex::lock;
use crate::{Cluster, ClusterId, ClusterPhase, ClusterProvider, Credentials, Error, Result};

#[cfg(feature = "kube")]
mod kube_probe;
#[cfg(feature = "kube")]
pub use kube_probe::{KubeApiProbe, PROBE_TIMEOUT};

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
    /// The check itself could not be made (e.g. the provider throttled the credentials call);
    /// it counts neither for nor against the cluster.
    Unknown {
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
/// `KubeApiProbe` (feature `kube`) does so over a configured
/// `ApiRoute`, for clusters whose API server has a private endpoint.
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

/// The simplest check: healthy when the provider reports the cluster `Running`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportedPhase;

#[async_trait]
impl HealthCheck for ReportedPhase {
    async fn check(&self, cluster: &Cluster) -> Health {
        match &cluster.phase {
            ClusterPhase::Running => Health::Healthy,
            other => Health::Unhealthy { reason: format!("provider reports it {other}") },
        }
    }
}

/// The thorough check: the provider must report `Running` and the API server must answer the
/// probe with the cluster's credentials (the controller's default, without a check given, is
/// [`ReportedPhase`]). Credentials are fetched once per cluster and kept
/// (in memory only), fetched again when the API server rejects them, so steady-state checks
/// cost no provider calls.
pub struct PhaseAndProbe {
    provider: Arc<dyn ClusterProvider>,
    probe: Arc<dyn ApiProbe>,
    credentials: Mutex<BTreeMap<ClusterId, Credentials>>,
}

impl PhaseAndProbe {
    /// A check through `provider` (for phase and credentials) and `probe`.
    pub fn new(provider: Arc<dyn ClusterProvider>, probe: Arc<dyn ApiProbe>) -> Self {
        Self { provider, probe, credentials: Mutex::new(BTreeMap::new()) }
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
        let kept = lock(&self.credentials).get(&cluster.id).cloned();
        let credentials = match kept {
            Some(credentials) => credentials,
            None => match self.provider.credentials(&cluster.id).await {
                Ok(credentials) => {
                    lock(&self.credentials).insert(cluster.id.clone(), credentials.clone());
                    credentials
                }
                Err(err) if err.is_retryable() => return Health::Unknown { reason: format!("no credentials: {err}") },
                Err(err) => return unhealthy(format!("no credentials: {err}")),
            },
        };
        match self.probe.readyz(cluster, &credentials).await {
            Ok(()) => Health::Healthy,
            Err(err) => {
                if matches!(err, Error::Unauthenticated { .. } | Error::PermissionDenied { .. }) {
                    lock(&self.credentials).remove(&cluster.id);
                }
                unhealthy(format!("API server not ready: {err}"))
            }
        }
    }
}
