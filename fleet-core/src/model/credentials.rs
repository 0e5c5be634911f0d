//! Credentials for a cluster's API, kept secret.

use std::fmt;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

/// Access to a cluster's API: a kubeconfig, held as a secret.
///
/// `Debug` and `Display` print `[redacted]`; the kubeconfig is reached only through
/// [`Credentials::expose_kubeconfig`], whose name marks every place a secret leaves.
///
/// ```
/// use fleet_core::Credentials;
/// let creds = Credentials::from_token(
///     "web-1",
///     "https://10.0.0.1:6443",
///     Some("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
///     "s3cr3t-token".into(),
/// );
/// assert_eq!(format!("{creds:?}"), "Credentials([redacted])");
/// assert!(!format!("{creds}").contains("s3cr3t"));
/// assert!(creds.expose_kubeconfig().contains("token: \"s3cr3t-token\""));
/// assert_eq!(creds.endpoint(), "https://10.0.0.1:6443");
/// ```
#[derive(Clone)]
pub struct Credentials {
    endpoint: String,
    kubeconfig: SecretString,
    scope: CredentialScope,
}

/// What credentials may do in their cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialScope {
    /// Everything: the cluster's administrator. Never handed to teams.
    ClusterAdmin,
    /// Only what a namespaced role allows in one namespace.
    Namespace {
        /// The namespace.
        namespace: String,
        /// The role bound to the credentials' identity there.
        role: String,
    },
}

impl Credentials {
    /// Wraps a complete kubeconfig for the cluster whose API server is at `endpoint`.
    pub fn from_kubeconfig(endpoint: impl Into<String>, kubeconfig: SecretString) -> Self {
        Self { endpoint: endpoint.into(), kubeconfig, scope: CredentialScope::ClusterAdmin }
    }

    /// Builds a kubeconfig for one cluster from its endpoint, its CA certificate (PEM) and a
    /// bearer token. The kubeconfig's cluster, user and context are all named `cluster_name`.
    pub fn from_token(cluster_name: &str, endpoint: &str, ca_pem: Option<&str>, token: SecretString) -> Self {
        let quote = |value: &str| serde_json::Value::from(value).to_string();
        let ca_line = match ca_pem {
            Some(pem) => format!(
                "    certificate-authority-data: {}\n",
                quote(&base64::engine::general_purpose::STANDARD.encode(pem))
            ),
            None => String::new(),
        };
        let name = quote(cluster_name);
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\n{ca_line}\
             users:\n- name: {name}\n  user:\n    token: {token}\n\
             contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n\
             current-context: {name}\n",
            server = quote(endpoint),
            token = quote(token.expose_secret()),
        );
        Self { endpoint: endpoint.to_owned(), kubeconfig: kubeconfig.into(), scope: CredentialScope::ClusterAdmin }
    }

    /// Credentials for one namespace: a kubeconfig whose context defaults to `namespace`, for a
    /// bearer `token` that the cluster binds to `role` there only.
    pub fn for_namespace(
        cluster_name: &str,
        endpoint: &str,
        ca_pem: Option<&str>,
        token: SecretString,
        namespace: &str,
        role: &str,
    ) -> Self {
        let mut credentials = Self::from_token(cluster_name, endpoint, ca_pem, token);
        let quoted = serde_json::Value::from(namespace).to_string();
        let yaml = credentials
            .kubeconfig
            .expose_secret()
            .replace("\n    user: ", &format!("\n    namespace: {quoted}\n    user: "));
        credentials.kubeconfig = yaml.into();
        credentials.scope = CredentialScope::Namespace { namespace: namespace.to_owned(), role: role.to_owned() };
        credentials
    }

    /// What these credentials may do.
    pub fn scope(&self) -> &CredentialScope {
        &self.scope
    }

    /// The API server URL (not a secret).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The kubeconfig YAML, for `kubectl` and other tools. Handle it as a secret.
    pub fn expose_kubeconfig(&self) -> &str {
        self.kubeconfig.expose_secret()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials([redacted])")
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            CredentialScope::ClusterAdmin => write!(f, "cluster-admin credentials for {} ([redacted])", self.endpoint),
            CredentialScope::Namespace { namespace, .. } => {
                write!(f, "credentials for namespace `{namespace}` of {} ([redacted])", self.endpoint)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_quotes_hostile_values() {
        let creds = Credentials::from_token("a\"b\nc", "https://h", None, "t\"\n: x".into());
        let yaml = creds.expose_kubeconfig();
        assert!(yaml.contains(r#"token: "t\"\n: x""#), "{yaml}");
        assert!(yaml.contains(r#"- name: "a\"b\nc""#), "{yaml}");
        assert!(!yaml.contains("certificate-authority-data"));
    }

    #[test]
    fn namespace_credentials_default_to_their_namespace() {
        let creds = Credentials::for_namespace("c", "https://h", None, "t".into(), "payments", "fleet-team");
        assert!(
            creds.expose_kubeconfig().contains("    namespace: \"payments\"\n    user: \"c\""),
            "{}",
            creds.expose_kubeconfig()
        );
        assert_eq!(
            creds.scope(),
            &CredentialScope::Namespace { namespace: "payments".into(), role: "fleet-team".into() }
        );
        assert_eq!(format!("{creds:?}"), "Credentials([redacted])");
        assert!(creds.to_string().contains("namespace `payments`"));
    }

    #[test]
    fn ca_is_base64_of_the_pem() {
        let creds = Credentials::from_token("c", "https://h", Some("PEM"), "t".into());
        assert!(creds.expose_kubeconfig().contains("certificate-authority-data: \"UEVN\""));
    }
}
