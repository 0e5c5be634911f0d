//! A local GKE API for tests: the `container/v1` REST paths the provider uses, over real HTTP
//! and JSON, with request bodies checked against the public discovery document
//! (`tests/data/container.v1.json`, revision 20261027, as shipped in the
//! `google-api-python-client` package, Apache-2.0). It keeps state per cluster, returns
//! long-running operations that finish after a few polls, and can fail chosen requests.

// Shared by several test binaries, each of which uses only a part.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use fleet_core::conformance::http::{TestResponse, serve};
use fleet_core::{FleetName, Region};
use fleet_gcp::{GkeProvider, GkeProviderBuilder};
use serde_json::{Value, json};

pub const PROJECT: &str = "fleet-test";
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
    polls_left: u32,
    on_done: Done,
}

enum Done {
    Run(String),
    Remove(String),
    Upgrade(String, String),
    Nothing,
}

#[derive(Default)]
struct State {
    clusters: BTreeMap<String, Value>,
    operations: BTreeMap<String, Operation>,
    failures: VecDeque<(u16, &'static str, String)>,
    requests: Vec<(String, String, Value)>,
    violations: Vec<String>,
    serial: u32,
}

/// The local GKE API, serving until the test ends.
#[derive(Clone)]
pub struct Gke {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Gke {
    pub fn start() -> Gke {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let url = serve(move |request| {
            let ints = request.query.contains("enum-encoding%3Dint") || request.query.contains("enum-encoding=int");
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let path = request.path.trim_start_matches("/v1/");
            let (status, answer) = answer(&shared, &request.method, path, body, ints);
            TestResponse::json(status, answer.to_string())
        });
        Gke { url, state }
    }

    /// A provider for `fleet` in `europe-west1` and `us-central1`, anonymous, polling fast.
    pub async fn provider(&self, fleet: &str) -> GkeProvider {
        self.builder(fleet).build().await.unwrap()
    }

    pub fn builder(&self, fleet: &str) -> GkeProviderBuilder {
        GkeProviderBuilder::new(FleetName::new(fleet).unwrap(), PROJECT)
            .with_locations(vec![Region::new("europe-west1").unwrap(), Region::new("us-central1").unwrap()])
            .with_endpoint(&self.url)
            .with_anonymous_credentials()
            .with_access_token("ya29.test-token".to_owned().into())
            .with_poll_interval(std::time::Duration::from_millis(5))
            .without_client_retries()
    }

    /// Fails the next request with this HTTP status and Google status.
    pub fn fail_next(&self, http: u16, status: &'static str, message: &str) {
        self.state.lock().unwrap().failures.push_back((http, status, message.to_owned()));
    }

    /// Forgets failures not yet used.
    pub fn clear_failures(&self) {
        self.state.lock().unwrap().failures.clear();
    }

    /// Every request so far: method, path, body.
    pub fn requests(&self) -> Vec<(String, String, Value)> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Fields the provider sent that the discovery document does not define.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// Adds a cluster made outside Fleet.
    pub fn add_cluster(&self, location: &str, name: &str, labels: Value) {
        let path = format!("projects/{PROJECT}/locations/{location}/clusters/{name}");
        let cluster = json!({"name": name, "location": location, "status": "RUNNING", "resourceLabels": labels});
        self.state.lock().unwrap().clusters.insert(path, cluster);
    }
}

fn answer(shared: &Mutex<State>, method: &str, path: &str, body: Value, ints: bool) -> (u16, Value) {
    let mut state = shared.lock().unwrap();
    state.requests.push((method.to_owned(), path.to_owned(), body.clone()));
    if let Some((http, status, message)) = state.failures.pop_front() {
        return error(http, status, &message);
    }
    let segments: Vec<&str> = path.split('/').collect();
    let answer = match (method, segments.as_slice()) {
        ("POST", ["projects", _, "locations", location, "clusters"]) => {
            let violations = unknown_fields(&body, "CreateClusterRequest");
            state.violations.extend(violations);
            create(&mut state, location, body)
        }
        ("GET", ["projects", _, "locations", location, "clusters"]) => {
            let clusters: Vec<Value> =
                state.clusters.values().filter(|c| *location == "-" || c["location"] == *location).cloned().collect();
            (200, json!({"clusters": clusters}))
        }
        ("GET", ["projects", _, "locations", _, "clusters", _]) => match state.clusters.get(path) {
            Some(cluster) => (200, cluster.clone()),
            None => error(404, "NOT_FOUND", &format!("Not found: {path}.")),
        },
        ("PUT", ["projects", _, "locations", location, "clusters", _]) => {
            state.violations.extend(unknown_fields(&body, "UpdateClusterRequest"));
            let version = body["update"]["desiredMasterVersion"].as_str().unwrap_or_default().to_owned();
            match state.clusters.get_mut(path) {
                Some(cluster) => {
                    cluster["status"] = json!("RECONCILING");
                    operation(&mut state, location, "UPGRADE_MASTER", Done::Upgrade(path.to_owned(), version))
                }
                None => error(404, "NOT_FOUND", &format!("Not found: {path}.")),
            }
        }
        ("POST", ["projects", _, "locations", location, "clusters", cluster, "nodePools", pool]) => {
            state.violations.extend(unknown_fields(&body, "SetNodePoolAutoscalingRequest"));
            let Some(pool) = pool.strip_suffix(":setAutoscaling") else {
                return error(404, "NOT_FOUND", path);
            };
            let name = format!("projects/{PROJECT}/locations/{location}/clusters/{cluster}");
            let Some(stored) = state.clusters.get_mut(&name) else {
                return error(404, "NOT_FOUND", &format!("Not found: {name}."));
            };
            if let Some(pools) = stored["nodePools"].as_array_mut() {
                for stored_pool in pools.iter_mut().filter(|p| p["name"] == *pool) {
                    stored_pool["autoscaling"] = body["autoscaling"].clone();
                }
            }
            operation(&mut state, location, "SET_NODE_POOL_SIZE", Done::Nothing)
        }
        ("DELETE", ["projects", _, "locations", location, "clusters", _]) => match state.clusters.get_mut(path) {
            Some(cluster) => {
                cluster["status"] = json!("STOPPING");
                operation(&mut state, location, "DELETE_CLUSTER", Done::Remove(path.to_owned()))
            }
            None => error(404, "NOT_FOUND", &format!("Not found: {path}.")),
        },
        ("GET", ["projects", _, "locations", _, "operations", id]) => poll(&mut state, id),
        _ => error(404, "NOT_FOUND", &format!("no route for {method} {path}")),
    };
    (answer.0, if ints { with_int_enums(answer.1) } else { answer.1 })
}

fn error(http: u16, status: &str, message: &str) -> (u16, Value) {
    (http, json!({"error": {"code": http, "message": message, "status": status}}))
}

fn create(state: &mut State, location: &str, body: Value) -> (u16, Value) {
    let mut cluster = body["cluster"].clone();
    let name = cluster["name"].as_str().unwrap_or_default().to_owned();
    let path = format!("projects/{PROJECT}/locations/{location}/clusters/{name}");
    if state.clusters.contains_key(&path) {
        return error(409, "ALREADY_EXISTS", &format!("Already exists: {path}."));
    }
    state.serial += 1;
    let version = cluster["initialClusterVersion"].as_str().unwrap_or("1.31").to_owned();
    cluster["location"] = json!(location);
    cluster["status"] = json!("PROVISIONING");
    cluster["selfLink"] = json!(format!("https://container.googleapis.com/v1/{path}"));
    cluster["endpoint"] = json!(format!("34.77.0.{}", state.serial));
    cluster["currentMasterVersion"] = json!(format!("{version}.5-gke.1100"));
    cluster["createTime"] = json!("2026-01-01T00:00:00+00:00");
    cluster["masterAuth"] = json!({"clusterCaCertificate": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkdLRS1DQQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="});
    if let Some(pools) = cluster["nodePools"].as_array_mut() {
        for pool in pools {
            pool["status"] = json!("PROVISIONING");
        }
    }
    state.clusters.insert(path.clone(), cluster);
    operation(state, location, "CREATE_CLUSTER", Done::Run(path))
}

fn operation(state: &mut State, location: &str, kind: &str, on_done: Done) -> (u16, Value) {
    state.serial += 1;
    let id = format!("operation-{}", state.serial);
    let value = json!({
        "name": id,
        "operationType": kind,
        "status": "RUNNING",
        "selfLink": format!("https://container.googleapis.com/v1/projects/{PROJECT}/locations/{location}/operations/{id}"),
        "location": location,
    });
    state.operations.insert(id, Operation { value: value.clone(), polls_left: POLLS, on_done });
    (200, value)
}

fn poll(state: &mut State, id: &str) -> (u16, Value) {
    let Some(operation) = state.operations.get_mut(id) else {
        return error(404, "NOT_FOUND", &format!("operation {id} not found"));
    };
    operation.polls_left = operation.polls_left.saturating_sub(1);
    if operation.polls_left > 0 {
        return (200, operation.value.clone());
    }
    operation.value["status"] = json!("DONE");
    let value = operation.value.clone();
    let on_done = std::mem::replace(&mut operation.on_done, Done::Nothing);
    match on_done {
        Done::Run(path) => {
            if let Some(cluster) = state.clusters.get_mut(&path) {
                cluster["status"] = json!("RUNNING");
                if let Some(pools) = cluster["nodePools"].as_array_mut() {
                    for pool in pools {
                        pool["status"] = json!("RUNNING");
                    }
                }
            }
        }
        Done::Remove(path) => {
            state.clusters.remove(&path);
        }
        Done::Upgrade(path, version) => {
            if let Some(cluster) = state.clusters.get_mut(&path) {
                cluster["currentMasterVersion"] = json!(format!("{version}.2-gke.300"));
                cluster["status"] = json!("RUNNING");
            }
        }
        Done::Nothing => {}
    }
    (200, value)
}

/// Enums as the numbers the client asks for (`$alt=json;enum-encoding=int`).
fn with_int_enums(mut value: Value) -> Value {
    const CLUSTER: &[&str] =
        &["STATUS_UNSPECIFIED", "PROVISIONING", "RUNNING", "RECONCILING", "STOPPING", "ERROR", "DEGRADED"];
    const OPERATION: &[&str] = &["STATUS_UNSPECIFIED", "PENDING", "RUNNING", "DONE", "ABORTING"];
    const TYPES: &[&str] = &[
        "TYPE_UNSPECIFIED",
        "CREATE_CLUSTER",
        "DELETE_CLUSTER",
        "UPGRADE_MASTER",
        "UPGRADE_NODES",
        "REPAIR_CLUSTER",
        "UPDATE_CLUSTER",
        "CREATE_NODE_POOL",
        "DELETE_NODE_POOL",
        "SET_NODE_POOL_MANAGEMENT",
        "AUTO_REPAIR_NODES",
        "AUTO_UPGRADE_NODES",
        "SET_LABELS",
        "SET_MASTER_AUTH",
        "SET_NODE_POOL_SIZE",
    ];
    fn number(value: &mut Value, names: &[&str]) {
        if let Some(index) = value.as_str().and_then(|name| names.iter().position(|n| *n == name)) {
            *value = json!(index);
        }
    }
    fn cluster(value: &mut Value) {
        number(&mut value["status"], CLUSTER);
        if let Some(pools) = value["nodePools"].as_array_mut() {
            for pool in pools {
                number(&mut pool["status"], CLUSTER);
            }
        }
    }
    if value.get("operationType").is_some() {
        number(&mut value["status"], OPERATION);
        number(&mut value["operationType"], TYPES);
    } else if let Some(clusters) = value.get_mut("clusters").and_then(Value::as_array_mut) {
        clusters.iter_mut().for_each(cluster);
    } else if value.get("name").is_some() {
        cluster(&mut value);
    }
    value
}
