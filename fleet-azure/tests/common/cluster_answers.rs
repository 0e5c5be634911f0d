//! The local ARM's managed clusters as AKS answers them, built from the official examples
//! (`tests/data/azure-rest-api-specs`): the answer of the `2026-08-01` get example, less the
//! settings the create example's client chose (its request), plus the settings this request
//! chose, with the defaults the create example's answer added to its request filled in where
//! this request sets nothing; identifiers, names, tags, states, versions and addresses
//! substituted for this cluster. Two read-only fields the examples lack are added, as ARM and AKS answer them and
//! as the API description defines them: `systemData` (ARM's record of creation and change) and
//! `powerState` (whether the cluster runs or is stopped). Nothing else is made up: a field is
//! the request's or the example's.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use azure_core::time::{OffsetDateTime, to_rfc3339};
use serde_json::{Map, Value, json};

use super::API;
use super::api_description::description;
use super::json_path::remove_path;
use super::official_examples::example;

/// The subscription of the examples' resource ids.
const EXAMPLE_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";

/// The patch every offered minor version resolves to.
pub const PATCH: &str = "5";

/// The example answer a cluster's answer starts from, and the request of the create example,
/// which says which of an answer's fields its client set.
struct Templates {
    answer: Value,
    request: Value,
    /// What the service added to the create example's request in its answer: its defaults.
    defaults: Value,
    /// The properties a client writes and the service never answers (secrets).
    secrets: BTreeSet<String>,
    credentials: Value,
}

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let get = example("2026-08-01", "ManagedClustersGet.json");
        let create = example("2025-07-01", "ManagedClustersCreate_Update.json");
        let credentials = example("2025-07-01", "ManagedClustersListClusterUserCredentials.json");
        let request = create["parameters"]["parameters"].clone();
        let defaults = added(&create["responses"]["201"]["body"], &request).unwrap_or_default();
        Templates {
            answer: get["responses"]["200"]["body"].clone(),
            request,
            defaults,
            secrets: description(API).write_only_paths("ManagedCluster"),
            credentials: credentials["responses"]["200"]["body"].clone(),
        }
    })
}

/// What `answer` holds beyond `request`, if anything: its keys `request` lacks, and within
/// objects both hold (arrays of objects item by item), what it adds there.
fn added(answer: &Value, request: &Value) -> Option<Value> {
    match (answer, request) {
        (Value::Object(answer), Value::Object(request)) => {
            let mut extra = Map::new();
            for (key, value) in answer {
                let inner = match request.get(key) {
                    None => Some(value.clone()),
                    Some(asked) => added(value, asked),
                };
                if let Some(inner) = inner {
                    extra.insert(key.clone(), inner);
                }
            }
            (!extra.is_empty()).then_some(Value::Object(extra))
        }
        (Value::Array(answer), Value::Array(request)) => {
            let items: Vec<Option<Value>> =
                answer.iter().zip(request).map(|(answer, asked)| added(answer, asked)).collect();
            items.iter().any(Option::is_some).then(|| {
                Value::Array(items.into_iter().map(|item| item.unwrap_or_else(|| Value::Object(Map::new()))).collect())
            })
        }
        _ => None,
    }
}

/// `value` with `defaults` filled in wherever it has nothing (arrays item by item, the first
/// default item serving every item). Maps keyed by the request's own names (its user-assigned
/// identities) are filled only for the names it has.
fn fill(value: &mut Value, defaults: &Value) {
    match (value, defaults) {
        (Value::Object(value), Value::Object(defaults)) => {
            for (key, default) in defaults {
                match value.get_mut(key) {
                    Some(Value::Object(named)) if key == "userAssignedIdentities" => {
                        for (name, entry) in named.iter_mut() {
                            if let Some(default) = default.get(name) {
                                fill(entry, default);
                            }
                        }
                    }
                    Some(inner) => fill(inner, default),
                    None if key == "userAssignedIdentities" => {}
                    None => {
                        value.insert(key.clone(), default.clone());
                    }
                }
            }
        }
        (Value::Array(items), Value::Array(defaults)) => {
            if let Some(default) = defaults.first() {
                items.iter_mut().for_each(|item| fill(item, default));
            }
        }
        _ => {}
    }
}

/// `value` with each `(from, to)` replaced in the resource ids (`id` fields) it holds.
fn rehome(value: &mut Value, replacements: &[(&str, &str)]) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                match inner {
                    Value::String(id) if key == "id" => {
                        for (from, to) in replacements {
                            *id = id.replace(from, to);
                        }
                    }
                    inner => rehome(inner, replacements),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rehome(item, replacements)),
        _ => {}
    }
}

/// `answer` less every key `request` sets.
fn less_requested(answer: &Value, request: &Value) -> Map<String, Value> {
    let mut kept = answer.as_object().cloned().unwrap_or_default();
    for key in request.as_object().into_iter().flatten().map(|(key, _)| key) {
        kept.remove(key);
    }
    kept
}

/// What the service decides about a cluster, beside what its request asked.
pub struct ServerSide<'a> {
    pub id: &'a str,
    pub group: &'a str,
    pub name: &'a str,
    /// `major.minor` the cluster runs (the request's, or the default when it names none).
    pub version: &'a str,
    pub provisioning_state: &'a str,
    /// `systemData.createdAt` of the cluster before this change, if it existed.
    pub created_at: Option<&'a str>,
    pub serial: u32,
}

/// The cluster `request` asks for, as AKS answers it (see the module documentation).
pub fn cluster_answer(request: &Value, server: &ServerSide) -> Value {
    let templates = templates();
    let mut answer = less_requested(&templates.answer, &templates.request);
    let mut properties = less_requested(&templates.answer["properties"], &templates.request["properties"]);
    for (key, value) in request.as_object().into_iter().flatten() {
        if key != "properties" {
            answer.insert(key.clone(), value.clone());
        }
    }
    for (key, value) in request["properties"].as_object().into_iter().flatten() {
        properties.insert(key.clone(), value.clone());
    }
    let location = request["location"].as_str().unwrap_or_default();
    let prefix = request["properties"]["dnsPrefix"].as_str().unwrap_or(server.name);
    let current = format!("{}.{PATCH}", server.version);
    let pool_template = &templates.answer["properties"]["agentPoolProfiles"][0];
    let requested_pool = &templates.request["properties"]["agentPoolProfiles"][0];
    let pools: Vec<Value> = request["properties"]["agentPoolProfiles"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, pool)| {
            let mut answered = less_requested(pool_template, requested_pool);
            answered.extend(pool.as_object().cloned().unwrap_or_default());
            let version = pool["orchestratorVersion"].as_str().filter(|v| !v.is_empty()).unwrap_or(server.version);
            answered.insert("orchestratorVersion".into(), json!(version));
            answered.insert("currentOrchestratorVersion".into(), json!(format!("{version}.{PATCH}")));
            answered.insert("provisioningState".into(), json!(server.provisioning_state));
            answered.insert("eTag".into(), json!(etag(server.serial * 16 + index as u32)));
            Value::Object(answered)
        })
        .collect();
    properties.insert("agentPoolProfiles".into(), json!(pools));
    properties.insert("kubernetesVersion".into(), json!(server.version));
    properties.insert("currentKubernetesVersion".into(), json!(current));
    properties.insert("provisioningState".into(), json!(server.provisioning_state));
    properties.insert("powerState".into(), json!({"code": "Running"}));
    properties.insert("fqdn".into(), json!(format!("{prefix}-d1k3x9.hcp.{location}.azmk8s.io")));
    properties.insert("azurePortalFQDN".into(), json!(format!("{prefix}-d1k3x9.portal.hcp.{location}.azmk8s.io")));
    properties.insert("nodeResourceGroup".into(), json!(format!("MC_{}_{}_{location}", server.group, server.name)));
    answer.insert("properties".into(), Value::Object(properties));
    let mut answer = Value::Object(answer);
    // The resource ids among the defaults are the example's subscription's and node group's.
    let subscription = server.id.split('/').nth(2).unwrap_or_default();
    let node_group = format!("/resourcegroups/MC_{}_{}_{location}/", server.group, server.name);
    let mut defaults = templates.defaults.clone();
    rehome(&mut defaults, &[(EXAMPLE_SUBSCRIPTION, subscription), ("/resourcegroups/MC_rg1/", &node_group)]);
    fill(&mut answer, &defaults);
    // Secrets are written, never answered.
    for path in &templates.secrets {
        remove_path(&mut answer, path);
    }
    let Value::Object(mut answer) = answer else { unreachable!("an answer is an object") };
    answer.insert("id".into(), json!(server.id));
    answer.insert("name".into(), json!(server.name));
    answer.insert("eTag".into(), json!(etag(server.serial)));
    let now = to_rfc3339(&OffsetDateTime::now_utc());
    let created = server.created_at.map_or_else(|| now.clone(), str::to_owned);
    answer.insert(
        "systemData".into(),
        json!({"createdAt": created, "createdByType": "Application", "lastModifiedAt": now,
            "lastModifiedByType": "Application"}),
    );
    Value::Object(answer)
}

/// An entity tag of eight lowercase letters, as the examples' (`beywbwei`), one per change.
fn etag(serial: u32) -> String {
    let mut state = u64::from(serial).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1_e995;
    (0..8)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            char::from(b'a' + ((state >> 59) % 26) as u8)
        })
        .collect()
}

/// The answer of `listClusterUserCredential`: the example's, with this kubeconfig (base64).
pub fn credentials_answer(kubeconfig_base64: &str) -> Value {
    let mut answer = templates().credentials.clone();
    answer["kubeconfigs"][0]["value"] = json!(kubeconfig_base64);
    answer
}
