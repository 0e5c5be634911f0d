//! Routes to a cluster's API server. A cluster whose API server has a private endpoint (EKS,
//! GKE and AKS private clusters) answers only inside its network: Fleet, outside it, reaches it
//! through what the user configures, an HTTP(S) or SOCKS5 proxy in that network
//! ([`ProxyRoute`]) or a tunnel or bastion address per cluster ([`EndpointRewrite`]). Every
//! other cluster is reached directly ([`DirectRoute`], the default). The add-on installer
//! ([`KubeAddons::with_route`](super::KubeAddons::with_route)), team access
//! ([`team_credentials_over`](super::team_credentials_over)) and the failover probe
//! ([`KubeApiProbe::with_route`](crate::failover::KubeApiProbe::with_route)) take the same
//! route.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;

use super::client::{client_from_config, direct_config};
use crate::{Credentials, Error, Result};

/// How Fleet reaches a cluster's API server.
///
/// Implement it for a route of your own (a tunnel opened on demand, say): start from
/// [`kube_config`](super::kube_config) of the credentials and change what the route changes.
#[async_trait]
pub trait ApiRoute: Send + Sync + fmt::Debug {
    /// The client configuration that reaches the API server of `cluster` (Fleet's cluster id)
    /// with `credentials` over this route.
    async fn config(&self, cluster: &str, credentials: &Credentials) -> Result<kube::Config>;

    /// How this route reaches `cluster`, for messages: `direct`, `through proxy
    /// socks5://bastion.internal:1080`, ... Never a secret (no proxy password).
    fn describe(&self, cluster: &str) -> String;

    /// A client for `cluster` over this route.
    async fn client(&self, cluster: &str, credentials: &Credentials) -> Result<kube::Client> {
        let config = self.config(cluster, credentials).await?;
        client_from_config(config, credentials.endpoint())
    }
}

/// Straight to the endpoint the credentials name: the default route. No proxy, whatever the
/// kubeconfig or the `HTTPS_PROXY` environment variable say (configure a [`ProxyRoute`] for
/// one).
///
/// ```
/// use fleet_core::addons::{ApiRoute, DirectRoute};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let admin = fleet_core::Credentials::from_token("web-1", "https://10.0.0.1:6443", None, "token".into());
/// let config = DirectRoute.config("web-1", &admin).await.unwrap();
/// assert_eq!(config.cluster_url.to_string(), "https://10.0.0.1:6443/");
/// assert!(config.proxy_url.is_none());
/// assert_eq!(DirectRoute.describe("web-1"), "direct");
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectRoute;

#[async_trait]
impl ApiRoute for DirectRoute {
    async fn config(&self, _cluster: &str, credentials: &Credentials) -> Result<kube::Config> {
        direct_config(credentials).await
    }

    fn describe(&self, _cluster: &str) -> String {
        "direct".into()
    }
}

/// Through a proxy that reaches the clusters' networks: `http://`, `https://` (HTTP
/// `CONNECT` tunnels; `user:password@` in the URL is sent as basic proxy authorization) or
/// `socks5://`. Every cluster goes through the proxy; TLS to the API server is end to end, its
/// certificate checked as on the direct route.
///
/// ```
/// use fleet_core::addons::{ApiRoute, ProxyRoute};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let route = ProxyRoute::new("socks5://ops:s3cr3t@bastion.internal:1080").unwrap();
/// assert_eq!(route.describe("web-1"), "through proxy socks5://bastion.internal:1080");
/// let admin = fleet_core::Credentials::from_token("web-1", "https://10.0.0.1:6443", None, "token".into());
/// let config = route.config("web-1", &admin).await.unwrap();
/// assert_eq!(config.proxy_url.unwrap().host(), Some("bastion.internal"));
///
/// let err = ProxyRoute::new("ftp://bastion.internal").unwrap_err().to_string();
/// assert!(err.contains("http, https or socks5"), "{err}");
/// # });
/// ```
#[derive(Clone)]
pub struct ProxyRoute {
    url: http::Uri,
    shown: String,
}

impl ProxyRoute {
    /// A route through the proxy at `url` (scheme `http`, `https` or `socks5`, and a host).
    pub fn new(url: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidSpec { path: "route.proxy".into(), reason };
        let parsed: http::Uri = url.parse().map_err(|_| invalid("the proxy URL is not a valid URL".into()))?;
        let scheme = parsed.scheme_str().unwrap_or_default().to_owned();
        if !matches!(scheme.as_str(), "http" | "https" | "socks5") {
            return Err(invalid(format!(
                "the proxy URL's scheme is `{scheme}`; expected http, https or socks5 (e.g. socks5://bastion:1080)"
            )));
        }
        let Some(authority) = parsed.authority() else {
            return Err(invalid("the proxy URL names no host".into()));
        };
        let host_port = authority.as_str().rsplit_once('@').map_or(authority.as_str(), |(_, host)| host);
        let shown = format!("{scheme}://{host_port}");
        Ok(Self { url: parsed, shown })
    }
}

impl fmt::Debug for ProxyRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyRoute").field("url", &self.shown).finish()
    }
}

#[async_trait]
impl ApiRoute for ProxyRoute {
    async fn config(&self, _cluster: &str, credentials: &Credentials) -> Result<kube::Config> {
        let mut config = direct_config(credentials).await?;
        config.proxy_url = Some(self.url.clone());
        Ok(config)
    }

    fn describe(&self, _cluster: &str) -> String {
        format!("through proxy {}", self.shown)
    }
}

/// Another address per cluster: a local end of an SSH tunnel, a bastion's forwarded port, a
/// private DNS name reachable from where Fleet runs. The API server's certificate is still
/// checked against the host the credentials name (TLS server name), so a tunnel cannot stand
/// in for another server. No proxy is used; clusters without an address of their own are
/// reached directly.
///
/// ```
/// use fleet_core::addons::{ApiRoute, EndpointRewrite};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let route = EndpointRewrite::new().endpoint("web-1", "https://127.0.0.1:16443").unwrap();
/// let admin = fleet_core::Credentials::from_token("web-1", "https://api.web-1.internal:6443", None, "t".into());
/// let config = route.config("web-1", &admin).await.unwrap();
/// assert_eq!(config.cluster_url.to_string(), "https://127.0.0.1:16443/");
/// assert_eq!(config.tls_server_name.as_deref(), Some("api.web-1.internal"));
/// assert_eq!(route.describe("web-1"), "through https://127.0.0.1:16443");
/// assert_eq!(route.describe("web-2"), "direct");
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct EndpointRewrite {
    endpoints: BTreeMap<String, http::Uri>,
}

impl EndpointRewrite {
    /// No rewrites yet: every cluster direct.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reaches `cluster`'s API server at `url` (`https://host:port`, or `http://` for a
    /// plain-text local stand-in).
    pub fn endpoint(mut self, cluster: &str, url: &str) -> Result<Self> {
        let parsed: http::Uri = url.parse().map_err(|_| Error::InvalidSpec {
            path: format!("route.endpoints.{cluster}"),
            reason: format!("`{url}` is not a valid URL"),
        })?;
        if !matches!(parsed.scheme_str(), Some("https" | "http")) || parsed.host().is_none() {
            return Err(Error::InvalidSpec {
                path: format!("route.endpoints.{cluster}"),
                reason: format!("`{url}` is not an https:// (or http://) URL with a host"),
            });
        }
        self.endpoints.insert(cluster.to_owned(), parsed);
        Ok(self)
    }
}

#[async_trait]
impl ApiRoute for EndpointRewrite {
    async fn config(&self, cluster: &str, credentials: &Credentials) -> Result<kube::Config> {
        let mut config = direct_config(credentials).await?;
        if let Some(url) = self.endpoints.get(cluster) {
            if config.tls_server_name.is_none() {
                config.tls_server_name = config.cluster_url.host().map(str::to_owned);
            }
            config.cluster_url = url.clone();
        }
        Ok(config)
    }

    fn describe(&self, cluster: &str) -> String {
        match self.endpoints.get(cluster) {
            Some(url) => format!("through {}", url.to_string().trim_end_matches('/')),
            None => "direct".into(),
        }
    }
}
