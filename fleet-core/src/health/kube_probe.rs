//! [`KubeApiProbe`]: the API server probe of a real cluster, `GET /readyz` over the same
//! [`ApiRoute`] the add-on installer uses, so that clusters with a private endpoint are probed
//! through the proxy or tunnel that reaches them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::ApiProbe;
use crate::addons::{ApiRoute, DirectRoute};
use crate::{Cluster, Credentials, Error, Result};

/// How long a probe waits for `/readyz` by default.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Probes `GET /readyz` with the cluster's credentials over an [`ApiRoute`] (direct unless
/// [`with_route`](Self::with_route) says otherwise), waiting at most [`PROBE_TIMEOUT`].
///
/// An API server that does not answer over the route is [`Error::Unavailable`] naming the
/// cluster, the endpoint and the route; one that answers not ready is
/// [`Error::Unavailable`] with its answer; its refusals (401, 403) are
/// [`Error::Unauthenticated`] / [`Error::PermissionDenied`], after which
/// [`PhaseAndProbe`](super::PhaseAndProbe) fetches fresh credentials.
///
/// ```
/// use std::sync::Arc;
/// use fleet_core::addons::ProxyRoute;
/// use fleet_core::failover::{ApiProbe, KubeApiProbe};
/// let probe = KubeApiProbe::new()
///     .with_route(Arc::new(ProxyRoute::new("http://proxy.internal:3128").unwrap()));
/// let _: &dyn ApiProbe = &probe;
/// assert_eq!(probe.route().describe("web-1"), "through proxy http://proxy.internal:3128");
/// ```
#[derive(Debug, Clone)]
pub struct KubeApiProbe {
    route: Arc<dyn ApiRoute>,
    timeout: Duration,
}

impl Default for KubeApiProbe {
    fn default() -> Self {
        Self { route: Arc::new(DirectRoute), timeout: PROBE_TIMEOUT }
    }
}

impl KubeApiProbe {
    /// A probe that reaches API servers directly.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reaches API servers over `route`.
    pub fn with_route(mut self, route: Arc<dyn ApiRoute>) -> Self {
        self.route = route;
        self
    }

    /// How long one probe waits ([`PROBE_TIMEOUT`] unless set).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The route this probe takes.
    pub fn route(&self) -> &dyn ApiRoute {
        self.route.as_ref()
    }
}

#[async_trait]
impl ApiProbe for KubeApiProbe {
    async fn readyz(&self, cluster: &Cluster, credentials: &Credentials) -> Result<()> {
        let name = cluster.id.as_str();
        let client = self.route.client(name, credentials).await?;
        let request = http::Request::get("/readyz").body(Vec::new()).map_err(|err| Error::Provider {
            message: format!("cluster `{name}`: cannot build GET /readyz: {err}"),
            source: None,
        })?;
        let route = self.route.describe(name);
        let endpoint = credentials.endpoint();
        match tokio::time::timeout(self.timeout, client.request_text(request)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(kube::Error::Api(status))) => match status.code {
                401 => Err(Error::Unauthenticated {
                    message: format!("cluster `{name}`: GET /readyz: {}", status.message),
                }),
                403 => Err(Error::PermissionDenied {
                    message: format!("cluster `{name}`: GET /readyz: {}", status.message),
                }),
                code => Err(Error::Unavailable {
                    message: format!("cluster `{name}`: GET /readyz answered {code} (not ready): {}", status.message),
                }),
            },
            Ok(Err(err)) => Err(crate::addons::unreachable(name, endpoint, &route, &err.to_string())),
            Err(_) => Err(crate::addons::unreachable(
                name,
                endpoint,
                &route,
                &format!("no answer to GET /readyz within {:?}", self.timeout),
            )),
        }
    }
}
