//! Is a cluster's API server reachable over the configured route? Asked before anything is
//! applied, with a bounded wait, so that an API server Fleet cannot reach (a private endpoint
//! without a route, a proxy down) is a named failure at once, never a silent wait.

use std::time::Duration;

use super::kube_addons::api_error;
use crate::{Error, Result};

/// How long the reachability check waits for the API server's answer by default.
pub const REACH_TIMEOUT: Duration = Duration::from_secs(10);

/// Asks the API server behind `client` for its version (`GET /version`), waiting at most
/// `timeout`. `cluster`, `endpoint` and `route` (an [`ApiRoute::describe`](super::ApiRoute::describe))
/// name what was tried in the error.
///
/// # Errors
/// - [`Error::Unavailable`] when no answer came (connection refused or cut, DNS, the proxy
///   refused the tunnel, nothing within `timeout`): the message names the cluster, the
///   endpoint and the route, says the API server is unreachable over it, and that an API
///   server with a private endpoint needs a route configured for it.
/// - The API server's own refusal (401 [`Error::Unauthenticated`], 403
///   [`Error::PermissionDenied`], ...) when it answered: it was reached.
pub async fn check_reachable(
    client: &kube::Client,
    cluster: &str,
    endpoint: &str,
    route: &str,
    timeout: Duration,
) -> Result<()> {
    match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err @ kube::Error::Api(_))) => Err(api_error(&format!("cluster `{cluster}`: GET /version"), err)),
        Ok(Err(kube::Error::SerdeError(_))) => Err(Error::Provider {
            message: format!(
                "cluster `{cluster}`: {endpoint} answered GET /version over the configured route ({route}), \
                 but not as a Kubernetes API server does"
            ),
            source: None,
        }),
        Ok(Err(err)) => Err(unreachable(cluster, endpoint, route, &err.to_string())),
        Err(_) => Err(unreachable(cluster, endpoint, route, &format!("no answer to GET /version within {timeout:?}"))),
    }
}

/// The error of an API server that did not answer.
pub(crate) fn unreachable(cluster: &str, endpoint: &str, route: &str, cause: &str) -> Error {
    Error::Unavailable {
        message: format!(
            "cluster `{cluster}`: its API server at {endpoint} is unreachable over the configured route \
             ({route}): {cause}. An API server with a private endpoint answers only inside its network: \
             configure a route that reaches it (fleet_core::addons::ProxyRoute or EndpointRewrite)"
        ),
    }
}
