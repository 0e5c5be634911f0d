//! The official API description of `Microsoft.ContainerService` (`managedClusters.json`, Swagger
//! 2.0, from `tests/data/azure-rest-api-specs`) as a checker: a body against a definition
//! (every property defined, required ones present, types and enum values right, read-only
//! ones never sent, secrets never answered), a request's method and path against the
//! operations, and its query parameters against the operation's.
//!
//! The base definitions the description takes from Azure's common types (`Resource`,
//! `TrackedResource`, `SystemData`, `ErrorResponse`, ...) are not among the copies; they are
//! written out in [`common_types`] as `common-types/resource-management/v6/types.json` defines
//! them.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::{Value, json};

/// The folder of the copies, from the crate.
const STABLE: &str = "specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable";

/// Which side of the wire a body is on: what a client sends to create or to update a
/// resource, or what the service answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    Create,
    Update,
    Answer,
}

/// How enum values are held: `Documented` takes the API's word, accepting any value of an
/// extensible enum (`x-ms-enum` with `modelAsString`); `Listed` accepts only the listed
/// values, for what Fleet sends and what the local ARM answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Enums {
    Documented,
    Listed,
}

/// One api-version's API description.
pub struct ApiDescription {
    version: &'static str,
    doc: Value,
    common: Value,
}

/// The API description of `version` (`2026-08-01` or `2025-07-01`).
pub fn description(version: &str) -> &'static ApiDescription {
    static NEW: OnceLock<ApiDescription> = OnceLock::new();
    static OLD: OnceLock<ApiDescription> = OnceLock::new();
    let load = |version: &'static str, text: &str| ApiDescription {
        version,
        doc: serde_json::from_str(text).expect("the API description parses"),
        common: common_types(),
    };
    match version {
        "2026-08-01" => NEW.get_or_init(|| {
            load(
                "2026-08-01",
                include_str!(
                    "../data/azure-rest-api-specs/specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2026-08-01/managedClusters.json"
                ),
            )
        }),
        "2025-07-01" => OLD.get_or_init(|| {
            load(
                "2025-07-01",
                include_str!(
                    "../data/azure-rest-api-specs/specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2025-07-01/managedClusters.json"
                ),
            )
        }),
        other => panic!("no API description of api-version {other} in tests/data ({STABLE})"),
    }
}

/// The definitions of Azure's common types (v6) that `managedClusters.json` refers to.
fn common_types() -> Value {
    json!({
        "Resource": {"type": "object", "properties": {
            "id": {"type": "string", "readOnly": true},
            "name": {"type": "string", "readOnly": true},
            "type": {"type": "string", "readOnly": true},
            "systemData": {"$ref": "#/definitions/SystemData", "readOnly": true}}},
        "TrackedResource": {"type": "object", "allOf": [{"$ref": "#/definitions/Resource"}],
            "properties": {
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "location": {"type": "string", "x-ms-mutability": ["read", "create"]}},
            "required": ["location"]},
        "ProxyResource": {"type": "object", "allOf": [{"$ref": "#/definitions/Resource"}]},
        "SystemData": {"type": "object", "properties": {
            "createdBy": {"type": "string"},
            "createdByType": {"$ref": "#/definitions/createdByType"},
            "createdAt": {"type": "string", "format": "date-time"},
            "lastModifiedBy": {"type": "string"},
            "lastModifiedByType": {"$ref": "#/definitions/createdByType"},
            "lastModifiedAt": {"type": "string", "format": "date-time"}}},
        "createdByType": {"type": "string", "enum": ["User", "Application", "ManagedIdentity", "Key"]},
        "ErrorResponse": {"type": "object", "properties": {"error": {"$ref": "#/definitions/ErrorDetail"}}},
        "ErrorDetail": {"type": "object", "properties": {
            "code": {"type": "string", "readOnly": true},
            "message": {"type": "string", "readOnly": true},
            "target": {"type": "string", "readOnly": true},
            "details": {"type": "array", "items": {"$ref": "#/definitions/ErrorDetail"}, "readOnly": true},
            "additionalInfo": {"type": "array", "items": {"$ref": "#/definitions/ErrorAdditionalInfo"},
                "readOnly": true}}},
        "ErrorAdditionalInfo": {"type": "object", "properties": {
            "type": {"type": "string", "readOnly": true},
            "info": {"type": "object", "readOnly": true}}},
        "DelegatedResource": {"type": "object", "properties": {
            "resourceId": {"type": "string"}, "tenantId": {"type": "string", "format": "uuid"},
            "referralResource": {"type": "string"}, "location": {"type": "string"}}},
    })
}

/// An operation of the description: its id and what it declares.
pub struct Operation<'a> {
    pub id: &'a str,
    description: &'a ApiDescription,
    operation: &'a Value,
    path_item: &'a Value,
}

impl ApiDescription {
    pub fn version(&self) -> &'static str {
        self.version
    }

    /// The definition `name`, from the description or the common types.
    fn definition(&self, name: &str) -> Option<&Value> {
        self.doc["definitions"].get(name).or_else(|| self.common.get(name))
    }

    /// The definition a `$ref` names (`#/definitions/X` or a common-types file's `...#/definitions/X`).
    fn resolve<'r>(&self, reference: &'r str) -> Option<(&'r str, &Value)> {
        let name = reference.rsplit('/').next()?;
        self.definition(name).map(|definition| (name, definition))
    }

    /// Every property of `definition`, its `allOf` parents' included.
    fn properties(&self, definition: &Value) -> BTreeMap<String, Value> {
        let mut properties = BTreeMap::new();
        for parent in definition["allOf"].as_array().into_iter().flatten() {
            if let Some((_, parent)) = parent["$ref"].as_str().and_then(|r| self.resolve(r)) {
                properties.extend(self.properties(parent));
            }
        }
        if let Some(own) = definition["properties"].as_object() {
            properties.extend(own.iter().map(|(name, property)| (name.clone(), property.clone())));
        }
        properties
    }

    /// The required properties of `definition`, its parents' included.
    fn required(&self, definition: &Value) -> BTreeSet<String> {
        let mut required: BTreeSet<String> = strings(&definition["required"]).into_iter().collect();
        for parent in definition["allOf"].as_array().into_iter().flatten() {
            if let Some((_, parent)) = parent["$ref"].as_str().and_then(|r| self.resolve(r)) {
                required.extend(self.required(parent));
            }
        }
        required
    }

    /// Every way `value` departs from definition `name` on `side`, as `path: problem`, enum
    /// values held as the API documents them.
    pub fn violations(&self, value: &Value, name: &str, side: Side) -> Vec<String> {
        self.violations_with(value, name, side, Enums::Documented)
    }

    /// As [`ApiDescription::violations`], holding enum values as `enums` says.
    pub fn violations_with(&self, value: &Value, name: &str, side: Side, enums: Enums) -> Vec<String> {
        let mut found = Vec::new();
        let rules = Rules { side, enums };
        match self.definition(name) {
            Some(definition) => self.check(value, definition, rules, name.to_owned(), &mut found),
            None => found.push(format!("{name}: no such definition in the {} description", self.version)),
        }
        found
    }

    fn check(&self, value: &Value, schema: &Value, rules: Rules, path: String, found: &mut Vec<String>) {
        if let Some(reference) = schema["$ref"].as_str() {
            match self.resolve(reference) {
                Some((_, definition)) => self.check(value, definition, rules, path, found),
                None => found.push(format!("{path}: the description refers to `{reference}`, which is unknown")),
            }
            return;
        }
        let properties = self.properties(schema);
        let kind = schema["type"].as_str().unwrap_or(if properties.is_empty() { "any" } else { "object" });
        match kind {
            "object" => self.check_object(value, schema, &properties, rules, path, found),
            "array" => match value.as_array() {
                Some(items) => {
                    for (index, item) in items.iter().enumerate() {
                        self.check(item, &schema["items"], rules, format!("{path}[{index}]"), found);
                    }
                }
                None => found.push(format!("{path}: expected an array, got {value}")),
            },
            "string" => match value.as_str() {
                Some(text) => {
                    let extensible = schema["x-ms-enum"]["modelAsString"] == true;
                    if let Some(allowed) = schema["enum"].as_array()
                        && !(extensible && rules.enums == Enums::Documented)
                        && !allowed.iter().any(|a| a == text)
                    {
                        found.push(format!("{path}: `{text}` is none of {allowed:?}"));
                    }
                }
                None => found.push(format!("{path}: expected a string, got {value}")),
            },
            "integer" if !(value.is_i64() || value.is_u64()) => {
                found.push(format!("{path}: expected an integer, got {value}"));
            }
            "number" if !value.is_number() => found.push(format!("{path}: expected a number, got {value}")),
            "boolean" if !value.is_boolean() => found.push(format!("{path}: expected a boolean, got {value}")),
            _ => {}
        }
    }

    fn check_object(
        &self,
        value: &Value,
        schema: &Value,
        properties: &BTreeMap<String, Value>,
        rules: Rules,
        path: String,
        found: &mut Vec<String>,
    ) {
        let Some(object) = value.as_object() else {
            found.push(format!("{path}: expected an object, got {value}"));
            return;
        };
        for name in self.required(schema) {
            if !object.contains_key(&name) && visible(&properties[&name], rules.side) {
                found.push(format!("{path}.{name}: required but missing"));
            }
        }
        let extra = &schema["additionalProperties"];
        for (key, inner) in object {
            let here = format!("{path}.{key}");
            match properties.get(key) {
                Some(property) => {
                    if !visible(property, rules.side) {
                        let why = match rules.side {
                            Side::Create => "not to be sent on create",
                            Side::Update => "not to be sent on update",
                            Side::Answer => "never answered (a secret)",
                        };
                        found.push(format!("{here}: {why}"));
                    }
                    self.check(inner, property, rules, here, found);
                }
                None if extra.is_object() => self.check(inner, extra, rules, here, found),
                None if *extra == Value::Bool(true) || (properties.is_empty() && extra.is_null()) => {}
                None => found.push(format!("{here}: not in the API description")),
            }
        }
    }

    /// The operation whose method and path template match `method` and `path`.
    pub fn operation(&self, method: &str, path: &str) -> Option<Operation<'_>> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let method = method.to_ascii_lowercase();
        self.doc["paths"].as_object()?.iter().find_map(|(template, path_item)| {
            let template: Vec<&str> = template.trim_matches('/').split('/').collect();
            let matches = template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t.eq_ignore_ascii_case(s));
            let operation = path_item.get(&method).filter(|_| matches)?;
            Some(Operation { id: operation["operationId"].as_str()?, description: self, operation, path_item })
        })
    }

    /// The paths of definition `name`'s read-only properties (`a.b`, `a[].b` in arrays, `a{}.b`
    /// in maps), the way [`fleet_azure`]'s request bodies are stripped of them.
    pub fn read_only_paths(&self, name: &str) -> BTreeSet<String> {
        let mut paths = BTreeSet::new();
        if let Some(definition) = self.definition(name) {
            let read_only = |property: &Value| property["readOnly"] == true;
            self.collect(definition, "", &read_only, &mut BTreeSet::from([name.to_owned()]), &mut paths);
        }
        paths
    }

    /// The paths of definition `name`'s properties a client writes and the service never
    /// answers (secrets: `x-ms-mutability` without `read`), written as in
    /// [`ApiDescription::read_only_paths`].
    pub fn write_only_paths(&self, name: &str) -> BTreeSet<String> {
        let mut paths = BTreeSet::new();
        if let Some(definition) = self.definition(name) {
            let unread = |property: &Value| {
                property["x-ms-mutability"].as_array().is_some_and(|m| !m.iter().any(|m| m == "read"))
            };
            self.collect(definition, "", &unread, &mut BTreeSet::from([name.to_owned()]), &mut paths);
        }
        paths
    }

    /// The paths under `definition` of the properties `wanted` picks (not looking inside them).
    fn collect(
        &self,
        definition: &Value,
        prefix: &str,
        wanted: &dyn Fn(&Value) -> bool,
        seen: &mut BTreeSet<String>,
        paths: &mut BTreeSet<String>,
    ) {
        for (name, property) in self.properties(definition) {
            let here = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
            if wanted(&property) {
                paths.insert(here);
                continue;
            }
            let (inner, suffix) = if property["type"] == "array" {
                (&property["items"], "[]")
            } else if property["additionalProperties"].is_object() {
                (&property["additionalProperties"], "{}")
            } else {
                (&property, "")
            };
            let Some((target, nested)) = inner["$ref"].as_str().and_then(|r| self.resolve(r)) else { continue };
            if seen.insert(target.to_owned()) {
                self.collect(nested, &format!("{here}{suffix}"), wanted, seen, paths);
                seen.remove(target);
            }
        }
    }
}

/// The side a body is checked for, and how its enum values are held.
#[derive(Clone, Copy)]
struct Rules {
    side: Side,
    enums: Enums,
}

/// Whether a property may appear on `side`: read-only ones only in answers; otherwise as its
/// `x-ms-mutability` says, except that an update (a PUT of the whole resource) carries the
/// properties fixed at creation too, unchanged (secrets are `create` and `update` only, never
/// answered).
fn visible(property: &Value, side: Side) -> bool {
    if property["readOnly"] == true {
        return side == Side::Answer;
    }
    let Some(mutability) = property["x-ms-mutability"].as_array() else { return true };
    let has = |wanted: &str| mutability.iter().any(|m| m == wanted);
    match side {
        Side::Create => has("create"),
        Side::Update => has("update") || has("create"),
        Side::Answer => has("read"),
    }
}

impl Operation<'_> {
    /// The parameters of the operation and its path, `$ref`s resolved.
    fn parameters(&self) -> Vec<Value> {
        let own = self.operation["parameters"].as_array().into_iter().flatten();
        let shared = self.path_item["parameters"].as_array().into_iter().flatten();
        own.chain(shared)
            .map(|parameter| match parameter["$ref"].as_str() {
                Some(reference) if reference.ends_with("/ApiVersionParameter") => {
                    json!({"name": "api-version", "in": "query", "required": true, "type": "string"})
                }
                Some(reference) if reference.starts_with("#/parameters/") => {
                    let name = reference.trim_start_matches("#/parameters/");
                    self.description.doc["parameters"][name].clone()
                }
                // The other common parameters (subscription, resource group, location) are in the path.
                Some(_) => json!({"in": "path"}),
                None => parameter.clone(),
            })
            .collect()
    }

    /// The definition of the request body, if the operation takes one.
    pub fn body_definition(&self) -> Option<String> {
        self.parameters()
            .into_iter()
            .find(|p| p["in"] == "body")
            .and_then(|p| p["schema"]["$ref"].as_str().and_then(|r| r.rsplit('/').next()).map(str::to_owned))
    }

    /// The definition of the answer of `status`, if it has a body.
    pub fn answer_definition(&self, status: u16) -> Option<String> {
        let schema = &self.operation["responses"][status.to_string()]["schema"];
        schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()).map(str::to_owned)
    }

    /// The statuses the operation may answer with (`default`, the error, aside).
    pub fn statuses(&self) -> Vec<u16> {
        let responses = self.operation["responses"].as_object().into_iter().flatten();
        responses.filter_map(|(status, _)| status.parse().ok()).collect()
    }

    /// The headers declared for the answer of `status`, lower case.
    pub fn headers(&self, status: u16) -> BTreeSet<String> {
        let headers = self.operation["responses"][status.to_string()]["headers"].as_object().into_iter().flatten();
        headers.map(|(name, _)| name.to_ascii_lowercase()).collect()
    }

    /// Every way a request's `query` departs from the operation's query parameters: one not
    /// declared, a required one missing, a value off its enum.
    pub fn query_violations(&self, query: &str) -> Vec<String> {
        let declared: Vec<Value> = self.parameters().into_iter().filter(|p| p["in"] == "query").collect();
        let pairs: Vec<(&str, &str)> = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
            .collect();
        let mut found = Vec::new();
        for parameter in &declared {
            let name = parameter["name"].as_str().unwrap_or_default();
            if parameter["required"] == true && !pairs.iter().any(|(key, _)| *key == name) {
                found.push(format!("{}: query parameter `{name}` is required", self.id));
            }
        }
        for (key, value) in &pairs {
            match declared.iter().find(|p| p["name"] == *key) {
                None => found.push(format!("{}: query parameter `{key}` is not in the API description", self.id)),
                Some(parameter) => {
                    if let Some(allowed) = parameter["enum"].as_array()
                        && !allowed.iter().any(|a| a == value)
                    {
                        found.push(format!("{}: `{key}={value}` is none of {allowed:?}", self.id));
                    }
                }
            }
        }
        found
    }
}

/// The strings of a JSON array (none when `value` is not one).
pub fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
}
