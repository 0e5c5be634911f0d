//! A local Azure Resource Manager for tests: the `Microsoft.ContainerService/managedClusters`
//! paths the provider uses, over real HTTP and JSON. It keeps state per resource, walks
//! `provisioningState` from `Creating` to `Succeeded` over several polls of the operation,
//! pages lists by `nextLink`, and can fail chosen requests (429 with `Retry-After`, 409, 500,
//! ...) or every request of a resource group and location, as when a region is down
//! ([`LocalArm::cut`]). [`ArmHooks`] are the conformance kit's hooks into it. Every request is checked against the official API surface in
//! `tests/data/aks.schema.json` (see `tests/data/README.md`): the api-version, the method and
//! path of an operation, and each body field's name, type, enum value and visibility; its own
//! answers are checked the same way.

// Shared by several test binaries, each of which uses only a part.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use azure_core::time::{OffsetDateTime, to_rfc3339};
use base64::Engine as _;
use fleet_azure::{AksProvider, AksProviderBuilder};
use fleet_core::conformance::ConformanceHooks;
use fleet_core::conformance::http::{TestRequest, TestResponse, serve};
use fleet_core::{ClusterId, Error, FleetName, Region};
use serde_json::{Value, json};

pub const SUBSCRIPTION: &str = "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c";
pub const GROUP: &str = "fleet-rg";
pub const REGIONS: [&str; 2] = ["westeurope", "eastus2"];
/// The kubeconfig `listClusterUserCredential` hands out, before base64.
pub const KUBECONFIG_TOKEN: &str = "aks-user-token-3f9a";

pub fn schema() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(include_str!("../data/aks.schema.json")).expect("the schema parses"))
}

/// Which side of the wire a body is on: what a client may send on create or update, or
/// what the service answers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Create,
    Update,
    Answer,
}

/// Every way `value` departs from model `model` of the schema, as `path: problem`.
pub fn violations(value: &Value, model: &str, side: Side) -> Vec<String> {
    let mut found = Vec::new();
    check_model(value, model, side, model.to_owned(), &mut found);
    found
}

fn check_model(value: &Value, model: &str, side: Side, path: String, found: &mut Vec<String>) {
    let Some(properties) = schema()["models"][model]["properties"].as_object() else {
        found.push(format!("{path}: no model {model} in the schema"));
        return;
    };
    let Some(object) = value.as_object() else {
        found.push(format!("{path}: expected an object"));
        return;
    };
    for (name, property) in properties {
        if property["required"] == true && side != Side::Answer && !object.contains_key(name) {
            found.push(format!("{path}.{name}: required but missing"));
        }
    }
    for (key, inner) in object {
        let here = format!("{path}.{key}");
        let Some(property) = properties.get(key) else {
            found.push(format!("{here}: not in the schema"));
            continue;
        };
        let visibility: Vec<&str> =
            property["visibility"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        if side == Side::Create && !visibility.contains(&"create") {
            found.push(format!("{here}: read-only, not to be sent on create"));
        }
        check_shape(inner, property, side, here, found);
    }
}

fn check_shape(value: &Value, shape: &Value, side: Side, path: String, found: &mut Vec<String>) {
    let ok = match shape["type"].as_str().unwrap_or("any") {
        "string" => match (value.as_str(), shape["enum"].as_array()) {
            (Some(text), Some(allowed)) => {
                allowed.iter().any(|a| a == text) || {
                    found.push(format!("{path}: `{text}` is none of {allowed:?}"));
                    true
                }
            }
            (Some(_), None) => true,
            (None, _) => false,
        },
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => match value.as_array() {
            Some(items) => {
                for (index, item) in items.iter().enumerate() {
                    check_shape(item, &shape["items"], side, format!("{path}[{index}]"), found);
                }
                true
            }
            None => false,
        },
        "map" => match value.as_object() {
            Some(entries) => {
                for (key, item) in entries {
                    check_shape(item, &shape["values"], side, format!("{path}.{key}"), found);
                }
                true
            }
            None => false,
        },
        "object" => {
            check_model(value, shape["model"].as_str().unwrap_or_default(), side, path.clone(), found);
            true
        }
        _ => true,
    };
    if !ok {
        found.push(format!("{path}: expected {}, got {value}", shape["type"]));
    }
}

/// The operation of the schema whose method and path template match, if any.
pub fn operation_of(method: &str, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    schema()["operations"].as_object()?.iter().find_map(|(name, operation)| {
        let template: Vec<&str> = operation["path"].as_str()?.trim_matches('/').split('/').collect();
        let matches = operation["method"] == method
            && template.len() == segments.len()
            && template.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t.eq_ignore_ascii_case(s));
        matches.then(|| name.clone())
    })
}

struct Operation {
    location: String,
    polls_left: u32,
    on_done: Done,
    fails_with: Option<(String, String)>,
}

enum Done {
    Succeed(String),
    Remove(String),
    Power(String, &'static str),
}

/// One failure to answer with instead of the real thing.
#[derive(Clone)]
struct Failure {
    status: u16,
    code: String,
    message: String,
    retry_after: Option<u64>,
}

#[derive(Default)]
struct State {
    clusters: BTreeMap<String, Value>,
    operations: BTreeMap<String, Operation>,
    failures: VecDeque<Failure>,
    failed_operations: VecDeque<(String, String)>,
    requests: Vec<Seen>,
    violations: Vec<String>,
    serial: u32,
    polls: u32,
    page_size: usize,
    retry_after: Option<u64>,
    /// Resource groups and locations out of reach (lower case), as in a region outage.
    cut_groups: BTreeSet<String>,
    cut_locations: BTreeSet<String>,
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The local ARM, serving until the test ends.
#[derive(Clone)]
pub struct LocalArm {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl LocalArm {
    pub fn start() -> LocalArm {
        let state = Arc::new(Mutex::new(State { polls: 2, page_size: 100, ..State::default() }));
        let shared = Arc::clone(&state);
        let url = Arc::new(OnceLock::<String>::new());
        let base = Arc::clone(&url);
        let served = serve(move |request| answer(&shared, base.get().map(String::as_str).unwrap_or_default(), request));
        url.set(served.clone()).expect("set once");
        LocalArm { url: served, state }
    }

    /// Anonymous, both regions in one resource group, polling fast, one request a call.
    pub fn builder(&self, fleet: &str) -> AksProviderBuilder {
        self.builder_with_retries(fleet).without_client_retries()
    }

    /// As [`LocalArm::builder`], with the pipeline's own retries.
    pub fn builder_with_retries(&self, fleet: &str) -> AksProviderBuilder {
        AksProviderBuilder::new(FleetName::new(fleet).unwrap(), SUBSCRIPTION)
            .with_regions(REGIONS.iter().map(|r| Region::new(*r).unwrap()).collect())
            .with_resource_group(GROUP)
            .with_base_url(&self.url)
            .with_anonymous_credentials()
            .with_poll_interval(Duration::from_millis(5))
    }

    /// As [`LocalArm::builder`], with each region in a resource group of its own
    /// ([`region_groups`]).
    pub fn builder_per_region(&self, fleet: &str) -> AksProviderBuilder {
        region_groups()
            .into_iter()
            .fold(self.builder(fleet), |builder, (region, group)| builder.with_region_resource_group(region, group))
    }

    /// The conformance hooks for providers of [`LocalArm::builder_per_region`].
    pub fn hooks(&self) -> ArmHooks {
        ArmHooks { arm: self.clone(), groups: region_groups() }
    }

    /// A provider for `fleet` in both regions of one resource group, polling fast.
    pub fn provider(&self, fleet: &str) -> AksProvider {
        self.builder(fleet).build().unwrap()
    }

    /// Fails the next request with this status, ARM error code and message.
    pub fn fail_next(&self, status: u16, code: &str, message: &str) {
        self.fail_next_after(status, code, message, None);
    }

    /// Fails the next request, with a `Retry-After` header.
    pub fn fail_next_after(&self, status: u16, code: &str, message: &str, retry_after: Option<u64>) {
        let failure = Failure { status, code: code.into(), message: message.into(), retry_after };
        self.state.lock().unwrap().failures.push_back(failure);
    }

    /// Ends the next long-running operation started with `Failed` and this error.
    pub fn fail_next_operation(&self, code: &str, message: &str) {
        self.state.lock().unwrap().failed_operations.push_back((code.into(), message.into()));
    }

    /// Polls before an operation is done (default 2).
    pub fn set_polls(&self, polls: u32) {
        self.state.lock().unwrap().polls = polls;
    }

    /// Clusters per list page (default 100).
    pub fn set_page_size(&self, size: usize) {
        self.state.lock().unwrap().page_size = size;
    }

    /// A `Retry-After` on every long-running operation answer.
    pub fn set_retry_after(&self, seconds: Option<u64>) {
        self.state.lock().unwrap().retry_after = seconds;
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// Adds a running cluster made outside Fleet (or by another fleet, by its tags).
    pub fn add_cluster(&self, group: &str, name: &str, location: &str, tags: Value) {
        let path = cluster_path(group, name);
        let body = json!({"location": location, "tags": tags, "properties": {
            "kubernetesVersion": "1.31", "dnsPrefix": name,
            "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "vmSize": "Standard_D2s_v5", "mode": "System"}]}});
        let mut state = self.state.lock().unwrap();
        let mut cluster = stored(&path, group, name, body);
        cluster["properties"]["provisioningState"] = json!("Succeeded");
        state.clusters.insert(path.to_ascii_lowercase(), cluster);
    }

    /// Fails the next `count` requests with a transient server error, 500 and 503 in turn,
    /// each with an ARM error body.
    pub fn fail_next_with_server_errors(&self, count: u32) {
        for n in 0..count {
            if n % 2 == 0 {
                self.fail_next(500, "InternalServerError", "An internal server error occurred. Please retry later.");
            } else {
                self.fail_next(
                    503,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable. Please retry later.",
                );
            }
        }
    }

    /// Throttles the next `count` requests: 429 with `Retry-After` of `seconds`.
    pub fn throttle_next(&self, count: u32, seconds: u64) {
        for _ in 0..count {
            self.fail_next_after(
                429,
                "TooManyRequests",
                "The request is being throttled as the limit has been reached for operation type - Read.",
                Some(seconds),
            );
        }
    }

    /// Puts `group` and `location` out of reach: every request on the group, every poll of an
    /// operation in the location and every subscription-wide list fails with 504, as ARM
    /// answers when it cannot reach the resource provider of a region that is down.
    pub fn cut(&self, group: &str, location: &str) {
        let mut state = self.state.lock().unwrap();
        state.cut_groups.insert(group.to_ascii_lowercase());
        state.cut_locations.insert(location.to_ascii_lowercase());
    }

    /// Brings back what [`LocalArm::cut`] put out of reach.
    pub fn restore(&self, group: &str, location: &str) {
        let mut state = self.state.lock().unwrap();
        state.cut_groups.remove(&group.to_ascii_lowercase());
        state.cut_locations.remove(&location.to_ascii_lowercase());
    }

    /// Sets the `provisioningState` of a stored cluster; `false` if there is none.
    pub fn set_provisioning_state(&self, group: &str, name: &str, state: &str) -> bool {
        let mut guard = self.state.lock().unwrap();
        match guard.clusters.get_mut(&cluster_path(group, name).to_ascii_lowercase()) {
            Some(cluster) => {
                cluster["properties"]["provisioningState"] = json!(state);
                true
            }
            None => false,
        }
    }

    /// Removes a stored cluster outright; `false` if there was none.
    pub fn remove_cluster(&self, group: &str, name: &str) -> bool {
        self.state.lock().unwrap().clusters.remove(&cluster_path(group, name).to_ascii_lowercase()).is_some()
    }

    /// The stored cluster, as ARM would answer a GET.
    pub fn cluster(&self, group: &str, name: &str) -> Option<Value> {
        self.state.lock().unwrap().clusters.get(&cluster_path(group, name).to_ascii_lowercase()).cloned()
    }
}

/// Each region's own resource group: `fleet-rg-<region>`.
pub fn region_groups() -> BTreeMap<Region, String> {
    REGIONS.iter().map(|region| (Region::new(*region).unwrap(), format!("{GROUP}-{region}"))).collect()
}

fn cluster_path(group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters/{name}"
    )
}

fn error(status: u16, code: &str, message: &str) -> TestResponse {
    TestResponse::json(status, json!({"error": {"code": code, "message": message}}).to_string())
}

fn answer(shared: &Mutex<State>, base: &str, request: TestRequest) -> TestResponse {
    let mut state = shared.lock().unwrap();
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let seen = Seen {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        headers: request.headers.clone(),
        body: body.clone(),
    };
    state.requests.push(seen.clone());
    let api_version = schema()["apiVersion"].as_str().unwrap_or_default();
    if !request.query.split('&').any(|pair| pair == format!("api-version={api_version}")) {
        state
            .violations
            .push(format!("{} {}: no api-version={api_version} in `{}`", request.method, request.path, request.query));
    }
    if let Some(failure) = state.failures.pop_front() {
        let response = error(failure.status, &failure.code, &failure.message);
        return match failure.retry_after {
            Some(seconds) => response.with_header("Retry-After", seconds.to_string()),
            None => response,
        };
    }
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    if out_of_reach(&state, &segments) {
        return error(
            504,
            "GatewayTimeout",
            "The gateway did not receive a response from 'Microsoft.ContainerService' within the specified time period.",
        );
    }
    if let ["subscriptions", _, "providers", "Microsoft.ContainerService", "locations", _, kind, id] =
        segments.as_slice()
    {
        return poll(&mut state, kind, id);
    }
    let Some(operation) = operation_of(&request.method, &request.path) else {
        state.violations.push(format!("{} {}: no such operation in the API", request.method, request.path));
        return error(404, "NotFound", &format!("no route for {} {}", request.method, request.path));
    };
    let key = segments.iter().take(8).copied().collect::<Vec<_>>().join("/").to_ascii_lowercase();
    let key = format!("/{key}");
    let location = |state: &State| {
        state.clusters.get(&key).and_then(|c| c["location"].as_str()).unwrap_or("westeurope").to_owned()
    };
    match operation.as_str() {
        "managed_clusters_create_or_update" => {
            if seen.header("content-type") != Some("application/json") {
                state.violations.push(format!("PUT {}: no JSON content type", request.path));
            }
            let creating = seen.header("if-none-match") == Some("*");
            let side = if creating { Side::Create } else { Side::Update };
            let found = violations(&body, "ManagedCluster", side);
            state.violations.extend(found);
            check_tags(&mut state, &body);
            if creating && state.clusters.contains_key(&key) {
                return error(412, "PreconditionFailed", "The resource already exists and If-None-Match is `*`.");
            }
            let (group, name) = (segments[3], segments[7]);
            let existed = state.clusters.contains_key(&key);
            let mut body = body;
            // ARM keeps systemData itself: whatever the client sent back is not taken.
            match state.clusters.get(&key) {
                Some(old) => body["systemData"] = old["systemData"].clone(),
                None => {
                    if let Some(object) = body.as_object_mut() {
                        object.remove("systemData");
                    }
                }
            }
            let mut cluster = stored(&request.path, group, name, body);
            cluster["properties"]["provisioningState"] = json!(if existed { "Updating" } else { "Creating" });
            let at = cluster["location"].as_str().unwrap_or_default().to_owned();
            state.clusters.insert(key.clone(), cluster.clone());
            let headers = start(&mut state, base, &at, Done::Succeed(key.clone()), true, false);
            with_headers(TestResponse::json(if existed { 200 } else { 201 }, cluster.to_string()), headers)
        }
        "managed_clusters_get" => match state.clusters.get(&key) {
            Some(cluster) => TestResponse::json(200, cluster.to_string()),
            None => not_found(&request.path),
        },
        "managed_clusters_list_by_resource_group" | "managed_clusters_list" => list(&state, base, &request),
        "managed_clusters_delete" => match state.clusters.get_mut(&key) {
            Some(cluster) => {
                cluster["properties"]["provisioningState"] = json!("Deleting");
                let at = location(&state);
                let headers = start(&mut state, base, &at, Done::Remove(key.clone()), false, true);
                with_headers(TestResponse::json(202, String::new()), headers)
            }
            None => TestResponse::json(204, String::new()),
        },
        "managed_clusters_stop" | "managed_clusters_start" => match state.clusters.get_mut(&key) {
            Some(cluster) => {
                let stopping = operation == "managed_clusters_stop";
                cluster["properties"]["provisioningState"] = json!(if stopping { "Stopping" } else { "Starting" });
                let at = location(&state);
                let power = if stopping { "Stopped" } else { "Running" };
                let headers = start(&mut state, base, &at, Done::Power(key.clone(), power), true, true);
                with_headers(TestResponse::json(202, String::new()), headers)
            }
            None => not_found(&request.path),
        },
        "managed_clusters_list_cluster_user_credentials" => {
            if !request.body.is_empty() {
                state.violations.push(format!("POST {}: a body where none belongs", request.path));
            }
            match state.clusters.get(&key) {
                Some(cluster) => {
                    let fqdn = cluster["properties"]["fqdn"].as_str().unwrap_or_default();
                    let kubeconfig = format!(
                        "apiVersion: v1\nkind: Config\nclusters:\n- name: {0}\n  cluster:\n    server: https://{fqdn}:443\ncontexts:\n- name: {0}\n  context:\n    cluster: {0}\n    user: clusterUser_{GROUP}_{0}\ncurrent-context: {0}\nusers:\n- name: clusterUser_{GROUP}_{0}\n  user:\n    token: {KUBECONFIG_TOKEN}\n",
                        segments[7]
                    );
                    let value = base64::engine::general_purpose::STANDARD.encode(kubeconfig);
                    let answer = json!({"kubeconfigs": [{"name": "clusterUser", "value": value}]});
                    let found = violations(&answer, "CredentialResults", Side::Answer);
                    state.violations.extend(found);
                    TestResponse::json(200, answer.to_string())
                }
                None => not_found(&request.path),
            }
        }
        other => {
            state.violations.push(format!("{} {}: operation {other} is not served here", request.method, request.path));
            error(400, "BadRequest", other)
        }
    }
}

/// Whether a request needs a resource group or location that is cut; a subscription-wide
/// list needs every region, so any cut fails it.
fn out_of_reach(state: &State, segments: &[&str]) -> bool {
    let lower = |text: &str| text.to_ascii_lowercase();
    match segments {
        ["subscriptions", _, "resourceGroups", group, ..] => state.cut_groups.contains(&lower(group)),
        ["subscriptions", _, "providers", "Microsoft.ContainerService", "locations", location, ..] => {
            state.cut_locations.contains(&lower(location))
        }
        ["subscriptions", _, "providers", "Microsoft.ContainerService", "managedClusters"] => {
            !state.cut_groups.is_empty() || !state.cut_locations.is_empty()
        }
        _ => false,
    }
}

fn with_headers(mut response: TestResponse, headers: Vec<(&'static str, String)>) -> TestResponse {
    for (name, value) in headers {
        response = response.with_header(name, value);
    }
    response
}

fn not_found(path: &str) -> TestResponse {
    error(404, "ResourceNotFound", &format!("The Resource '{path}' was not found."))
}

/// Azure tag rules: names of at most 512 characters without `<>%&\?/`, values of at most 256.
fn check_tags(state: &mut State, body: &Value) {
    for (name, value) in body["tags"].as_object().into_iter().flatten() {
        if name.len() > 512 || name.chars().any(|c| "<>%&\\?/".contains(c)) {
            state.violations.push(format!("tag name `{name}` breaks Azure's rules"));
        }
        if value.as_str().is_none_or(|v| v.len() > 256) {
            state.violations.push(format!("tag `{name}` has a value Azure refuses: {value}"));
        }
    }
}

/// The resource as ARM keeps and answers it: the body plus the read-only fields.
fn stored(path: &str, group: &str, name: &str, body: Value) -> Value {
    let mut cluster = body;
    let location = cluster["location"].as_str().unwrap_or("westeurope").to_owned();
    let version = cluster["properties"]["kubernetesVersion"].as_str().unwrap_or("1.31").to_owned();
    let prefix = cluster["properties"]["dnsPrefix"].as_str().unwrap_or(name).to_owned();
    let now = to_rfc3339(&OffsetDateTime::now_utc());
    let created = cluster["systemData"]["createdAt"].as_str().map_or_else(|| now.clone(), str::to_owned);
    cluster["systemData"] = json!({"createdAt": created, "createdByType": "Application", "lastModifiedAt": now,
        "lastModifiedByType": "Application"});
    cluster["id"] = json!(path);
    cluster["name"] = json!(name);
    cluster["type"] = json!("Microsoft.ContainerService/ManagedClusters");
    let properties = &mut cluster["properties"];
    properties["currentKubernetesVersion"] = json!(format!("{version}.5"));
    properties["powerState"] = json!({"code": "Running"});
    properties["fqdn"] = json!(format!("{prefix}-d1k3x9.hcp.{location}.azmk8s.io"));
    properties["maxAgentPools"] = json!(100);
    properties["nodeResourceGroup"] = json!(format!("MC_{group}_{name}_{location}"));
    for pool in properties["agentPoolProfiles"].as_array_mut().into_iter().flatten() {
        pool["currentOrchestratorVersion"] = json!(format!("{version}.5"));
        pool["provisioningState"] = json!("Creating");
    }
    cluster
}

/// Starts an operation: the headers that point at it.
fn start(
    state: &mut State,
    base: &str,
    location: &str,
    on_done: Done,
    async_header: bool,
    location_header: bool,
) -> Vec<(&'static str, String)> {
    state.serial += 1;
    let id = format!("{:08x}-0000-4000-8000-{:012x}", state.serial, state.serial);
    let fails_with = state.failed_operations.pop_front();
    let polls = state.polls;
    state
        .operations
        .insert(id.clone(), Operation { location: location.into(), polls_left: polls, on_done, fails_with });
    let api = schema()["apiVersion"].as_str().unwrap_or_default();
    let root = format!("{base}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.ContainerService/locations/{location}");
    let mut headers = Vec::new();
    if async_header {
        headers.push(("Azure-AsyncOperation", format!("{root}/operations/{id}?api-version={api}")));
    }
    if location_header {
        headers.push(("Location", format!("{root}/operationresults/{id}?api-version={api}")));
    }
    if let Some(seconds) = state.retry_after {
        headers.push(("Retry-After", seconds.to_string()));
    }
    headers
}

fn poll(state: &mut State, kind: &str, id: &str) -> TestResponse {
    let retry_after = state.retry_after;
    let Some(operation) = state.operations.get_mut(id) else {
        return error(404, "NotFound", &format!("operation {id} not found"));
    };
    operation.polls_left = operation.polls_left.saturating_sub(1);
    let running = operation.polls_left > 0;
    let failure = operation.fails_with.clone();
    if !running {
        let on_done = std::mem::replace(&mut operation.on_done, Done::Power(String::new(), "Running"));
        finish(state, on_done, failure.is_some());
    }
    let response = match (kind, running, &failure) {
        ("operations", true, _) => TestResponse::json(200, json!({"name": id, "status": "InProgress"}).to_string()),
        ("operations", false, None) => TestResponse::json(200, json!({"name": id, "status": "Succeeded"}).to_string()),
        ("operations", false, Some((code, message))) => TestResponse::json(
            200,
            json!({"name": id, "status": "Failed", "error": {"code": code, "message": message}}).to_string(),
        ),
        (_, true, _) => TestResponse::json(202, String::new()),
        (_, false, None) => TestResponse::json(204, String::new()),
        (_, false, Some((code, message))) => error(400, code, message),
    };
    match (running, retry_after) {
        (true, Some(seconds)) => response.with_header("Retry-After", seconds.to_string()),
        _ => response,
    }
}

fn finish(state: &mut State, done: Done, failed: bool) {
    match done {
        Done::Succeed(key) => {
            if let Some(cluster) = state.clusters.get_mut(&key) {
                cluster["properties"]["provisioningState"] = json!(if failed { "Failed" } else { "Succeeded" });
                for pool in cluster["properties"]["agentPoolProfiles"].as_array_mut().into_iter().flatten() {
                    pool["provisioningState"] = json!("Succeeded");
                    pool["currentOrchestratorVersion"] =
                        json!(format!("{}.5", pool["orchestratorVersion"].as_str().unwrap_or("1.31")));
                }
                let version = cluster["properties"]["kubernetesVersion"].as_str().unwrap_or("1.31").to_owned();
                cluster["properties"]["currentKubernetesVersion"] = json!(format!("{version}.5"));
                let found = violations(cluster, "ManagedCluster", Side::Answer);
                state.violations.extend(found);
            }
        }
        Done::Remove(key) if !failed => {
            state.clusters.remove(&key);
        }
        Done::Power(key, power) => {
            if let Some(cluster) = state.clusters.get_mut(&key) {
                cluster["properties"]["provisioningState"] = json!("Succeeded");
                cluster["properties"]["powerState"] = json!({"code": power});
            }
        }
        Done::Remove(_) => {}
    }
}

fn list(state: &State, base: &str, request: &TestRequest) -> TestResponse {
    let group = request.path.split('/').nth(4).filter(|_| request.path.contains("/resourceGroups/"));
    let all: Vec<&Value> = state
        .clusters
        .values()
        .filter(|c| {
            group.is_none_or(|g| c["id"].as_str().unwrap_or_default().contains(&format!("/resourceGroups/{g}/")))
        })
        .collect();
    let skip: usize = request
        .query
        .split('&')
        .find_map(|pair| pair.strip_prefix("$skipToken="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let page: Vec<&Value> = all.iter().skip(skip).take(state.page_size).copied().collect();
    let mut answer = json!({"value": page});
    if skip + state.page_size < all.len() {
        let api = schema()["apiVersion"].as_str().unwrap_or_default();
        answer["nextLink"] =
            json!(format!("{base}{}?api-version={api}&$skipToken={}", request.path, skip + state.page_size));
    }
    TestResponse::json(200, answer.to_string())
}

/// The conformance kit's hooks into a [`LocalArm`], for providers placing each region in the
/// resource group `groups` names.
pub struct ArmHooks {
    pub arm: LocalArm,
    pub groups: BTreeMap<Region, String>,
}

impl ArmHooks {
    fn group(&self, region: &Region) -> fleet_core::Result<&str> {
        self.groups.get(region).map(String::as_str).ok_or_else(|| Error::InvalidSpec {
            path: "region".into(),
            reason: format!("the hooks know no resource group of region `{region}`"),
        })
    }
}

#[fleet_core::async_trait]
impl ConformanceHooks for ArmHooks {
    async fn plant_cluster(
        &self,
        id: &ClusterId,
        region: &Region,
        tags: &BTreeMap<String, String>,
    ) -> Option<fleet_core::Result<()>> {
        Some(self.group(region).map(|group| self.arm.add_cluster(group, id.as_str(), region.as_str(), json!(tags))))
    }

    async fn remove_planted(&self, id: &ClusterId, region: &Region) -> Option<fleet_core::Result<()>> {
        Some(self.group(region).and_then(|group| {
            if self.arm.remove_cluster(group, id.as_str()) { Ok(()) } else { Err(Error::cluster_not_found(id)) }
        }))
    }

    async fn cut_region(&self, region: &Region) -> Option<fleet_core::Result<()>> {
        Some(self.group(region).map(|group| self.arm.cut(group, region.as_str())))
    }

    async fn restore_region(&self, region: &Region) -> Option<fleet_core::Result<()>> {
        Some(self.group(region).map(|group| self.arm.restore(group, region.as_str())))
    }

    async fn fail_next_calls(&self, count: u32) -> Option<fleet_core::Result<()>> {
        self.arm.fail_next_with_server_errors(count);
        Some(Ok(()))
    }

    async fn throttle_next_calls(&self, count: u32, retry_after: Duration) -> Option<fleet_core::Result<()>> {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        self.arm.throttle_next(count, seconds);
        Some(Ok(()))
    }
}
