//! A local GKE API for tests: the `container/v1` REST paths the provider uses, over real HTTP
//! and JSON, with request bodies checked against the public discovery document
//! (`tests/data/container.v1.json`, revision 20261027, as shipped in the
//! `google-api-python-client` package, Apache-2.0). It keeps state per cluster, returns
//! long-running operations that finish after a few polls, refuses what GKE refuses for these
//! requests, and can fail chosen requests, cut locations off and throttle.
//!
//! What it refuses, as GKE does:
//! - a cluster name that is not 1-40 lowercase letters, digits and hyphens starting with a
//!   letter (`INVALID_ARGUMENT`), labels that are not GCP labels (`INVALID_ARGUMENT`), a name
//!   taken in the location (`ALREADY_EXISTS`, 409);
//! - a change of a cluster while one of its operations runs, a deleting one included
//!   (`FAILED_PRECONDITION`: "Cluster is running incompatible operation ..."), or of a cluster
//!   that is not running;
//! - `setResourceLabels` with a label fingerprint other than the cluster's
//!   (`FAILED_PRECONDITION`: "Labels could not be set due to fingerprint mismatch ...");
//! - a control plane downgrade, an upgrade skipping a minor, a version the cluster's release
//!   channel does not offer, a channel move that would need a downgrade, and more or fewer
//!   than one change per `UpdateCluster` (`INVALID_ARGUMENT`; see [`versions`]);
//! - invalid node pool names, autoscaling mixing total and per-zone limits or with min above
//!   max, settings GKE refuses together (see [`rules`]), a network the project lacks (the
//!   `default` one included, once removed), and more nodes than the region's quota, counted
//!   per zone as GKE counts them (403 `RESOURCE_EXHAUSTED`).
//!
//! It serves `getServerConfig` ([`versions::CHANNELS`]), enrols a new cluster in a release
//! channel as GKE does, stores every field sent (enums as names, answered as numbers when the
//! client asks, see `enums`), spreads node pools over three zones of a region, and upgrades
//! node pools with their control plane (the node auto-upgrade of release channels).
//!
//! A cut location answers every call about it (its clusters, its operations, its list) with
//! 503 `UNAVAILABLE`; the list of every location (`locations/-`) answers 200 without that
//! location's clusters and names it in `missingZones`, the only way the GKE API documents to
//! tell of locations it could not list. With every location cut, that list still answers 200,
//! with no clusters and every location missing (nothing in GKE's documentation says the
//! aggregated list ever fails for missing zones): the provider must notice by itself that no
//! location was listed.
//!
//! Started with [`Gke::start_with_kube_api`], its clusters serve a Kubernetes API: their
//! `endpoint` is the address of a [`SimulatedKubeApi`] (plain HTTP, reached over
//! [`kube_route::SimulatedPlainHttpRoute`]), and the providers it builds hand out
//! [`SIMULATED_ADMIN_TOKEN`], the cluster-admin token that server accepts, as the OAuth
//! access token GKE's API servers accept. A private-endpoint cluster's `endpoint` is its
//! private address (`privateClusterConfig.privateEndpoint`), as GKE reports it.

// Shared by several test binaries, each of which uses only a part.
#![allow(dead_code)]

mod enums;
pub mod kube_route;
pub mod rules;
pub mod versions;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use fleet_core::conformance::http::{TestResponse, serve};
use fleet_core::conformance::{ConformanceHooks, SIMULATED_ADMIN_TOKEN, SimulatedKubeApi};
use fleet_core::{AppliedSettings, ClusterId, Error, FleetName, Network, Region, Result};
use fleet_gcp::{GkeProvider, GkeProviderBuilder};
use serde_json::{Value, json};

/// The spec the tests start from: cluster `id` of provider `gcp` in `region` at
/// Kubernetes `version`, with one pool `workers` of 1 to 3 small nodes.
pub fn spec_builder(id: &str, region: &str, version: &str) -> fleet_core::ClusterSpecBuilder {
    fleet_core::ClusterSpec::builder(
        ClusterId::new(id).unwrap(),
        fleet_core::ProviderName::new("gcp").unwrap(),
        Region::new(region).unwrap(),
        version.parse().unwrap(),
    )
    .node_pool(
        fleet_core::NodePool::new(
            fleet_core::NodePoolName::new("workers").unwrap(),
            fleet_core::SizeClass::Small,
            1,
            3,
        )
        .unwrap(),
    )
}

pub const PROJECT: &str = "fleet-test";
/// The two locations every test provider is configured with.
pub const LOCATIONS: [&str; 2] = ["europe-west1", "us-central1"];
/// Polls of an operation before it is done.
const POLLS: u32 = 2;

fn discovery() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_str(include_str!("../data/container.v1.json")).expect("the discovery document parses")
    })
}

/// Every field of `value` that the discovery schema `schema` does not define, as paths.
pub fn unknown_fields(value: &Value, schema: &str) -> Vec<String> {
    let mut found = Vec::new();
    walk(value, schema, String::new(), &mut found);
    found
}

fn walk(value: &Value, schema: &str, path: String, found: &mut Vec<String>) {
    let Some(properties) = discovery()["schemas"][schema]["properties"].as_object() else { return };
    let Some(object) = value.as_object() else { return };
    for (key, inner) in object {
        let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        let Some(property) = properties.get(key) else {
            found.push(format!("{schema}.{here}"));
            continue;
        };
        if let Some(reference) = property["$ref"].as_str() {
            walk(inner, reference, here, found);
        } else if let (Some(items), Some(reference)) = (inner.as_array(), property["items"]["$ref"].as_str()) {
            for (index, item) in items.iter().enumerate() {
                walk(item, reference, format!("{here}[{index}]"), found);
            }
        }
    }
}

struct Operation {
    value: Value,
    /// The cluster it changes (its path).
    cluster: String,
    polls_left: u32,
    on_done: Done,
}

enum Done {
    Run,
    Remove,
    Upgrade(String),
    Channel(String),
    Labels(Value),
    Nothing,
}

/// An answer given in place of the next request's.
struct Canned {
    status: u16,
    body: Value,
    headers: Vec<(String, String)>,
}

struct State {
    clusters: BTreeMap<String, Value>,
    operations: BTreeMap<String, Operation>,
    failures: VecDeque<Canned>,
    /// Answers for the next request whose path contains the key.
    targeted: Vec<(String, Canned)>,
    cut: BTreeSet<String>,
    requests: Vec<(String, String, Value)>,
    violations: Vec<String>,
    serial: u32,
    /// The project's VPC networks.
    networks: BTreeSet<String>,
    /// Nodes the project may run per region (a stand-in for its CPU and disk quotas).
    node_quota: Option<u64>,
    /// The endpoint (`host:port`) of public clusters made from now on, when they serve a
    /// simulated Kubernetes API.
    kube_endpoint: Option<String>,
}

/// One answer: HTTP status, JSON body, extra headers.
struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(String, String)>,
}

fn ok(body: Value) -> Reply {
    Reply { status: 200, body, headers: Vec::new() }
}

/// A Google error body, as the API sends it.
fn error(http: u16, status: &str, message: &str) -> Reply {
    Reply { status: http, body: google_error(http, status, message), headers: Vec::new() }
}

fn google_error(http: u16, status: &str, message: &str) -> Value {
    json!({"error": {"code": http, "message": message, "status": status}})
}

fn not_found(path: &str) -> Reply {
    error(404, "NOT_FOUND", &format!("Not found: {path}."))
}

fn invalid(message: &str) -> Reply {
    error(400, "INVALID_ARGUMENT", message)
}

/// The local GKE API, serving until the test ends.
#[derive(Clone)]
pub struct Gke {
    pub url: String,
    state: Arc<Mutex<State>>,
    /// The Kubernetes API its clusters serve, when started with one.
    kube: Option<SimulatedKubeApi>,
}

impl Gke {
    pub fn start() -> Gke {
        let state = Arc::new(Mutex::new(State {
            clusters: BTreeMap::new(),
            operations: BTreeMap::new(),
            failures: VecDeque::new(),
            targeted: Vec::new(),
            cut: BTreeSet::new(),
            requests: Vec::new(),
            violations: Vec::new(),
            serial: 0,
            networks: ["default", "fleet-vpc"].iter().map(|n| (*n).to_owned()).collect(),
            node_quota: None,
            kube_endpoint: None,
        }));
        let shared = Arc::clone(&state);
        let url = serve(move |request| {
            let ints = request.query.contains("enum-encoding%3Dint") || request.query.contains("enum-encoding=int");
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let path = request.path.trim_start_matches("/v1/");
            let reply = answer(&shared, &request.method, path, body);
            let body = if ints && reply.status == 200 { with_int_enums(reply.body) } else { reply.body };
            reply
                .headers
                .into_iter()
                .fold(TestResponse::json(reply.status, body.to_string()), |response, (name, value)| {
                    response.with_header(name, value)
                })
        });
        Gke { url, state, kube: None }
    }

    /// The local GKE API whose clusters serve a [`SimulatedKubeApi`] (see the module
    /// documentation).
    pub fn start_with_kube_api() -> Gke {
        let api = SimulatedKubeApi::start();
        let mut gke = Gke::start();
        let host = api.url().trim_start_matches("http://").trim_end_matches('/').to_owned();
        gke.state().kube_endpoint = Some(host);
        gke.kube = Some(api);
        gke
    }

    /// The Kubernetes API its clusters serve, when started with one.
    pub fn kube_api(&self) -> Option<&SimulatedKubeApi> {
        self.kube.as_ref()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A provider for `fleet` in [`LOCATIONS`], anonymous, polling fast.
    pub async fn provider(&self, fleet: &str) -> GkeProvider {
        self.builder(fleet).build().await.unwrap()
    }

    pub fn builder(&self, fleet: &str) -> GkeProviderBuilder {
        let builder = GkeProviderBuilder::new(FleetName::new(fleet).unwrap(), PROJECT)
            .with_locations(LOCATIONS.iter().map(|l| Region::new(*l).unwrap()).collect())
            .with_endpoint(&self.url)
            .with_anonymous_credentials()
            .with_poll_interval(Duration::from_millis(5))
            .without_client_retries();
        match &self.kube {
            Some(_) => builder
                .with_access_token(SIMULATED_ADMIN_TOKEN.to_owned().into())
                .with_api_route(Arc::new(kube_route::SimulatedPlainHttpRoute)),
            None => builder.with_access_token("ya29.test-token".to_owned().into()),
        }
    }

    /// Hooks of the conformance kit acting on this server.
    pub fn hooks(&self) -> Arc<dyn ConformanceHooks> {
        Arc::new(GkeHooks { gke: self.clone() })
    }

    /// Fails the next request with this HTTP status and Google status.
    pub fn fail_next(&self, http: u16, status: &'static str, message: &str) {
        self.answer_next(http, google_error(http, status, message), Vec::new());
    }

    /// Answers the next request with this status, body and headers.
    pub fn answer_next(&self, http: u16, body: Value, headers: Vec<(String, String)>) {
        self.state().failures.push_back(Canned { status: http, body, headers });
    }

    /// Throttles the next request as Google's front ends do: 429 `RESOURCE_EXHAUSTED` with a
    /// `google.rpc.RetryInfo` detail and a `Retry-After` header, both of `retry_after`.
    pub fn throttle_next(&self, retry_after: Duration) {
        let body = json!({"error": {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "message": "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'container.googleapis.com'.",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com"},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{}s", retry_after.as_secs_f64())},
            ],
        }});
        self.answer_next(429, body, vec![("Retry-After".into(), retry_after.as_secs().to_string())]);
    }

    /// Fails the next request whose path contains `path_part` with this HTTP status and
    /// Google status; other requests are answered as usual.
    pub fn fail_next_to(&self, path_part: &str, http: u16, status: &'static str, message: &str) {
        let canned = Canned { status: http, body: google_error(http, status, message), headers: Vec::new() };
        self.state().targeted.push((path_part.to_owned(), canned));
    }

    /// Forgets canned answers not yet used.
    pub fn clear_failures(&self) {
        let mut state = self.state();
        state.failures.clear();
        state.targeted.clear();
    }

    /// Makes `location` unreachable: its calls fail with 503, the aggregated list names it
    /// in `missingZones`.
    pub fn cut(&self, location: &str) {
        self.state().cut.insert(location.to_owned());
    }

    /// Makes a cut location reachable again.
    pub fn restore(&self, location: &str) {
        self.state().cut.remove(location);
    }

    /// Every request so far: method, path, body.
    pub fn requests(&self) -> Vec<(String, String, Value)> {
        self.state().requests.clone()
    }

    /// Fields the provider sent that the discovery document does not define.
    pub fn violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    /// The stored cluster `name` of `location`, as GKE describes it.
    pub fn cluster(&self, location: &str, name: &str) -> Option<Value> {
        self.state().clusters.get(&cluster_path(location, name)).cloned()
    }

    /// Points a stored cluster's endpoint (and, for a private one, its
    /// `privateClusterConfig.privateEndpoint`) at `host` (`address` or `address:port`).
    pub fn set_endpoint(&self, location: &str, name: &str, host: &str) {
        if let Some(cluster) = self.state().clusters.get_mut(&cluster_path(location, name)) {
            cluster["endpoint"] = json!(host);
            if cluster["privateClusterConfig"]["enablePrivateEndpoint"] == true {
                cluster["privateClusterConfig"]["privateEndpoint"] = json!(host);
            }
        }
    }

    /// Sets the status of a stored cluster (`STOPPING`, `ERROR`, ...), as if GKE were doing
    /// something to it.
    pub fn set_status(&self, location: &str, name: &str, status: &str) {
        if let Some(cluster) = self.state().clusters.get_mut(&cluster_path(location, name)) {
            cluster["status"] = json!(status);
        }
    }

    /// Adds a running cluster made outside Fleet, with exactly these labels.
    pub fn add_cluster(&self, location: &str, name: &str, labels: Value) {
        let mut state = self.state();
        state.serial += 1;
        let serial = state.serial;
        let path = cluster_path(location, name);
        let mut cluster = json!({
            "name": name,
            "location": location,
            "status": "RUNNING",
            "selfLink": format!("https://container.googleapis.com/v1/{path}"),
            "endpoint": format!("35.180.0.{serial}"),
            "currentMasterVersion": "1.32.3-gke.1100",
            "initialClusterVersion": "1.32",
            "createTime": "2026-01-01T00:00:00+00:00",
            "resourceLabels": labels,
            "nodePools": [{
                "name": "default-pool",
                "initialNodeCount": 3,
                "config": {"machineType": "e2-medium"},
                "status": "RUNNING",
            }],
        });
        cluster["labelFingerprint"] = json!(fingerprint(&cluster["resourceLabels"]));
        state.clusters.insert(path, cluster);
    }

    /// Removes a VPC network of the project (`default`, say, which many projects lack).
    pub fn remove_network(&self, network: &str) {
        self.state().networks.remove(network);
    }

    /// Lets the project run at most `nodes` nodes per region.
    pub fn set_node_quota(&self, nodes: u64) {
        self.state().node_quota = Some(nodes);
    }

    /// Upgrades a cluster's control plane and nodes to `version` as GKE's auto-upgrades do,
    /// behind Fleet's back.
    pub fn auto_upgrade(&self, location: &str, name: &str, version: &str) {
        if let Some(cluster) = self.state().clusters.get_mut(&cluster_path(location, name)) {
            cluster["currentMasterVersion"] = json!(version);
            for pool in cluster["nodePools"].as_array_mut().into_iter().flatten() {
                pool["version"] = json!(version);
            }
        }
    }

    /// Removes a cluster; whether it was there.
    pub fn remove_cluster(&self, location: &str, name: &str) -> bool {
        self.state().clusters.remove(&cluster_path(location, name)).is_some()
    }
}

/// The conformance kit's hooks, acting on the local GKE API directly.
struct GkeHooks {
    gke: Gke,
}

#[fleet_core::async_trait]
impl ConformanceHooks for GkeHooks {
    async fn plant_cluster(
        &self,
        id: &ClusterId,
        region: &Region,
        tags: &BTreeMap<String, String>,
    ) -> Option<Result<()>> {
        self.gke.add_cluster(region.as_str(), id.as_str(), json!(tags));
        Some(Ok(()))
    }

    async fn remove_planted(&self, id: &ClusterId, region: &Region) -> Option<Result<()>> {
        Some(if self.gke.remove_cluster(region.as_str(), id.as_str()) {
            Ok(())
        } else {
            Err(Error::cluster_not_found(id))
        })
    }

    async fn cut_region(&self, region: &Region) -> Option<Result<()>> {
        self.gke.cut(region.as_str());
        Some(Ok(()))
    }

    async fn restore_region(&self, region: &Region) -> Option<Result<()>> {
        self.gke.restore(region.as_str());
        Some(Ok(()))
    }

    async fn fail_next_calls(&self, count: u32) -> Option<Result<()>> {
        for _ in 0..count {
            self.gke.fail_next(503, "UNAVAILABLE", "The service is currently unavailable.");
        }
        Some(Ok(()))
    }

    async fn throttle_next_calls(&self, count: u32, retry_after: Duration) -> Option<Result<()>> {
        for _ in 0..count {
            self.gke.throttle_next(retry_after);
        }
        Some(Ok(()))
    }

    async fn applied_settings(&self, id: &ClusterId, region: &Region) -> Option<Result<AppliedSettings>> {
        let Some(cluster) = self.gke.cluster(region.as_str(), id.as_str()) else {
            return Some(Err(Error::cluster_not_found(id)));
        };
        Some(Ok(applied_settings(&cluster)))
    }

    fn clusters_serve_kubernetes_api(&self) -> bool {
        self.gke.kube.is_some()
    }
}

/// The settings a stored cluster has, read from GKE's own fields: a private endpoint
/// (`privateClusterConfig.enablePrivateEndpoint`), authorized networks
/// (`masterAuthorizedNetworksConfig`), network policy enforcement (Dataplane V2, or Calico
/// with its add-on) and the API server's logs kept beside the Admin Activity audit log that
/// GKE always writes (`loggingConfig.componentConfig.enableComponents` with `APISERVER`).
pub fn applied_settings(cluster: &Value) -> AppliedSettings {
    let mut network = Network::default();
    network.private_endpoint = cluster["privateClusterConfig"]["enablePrivateEndpoint"] == true;
    if cluster["masterAuthorizedNetworksConfig"]["enabled"] == true {
        network.allowed_cidrs = cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|block| block["cidrBlock"].as_str().map(str::to_owned))
            .collect();
    }
    let calico = cluster["networkPolicy"]["enabled"] == true
        && cluster["addonsConfig"]["networkPolicyConfig"].is_object()
        && cluster["addonsConfig"]["networkPolicyConfig"]["disabled"] != true;
    network.network_policy = calico || cluster["networkConfig"]["datapathProvider"] == "ADVANCED_DATAPATH";
    let audit = cluster["loggingConfig"]["componentConfig"]["enableComponents"]
        .as_array()
        .is_some_and(|components| components.iter().any(|c| c == "APISERVER"));
    AppliedSettings::new(network, audit)
}

fn cluster_path(location: &str, name: &str) -> String {
    format!("projects/{PROJECT}/locations/{location}/clusters/{name}")
}

/// GKE's label fingerprint: 8 hex digits that change with the labels.
fn fingerprint(labels: &Value) -> String {
    let sorted: BTreeMap<String, String> = labels
        .as_object()
        .map(|map| map.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default();
    // FNV-1a over the sorted pairs.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in serde_json::to_string(&sorted).unwrap_or_default().bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

/// Whether `location` is cut, or is a zone of a cut region.
fn is_cut(state: &State, location: &str) -> bool {
    state
        .cut
        .iter()
        .any(|cut| location == cut || location.strip_prefix(cut.as_str()).is_some_and(|rest| rest.starts_with('-')))
}

/// GCP's label rules: at most 64 labels; keys of 1-63 lowercase letters, digits, `_` and `-`
/// starting with a letter; values of at most 63 of the same.
fn label_problem(labels: &Value) -> Option<String> {
    let Some(labels) = labels.as_object() else {
        return (!labels.is_null()).then(|| "resource labels must be a map".to_owned());
    };
    if labels.len() > 64 {
        return Some(format!("at most 64 labels are allowed, got {}", labels.len()));
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    for (key, value) in labels {
        let key_ok = (1..=63).contains(&key.len())
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key.chars().all(allowed);
        let value_ok = value.as_str().is_some_and(|v| v.len() <= 63 && v.chars().all(allowed));
        if !key_ok || !value_ok {
            return Some(format!("Invalid resource label {key}={value}"));
        }
    }
    None
}

fn valid_cluster_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The running operation changing cluster `path`, if any.
fn busy(state: &State, path: &str) -> Option<String> {
    state.operations.iter().find(|(_, op)| op.cluster == path && op.value["status"] != "DONE").map(|(id, _)| id.clone())
}

/// Why cluster `path` cannot be changed now, as GKE says it.
fn refuse_change(state: &State, path: &str) -> Option<Reply> {
    let cluster = state.clusters.get(path)?;
    if let Some(operation) = busy(state, path) {
        return Some(error(
            400,
            "FAILED_PRECONDITION",
            &format!("Cluster is running incompatible operation {operation}."),
        ));
    }
    (cluster["status"] != "RUNNING")
        .then(|| error(400, "FAILED_PRECONDITION", &format!("Cluster is not running: it is {}.", cluster["status"])))
}

/// The discovery schema of a request's body.
fn request_schema(method: &str, path: &str) -> &'static str {
    match method {
        "PUT" => "UpdateClusterRequest",
        "POST" if path.ends_with(":setResourceLabels") => "SetLabelsRequest",
        "POST" if path.ends_with(":setAutoscaling") => "SetNodePoolAutoscalingRequest",
        "POST" => "CreateClusterRequest",
        _ => "",
    }
}

fn answer(shared: &Mutex<State>, method: &str, path: &str, body: Value) -> Reply {
    let mut state = shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let body = enums::to_names(body, request_schema(method, path));
    state.requests.push((method.to_owned(), path.to_owned(), body.clone()));
    if let Some(canned) = state.failures.pop_front() {
        return Reply { status: canned.status, body: canned.body, headers: canned.headers };
    }
    if let Some(index) = state.targeted.iter().position(|(part, _)| path.contains(part.as_str())) {
        let (_, canned) = state.targeted.remove(index);
        return Reply { status: canned.status, body: canned.body, headers: canned.headers };
    }
    let segments: Vec<&str> = path.split('/').collect();
    if let ["projects", _, "locations", location, ..] = segments.as_slice()
        && *location != "-"
        && is_cut(&state, location)
    {
        return error(503, "UNAVAILABLE", &format!("The service is currently unavailable in {location}."));
    }
    match (method, segments.as_slice()) {
        ("POST", ["projects", _, "locations", location, "clusters"]) => {
            let violations = unknown_fields(&body, "CreateClusterRequest");
            state.violations.extend(violations);
            create(&mut state, location, body)
        }
        ("GET", ["projects", _, "locations", location, "clusters"]) => {
            let clusters: Vec<Value> = state
                .clusters
                .values()
                .filter(|c| {
                    let at = c["location"].as_str().unwrap_or_default();
                    (*location == "-" && !is_cut(&state, at)) || at == *location
                })
                .cloned()
                .collect();
            let mut list = json!({"clusters": clusters});
            if *location == "-" && !state.cut.is_empty() {
                list["missingZones"] = json!(state.cut.iter().collect::<Vec<_>>());
            }
            ok(list)
        }
        ("GET", ["projects", _, "locations", _, "serverConfig"]) => ok(versions::server_config()),
        ("GET", ["projects", _, "locations", _, "clusters", _]) => match state.clusters.get(path) {
            Some(cluster) => ok(cluster.clone()),
            None => not_found(path),
        },
        ("POST", ["projects", _, "locations", location, "clusters", action]) => {
            let Some(name) = action.strip_suffix(":setResourceLabels") else {
                return error(404, "NOT_FOUND", &format!("no route for {method} {path}"));
            };
            state.violations.extend(unknown_fields(&body, "SetLabelsRequest"));
            set_labels(&mut state, location, &cluster_path(location, name), body)
        }
        ("PUT", ["projects", _, "locations", location, "clusters", _]) => {
            state.violations.extend(unknown_fields(&body, "UpdateClusterRequest"));
            upgrade(&mut state, location, path, body)
        }
        ("POST", ["projects", _, "locations", location, "clusters", cluster, "nodePools", pool]) => {
            state.violations.extend(unknown_fields(&body, "SetNodePoolAutoscalingRequest"));
            let Some(pool) = pool.strip_suffix(":setAutoscaling") else {
                return error(404, "NOT_FOUND", &format!("no route for {method} {path}"));
            };
            set_autoscaling(&mut state, location, &cluster_path(location, cluster), pool, body)
        }
        ("DELETE", ["projects", _, "locations", location, "clusters", _]) => {
            if !state.clusters.contains_key(path) {
                return not_found(path);
            }
            if let Some(operation) = busy(&state, path) {
                return error(
                    400,
                    "FAILED_PRECONDITION",
                    &format!("Cluster is running incompatible operation {operation}."),
                );
            }
            if let Some(cluster) = state.clusters.get_mut(path) {
                cluster["status"] = json!("STOPPING");
            }
            operation(&mut state, location, "DELETE_CLUSTER", path, Done::Remove)
        }
        ("GET", ["projects", _, "locations", _, "operations", id]) => poll(&mut state, id),
        _ => error(404, "NOT_FOUND", &format!("no route for {method} {path}")),
    }
}

fn create(state: &mut State, location: &str, body: Value) -> Reply {
    let mut cluster = body["cluster"].clone();
    let name = cluster["name"].as_str().unwrap_or_default().to_owned();
    if !valid_cluster_name(&name) {
        return invalid(&format!(
            "Cluster name \"{name}\" is invalid: up to 40 lowercase letters, numbers and hyphens, starting with a \
             letter and ending with a letter or number."
        ));
    }
    if let Some(problem) = label_problem(&cluster["resourceLabels"]) {
        return invalid(&problem);
    }
    let pools = cluster["nodePools"].as_array().cloned().unwrap_or_default();
    if pools.is_empty() && cluster["initialNodeCount"].as_i64().unwrap_or(0) <= 0 {
        return invalid("Cluster.initial_node_count must be greater than zero.");
    }
    for pool in &pools {
        let pool_name = pool["name"].as_str().unwrap_or_default();
        if !rules::valid_pool_name(pool_name) {
            return invalid(&format!(
                "Node pool name \"{pool_name}\" is invalid: up to 40 lowercase letters, numbers and hyphens, \
                 starting with a letter and ending with a letter or number."
            ));
        }
        if let Some(problem) = rules::autoscaling_problem(&pool["autoscaling"]) {
            return invalid(&problem);
        }
    }
    if let Some(problem) = rules::settings_problem(&cluster) {
        return invalid(&problem);
    }
    let network = cluster["network"].as_str().filter(|n| !n.is_empty()).unwrap_or("default").to_owned();
    if !state.networks.contains(&network) {
        return invalid(&format!("Network \"{network}\" does not exist in project {PROJECT}."));
    }
    let alias = cluster["initialClusterVersion"].as_str().unwrap_or_default().to_owned();
    let asked = cluster["releaseChannel"]["channel"].as_str().filter(|c| *c != "UNSPECIFIED").map(str::to_owned);
    let (channel, version) = match versions::enrol(&alias, asked.as_deref()) {
        Ok(enrolled) => enrolled,
        Err(problem) => return invalid(&problem),
    };
    let path = cluster_path(location, &name);
    if state.clusters.contains_key(&path) {
        return error(409, "ALREADY_EXISTS", &format!("Already exists: {path}."));
    }
    let zones = rules::zones(location, &cluster);
    let mut nodes = 0;
    for pool in cluster["nodePools"].as_array_mut().into_iter().flatten() {
        pool["status"] = json!("PROVISIONING");
        pool["version"] = json!(version);
        pool["locations"] = json!(zones);
        nodes += rules::pool_nodes(pool);
    }
    if let Some(quota) = state.node_quota {
        let region = region_of(location);
        let used: u64 = state
            .clusters
            .values()
            .filter(|c| region_of(c["location"].as_str().unwrap_or_default()) == region)
            .map(|c| c["currentNodeCount"].as_u64().unwrap_or(0))
            .sum();
        if used + nodes > quota {
            return error(
                403,
                "RESOURCE_EXHAUSTED",
                &format!(
                    "Insufficient regional quota to satisfy request: resource \"CPUS\": {} nodes asked in {region}, \
                     {} left.",
                    nodes,
                    quota.saturating_sub(used)
                ),
            );
        }
    }
    state.serial += 1;
    cluster["location"] = json!(location);
    cluster["locations"] = json!(zones);
    cluster["network"] = json!(network);
    cluster["releaseChannel"] = json!({"channel": channel});
    cluster["status"] = json!("PROVISIONING");
    cluster["selfLink"] = json!(format!("https://container.googleapis.com/v1/{path}"));
    let endpoint = if cluster["privateClusterConfig"]["enablePrivateEndpoint"] == true {
        let private = private_endpoint(cluster["privateClusterConfig"]["masterIpv4CidrBlock"].as_str());
        cluster["privateClusterConfig"]["privateEndpoint"] = json!(private);
        private
    } else {
        state.kube_endpoint.clone().unwrap_or_else(|| format!("34.77.0.{}", state.serial))
    };
    cluster["endpoint"] = json!(endpoint);
    cluster["currentMasterVersion"] = json!(version);
    cluster["currentNodeCount"] = json!(nodes);
    cluster["createTime"] = json!("2026-01-01T00:00:00+00:00");
    cluster["labelFingerprint"] = json!(fingerprint(&cluster["resourceLabels"]));
    let ca = base64::engine::general_purpose::STANDARD.encode(include_str!("../data/simulated-cluster-ca.pem"));
    cluster["masterAuth"] = json!({"clusterCaCertificate": ca});
    state.clusters.insert(path.clone(), cluster);
    operation(state, location, "CREATE_CLUSTER", &path, Done::Run)
}

/// An address of a private control plane's `/28`, where GKE puts its private endpoint
/// (`10.10.0.16/28` → `10.10.0.18`).
fn private_endpoint(block: Option<&str>) -> String {
    block
        .and_then(|block| block.split_once('/'))
        .and_then(|(address, _)| address.parse::<std::net::Ipv4Addr>().ok())
        .map(|address| std::net::Ipv4Addr::from(u32::from(address) + 2).to_string())
        .unwrap_or_else(|| "172.16.0.2".to_owned())
}

/// The region of a location: `europe-west1` of `europe-west1-b`.
fn region_of(location: &str) -> String {
    let parts: Vec<&str> = location.split('-').collect();
    if parts.len() >= 3 { parts[..2].join("-") } else { location.to_owned() }
}

/// `UpdateCluster`: exactly one change a request, as GKE takes it; here a release channel
/// move or a control plane upgrade.
fn upgrade(state: &mut State, location: &str, path: &str, body: Value) -> Reply {
    let Some(cluster) = state.clusters.get(path) else { return not_found(path) };
    let update = body["update"].as_object().cloned().unwrap_or_default();
    let desired: Vec<&String> = update.keys().filter(|key| key.starts_with("desired")).collect();
    if desired.len() != 1 {
        return invalid(&format!(
            "Exactly one update can be applied to a cluster with each request, got {}: {desired:?}.",
            desired.len()
        ));
    }
    let current = cluster["currentMasterVersion"].as_str().unwrap_or_default().to_owned();
    let channel = cluster["releaseChannel"]["channel"].as_str().unwrap_or("REGULAR").to_owned();
    let (kind, done) = if let Some(version) = update.get("desiredMasterVersion") {
        let alias = version.as_str().unwrap_or_default();
        match versions::upgrade(&current, alias, &channel) {
            Ok(version) => ("UPGRADE_MASTER", Done::Upgrade(version.to_owned())),
            Err(problem) => return invalid(&problem),
        }
    } else if let Some(wanted) = update.get("desiredReleaseChannel") {
        let wanted = wanted["channel"].as_str().unwrap_or_default();
        if let Some(problem) = versions::channel_change_problem(&current, wanted) {
            return invalid(&problem);
        }
        ("UPDATE_CLUSTER", Done::Channel(wanted.to_owned()))
    } else {
        return invalid(&format!("The local GKE API does not implement {desired:?}."));
    };
    if let Some(refusal) = refuse_change(state, path) {
        return refusal;
    }
    if let Some(cluster) = state.clusters.get_mut(path) {
        cluster["status"] = json!("RECONCILING");
    }
    operation(state, location, kind, path, done)
}

fn set_autoscaling(state: &mut State, location: &str, path: &str, pool: &str, body: Value) -> Reply {
    if !state.clusters.contains_key(path) {
        return not_found(path);
    }
    if let Some(refusal) = refuse_change(state, path) {
        return refusal;
    }
    if let Some(problem) = rules::autoscaling_problem(&body["autoscaling"]) {
        return invalid(&problem);
    }
    let Some(stored) = state.clusters.get_mut(path) else { return not_found(path) };
    let Some(stored_pool) =
        stored["nodePools"].as_array_mut().and_then(|pools| pools.iter_mut().find(|p| p["name"] == pool))
    else {
        return not_found(&format!("{path}/nodePools/{pool}"));
    };
    stored_pool["autoscaling"] = body["autoscaling"].clone();
    operation(state, location, "SET_NODE_POOL_SIZE", path, Done::Nothing)
}

fn set_labels(state: &mut State, location: &str, path: &str, body: Value) -> Reply {
    let Some(cluster) = state.clusters.get(path) else { return not_found(path) };
    let expected = cluster["labelFingerprint"].as_str().unwrap_or_default().to_owned();
    let supplied = body["labelFingerprint"].as_str().unwrap_or_default();
    if supplied != expected {
        return error(
            400,
            "FAILED_PRECONDITION",
            &format!(
                "Labels could not be set due to fingerprint mismatch; try again with the proper fingerprint: \
                 incorrect fingerprint supplied was \"{supplied}\", the expected one is \"{expected}\"."
            ),
        );
    }
    let labels = if body["resourceLabels"].is_null() { json!({}) } else { body["resourceLabels"].clone() };
    if let Some(problem) = label_problem(&labels) {
        return invalid(&problem);
    }
    if let Some(refusal) = refuse_change(state, path) {
        return refusal;
    }
    operation(state, location, "SET_LABELS", path, Done::Labels(labels))
}

fn operation(state: &mut State, location: &str, kind: &str, cluster: &str, on_done: Done) -> Reply {
    state.serial += 1;
    let id = format!("operation-{}", state.serial);
    let value = json!({
        "name": id,
        "operationType": kind,
        "status": "RUNNING",
        "selfLink": format!("https://container.googleapis.com/v1/projects/{PROJECT}/locations/{location}/operations/{id}"),
        "targetLink": format!("https://container.googleapis.com/v1/{cluster}"),
        "location": location,
    });
    state
        .operations
        .insert(id, Operation { value: value.clone(), cluster: cluster.to_owned(), polls_left: POLLS, on_done });
    ok(value)
}

fn poll(state: &mut State, id: &str) -> Reply {
    let Some(operation) = state.operations.get_mut(id) else {
        return error(404, "NOT_FOUND", &format!("operation {id} not found"));
    };
    operation.polls_left = operation.polls_left.saturating_sub(1);
    if operation.polls_left > 0 || operation.value["status"] == "DONE" {
        return ok(operation.value.clone());
    }
    operation.value["status"] = json!("DONE");
    let value = operation.value.clone();
    let path = operation.cluster.clone();
    let on_done = std::mem::replace(&mut operation.on_done, Done::Nothing);
    if let Done::Remove = on_done {
        state.clusters.remove(&path);
        return ok(value);
    }
    let Some(cluster) = state.clusters.get_mut(&path) else { return ok(value) };
    match on_done {
        Done::Run => {
            cluster["status"] = json!("RUNNING");
            if let Some(pools) = cluster["nodePools"].as_array_mut() {
                for pool in pools {
                    pool["status"] = json!("RUNNING");
                }
            }
        }
        Done::Upgrade(version) => {
            cluster["currentMasterVersion"] = json!(version);
            // Release channels upgrade nodes after their control plane (node auto-upgrade,
            // simulated here at once).
            for pool in cluster["nodePools"].as_array_mut().into_iter().flatten() {
                pool["version"] = json!(version);
            }
            cluster["status"] = json!("RUNNING");
        }
        Done::Channel(channel) => {
            cluster["releaseChannel"] = json!({"channel": channel});
            cluster["status"] = json!("RUNNING");
        }
        Done::Labels(labels) => {
            cluster["labelFingerprint"] = json!(fingerprint(&labels));
            cluster["resourceLabels"] = labels;
        }
        Done::Remove | Done::Nothing => {}
    }
    ok(value)
}

/// Enums as the numbers the client asks for (`$alt=json;enum-encoding=int`), by the schema
/// of the answer.
fn with_int_enums(value: Value) -> Value {
    let schema = if value.get("operationType").is_some() {
        "Operation"
    } else if value.get("validMasterVersions").is_some() {
        "ServerConfig"
    } else if value.get("clusters").is_some() {
        "ListClustersResponse"
    } else {
        "Cluster"
    };
    enums::to_numbers(value, schema)
}
