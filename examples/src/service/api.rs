//! The HTTP API: health, the fleet's clusters, plan and status, teams' environments and the
//! metrics.
//!
//! | route | answer |
//! |---|---|
//! | `GET /healthz` | 200 while the process serves |
//! | `GET /readyz` | 200 once the engine finished a pass, 503 before |
//! | `GET /v1/clusters` | the clusters at the last observation (JSON) |
//! | `GET /v1/plan` | what the next pass would do (JSON) |
//! | `GET /v1/status` | where the fleet stands, calls, failover, the repository's reloads (JSON) |
//! | `POST /v1/environments` | a team's environment request: 202 and where to follow it |
//! | `GET /v1/environments` | the team's environments |
//! | `GET /v1/environments/{id}` | one of them, with namespace credentials once it runs |
//! | `DELETE /v1/environments/{id}` | deletes it: 202 |
//! | `GET /metrics` | Prometheus text |
//!
//! Every `/v1` route takes a team's bearer token (401 without one, or with one nobody has);
//! errors are `application/problem+json`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fleet::fleet_spec::EnvironmentRequest;
use fleet::model::{ClusterId, TeamName};
use fleet::runtime::Runtime;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::Value;

use super::environments::EnvironmentView;
use super::problem::Problem;
use super::reload::ReloadState;
use super::tokens::Tokens;

/// The largest request body taken: an environment request is a few hundred bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    /// Fleet.
    pub runtime: Runtime,
    /// Teams' tokens.
    pub tokens: Arc<Tokens>,
    /// The Prometheus exporter's handle, when the service installed it.
    pub metrics: Option<PrometheusHandle>,
    /// Whether the engine has finished a pass.
    pub ready: Arc<AtomicBool>,
    /// The repository's reloads.
    pub reloads: Arc<Mutex<ReloadState>>,
}

/// The routes.
pub fn router(api: Api) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/clusters", get(clusters))
        .route("/v1/plan", get(plan))
        .route("/v1/status", get(status))
        .route("/v1/environments", get(list_environments).post(create_environment))
        .route("/v1/environments/{id}", get(get_environment).delete(delete_environment))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(api)
}

/// The team whose bearer token came with the request.
pub struct Team(TeamName);

impl FromRequestParts<Api> for Team {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, Problem> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_token)
            .ok_or_else(|| Problem::unauthorized("a bearer token is required (`Authorization: Bearer <token>`)"))?;
        api.tokens.team_of(presented.trim()).map(Team).ok_or_else(|| Problem::unauthorized("unknown bearer token"))
    }
}

/// The token of an `Authorization` header's value of the `Bearer` scheme (whose name is
/// case-insensitive, RFC 9110).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

async fn readyz(State(api): State<Api>) -> Result<&'static str, Problem> {
    if api.ready.load(Ordering::Acquire) {
        Ok("ready\n")
    } else {
        Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the engine has not finished its first pass"))
    }
}

async fn metrics(State(api): State<Api>) -> Response {
    match &api.metrics {
        Some(handle) => {
            let mut response = handle.render().into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
            response
        }
        None => Problem::new(StatusCode::NOT_FOUND, "this service records no metrics").into_response(),
    }
}

async fn clusters(_: Team, State(api): State<Api>) -> Response {
    axum::Json(api.runtime.engine().observed()).into_response()
}

async fn plan(_: Team, State(api): State<Api>) -> Result<Response, Problem> {
    Ok(axum::Json(api.runtime.plan().await?).into_response())
}

async fn status(_: Team, State(api): State<Api>) -> Result<Response, Problem> {
    let mut status = serde_json::to_value(api.runtime.status().await?)
        .map_err(|err| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()))?;
    let reloads = api.reloads.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    if let (Some(object), Ok(reloads)) = (status.as_object_mut(), serde_json::to_value(reloads)) {
        object.insert("repository".into(), reloads);
    }
    Ok(axum::Json(status).into_response())
}

async fn create_environment(Team(team): Team, State(api): State<Api>, body: Bytes) -> Result<Response, Problem> {
    let request = environment_request(&team, &body)?;
    let accepted = api.runtime.self_service().request(request).await?;
    let location = format!("/v1/environments/{}", accepted.id());
    let mut response = (StatusCode::ACCEPTED, axum::Json(EnvironmentView::accepted(&accepted))).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn list_environments(Team(team): Team, State(api): State<Api>) -> Result<Response, Problem> {
    let environments = api.runtime.self_service().environments(&team).await?;
    Ok(axum::Json(environments.iter().map(EnvironmentView::accepted).collect::<Vec<_>>()).into_response())
}

async fn get_environment(
    Team(team): Team,
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let state = api.runtime.self_service().environment(&team, &environment_id(&id)?).await?;
    Ok(axum::Json(EnvironmentView::of(&state)?).into_response())
}

async fn delete_environment(
    Team(team): Team,
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    api.runtime.self_service().delete(&team, &environment_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(serde_json::json!({ "name": id, "deleting": true }))).into_response())
}

/// `id` from a path, or a 404: no environment has a name that is not a cluster id.
fn environment_id(id: &str) -> Result<ClusterId, Problem> {
    ClusterId::new(id).map_err(|err| Problem::new(StatusCode::NOT_FOUND, format!("no environment `{id}`: {err}")))
}

/// The environment request in `body` (a JSON object of the request's fields), for `team`: the
/// body may name the team, but only the token's.
fn environment_request(team: &TeamName, body: &[u8]) -> Result<EnvironmentRequest, Problem> {
    let mut value: Value =
        serde_json::from_slice(body).map_err(|err| Problem::bad_request(format!("the body is not JSON: {err}")))?;
    let Some(object) = value.as_object_mut() else {
        return Err(Problem::bad_request("the body must be a JSON object: an environment request's fields"));
    };
    match object.get("team") {
        None => {
            object.insert("team".into(), Value::from(team.as_str()));
        }
        Some(Value::String(named)) if named == team.as_str() => {}
        Some(named) => {
            return Err(Problem::forbidden(format!("the request is for team {named}; the token is team `{team}`'s")));
        }
    }
    serde_path_to_error::deserialize(value)
        .map_err(|err| Problem::bad_request(format!("at `{}`: {}", err.path(), err.inner())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payments() -> TeamName {
        TeamName::new("payments").unwrap()
    }

    #[test]
    fn the_bearer_scheme_is_read_whatever_its_case() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }

    #[test]
    fn a_request_takes_the_tokens_team() {
        let body =
            br#"{"name": "dev-1", "blueprint": "web-app", "provider": "sim-aws", "region": "us-east-1", "ttl": "4h"}"#;
        let request = environment_request(&payments(), body).unwrap();
        assert_eq!(request.team, payments());
        assert_eq!(request.ttl, Some(std::time::Duration::from_secs(4 * 3600)));
    }

    #[test]
    fn a_malformed_body_says_where() {
        let err = environment_request(&payments(), b"{\"name\": ").unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        let body =
            br#"{"name": "dev-1", "blueprint": "web-app", "provider": "sim-aws", "region": "us-east-1", "ttl": 4}"#;
        let err = environment_request(&payments(), body).unwrap_err();
        assert!(format!("{err:?}").contains("at `ttl`"), "{err:?}");
        let err = environment_request(&payments(), b"[1]").unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_request_for_another_team_is_forbidden() {
        let body = br#"{"name": "dev-1", "team": "analytics", "blueprint": "web-app", "provider": "sim-aws", "region": "us-east-1"}"#;
        assert_eq!(environment_request(&payments(), body).unwrap_err().status(), StatusCode::FORBIDDEN);
    }
}
