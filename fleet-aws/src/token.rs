//! EKS bearer tokens, made the way `aws eks get-token` makes them: a presigned STS
//! `GetCallerIdentity` URL whose signature covers the header `x-k8s-aws-id: <cluster>`, valid
//! for 60 seconds, base64url-encoded (no padding) behind `k8s-aws-v1.`.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use fleet_core::{Error, Result};
use secrecy::SecretString;

/// How long a token's presigned URL is valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// A token for cluster `cluster_name`, signed with `credentials` for STS in `region` at `now`.
///
/// ```
/// use std::time::SystemTime;
/// use aws_credential_types::Credentials;
/// use secrecy::ExposeSecret;
/// let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "example");
/// let token = fleet_aws::eks_token(&credentials, "eu-west-1", "web-1", SystemTime::now()).unwrap();
/// assert!(token.expose_secret().starts_with("k8s-aws-v1."));
/// ```
pub fn eks_token(
    credentials: &AwsCredentials,
    region: &str,
    cluster_name: &str,
    now: SystemTime,
) -> Result<SecretString> {
    let url = format!("https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15");
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|err| signing_error(&err.to_string()))?
        .into();
    let headers = [("x-k8s-aws-id", cluster_name)];
    let signable = SignableRequest::new("GET", &url, headers.into_iter(), SignableBody::Bytes(&[]))
        .map_err(|err| signing_error(&err.to_string()))?;
    let (instructions, _) = sign(signable, &params).map_err(|err| signing_error(&err.to_string()))?.into_parts();
    let mut request = http::Request::builder()
        .method("GET")
        .uri(&url)
        .header("x-k8s-aws-id", cluster_name)
        .body(())
        .map_err(|err| signing_error(&err.to_string()))?;
    instructions.apply_to_request_http1x(&mut request);
    let presigned = request.uri().to_string();
    Ok(format!("k8s-aws-v1.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned)).into())
}

fn signing_error(reason: &str) -> Error {
    Error::Provider { message: format!("signing an EKS token: {reason}"), source: None }
}
