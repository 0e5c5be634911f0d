//! [`SimulatedKubeApi`]: a simulated Kubernetes API server for provider tests.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::http::{TestRequest, TestResponse, serve};
use crate::Credentials;
use crate::mutex::lock;

/// The bearer token [`SimulatedKubeApi::admin_credentials`] carry.
pub const SIMULATED_ADMIN_TOKEN: &str = "simulated-admin-token";

/// The namespaces every cluster starts with, present from the start.
pub const BUILT_IN_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

#[derive(Default)]
struct KubeState {
    objects: BTreeMap<String, Value>,
    requests: Vec<TestRequest>,
    tokens: BTreeSet<String>,
    token_requests: Vec<(String, i64)>,
    revision: u64,
    /// Accepts further bearer tokens as cluster-admin ones ([`SimulatedKubeApi::with_admin_token_check`]).
    admin_token_check: Option<AdminTokenCheck>,
}

/// A check of a bearer token: `true` to accept it as a cluster-admin's.
type AdminTokenCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A simulated Kubernetes API server for provider tests, over a real
/// local socket (plain HTTP), answering what Fleet's team access
/// ([`grant_team_access`](crate::addons::grant_team_access),
/// [`team_credentials_through_admin`](crate::addons::team_credentials_through_admin)), its
/// reachability check and the add-on installer ask: `GET /version`, `GET /readyz`,
/// server-side apply (`PATCH` with `application/apply-patch+yaml`), get, list by label
/// selector, delete, and `TokenRequest` (`POST .../serviceaccounts/<name>/token`). It keeps
/// the objects applied and records every request.
///
/// It refuses what a real API server refuses in these calls: no or another bearer token (401;
/// [`SimulatedKubeApi::with_admin_token_check`] accepts a cloud's own admin tokens as well),
/// an apply without `fieldManager` (422) or with a name other than the path's (400), a
/// namespaced object in a namespace that does not exist (404), a token for a service account
/// that does not exist (404) or for less than ten minutes (422). It is a simulation: no
/// admission, no RBAC evaluation, no field ownership.
///
/// ```
/// use fleet_core::conformance::SimulatedKubeApi;
/// use fleet_core::TeamName;
/// # tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap().block_on(async {
/// let api = SimulatedKubeApi::start();
/// let admin = api.admin_credentials("web-1");
/// let team = fleet_core::addons::team_credentials_through_admin(&admin, "web-1", &TeamName::new("payments").unwrap())
///     .await
///     .unwrap();
/// assert!(team.expose_kubeconfig().contains("team-payments"));
/// assert!(api.object("/api/v1/namespaces/team-payments/serviceaccounts/payments").is_some());
/// assert_eq!(api.token_requests(), vec![("team-payments/payments".to_owned(), 24 * 3600)]);
/// # });
/// ```
///
/// It serves until the process ends.
#[derive(Clone)]
pub struct SimulatedKubeApi {
    url: String,
    state: Arc<Mutex<KubeState>>,
}

impl std::fmt::Debug for SimulatedKubeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedKubeApi").field("url", &self.url).finish_non_exhaustive()
    }
}

impl SimulatedKubeApi {
    /// Starts a simulated API server on a free local port.
    pub fn start() -> Self {
        let mut initial = KubeState::default();
        for namespace in BUILT_IN_NAMESPACES {
            let path = format!("/api/v1/namespaces/{namespace}");
            let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "uid": format!("simulated-namespaces-{namespace}")}});
            initial.objects.insert(path, object);
        }
        let state = Arc::new(Mutex::new(initial));
        let answering = Arc::clone(&state);
        let url = serve(move |request| answer(&mut lock(&answering), request));
        Self { url, state }
    }

    /// Accepts as cluster-admin credentials, besides [`SIMULATED_ADMIN_TOKEN`], every bearer
    /// token `check` accepts: the tokens a provider's own credentials carry (an EKS token, a
    /// presigned STS URL `k8s-aws-v1.…`, for instance), which the real API server would verify
    /// with the cloud. Tokens `check` refuses stay refused (401), as every other token is
    /// without a check.
    ///
    /// ```
    /// use fleet_core::conformance::SimulatedKubeApi;
    /// use fleet_core::{Credentials, ErrorKind, TeamName};
    /// # tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap().block_on(async {
    /// let api = SimulatedKubeApi::start().with_admin_token_check(|token| token.starts_with("k8s-aws-v1."));
    /// let team = TeamName::new("payments").unwrap();
    /// let eks = Credentials::from_token("web-1", api.url(), None, "k8s-aws-v1.aHR0cHM6Ly9zdHM".to_owned().into());
    /// assert!(fleet_core::addons::team_credentials_through_admin(&eks, "web-1", &team).await.is_ok());
    /// let other = Credentials::from_token("web-1", api.url(), None, "another-token".to_owned().into());
    /// let refused = fleet_core::addons::team_credentials_through_admin(&other, "web-1", &team).await.unwrap_err();
    /// assert_eq!(refused.kind(), ErrorKind::Unauthenticated);
    /// # });
    /// ```
    #[must_use]
    pub fn with_admin_token_check(self, check: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        lock(&self.state).admin_token_check = Some(Arc::new(check));
        self
    }

    /// Its base URL, `http://127.0.0.1:PORT`: the endpoint a provider's stand-in reports for a
    /// cluster whose API this simulates.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Cluster-admin credentials for it: a kubeconfig for `cluster_name` at [`url`](Self::url)
    /// with bearer token [`SIMULATED_ADMIN_TOKEN`].
    pub fn admin_credentials(&self, cluster_name: &str) -> Credentials {
        Credentials::from_token(cluster_name, &self.url, None, SIMULATED_ADMIN_TOKEN.into())
    }

    /// The object stored at `path` (e.g. `/api/v1/namespaces/team-a`), as last applied.
    pub fn object(&self, path: &str) -> Option<Value> {
        lock(&self.state).objects.get(path).cloned()
    }

    /// Every stored object by path (the [`BUILT_IN_NAMESPACES`] included).
    pub fn objects(&self) -> BTreeMap<String, Value> {
        lock(&self.state).objects.clone()
    }

    /// Every request received, in order (headers include the bearer token: simulated ones).
    pub fn requests(&self) -> Vec<TestRequest> {
        lock(&self.state).requests.clone()
    }

    /// The tokens issued: `namespace/service-account` and the `expirationSeconds` asked.
    pub fn token_requests(&self) -> Vec<(String, i64)> {
        lock(&self.state).token_requests.clone()
    }

    /// A local URL where nothing listens (connections are refused): the endpoint of an API
    /// server Fleet cannot reach, such as a private endpoint seen from outside its network.
    pub fn closed_endpoint() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|err| panic!("cannot bind: {err}"));
        let address = listener.local_addr().unwrap_or_else(|err| panic!("no local address: {err}"));
        drop(listener);
        format!("http://{address}")
    }

    /// A local URL that accepts connections and never answers: an API server behind a
    /// firewall dropping packets, for tests of bounded waits.
    pub fn silent_endpoint() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|err| panic!("cannot bind: {err}"));
        let address = listener.local_addr().unwrap_or_else(|err| panic!("no local address: {err}"));
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
        format!("http://{address}")
    }
}

fn status(code: u16, reason: &str, message: &str) -> TestResponse {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    TestResponse::json(code, body.to_string())
}

/// Where a request path points.
enum Target {
    /// One object: `(namespace, plural, name)`.
    Object(Option<String>, String, String),
    /// A collection: `(namespace, plural)`.
    Collection(Option<String>, String),
    /// A service account's token subresource: `(namespace, name)`.
    Token(String, String),
}

/// The group prefix (`/api/v1`, `/apis/<group>/<version>`) and the target of `path`.
fn parse(path: &str) -> Option<(String, Target)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let prefix_len = match segments.first() {
        Some(&"api") => 2,
        Some(&"apis") => 3,
        _ => return None,
    };
    if segments.len() < prefix_len {
        return None;
    }
    let (prefix, rest) = segments.split_at(prefix_len);
    let prefix = format!("/{}", prefix.join("/"));
    let own = |s: &str| s.to_owned();
    let target = match rest {
        ["namespaces", ns, "serviceaccounts", name, "token"] => Target::Token(own(ns), own(name)),
        ["namespaces", ns, plural, name] => Target::Object(Some(own(ns)), own(plural), own(name)),
        ["namespaces", ns, plural] => Target::Collection(Some(own(ns)), own(plural)),
        [plural, name] => Target::Object(None, own(plural), own(name)),
        [plural] => Target::Collection(None, own(plural)),
        _ => return None,
    };
    Some((prefix, target))
}

fn labels_match(object: &Value, selector: &str) -> bool {
    selector.split(',').filter(|s| !s.is_empty()).all(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        object.pointer("/metadata/labels").and_then(|l| l.get(key)).and_then(Value::as_str) == Some(value)
    })
}

/// `%XX` and `+` decoded (lossy on malformed input).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_value(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| pair.strip_prefix(&format!("{key}=")).map(decode))
}

fn answer(state: &mut KubeState, request: TestRequest) -> TestResponse {
    state.requests.push(request.clone());
    let header = |name: &str| request.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let bearer = header("authorization").and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
    let admin = bearer == SIMULATED_ADMIN_TOKEN || state.admin_token_check.as_ref().is_some_and(|check| check(bearer));
    if !admin && !state.tokens.contains(bearer) {
        return status(401, "Unauthorized", "Unauthorized");
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/version") => {
            return TestResponse::json(
                200,
                json!({"major": "1", "minor": "34", "gitVersion": "v1.34.0-simulated", "gitCommit": "simulated",
                    "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
                    "compiler": "gc", "platform": "linux/amd64"})
                .to_string(),
            );
        }
        ("GET", "/readyz") => return TestResponse::bytes(200, "text/plain", b"ok".to_vec()),
        _ => {}
    }
    let Some((prefix, target)) = parse(&request.path) else {
        return status(
            404,
            "NotFound",
            &format!("the server could not find the requested resource ({})", request.path),
        );
    };
    match (request.method.as_str(), target) {
        ("PATCH", Target::Object(namespace, plural, name)) => apply(state, &request, namespace, &plural, &name),
        ("GET", Target::Object(..)) => match state.objects.get(&request.path) {
            Some(object) => TestResponse::json(200, object.to_string()),
            None => status(404, "NotFound", &format!("{} not found", request.path)),
        },
        ("DELETE", Target::Object(..)) => match state.objects.remove(&request.path) {
            Some(_) => {
                TestResponse::json(200, json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}).to_string())
            }
            None => status(404, "NotFound", &format!("{} not found", request.path)),
        },
        ("GET", Target::Collection(namespace, plural)) => {
            let selector = query_value(&request.query, "labelSelector").unwrap_or_default();
            let items: Vec<Value> = state
                .objects
                .iter()
                .filter(|(path, object)| {
                    let Some((object_prefix, Target::Object(object_ns, object_plural, _))) = parse(path) else {
                        return false;
                    };
                    object_prefix == prefix
                        && object_plural == plural
                        && (namespace.is_none() || namespace == object_ns)
                        && labels_match(object, &selector)
                })
                .map(|(_, object)| object.clone())
                .collect();
            TestResponse::json(
                200,
                json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}).to_string(),
            )
        }
        ("POST", Target::Token(namespace, name)) => token(state, &request, &namespace, &name),
        (method, _) => status(405, "MethodNotAllowed", &format!("{method} {} is not simulated", request.path)),
    }
}

/// Server-side apply of the object at `request.path`.
fn apply(
    state: &mut KubeState,
    request: &TestRequest,
    namespace: Option<String>,
    plural: &str,
    name: &str,
) -> TestResponse {
    let content_type = request.headers.iter().find(|(n, _)| n == "content-type").map(|(_, v)| v.as_str());
    if content_type != Some("application/apply-patch+yaml") {
        return status(415, "UnsupportedMediaType", "the simulated API server accepts only server-side apply patches");
    }
    if query_value(&request.query, "fieldManager").is_none_or(|manager| manager.is_empty()) {
        return status(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        );
    }
    let Ok(mut body) = serde_json::from_slice::<Value>(&request.body) else {
        return status(400, "BadRequest", "the apply patch is not a JSON or YAML object");
    };
    let body_name = body.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    if body_name != name {
        return status(
            400,
            "BadRequest",
            &format!("the name of the object ({body_name}) does not match the name on the URL ({name})"),
        );
    }
    if let Some(ns) = &namespace {
        let body_ns = body.pointer("/metadata/namespace").and_then(Value::as_str);
        if body_ns.is_some_and(|body_ns| body_ns != ns) {
            return status(
                400,
                "BadRequest",
                "the namespace of the object does not match the namespace on the request",
            );
        }
        if !state.objects.contains_key(&format!("/api/v1/namespaces/{ns}")) {
            return status(404, "NotFound", &format!("namespaces \"{ns}\" not found"));
        }
    }
    let existing_uid = state.objects.get(&request.path).and_then(|o| o.pointer("/metadata/uid").cloned());
    state.revision += 1;
    if let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        let uid = existing_uid.unwrap_or_else(|| Value::from(format!("simulated-{plural}-{}", state.revision)));
        metadata.insert("uid".into(), uid);
        metadata.insert("resourceVersion".into(), Value::from(state.revision.to_string()));
        if let Some(ns) = &namespace {
            metadata.insert("namespace".into(), Value::from(ns.as_str()));
        }
    }
    state.objects.insert(request.path.clone(), body.clone());
    TestResponse::json(200, body.to_string())
}

/// A `TokenRequest` for service account `namespace/name`.
fn token(state: &mut KubeState, request: &TestRequest, namespace: &str, name: &str) -> TestResponse {
    if !state.objects.contains_key(&format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}")) {
        return status(404, "NotFound", &format!("serviceaccounts \"{name}\" not found"));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return status(400, "BadRequest", "the TokenRequest is not JSON");
    };
    let seconds = body.pointer("/spec/expirationSeconds").and_then(Value::as_i64).unwrap_or(3600);
    if seconds < 600 {
        return status(
            422,
            "Invalid",
            &format!(
                "TokenRequest.authentication.k8s.io \"{name}\" is invalid: spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration less than 10 minutes"
            ),
        );
    }
    if seconds > 1 << 32 {
        return status(
            422,
            "Invalid",
            &format!(
                "TokenRequest.authentication.k8s.io \"{name}\" is invalid: spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds"
            ),
        );
    }
    state.revision += 1;
    let issued = format!("simulated-token-{}", state.revision);
    state.tokens.insert(issued.clone());
    state.token_requests.push((format!("{namespace}/{name}"), seconds));
    let answer = json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body.get("spec").cloned().unwrap_or_else(|| json!({})),
        "status": {"token": issued, "expirationTimestamp": "2030-01-01T00:00:00Z"},
    });
    TestResponse::json(201, answer.to_string())
}
