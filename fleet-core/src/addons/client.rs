//! A `kube::Client` from Fleet's [`Credentials`].

use crate::{Credentials, Error, Result};

/// A Kubernetes client for the cluster `credentials` reach (TLS through rustls with the
/// `aws-lc-rs` provider). The kubeconfig's content never appears in errors.
pub async fn kube_client(credentials: &Credentials) -> Result<kube::Client> {
    let invalid = |what: &str| Error::InvalidSpec {
        path: "credentials.kubeconfig".into(),
        reason: format!("the kubeconfig for {} {what}", credentials.endpoint()),
    };
    let kubeconfig = kube::config::Kubeconfig::from_yaml(credentials.expose_kubeconfig())
        .map_err(|_| invalid("is not a valid kubeconfig document"))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|_| invalid("names no usable cluster, user and context"))?;
    kube::Client::try_from(config).map_err(|err| Error::Provider {
        message: format!("cannot build a client for {}: {err}", credentials.endpoint()),
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
}
