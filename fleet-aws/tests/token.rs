//! EKS tokens decode to a presigned STS `GetCallerIdentity` URL signed for the cluster.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use base64::Engine as _;
use secrecy::ExposeSecret;

fn query(url: &str) -> Vec<(String, String)> {
    let (_, query) = url.split_once('?').unwrap();
    query
        .split('&')
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap();
            (key.to_owned(), value.replace("%2F", "/").replace("%3B", ";"))
        })
        .collect()
}

#[test]
fn the_token_is_a_presigned_get_caller_identity_url_signing_the_cluster_header() {
    let credentials = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "test");
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01
    let token = fleet_aws::eks_token(&credentials, "eu-west-1", "web-1", at).unwrap();
    let token = token.expose_secret();
    let encoded = token.strip_prefix("k8s-aws-v1.").expect("the k8s-aws-v1. prefix");
    assert!(!encoded.contains('='), "base64url without padding");
    let url = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap();
    assert!(url.starts_with("https://sts.eu-west-1.amazonaws.com/?"), "{url}");
    let params = query(&url);
    let get = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or_default();
    assert_eq!(get("Action"), "GetCallerIdentity");
    assert_eq!(get("Version"), "2011-06-15");
    assert_eq!(get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
    assert_eq!(get("X-Amz-Credential"), "AKIDEXAMPLE/20260101/eu-west-1/sts/aws4_request");
    assert_eq!(get("X-Amz-Date"), "20260101T000000Z");
    assert_eq!(get("X-Amz-Expires"), "60");
    assert_eq!(get("X-Amz-SignedHeaders"), "host;x-k8s-aws-id", "the cluster name header is signed");
    let signature = get("X-Amz-Signature");
    assert_eq!(signature.len(), 64);
    assert!(signature.chars().all(|c| c.is_ascii_hexdigit()));

    let again = fleet_aws::eks_token(&credentials, "eu-west-1", "web-1", at).unwrap();
    assert_eq!(again.expose_secret(), token, "deterministic for the same inputs");
    let other = fleet_aws::eks_token(&credentials, "eu-west-1", "web-2", at).unwrap();
    let other_url = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(other.expose_secret().strip_prefix("k8s-aws-v1.").unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_ne!(query(&other_url).last(), params.last(), "another cluster, another signature");
}
