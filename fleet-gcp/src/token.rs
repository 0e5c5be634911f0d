//! Where kubeconfig tokens come from: `google-cloud-auth` credentials (their OAuth access
//! token, the one `gcloud` would hand to `kubectl`), or a token given outright.

use fleet_core::{Error, Result};
use secrecy::SecretString;

/// A source of bearer tokens for clusters' API servers.
#[derive(Clone, Debug)]
pub(crate) enum TokenSource {
    /// The access token of these credentials.
    Google(google_cloud_auth::credentials::Credentials),
    /// This token.
    Fixed(SecretString),
}

impl TokenSource {
    /// A current token.
    pub(crate) async fn token(&self) -> Result<SecretString> {
        let credentials = match self {
            TokenSource::Fixed(token) => return Ok(token.clone()),
            TokenSource::Google(credentials) => credentials,
        };
        let headers = credentials
            .headers(http::Extensions::new())
            .await
            .map_err(|err| Error::Unauthenticated { message: format!("no Google access token: {err}") })?;
        let google_cloud_auth::credentials::CacheableResource::New { data, .. } = headers else {
            return Err(Error::Unauthenticated { message: "the credentials returned no new access token".into() });
        };
        data.get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| SecretString::from(token.to_owned()))
            .ok_or_else(|| Error::Unauthenticated {
                message: "the credentials give no bearer token (anonymous credentials cannot reach a cluster)".into(),
            })
    }
}
