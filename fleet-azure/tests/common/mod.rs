//! A local Azure Resource Manager for tests: the `Microsoft.ContainerService/managedClusters`
//! paths the provider uses, over real HTTP and JSON. It keeps state per resource, answers with
//! the official examples' bodies ([`cluster_answers`]), walks `provisioningState` from
//! `Creating` or `Updating` to `Succeeded` over several polls (of the operation, or of the
//! cluster where AKS hands out no operation), answers long-running operations with the status
//! codes and headers of the official examples and API description (a create `201` with
//! `Azure-AsyncOperation`, an update `200`, a delete, stop or start `202` with `Location`),
//! pages lists by `nextLink`, and can fail chosen requests (429 with `Retry-After`, 409, 500,
//! ...) or every request of a resource group and location, as when a region is down
//! ([`LocalArm::cut`]). [`ArmHooks`] are the conformance kit's hooks into it.
//!
//! Every request is checked against the official API description of the api-version the
//! provider speaks ([`api_description`], `managedClusters.json` of `2026-08-01`): the
//! api-version, the operation's method, path and query parameters, and each body field's
//! name, type, enum value and visibility (nothing read-only sent, required fields present).
//! Its own answers are checked the same way, with their status and headers.

// Shared by several test binaries, each of which uses only a part.
#![allow(dead_code)]

pub mod api_description;
pub mod cluster_answers;
#[path = "../../src/json_path.rs"]
mod json_path;
pub mod kube_route;
pub mod official_examples;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use fleet_azure::{AksProvider, AksProviderBuilder};
use fleet_core::conformance::http::{TestRequest, TestResponse, serve};
use fleet_core::conformance::{ConformanceHooks, SimulatedKubeApi};
use fleet_core::{ClusterId, Error, FleetName, Region};
use serde_json::{Value, json};

pub use api_description::{Enums, Side, description};
use cluster_answers::{PATCH, ServerSide, cluster_answer, credentials_answer};

pub const SUBSCRIPTION: &str = "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c";
pub const GROUP: &str = "fleet-rg";
pub const REGIONS: [&str; 2] = ["westeurope", "eastus2"];
/// The kubeconfig `listClusterUserCredential` hands out, before base64.
pub const KUBECONFIG_TOKEN: &str = "aks-user-token-3f9a";
/// The api-version the provider speaks, whose API description the local ARM holds it to.
pub const API: &str = fleet_azure::API_VERSION;

/// Every way `value` departs from definition `model` of the API description on `side`, enum
/// values held to the listed ones.
pub fn violations(value: &Value, model: &str, side: Side) -> Vec<String> {
    description(API).violations_with(value, model, side, Enums::Listed)
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
    /// The operation running on each cluster (by key), while it runs.
    pending: BTreeMap<String, String>,
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
    /// The minor versions offered in every location (`1.33` to `1.37` by default).
    offered: Vec<String>,
    /// PUTs of managed clusters still to answer 409 `OperationNotAllowed`, as AKS does while
    /// another operation runs on the cluster.
    busy_puts: u32,
    /// Answer the versions list with the official example as it is.
    versions_example: bool,
    /// Diagnostic settings by cluster key, then by setting name.
    diagnostic_settings: BTreeMap<String, BTreeMap<String, Value>>,
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

/// The local ARM, serving until the test ends. Its clusters' API server is one
/// [`SimulatedKubeApi`] (`kube`), which takes the token of the user kubeconfig
/// ([`KUBECONFIG_TOKEN`]) as a cluster-admin's; the providers its builders make reach it over
/// [`kube_route::SimulatedApiServerRoute`].
#[derive(Clone)]
pub struct LocalArm {
    pub url: String,
    pub kube: SimulatedKubeApi,
    state: Arc<Mutex<State>>,
}

impl LocalArm {
    pub fn start() -> LocalArm {
        let offered = (33..=37).map(|minor| format!("1.{minor}")).collect();
        let state = Arc::new(Mutex::new(State { polls: 2, page_size: 100, offered, ..State::default() }));
        let shared = Arc::clone(&state);
        let url = Arc::new(OnceLock::<String>::new());
        let base = Arc::clone(&url);
        let served = serve(move |request| answer(&shared, base.get().map(String::as_str).unwrap_or_default(), request));
        url.set(served.clone()).expect("set once");
        let kube = SimulatedKubeApi::start().with_admin_token_check(|token| token == KUBECONFIG_TOKEN);
        LocalArm { url: served, kube, state }
    }

    /// The route to the clusters' simulated API server.
    pub fn kube_route(&self) -> Arc<kube_route::SimulatedApiServerRoute> {
        Arc::new(kube_route::SimulatedApiServerRoute { url: self.kube.url().to_owned() })
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
            .with_conflict_retries(3, Duration::from_millis(20))
            .with_api_route(self.kube_route())
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

    /// Answers the next `count` PUTs of managed clusters with 409 `OperationNotAllowed`, as
    /// AKS does while another operation runs on the cluster.
    pub fn busy_puts(&self, count: u32) {
        self.state.lock().unwrap().busy_puts = count;
    }

    /// The minor versions every location offers.
    pub fn set_offered(&self, versions: &[&str]) {
        self.state.lock().unwrap().offered = versions.iter().map(|v| (*v).to_owned()).collect();
    }

    /// Answers the Kubernetes versions list with the official example
    /// (`tests/data/KubernetesVersions_List.json`) as it is.
    pub fn serve_versions_example(&self) {
        self.state.lock().unwrap().versions_example = true;
    }

    /// The diagnostic settings stored on cluster `name` of `group`, by setting name.
    pub fn diagnostic_settings(&self, group: &str, name: &str) -> BTreeMap<String, Value> {
        let key = cluster_path(group, name).to_ascii_lowercase();
        self.state.lock().unwrap().diagnostic_settings.get(&key).cloned().unwrap_or_default()
    }

    /// What the stored cluster `name` of `group` applies, as the kit's `applied_settings`
    /// reads it: `apiServerAccessProfile`, `networkProfile.networkPolicy`, and a diagnostic
    /// setting with `kube-audit` enabled.
    pub fn applied_settings(&self, group: &str, name: &str) -> Option<fleet_core::AppliedSettings> {
        let cluster = self.cluster(group, name)?;
        let properties = &cluster["properties"];
        let access = &properties["apiServerAccessProfile"];
        let mut network = fleet_core::Network::default();
        network.private_endpoint = access["enablePrivateCluster"] == true;
        network.allowed_cidrs = api_description::strings(&access["authorizedIPRanges"]);
        network.network_policy = properties["networkProfile"]["networkPolicy"].as_str().is_some_and(|p| p != "none");
        let audit = self.diagnostic_settings(group, name).values().any(|setting| {
            setting["properties"]["logs"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|log| log["category"] == AUDIT_CATEGORY && log["enabled"] == true)
        });
        Some(fleet_core::AppliedSettings::new(network, audit))
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
            "kubernetesVersion": "1.34", "dnsPrefix": name,
            "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "vmSize": "Standard_D2s_v5", "mode": "System"}]}});
        let mut state = self.state.lock().unwrap();
        let mut cluster = stored_cluster(&mut state, &path, group, name, &body, None);
        cluster["properties"]["provisioningState"] = json!("Succeeded");
        for pool in cluster["properties"]["agentPoolProfiles"].as_array_mut().into_iter().flatten() {
            pool["provisioningState"] = json!("Succeeded");
        }
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

/// Waits for a cluster of the local ARM: polls every 5 ms, for at most 10 s.
pub fn waits() -> fleet_core::WaitOptions {
    fleet_core::WaitOptions::with_timeout(Duration::from_secs(10))
        .with_intervals(Duration::from_millis(5), Duration::from_millis(20))
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
    let diagnostic = request.path.to_ascii_lowercase().contains("/providers/microsoft.insights/diagnosticsettings/");
    let api_version = if diagnostic { DIAGNOSTIC_SETTINGS_API_VERSION } else { API };
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
        && matches!(*kind, "operations" | "operationresults")
    {
        return poll(&mut state, kind, id);
    }
    if diagnostic {
        return diagnostic_setting(&mut state, &request.method, &segments, body);
    }
    let Some(operation) = description(API).operation(&request.method, &request.path) else {
        state.violations.push(format!("{} {}: no such operation in the API", request.method, request.path));
        return error(404, "NotFound", &format!("no route for {} {}", request.method, request.path));
    };
    // A `nextLink`'s own parameters are the service's, which a client passes back as they are.
    let query: Vec<&str> = request.query.split('&').filter(|pair| !pair.starts_with("$skipToken=")).collect();
    let found = operation.query_violations(&query.join("&"));
    state.violations.extend(found.into_iter().map(|v| format!("{} {}: {v}", request.method, request.path)));
    let key = segments.iter().take(8).copied().collect::<Vec<_>>().join("/").to_ascii_lowercase();
    let key = format!("/{key}");
    if let Some(definition) = operation.body_definition() {
        let side = if state.clusters.contains_key(&key) { Side::Update } else { Side::Create };
        let found = violations(&body, &definition, side);
        state.violations.extend(found.into_iter().map(|v| format!("{} {}: {v}", request.method, request.path)));
    } else if !request.body.is_empty() {
        state.violations.push(format!("{} {}: a body where none belongs", request.method, request.path));
    }
    let response = serve_operation(&mut state, base, operation.id, &request, &seen, &segments, &key, body);
    check_answer(&mut state, &operation, &response);
    response
}

/// Holds an answer of `operation` to the API description: a status it declares, only headers
/// it declares for that status, and a body of the definition it declares.
fn check_answer(state: &mut State, operation: &api_description::Operation, response: &TestResponse) {
    if response.status >= 400 {
        return;
    }
    let id = operation.id;
    if !operation.statuses().contains(&response.status) {
        state.violations.push(format!("{id}: answered {}, which the API does not declare", response.status));
    }
    let declared = operation.headers(response.status);
    for (name, _) in &response.headers {
        let name = name.to_ascii_lowercase();
        if name != "content-type" && !declared.contains(&name) {
            state
                .violations
                .push(format!("{id}: header `{name}` on a {} answer, which the API does not declare", response.status));
        }
    }
    if let Some(definition) = operation.answer_definition(response.status) {
        match serde_json::from_slice::<Value>(&response.body) {
            Ok(body) => {
                let found = violations(&body, &definition, Side::Answer);
                state.violations.extend(found.into_iter().map(|v| format!("{id} answer: {v}")));
            }
            Err(err) => state.violations.push(format!("{id}: answered a body that is not JSON: {err}")),
        }
    }
}

/// The answer of operation `id` (its request checked already).
#[allow(clippy::too_many_arguments)]
fn serve_operation(
    state: &mut State,
    base: &str,
    id: &str,
    request: &TestRequest,
    seen: &Seen,
    segments: &[&str],
    key: &str,
    body: Value,
) -> TestResponse {
    let location =
        |state: &State| state.clusters.get(key).and_then(|c| c["location"].as_str()).unwrap_or("westeurope").to_owned();
    match id {
        "ManagedClusters_ListKubernetesVersions" => versions(state, &request.method),
        "ManagedClusters_CreateOrUpdate" => {
            if seen.header("content-type") != Some("application/json") {
                state.violations.push(format!("PUT {}: no JSON content type", request.path));
            }
            if state.busy_puts > 0 {
                state.busy_puts -= 1;
                return error(
                    409,
                    "OperationNotAllowed",
                    "Operation is not allowed because there's an in progress update managed cluster operation",
                );
            }
            let creating = seen.header("if-none-match") == Some("*");
            if let Some(refused) = check_tags(state, &body) {
                return refused;
            }
            if creating && state.clusters.contains_key(key) {
                return error(412, "PreconditionFailed", "The resource already exists and If-None-Match is `*`.");
            }
            if let Some(refused) = refuse_cluster(state, state.clusters.get(key), &body) {
                return refused;
            }
            let (group, name) = (segments[3], segments[7]);
            let previous = state.clusters.get(key).cloned();
            let cluster = stored_cluster(state, &request.path, group, name, &body, previous.as_ref());
            let at = cluster["location"].as_str().unwrap_or_default().to_owned();
            state.clusters.insert(key.to_owned(), cluster.clone());
            match previous {
                // An update answers 200 and hands out no operation: the cluster's own
                // provisioning state tells when it is done.
                Some(_) => {
                    begin(state, key, &at, Done::Succeed(key.to_owned()));
                    TestResponse::json(200, cluster.to_string())
                }
                None => {
                    let operation = begin(state, key, &at, Done::Succeed(key.to_owned()));
                    let headers = operation_headers(state, base, &at, &operation, true, false);
                    with_headers(TestResponse::json(201, cluster.to_string()), headers)
                }
            }
        }
        "ManagedClusters_Get" => {
            progress_by_get(state, key);
            match state.clusters.get(key) {
                Some(cluster) => TestResponse::json(200, cluster.to_string()),
                None => not_found(&request.path),
            }
        }
        "ManagedClusters_ListByResourceGroup" | "ManagedClusters_List" => list(state, base, request),
        "ManagedClusters_Delete" => match state.clusters.get_mut(key) {
            Some(cluster) => {
                cluster["properties"]["provisioningState"] = json!("Deleting");
                let at = location(state);
                let operation = begin(state, key, &at, Done::Remove(key.to_owned()));
                let headers = operation_headers(state, base, &at, &operation, false, true);
                with_headers(TestResponse::json(202, String::new()), headers)
            }
            None => TestResponse::json(204, String::new()),
        },
        "ManagedClusters_Stop" | "ManagedClusters_Start" => match state.clusters.get_mut(key) {
            Some(cluster) => {
                let stopping = id == "ManagedClusters_Stop";
                cluster["properties"]["provisioningState"] = json!(if stopping { "Stopping" } else { "Starting" });
                let at = location(state);
                let power = if stopping { "Stopped" } else { "Running" };
                let operation = begin(state, key, &at, Done::Power(key.to_owned(), power));
                let headers = operation_headers(state, base, &at, &operation, false, true);
                with_headers(TestResponse::json(202, String::new()), headers)
            }
            None => not_found(&request.path),
        },
        "ManagedClusters_ListClusterUserCredentials" => match state.clusters.get(key) {
            Some(cluster) => {
                let fqdn = cluster["properties"]["fqdn"].as_str().unwrap_or_default();
                let kubeconfig = format!(
                    "apiVersion: v1\nkind: Config\nclusters:\n- name: {0}\n  cluster:\n    server: https://{fqdn}:443\ncontexts:\n- name: {0}\n  context:\n    cluster: {0}\n    user: clusterUser_{GROUP}_{0}\ncurrent-context: {0}\nusers:\n- name: clusterUser_{GROUP}_{0}\n  user:\n    token: {KUBECONFIG_TOKEN}\n",
                    segments[7]
                );
                let value = base64::engine::general_purpose::STANDARD.encode(kubeconfig);
                TestResponse::json(200, credentials_answer(&value).to_string())
            }
            None => not_found(&request.path),
        },
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

/// Azure tag rules: at most 50 tags, names of at most 512 characters without `<>%&\?/`,
/// values of at most 256. A body breaking them is refused (400 `InvalidTag`) and recorded as
/// a violation.
fn check_tags(state: &mut State, body: &Value) -> Option<TestResponse> {
    let tags = body["tags"].as_object()?;
    let mut problems = Vec::new();
    if tags.len() > 50 {
        problems.push(format!("{} tags, more than Azure's 50", tags.len()));
    }
    for (name, value) in tags {
        if name.len() > 512 || name.chars().any(|c| "<>%&\\?/".contains(c)) {
            problems.push(format!("tag name `{name}` breaks Azure's rules"));
        }
        if value.as_str().is_none_or(|v| v.len() > 256) {
            problems.push(format!("tag `{name}` has a value Azure refuses: {value}"));
        }
    }
    let first = problems.first().cloned()?;
    state.violations.extend(problems);
    Some(error(400, "InvalidTag", &first))
}

/// The rules of AKS a PUT of a managed cluster must keep, as a refusal when one is broken
/// (`existing` is the stored cluster of an update). The error codes are this stand-in's
/// choice, with AKS's status and meaning:
/// - a minor version not offered (create), or an update skipping a minor or going down;
/// - an update moving the cluster to another location;
/// - no pool of mode `System`, or a system pool without nodes or not Linux;
/// - an agent pool name off `^[a-z][a-z0-9]{0,11}$`;
/// - authorized IP ranges on a private cluster; network policy `cilium` without dataplane
///   `cilium`;
/// - an update while the cluster is busy (409 `OperationNotAllowed`).
fn refuse_cluster(state: &State, existing: Option<&Value>, body: &Value) -> Option<TestResponse> {
    let bad = |code: &str, message: String| Some(error(400, code, &message));
    let properties = &body["properties"];
    let minor = |text: &str| -> Option<(u32, u32)> {
        let mut parts = text.split('.');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    // A request naming no version (absent or empty, as the official create example) takes the
    // default version on create and keeps the running one on update.
    let asked = properties["kubernetesVersion"].as_str().unwrap_or_default();
    match existing {
        None if asked.is_empty() => {}
        None => {
            if !state.offered.iter().any(|offered| minor(offered).is_some() && minor(offered) == minor(asked)) {
                return bad(
                    "K8sVersionNotSupported",
                    format!("Version {asked} is not supported in this region; supported: {:?}", state.offered),
                );
            }
        }
        Some(old) => {
            let (from, to) =
                (old["location"].as_str().unwrap_or_default(), body["location"].as_str().unwrap_or_default());
            if !from.eq_ignore_ascii_case(to) {
                return bad(
                    "LocationNotAllowed",
                    format!("the location of a managed cluster is fixed: {from}, not {to}"),
                );
            }
            let busy = old["properties"]["provisioningState"].as_str().unwrap_or_default();
            if !matches!(busy, "Succeeded" | "Failed" | "Canceled") {
                return Some(error(
                    409,
                    "OperationNotAllowed",
                    &format!("Operation is not allowed because there's an in progress operation ({busy})"),
                ));
            }
            let running = old["properties"]["currentKubernetesVersion"].as_str().unwrap_or_default();
            if let (Some(from), Some(to)) = (minor(running), minor(asked)) {
                if to < from {
                    return bad("NotAllowedDowngrade", format!("Downgrading from {running} to {asked} is not allowed"));
                }
                if to.0 != from.0 || to.1 > from.1 + 1 {
                    return bad(
                        "UpgradeNotAllowed",
                        format!("Upgrading from {running} to {asked} skips a minor version; upgrade one at a time"),
                    );
                }
                if to != from && !state.offered.iter().any(|offered| minor(offered) == Some(to)) {
                    return bad("K8sVersionNotSupported", format!("Version {asked} is not supported in this region"));
                }
            }
        }
    }
    let pools: Vec<&Value> = properties["agentPoolProfiles"].as_array().into_iter().flatten().collect();
    for pool in &pools {
        let name = pool["name"].as_str().unwrap_or_default();
        if !fleet_azure::is_aks_pool_name(name) {
            return bad(
                "InvalidParameter",
                format!(
                    "agent pool name `{name}` must be lowercase letters and digits, start with a letter, at most 12 characters"
                ),
            );
        }
    }
    let system: Vec<&&Value> = pools.iter().filter(|pool| pool["mode"] == "System").collect();
    if system.is_empty() {
        return bad(
            "MustDefineAtLeastOneSystemPool",
            "a managed cluster needs at least one agent pool of mode System".into(),
        );
    }
    for pool in system {
        let nodes = pool["count"].as_i64().unwrap_or(0);
        let min = if pool["enableAutoScaling"] == true { pool["minCount"].as_i64().unwrap_or(0) } else { nodes };
        if nodes < 1 || min < 1 {
            return bad("InvalidParameter", format!("system pool `{}` needs at least one node", pool["name"]));
        }
        if pool["osType"].as_str().is_some_and(|os| os != "Linux") {
            return bad("InvalidParameter", format!("system pool `{}` must be Linux", pool["name"]));
        }
    }
    let access = &properties["apiServerAccessProfile"];
    if access["enablePrivateCluster"] == true && access["authorizedIPRanges"].as_array().is_some_and(|r| !r.is_empty())
    {
        return bad("InvalidParameter", "authorized IP ranges are not supported on a private cluster".into());
    }
    let network = &properties["networkProfile"];
    if network["networkPolicy"] == "cilium" && network["networkDataplane"] != "cilium" {
        return bad("InvalidParameter", "network policy cilium needs networkDataplane cilium".into());
    }
    if properties["disableLocalAccounts"] == true && properties["aadProfile"]["managed"] != true {
        return bad(
            "InvalidParameter",
            "local accounts can be disabled only on a cluster with managed Entra ID".into(),
        );
    }
    None
}

/// The diagnostic setting category AKS's Kubernetes audit log goes by.
const AUDIT_CATEGORY: &str = "kube-audit";

/// The `api-version` of `Microsoft.Insights/diagnosticSettings` the provider speaks.
const DIAGNOSTIC_SETTINGS_API_VERSION: &str = "2021-05-01-preview";

/// The categories of an AKS cluster's resource logs.
const AKS_LOG_CATEGORIES: &[&str] = &[
    "kube-apiserver",
    "kube-audit",
    "kube-audit-admin",
    "kube-controller-manager",
    "kube-scheduler",
    "cluster-autoscaler",
    "cloud-controller-manager",
    "guard",
    "csi-azuredisk-controller",
    "csi-azurefile-controller",
    "csi-snapshot-controller",
];

/// PUT and GET of `{cluster}/providers/Microsoft.Insights/diagnosticSettings/{name}`: a PUT
/// needs the cluster, a Log Analytics `workspaceId` and known AKS log categories.
fn diagnostic_setting(state: &mut State, method: &str, segments: &[&str], body: Value) -> TestResponse {
    let (cluster, name) = match segments {
        [head @ .., "providers", _, _, name] if head.len() == 8 => {
            (format!("/{}", head.join("/")).to_ascii_lowercase(), *name)
        }
        _ => return error(404, "NotFound", "no such diagnostic setting path"),
    };
    if !state.clusters.contains_key(&cluster) {
        return not_found(&cluster);
    }
    match method {
        "PUT" => {
            let workspace = body["properties"]["workspaceId"].as_str().unwrap_or_default();
            if !workspace.to_ascii_lowercase().contains("/providers/microsoft.operationalinsights/workspaces/") {
                return error(400, "BadRequest", &format!("`{workspace}` is not a Log Analytics workspace id"));
            }
            for log in body["properties"]["logs"].as_array().into_iter().flatten() {
                let category = log["category"].as_str().unwrap_or_default();
                if !AKS_LOG_CATEGORIES.contains(&category) {
                    return error(400, "BadRequest", &format!("Category '{category}' is not supported"));
                }
            }
            let mut stored = body;
            stored["id"] = json!(format!("{cluster}/providers/microsoft.insights/diagnosticSettings/{name}"));
            stored["name"] = json!(name);
            state.diagnostic_settings.entry(cluster).or_default().insert(name.to_owned(), stored.clone());
            TestResponse::json(200, stored.to_string())
        }
        "GET" => match state.diagnostic_settings.get(&cluster).and_then(|settings| settings.get(name)) {
            Some(setting) => TestResponse::json(200, setting.to_string()),
            None => error(404, "ResourceNotFound", &format!("diagnostic setting {name} not found")),
        },
        _ => error(405, "MethodNotAllowed", method),
    }
}

/// The Kubernetes versions of a location, in the shape of the official example
/// (`KubernetesVersions_List.json` of `2026-08-01`): each offered minor with one patch,
/// upgradable to the next minor's, the middle one the default; or the example itself.
fn versions(state: &State, method: &str) -> TestResponse {
    if method != "GET" {
        return error(405, "MethodNotAllowed", method);
    }
    let example = official_examples::example(API, "KubernetesVersions_List.json");
    let body = &example["responses"]["200"]["body"];
    if state.versions_example {
        return TestResponse::json(200, body.to_string());
    }
    let values: Vec<Value> = state
        .offered
        .iter()
        .enumerate()
        .map(|(index, minor)| {
            let upgrades: Vec<String> =
                state.offered.get(index + 1).map(|next| format!("{next}.{PATCH}")).into_iter().collect();
            let mut entry = json!({"capabilities": {"supportPlan": ["KubernetesOfficial"]},
                "patchVersions": {format!("{minor}.{PATCH}"): {"upgrades": upgrades}}, "version": minor});
            if Some(minor) == default_version(state).as_ref() {
                entry["isDefault"] = json!(true);
            }
            entry
        })
        .collect();
    TestResponse::json(200, json!({"values": values}).to_string())
}

/// The minor version AKS picks for a cluster whose request names none: the middle one offered.
fn default_version(state: &State) -> Option<String> {
    state.offered.get(state.offered.len().saturating_sub(1) / 2).cloned()
}

/// The cluster `request` asks for at `path`, as ARM keeps and answers it
/// ([`cluster_answer`]), `previous` being the cluster an update changes: an update keeps its
/// creation time, power state and running versions until its operation is done.
fn stored_cluster(
    state: &mut State,
    path: &str,
    group: &str,
    name: &str,
    request: &Value,
    previous: Option<&Value>,
) -> Value {
    state.serial += 1;
    let asked = request["properties"]["kubernetesVersion"].as_str().filter(|v| !v.is_empty());
    let version = match (asked, previous) {
        (Some(asked), _) => asked.to_owned(),
        (None, Some(previous)) => previous["properties"]["kubernetesVersion"].as_str().unwrap_or_default().to_owned(),
        (None, None) => default_version(state).unwrap_or_default(),
    };
    let created_at = previous.and_then(|p| p["systemData"]["createdAt"].as_str());
    let server = ServerSide {
        id: path,
        group,
        name,
        version: &version,
        provisioning_state: if previous.is_some() { "Updating" } else { "Creating" },
        created_at,
        serial: state.serial,
    };
    let mut cluster = cluster_answer(request, &server);
    if let Some(previous) = previous {
        let properties = &mut cluster["properties"];
        properties["currentKubernetesVersion"] = previous["properties"]["currentKubernetesVersion"].clone();
        properties["powerState"] = previous["properties"]["powerState"].clone();
        let running: BTreeMap<&str, &Value> = previous["properties"]["agentPoolProfiles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|pool| Some((pool["name"].as_str()?, &pool["currentOrchestratorVersion"])))
            .collect();
        for pool in properties["agentPoolProfiles"].as_array_mut().into_iter().flatten() {
            if let Some(version) = pool["name"].as_str().and_then(|name| running.get(name)) {
                pool["currentOrchestratorVersion"] = (*version).clone();
            }
        }
    }
    cluster
}

/// Starts an operation on the cluster at `key`, done after the configured number of polls
/// (of the operation, or of the cluster); returns its id.
fn begin(state: &mut State, key: &str, location: &str, on_done: Done) -> String {
    let serial = state.operations.len() + 1;
    let id = format!("{serial:08x}-0000-4000-8000-{serial:012x}");
    let fails_with = state.failed_operations.pop_front();
    let polls = state.polls;
    let operation = Operation { location: location.into(), polls_left: polls, on_done, fails_with };
    state.operations.insert(id.clone(), operation);
    state.pending.insert(key.to_owned(), id.clone());
    id
}

/// The headers that point at operation `id`: `Azure-AsyncOperation` and or `Location`, and
/// `Retry-After` when one is configured.
fn operation_headers(
    state: &State,
    base: &str,
    location: &str,
    id: &str,
    async_header: bool,
    location_header: bool,
) -> Vec<(&'static str, String)> {
    let root = format!("{base}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.ContainerService/locations/{location}");
    let mut headers = Vec::new();
    if async_header {
        headers.push(("Azure-AsyncOperation", format!("{root}/operations/{id}?api-version={API}")));
    }
    if location_header {
        headers.push(("Location", format!("{root}/operationresults/{id}?api-version={API}")));
    }
    if let Some(seconds) = state.retry_after {
        headers.push(("Retry-After", seconds.to_string()));
    }
    headers
}

/// A GET of the cluster at `key` is a poll of the operation running on it, if any: AKS
/// hands out no operation for an update, whose end the cluster's state shows.
fn progress_by_get(state: &mut State, key: &str) {
    if let Some(id) = state.pending.get(key).cloned() {
        advance(state, &id);
    }
}

/// One poll of operation `id`: whether it still runs, and the failure it ended with.
fn advance(state: &mut State, id: &str) -> Option<(bool, Option<(String, String)>)> {
    let operation = state.operations.get_mut(id)?;
    if operation.polls_left == 0 {
        return Some((false, operation.fails_with.clone()));
    }
    operation.polls_left -= 1;
    let running = operation.polls_left > 0;
    let failure = operation.fails_with.clone();
    if !running {
        let on_done = std::mem::replace(&mut operation.on_done, Done::Power(String::new(), "Running"));
        state.pending.retain(|_, pending| pending != id);
        finish(state, on_done, failure.is_some());
    }
    Some((running, failure))
}

fn poll(state: &mut State, kind: &str, id: &str) -> TestResponse {
    let retry_after = state.retry_after;
    let Some((running, failure)) = advance(state, id) else {
        return error(404, "NotFound", &format!("operation {id} not found"));
    };
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
                let version = cluster["properties"]["kubernetesVersion"].as_str().unwrap_or_default().to_owned();
                for pool in cluster["properties"]["agentPoolProfiles"].as_array_mut().into_iter().flatten() {
                    pool["provisioningState"] = json!(if failed { "Failed" } else { "Succeeded" });
                    let pool_version = pool["orchestratorVersion"].as_str().unwrap_or(&version).to_owned();
                    pool["currentOrchestratorVersion"] = json!(format!("{pool_version}.{PATCH}"));
                }
                cluster["properties"]["currentKubernetesVersion"] = json!(format!("{version}.{PATCH}"));
                let found = violations(cluster, "ManagedCluster", Side::Answer);
                state.violations.extend(found);
            }
        }
        Done::Remove(key) if !failed => {
            state.clusters.remove(&key);
            state.diagnostic_settings.remove(&key);
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
        answer["nextLink"] =
            json!(format!("{base}{}?api-version={API}&$skipToken={}", request.path, skip + state.page_size));
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

    async fn applied_settings(
        &self,
        id: &ClusterId,
        region: &Region,
    ) -> Option<fleet_core::Result<fleet_core::AppliedSettings>> {
        Some(self.group(region).and_then(|group| {
            self.arm.applied_settings(group, id.as_str()).ok_or_else(|| Error::cluster_not_found(id))
        }))
    }

    async fn throttle_next_calls(&self, count: u32, retry_after: Duration) -> Option<fleet_core::Result<()>> {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        self.arm.throttle_next(count, seconds);
        Some(Ok(()))
    }

    /// The clusters serve the local ARM's [`SimulatedKubeApi`], over the route its builders set.
    fn clusters_serve_kubernetes_api(&self) -> bool {
        true
    }
}
