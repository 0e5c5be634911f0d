//! A team's own corner of a cluster: a namespace, a service account, a role limited to that
//! namespace and its binding, and a kubeconfig for that account only.

use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, PostParams};
use serde_json::json;

use super::ObjectRef;
use super::kube_addons::{api_error, api_for, apply};
use super::reach::{REACH_TIMEOUT, check_reachable};
use super::route::{ApiRoute, DirectRoute};
use crate::{Credentials, Error, Result, TeamName};

/// How long the tokens of [`team_credentials_through_admin`] stay valid: a day. A team asks
/// again (`ClusterProvider::team_credentials`) for fresh ones.
pub const TEAM_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// Team access set up with a provider's cluster-admin credentials, the API server reached
/// directly: [`team_credentials_over`] with [`DirectRoute`]. A provider's
/// `ClusterProvider::team_credentials` is one line:
///
/// ```no_run
/// # use fleet_core::{ClusterId, Credentials, Result, TeamName};
/// # struct MyCloud;
/// # impl MyCloud {
/// #     async fn admin_credentials(&self, id: &ClusterId) -> Result<Credentials> {
/// #         Ok(Credentials::from_token(id.as_str(), "https://10.0.0.1:6443", None, "admin-token".into()))
/// #     }
/// # }
/// # impl MyCloud {
/// async fn team_credentials(&self, id: &ClusterId, team: &TeamName) -> Result<Credentials> {
///     fleet_core::addons::team_credentials_through_admin(&self.admin_credentials(id).await?, id.as_str(), team).await
/// }
/// # }
/// ```
pub async fn team_credentials_through_admin(
    admin: &Credentials,
    cluster: &str,
    team: &TeamName,
) -> Result<Credentials> {
    team_credentials_over(&DirectRoute, admin, cluster, team).await
}

/// Team access over `route`: a client from the `admin` credentials, a reachability check
/// ([`check_reachable`], [`REACH_TIMEOUT`]), then [`grant_team_access`] with tokens valid for
/// [`TEAM_TOKEN_TTL`]. The team's credentials name the API server the admin credentials
/// name (the team reaches it over its own network path).
///
/// # Errors
/// An API server unreachable over the route is [`Error::Unavailable`] naming `cluster`, the
/// endpoint and the route; the API server's refusals are as [`grant_team_access`] maps them.
pub async fn team_credentials_over(
    route: &dyn ApiRoute,
    admin: &Credentials,
    cluster: &str,
    team: &TeamName,
) -> Result<Credentials> {
    let client = route.client(cluster, admin).await?;
    check_reachable(&client, cluster, admin.endpoint(), &route.describe(cluster), REACH_TIMEOUT).await?;
    grant_team_access(&client, admin, cluster, team, TEAM_TOKEN_TTL).await
}

/// Sets up `team`'s access to the cluster reached by `client` with the cluster-admin
/// `admin` credentials, and returns credentials for the team alone:
/// - namespace `team-<team>`;
/// - service account `<team>` there;
/// - role `<team>-edit`: every verb on every resource, in that namespace only;
/// - role binding `<team>-edit` of the role to the account;
/// - a token for the account (the TokenRequest API, valid for `token_ttl`, at least ten
///   minutes) in a kubeconfig whose context defaults to the namespace.
///
/// Applying is idempotent (server-side apply, field manager `fleet`).
pub async fn grant_team_access(
    client: &kube::Client,
    admin: &Credentials,
    cluster_name: &str,
    team: &TeamName,
    token_ttl: Duration,
) -> Result<Credentials> {
    let namespace = format!("team-{team}");
    let account = team.to_string();
    let role = format!("{team}-edit");
    let objects = [
        (
            ObjectRef { api_version: "v1".into(), kind: "Namespace".into(), namespace: None, name: namespace.clone() },
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {"fleet.dev/team": account}}}),
        ),
        (
            ObjectRef {
                api_version: "v1".into(),
                kind: "ServiceAccount".into(),
                namespace: Some(namespace.clone()),
                name: account.clone(),
            },
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account, "namespace": namespace}}),
        ),
        (
            ObjectRef {
                api_version: "rbac.authorization.k8s.io/v1".into(),
                kind: "Role".into(),
                namespace: Some(namespace.clone()),
                name: role.clone(),
            },
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": role, "namespace": namespace},
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
            }),
        ),
        (
            ObjectRef {
                api_version: "rbac.authorization.k8s.io/v1".into(),
                kind: "RoleBinding".into(),
                namespace: Some(namespace.clone()),
                name: role.clone(),
            },
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": role, "namespace": namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
            }),
        ),
    ];
    for (reference, body) in &objects {
        apply(&api_for(client, reference), reference, body, false).await?;
    }

    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &namespace);
    let request = TokenRequest {
        spec: k8s_openapi::api::authentication::v1::TokenRequestSpec {
            expiration_seconds: Some(token_ttl.as_secs().max(600) as i64),
            ..Default::default()
        },
        ..Default::default()
    };
    let issued: TokenRequest =
        accounts
            .create_subresource("token", &account, &PostParams::default(), &request)
            .await
            .map_err(|err| api_error(&format!("request a token for service account {namespace}/{account}"), err))?;
    let token = issued.status.map(|status| status.token).filter(|token| !token.is_empty()).ok_or_else(|| {
        Error::Provider { message: format!("the API server issued no token for {namespace}/{account}"), source: None }
    })?;

    let (server, ca_pem) = cluster_of(admin)?;
    Ok(Credentials::for_namespace(cluster_name, &server, ca_pem.as_deref(), token.into(), &namespace, &role))
}

/// The API server address and CA certificate (PEM) of the admin kubeconfig's current cluster.
fn cluster_of(admin: &Credentials) -> Result<(String, Option<String>)> {
    let invalid = |what: &str| Error::InvalidSpec {
        path: "credentials.kubeconfig".into(),
        reason: format!("the admin kubeconfig for {} {what}", admin.endpoint()),
    };
    let kubeconfig = kube::config::Kubeconfig::from_yaml(admin.expose_kubeconfig())
        .map_err(|_| invalid("is not a valid kubeconfig document"))?;
    let context_cluster = kubeconfig
        .current_context
        .as_ref()
        .and_then(|current| kubeconfig.contexts.iter().find(|c| &c.name == current))
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.clone());
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| context_cluster.as_ref().is_none_or(|name| &c.name == name))
        .and_then(|c| c.cluster.as_ref())
        .ok_or_else(|| invalid("names no cluster"))?;
    let server = cluster.server.clone().ok_or_else(|| invalid("names no server"))?;
    let ca_pem = match &cluster.certificate_authority_data {
        Some(data) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .ok()
                .and_then(|pem| String::from_utf8(pem).ok())
                .ok_or_else(|| invalid("has certificate-authority-data that is not base64 of a PEM"))?,
        ),
        None => None,
    };
    Ok((server, ca_pem))
}
