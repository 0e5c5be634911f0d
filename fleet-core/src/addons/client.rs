//! A `kube::Client` from Fleet's [`Credentials`].

use crate::{Credentials, Error, Result};

/// A Kubernetes client for the cluster `credentials` reach, directly, as
/// [`DirectRoute`](super::DirectRoute) does (TLS through rustls with the `aws-lc-rs` provider).
/// The kubeconfig's content never appears in errors. For another route, see
/// [`ApiRoute::client`](super::ApiRoute::client).
pub async fn kube_client(credentials: &Credentials) -> Result<kube::Client> {
    client_from_config(direct_config(credentials).await?, credentials.endpoint())
}

/// The client configuration of `credentials`' kubeconfig (its current context) as `kubectl`
/// reads it: with the kubeconfig's `proxy-url`, else the `HTTPS_PROXY` environment variable
/// unless `NO_PROXY` exempts it. The start of a route of your own
/// ([`ApiRoute::config`](super::ApiRoute::config)); Fleet's own routes set the proxy
/// themselves.
pub async fn kube_config(credentials: &Credentials) -> Result<kube::Config> {
    let invalid = |what: &str| Error::InvalidSpec {
        path: "credentials.kubeconfig".into(),
        reason: format!("the kubeconfig for {} {what}", credentials.endpoint()),
    };
    let kubeconfig = kube::config::Kubeconfig::from_yaml(credentials.expose_kubeconfig())
        .map_err(|_| invalid("is not a valid kubeconfig document"))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|_| invalid("names no usable cluster, user and context"))
}

/// [`kube_config`] without a proxy: straight to the API server, whatever the environment says,
/// so that a route's description is what it does.
pub(crate) async fn direct_config(credentials: &Credentials) -> Result<kube::Config> {
    let mut config = kube_config(credentials).await?;
    config.proxy_url = None;
    Ok(config)
}

/// A client from `config`, for the cluster at `endpoint` (named in errors).
pub(crate) fn client_from_config(config: kube::Config, endpoint: &str) -> Result<kube::Client> {
    kube::Client::try_from(config).map_err(|err| Error::Provider {
        message: format!("cannot build a client for {endpoint}: {err}"),
        source: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_kubeconfig_gives_a_tls_client_and_bad_ones_a_clear_error() {
        let credentials = Credentials::from_token(
            "c1",
            "https://c1.example.invalid:6443",
            None,
            secrecy::SecretString::from("s3cr3t-token"),
        );
        let client = kube_client(&credentials).await.unwrap();
        assert_eq!(client.default_namespace(), "default");

        let broken = Credentials::from_kubeconfig("https://x.invalid", "s3cr3t: [".to_owned().into());
        let Err(err) = kube_client(&broken).await else { panic!("a broken kubeconfig gave a client") };
        let err = err.to_string();
        assert!(err.contains("not a valid kubeconfig") && !err.contains("s3cr3t"), "{err}");
    }

    #[tokio::test]
    async fn the_direct_configuration_ignores_a_kubeconfig_proxy() {
        let kubeconfig = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://c.invalid\n    proxy-url: socks5://elsewhere.invalid:1080\nusers:\n- name: c\n  user:\n    token: t\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: c\ncurrent-context: c\n";
        let credentials = Credentials::from_kubeconfig("https://c.invalid", kubeconfig.to_owned().into());
        let as_kubectl = kube_config(&credentials).await.unwrap();
        assert_eq!(as_kubectl.proxy_url.map(|u| u.to_string()), Some("socks5://elsewhere.invalid:1080/".to_owned()));
        assert_eq!(direct_config(&credentials).await.unwrap().proxy_url, None);
    }
}
