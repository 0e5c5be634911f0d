//! The reference service over a real socket with a real HTTP client, on **simulated** clouds at
//! service speed: every status code of its API, a team's environment created, listed and
//! deleted, metrics after a pass, a broken repository change refused, and a stop during a create
//! followed by a restart that finishes it without a second cluster.

use std::path::PathBuf;
use std::time::Duration;

use fleet::model::ClusterPhase;
use fleet::sim::SimCloud;
use fleet_examples::service::{self, Providers, RunningService, ServiceConfig};
use reqwest::StatusCode;
use serde_json::Value;

const PAYMENTS: &str = "payments-token-0123456789";
const ANALYTICS: &str = "analytics-token-0123456789";
const PATIENCE: Duration = Duration::from_secs(90);

/// A repository, a tokens file and a state file of the test's own, and the simulated clouds
/// the service runs on (kept across restarts, as real clouds would be).
struct Setup {
    dir: PathBuf,
    clouds: Vec<SimCloud>,
}

impl Setup {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("fleet-service-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let repository = dir.join("repository");
        fleet_examples::copy_dir(&PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fleet")), &repository).unwrap();
        // Only the system pool, which ops locked: a size asked for breaks the lock.
        std::fs::write(
            repository.join("blueprints/system-only.yaml"),
            "kind: Blueprint\nspec:\n  name: system-only\n  layers:\n    - use: base\n    - use: security\n",
        )
        .unwrap();
        // The analytics team's template takes its one cluster: any request breaks its quota.
        let policies = repository.join("policies/teams.yaml");
        let text = std::fs::read_to_string(&policies).unwrap();
        std::fs::write(&policies, text.replace("quota: {clusters: 3,", "quota: {clusters: 1,")).unwrap();
        std::fs::write(dir.join("tokens.txt"), format!("payments {PAYMENTS}\nanalytics {ANALYTICS}\n")).unwrap();
        let clouds = service::simulated(&repository, 3).unwrap();
        Self { dir, clouds }
    }

    fn repository(&self) -> PathBuf {
        self.dir.join("repository")
    }

    async fn start(&self) -> Client {
        let mut config = ServiceConfig::new(Providers::Simulated(self.clouds.clone()));
        config.repository = self.repository();
        config.state = self.dir.join("state.db");
        config.tokens = self.dir.join("tokens.txt");
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.reload_every = Duration::from_millis(200);
        let running = service::start(config, service::prometheus()).await.unwrap();
        let client = Client { base: format!("http://{}", running.addr()), http: reqwest::Client::new(), running };
        client.eventually("the service is ready", async |c| c.get("/readyz", None).await.0 == StatusCode::OK).await;
        client
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Client {
    base: String,
    http: reqwest::Client,
    running: RunningService,
}

impl Client {
    async fn send(&self, builder: reqwest::RequestBuilder, token: Option<&str>) -> (StatusCode, Value, String) {
        let builder = match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        };
        let response = builder.send().await.unwrap();
        let status = response.status();
        let headers = format!("{:?}", response.headers());
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), headers)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let (status, body, _) = self.send(self.http.get(format!("{}{path}", self.base)), token).await;
        (status, body)
    }

    async fn post(&self, body: impl Into<reqwest::Body>, token: &str) -> (StatusCode, Value, String) {
        let request = self.http.post(format!("{}/v1/environments", self.base)).body(body);
        self.send(request.header("content-type", "application/json"), Some(token)).await
    }

    async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (status, body, _) = self.send(self.http.delete(format!("{}{path}", self.base)), Some(token)).await;
        (status, body)
    }

    async fn eventually(&self, what: &str, check: impl AsyncFn(&Client) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !check(self).await {
            assert!(tokio::time::Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn request(name: &str, extra: &str) -> String {
    format!(
        r#"{{"name": "{name}", "blueprint": "web-app", "provider": "sim-aws", "region": "us-east-1", "ttl": "4h"{extra}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_code_of_the_api() {
    let setup = Setup::new("codes");
    let client = setup.start().await;

    assert_eq!(client.get("/healthz", None).await.0, StatusCode::OK);
    let (status, body, headers) = client.send(client.http.get(format!("{}/v1/clusters", client.base)), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token: {body}");
    assert!(headers.contains("www-authenticate"), "{headers}");
    assert!(headers.contains("application/problem+json"), "{headers}");
    assert_eq!(client.get("/v1/clusters", Some("payments-token-012345678")).await.0, StatusCode::UNAUTHORIZED);
    let (status, clusters) = client.get("/v1/clusters", Some(PAYMENTS)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(clusters.as_array().is_some_and(|clusters| !clusters.is_empty()), "{clusters}");
    let (status, plan) = client.get("/v1/plan", Some(PAYMENTS)).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert!(plan.get("actions").is_some(), "{plan}");
    let (status, fleet_status) = client.get("/v1/status", Some(ANALYTICS)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(fleet_status["fleet"]["desired"].as_u64().is_some_and(|n| n > 0), "{fleet_status}");
    assert_eq!(client.get("/v1/nothing", Some(PAYMENTS)).await.0, StatusCode::NOT_FOUND);

    // 400: not JSON, and a field of the wrong type, each saying where.
    let (status, body, _) = client.post("{\"name\": ", PAYMENTS).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("column"), "{body}");
    let (status, body, _) = client.post(request("dev-x", r#", "size": 3"#), PAYMENTS).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["detail"].as_str().unwrap().starts_with("at `size`"), "{body}");
    // 413: a body larger than any request.
    let (status, _, _) = client.post(vec![b' '; 100 * 1024], PAYMENTS).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // 403: a request in another team's name.
    let (status, body, _) = client.post(request("dev-x", r#", "team": "analytics""#), PAYMENTS).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // 422: a guardrail, a quota and an ops lock, each with its rule and field.
    for (body, rule, field) in [
        (request("dev-x", "").replace("\"4h\"", "\"48h\""), "maxTtl", "ttl"),
        (request("dev-x", "").replace("sim-aws", "sim-azure"), "allowedProviders", "provider"),
        (request("dev-x", r#", "size": "large""#), "allowedSizes", "size"),
        (request("dev-x", r#", "size": "medium""#).replace("web-app", "system-only"), "locked", "size"),
    ] {
        check_refused(&client, &body, PAYMENTS, rule, field).await;
    }
    // The analytics team's cluster quota is taken.
    let pipeline = r#"{"name": "dev-x", "blueprint": "data-pipeline", "provider": "sim-azure", "region": "westeurope", "ttl": "4h", "variables": {"workers": 1}}"#;
    check_refused(&client, pipeline, ANALYTICS, "quota.clusters", "team").await;
    assert!(setup.clouds.iter().all(|cloud| cloud.clusters().iter().all(|c| c.id.as_str() != "dev-x")));

    // 202, then the environment: listed, hidden from another team, running with team credentials.
    let (status, accepted, headers) = client.post(request("dev-1", ""), PAYMENTS).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert!(headers.contains("/v1/environments/dev-1"), "{headers}");
    assert_eq!(accepted["team"], "payments");
    let (status, listed) = client.get("/v1/environments", Some(PAYMENTS)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(listed.as_array().unwrap().iter().any(|e| e["name"] == "dev-1"), "{listed}");
    let (_, other) = client.get("/v1/environments", Some(ANALYTICS)).await;
    assert!(other.as_array().unwrap().iter().all(|e| e["name"] != "dev-1"), "{other}");
    assert_eq!(client.get("/v1/environments/dev-1", Some(ANALYTICS)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(client.get("/v1/environments/nobody", Some(PAYMENTS)).await.0, StatusCode::NOT_FOUND);
    client
        .eventually("dev-1 runs", async |c| {
            c.get("/v1/environments/dev-1", Some(PAYMENTS)).await.1["phase"] == "running"
        })
        .await;
    let (_, running) = client.get("/v1/environments/dev-1", Some(PAYMENTS)).await;
    let credentials = &running["credentials"];
    assert_eq!(credentials["namespace"], "payments", "{running}");
    let kubeconfig = credentials["kubeconfig"].as_str().unwrap();
    assert!(kubeconfig.contains("namespace: \"payments\""), "{kubeconfig}");
    let issued = setup.clouds[0].issued_tokens();
    assert!(issued.iter().any(|token| kubeconfig.contains(token.as_str())), "the team's own token");

    // Deleting: not by another team; by its own, and its cluster goes.
    assert_eq!(client.delete("/v1/environments/dev-1", ANALYTICS).await.0, StatusCode::FORBIDDEN);
    assert_eq!(client.delete("/v1/environments/dev-1", PAYMENTS).await.0, StatusCode::ACCEPTED);
    assert_eq!(client.get("/v1/environments/dev-1", Some(PAYMENTS)).await.0, StatusCode::NOT_FOUND);
    let aws = setup.clouds[0].clone();
    client
        .eventually("dev-1's cluster is deleted", async |_| {
            aws.clusters().iter().all(|c| c.id.as_str() != "dev-1" || c.phase == ClusterPhase::Deleted)
        })
        .await;

    // Metrics after passes, with bounded labels only.
    let (status, metrics) = client.get("/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let metrics = metrics.as_str().unwrap().to_owned();
    for line in [
        "fleet_passes_total{outcome=",
        "fleet_pass_duration_seconds_bucket{",
        r#"fleet_actions_total{kind="create",outcome="succeeded"}"#,
        r#"fleet_provider_calls_total{provider="sim-aws",operation="create",outcome="ok"}"#,
        r#"fleet_clusters{provider="sim-aws",phase="running"}"#,
        r#"fleet_self_service_requests_total{outcome="accepted",rule=""} 1"#,
        r#"fleet_self_service_requests_total{outcome="rejected",rule="maxTtl"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    assert!(!metrics.contains("dev-1"), "no cluster name is a label value");
    client.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_repository_change_is_refused_and_the_last_good_state_kept() {
    let setup = Setup::new("reload");
    let client = setup.start().await;
    let before = desired(&client).await;
    let fleet_file = setup.repository().join("fleet.yaml");
    let good = std::fs::read_to_string(&fleet_file).unwrap();
    std::fs::write(&fleet_file, good.replace("templates:", "templates: [oops")).unwrap();
    client
        .eventually("the broken change is refused", async |c| {
            c.get("/v1/status", Some(PAYMENTS)).await.1["repository"]["refused"] == 1
        })
        .await;
    let (_, status) = client.get("/v1/status", Some(PAYMENTS)).await;
    assert!(status["repository"]["error"].as_str().unwrap().contains("fleet.yaml"), "{status}");
    assert_eq!(desired(&client).await, before, "the last good fleet stays");
    assert_eq!(client.get("/readyz", None).await.0, StatusCode::OK);

    // A good change is taken: one more cluster in a template's count.
    let more = good.replacen("count: 2", "count: 3", 1);
    assert_ne!(more, good, "the example fleet has a template of two clusters");
    std::fs::write(&fleet_file, more).unwrap();
    client
        .eventually("the good change is taken", async |c| {
            let (_, status) = c.get("/v1/status", Some(PAYMENTS)).await;
            status["repository"]["reloads"] == 1 && status["repository"]["error"].is_null()
        })
        .await;
    assert!(desired(&client).await > before);
    client.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_a_create_and_a_restart_finish_it_without_a_second_cluster() {
    let setup = Setup::new("restart");
    let client = setup.start().await;
    let (status, body, _) = client.post(request("dev-2", ""), PAYMENTS).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let aws = setup.clouds[0].clone();
    client
        .eventually("dev-2 is being created", async |_| {
            aws.clusters().iter().any(|c| c.id.as_str() == "dev-2" && c.phase == ClusterPhase::Creating)
        })
        .await;
    client.running.stop().await;

    let client = setup.start().await;
    client
        .eventually("dev-2 runs after the restart", async |c| {
            c.get("/v1/environments/dev-2", Some(PAYMENTS)).await.1["phase"] == "running"
        })
        .await;
    let created = aws.creations().iter().filter(|creation| creation.cluster.as_str() == "dev-2").count();
    assert_eq!(created, 1, "one create call for dev-2");
    assert_eq!(aws.clusters().iter().filter(|c| c.id.as_str() == "dev-2").count(), 1);
    client.running.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn sigterm_ends_the_wait_for_termination() {
    let waiting = tokio::spawn(service::termination());
    tokio::time::sleep(Duration::from_millis(100)).await;
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).unwrap();
    tokio::time::timeout(Duration::from_secs(10), waiting).await.expect("SIGTERM was taken").unwrap();
}

async fn desired(client: &Client) -> u64 {
    client.get("/v1/status", Some(PAYMENTS)).await.1["fleet"]["desired"].as_u64().unwrap()
}

async fn check_refused(client: &Client, body: &str, token: &str, rule: &str, field: &str) {
    let (status, answer, _) = client.post(body.to_owned(), token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
    assert_eq!((answer["rule"].as_str(), answer["field"].as_str()), (Some(rule), Some(field)), "{answer}");
}
