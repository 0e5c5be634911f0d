//! [`SimulatedPlainHttpRoute`]: the route to the simulated Kubernetes API server
//! ([`fleet_core::conformance::SimulatedKubeApi`]) behind the local GKE API's clusters.
//!
//! GKE reports a cluster's endpoint as an address, and the provider reaches it over HTTPS
//! (`https://<endpoint>`), checked against `masterAuth.clusterCaCertificate`. The simulated
//! API server speaks plain HTTP on a local port, with no certificate: this route reaches the
//! same host and port over `http://`, and leaves the rest of the admin credentials (the
//! bearer token) as they are.

use fleet_core::addons::{ApiRoute, kube_config};
use fleet_core::{Credentials, Error, Result};

/// Plain HTTP to the host and port the credentials name; see the [module](self) documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimulatedPlainHttpRoute;

#[fleet_core::async_trait]
impl ApiRoute for SimulatedPlainHttpRoute {
    async fn config(&self, cluster: &str, credentials: &Credentials) -> Result<kube::Config> {
        let mut config = kube_config(credentials).await?;
        config.proxy_url = None;
        // No CA: the simulated server presents no certificate to check it against.
        config.root_cert = None;
        let authority = config.cluster_url.authority().map(|a| a.as_str().to_owned()).unwrap_or_default();
        config.cluster_url = format!("http://{authority}").parse().map_err(|_| Error::InvalidSpec {
            path: "credentials.kubeconfig".into(),
            reason: format!("cluster `{cluster}`: `{authority}` is not a host and port"),
        })?;
        Ok(config)
    }

    fn describe(&self, _cluster: &str) -> String {
        "plain HTTP to the simulated Kubernetes API server".into()
    }
}
