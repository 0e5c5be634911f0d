//! Teams' environments as the API shows them: what was asked, where its cluster stands and, once
//! it runs, credentials for the team's namespace (never the cluster's administrator's).

use fleet::fleet_spec::EnvironmentRequest;
use fleet::model::{CredentialScope, Credentials};
use fleet::self_service::EnvironmentState;
use fleet::store::AcceptedEnvironment;
use serde::Serialize;

use super::problem::Problem;

/// An environment in an answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentView {
    /// What the team asked for (`name`, `team`, `blueprint`, `provider`, `region`, …).
    #[serde(flatten)]
    request: EnvironmentRequest,
    /// Seconds since the Unix epoch, by the engine's clock.
    accepted_at: u64,
    /// The cluster's phase at the last observation (`pending` before it was seen).
    phase: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials: Option<TeamCredentials>,
}

/// Credentials for one namespace of the environment's cluster.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TeamCredentials {
    endpoint: String,
    namespace: String,
    role: String,
    kubeconfig: String,
}

impl std::fmt::Debug for TeamCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamCredentials").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

impl EnvironmentView {
    /// `environment` as accepted, its cluster not yet seen.
    pub fn accepted(environment: &AcceptedEnvironment) -> Self {
        Self {
            request: environment.request.clone(),
            accepted_at: environment
                .accepted_at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_secs()),
            phase: "pending".into(),
            credentials: None,
        }
    }

    /// `state`, with its credentials when its cluster runs.
    ///
    /// # Errors
    /// A 500 answer when the provider handed back credentials for more than one namespace: they
    /// are never passed on.
    pub fn of(state: &EnvironmentState) -> Result<Self, Problem> {
        let mut view = Self::accepted(&state.environment);
        if let Some(phase) = &state.phase {
            view.phase = phase.name().to_owned();
        }
        view.credentials = state.credentials.as_ref().map(team_credentials).transpose()?;
        Ok(view)
    }
}

fn team_credentials(credentials: &Credentials) -> Result<TeamCredentials, Problem> {
    match credentials.scope() {
        CredentialScope::Namespace { namespace, role } => Ok(TeamCredentials {
            endpoint: credentials.endpoint().to_owned(),
            namespace: namespace.clone(),
            role: role.clone(),
            kubeconfig: credentials.expose_kubeconfig().to_owned(),
        }),
        _ => Err(Problem::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "the provider handed back credentials wider than the team's namespace; they are not passed on",
        )),
    }
}
