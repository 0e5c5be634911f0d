//! [`SimulatedApiServerRoute`]: the route from the providers under test to the simulated
//! Kubernetes API server ([`fleet_core::conformance::SimulatedKubeApi`]) that serves the local
//! ARM's clusters.
//!
//! AKS names a cluster's API server by its FQDN (`<prefix>-<hash>.hcp.<location>.azmk8s.io`),
//! which the kubeconfig of `listClusterUserCredential` names as `https://<fqdn>:443`, and DNS
//! resolves it to the server. The simulated server listens on a local port and speaks plain
//! HTTP, with no certificate: this route sends every cluster's requests there, as a tunnel
//! would, and leaves the rest of the credentials (the bearer token) as they are.

use fleet_core::addons::{ApiRoute, kube_config};
use fleet_core::{Credentials, Error, Result};

/// Every cluster's API requests to the simulated server at `url`; see the [module](self)
/// documentation.
#[derive(Debug, Clone)]
pub struct SimulatedApiServerRoute {
    pub url: String,
}

#[fleet_core::async_trait]
impl ApiRoute for SimulatedApiServerRoute {
    async fn config(&self, cluster: &str, credentials: &Credentials) -> Result<kube::Config> {
        let mut config = kube_config(credentials).await?;
        config.proxy_url = None;
        // No CA: the simulated server presents no certificate to check it against.
        config.root_cert = None;
        config.cluster_url = self.url.parse().map_err(|_| Error::InvalidSpec {
            path: "route".into(),
            reason: format!("cluster `{cluster}`: `{}` is not a URL", self.url),
        })?;
        Ok(config)
    }

    fn describe(&self, _cluster: &str) -> String {
        format!("through {} (the simulated Kubernetes API server)", self.url)
    }
}
