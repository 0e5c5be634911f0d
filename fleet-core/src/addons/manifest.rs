//! Add-on manifests as objects: parsed from YAML (from JSON without feature `yaml`), checked,
//! identified and put in apply order.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::blueprint::Addon;
use crate::{Error, Result};

/// Which Kubernetes object: its API version, kind, namespace (none when cluster-scoped) and
/// name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ObjectRef {
    /// `v1`, `apps/v1`, ...
    pub api_version: String,
    /// `Namespace`, `Deployment`, ...
    pub kind: String,
    /// Its namespace, for namespaced objects.
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
}

impl ObjectRef {
    /// The API group (empty for the core group).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(group, _)| group)
    }

    /// The version within the group.
    pub fn version(&self) -> &str {
        self.api_version.rsplit_once('/').map_or(self.api_version.as_str(), |(_, version)| version)
    }

    /// `Kind.group`, or `Kind` for the core group, as ApplySets list them.
    pub fn group_kind(&self) -> String {
        match self.group() {
            "" => self.kind.clone(),
            group => format!("{}.{group}", self.kind),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} {namespace}/{}", self.group_kind(), self.name),
            None => write!(f, "{} {}", self.group_kind(), self.name),
        }
    }
}

/// Kinds that are cluster-scoped (never in a namespace).
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "PersistentVolume",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
];

/// Kinds of the built-in API groups, which are namespaced unless listed above.
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "autoscaling",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "node.k8s.io",
    "apiextensions.k8s.io",
    "admissionregistration.k8s.io",
    "apiregistration.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
];

/// Built-in kinds in the order they are applied within their class (the order Helm installs in).
const KIND_ORDER: &[&str] = &[
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// One object of an add-on, ready to apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AddonObject {
    /// The add-on it comes from.
    pub addon: String,
    /// Which object.
    pub reference: ObjectRef,
    /// The object as the manifest states it (namespace filled in for namespaced kinds).
    pub body: Value,
}

impl AddonObject {
    /// Where it goes in the apply order: definitions first (CRDs), then namespaces, then other
    /// cluster-scoped objects, then namespaced built-in objects (what others refer to, such as
    /// service accounts, secrets and config maps, before the workloads), then custom resources.
    pub fn apply_rank(&self) -> (u8, usize) {
        let built_in = BUILT_IN_GROUPS.contains(&self.reference.group());
        let kind = self.reference.kind.as_str();
        let class = match kind {
            "CustomResourceDefinition" => 0,
            "Namespace" => 1,
            _ if !built_in => 4,
            _ if self.reference.namespace.is_none() => 2,
            _ => 3,
        };
        (class, KIND_ORDER.iter().position(|k| *k == kind).unwrap_or(KIND_ORDER.len()))
    }
}

/// Every object of a cluster's add-ons, in apply order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AddonSet {
    /// The objects, in apply order (then by reference).
    pub objects: Vec<AddonObject>,
}

impl AddonSet {
    /// Parses every add-on's manifest (one or more YAML documents; without feature `yaml`, one
    /// or more JSON documents one after another). An object without `apiVersion`, `kind` or
    /// `metadata.name`, or stated twice, is [`Error::InvalidSpec`] naming the add-on and
    /// document.
    pub fn parse(addons: &BTreeMap<String, Addon>) -> Result<Self> {
        let mut objects: Vec<AddonObject> = Vec::new();
        for (name, addon) in addons {
            let documents = documents(&addon.manifest)
                .map_err(|reason| Error::InvalidSpec { path: format!("addons.{name}"), reason })?;
            for (index, body) in documents.into_iter().enumerate() {
                if body.is_null() {
                    continue;
                }
                let object = object(name, index, body)?;
                if let Some(twin) = objects.iter().find(|o| o.reference == object.reference) {
                    return Err(Error::InvalidSpec {
                        path: format!("addons.{name}[{index}]"),
                        reason: format!("{} is also stated by add-on `{}`", object.reference, twin.addon),
                    });
                }
                objects.push(object);
            }
        }
        objects.sort_by(|a, b| a.apply_rank().cmp(&b.apply_rank()).then_with(|| a.reference.cmp(&b.reference)));
        Ok(Self { objects })
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// A hash of the whole set, to tell when it changed.
    pub fn hash(&self) -> String {
        crate::BlueprintVersion::of(&self.objects).to_string()
    }
}

/// The documents of one manifest, as YAML.
#[cfg(feature = "yaml")]
fn documents(manifest: &str) -> std::result::Result<Vec<Value>, String> {
    serde_saphyr::from_str_multiple(manifest).map_err(|err| format!("not valid YAML: {err}"))
}

/// The documents of one manifest, as JSON values one after another: YAML needs feature `yaml`.
#[cfg(not(feature = "yaml"))]
fn documents(manifest: &str) -> std::result::Result<Vec<Value>, String> {
    serde_json::Deserializer::from_str(manifest)
        .into_iter::<Value>()
        .collect::<std::result::Result<_, _>>()
        .map_err(|err| format!("not valid JSON (YAML manifests need feature `yaml` of fleet-core): {err}"))
}

fn object(addon: &str, index: usize, mut body: Value) -> Result<AddonObject> {
    let invalid = |reason: String| Error::InvalidSpec { path: format!("addons.{addon}[{index}]"), reason };
    let text = |value: Option<&Value>, what: &str| -> Result<String> {
        match value.and_then(Value::as_str) {
            Some(text) if !text.is_empty() => Ok(text.to_owned()),
            _ => Err(invalid(format!("`{what}` is missing or not a string"))),
        }
    };
    if !body.is_object() {
        return Err(invalid("a Kubernetes object must be a mapping".into()));
    }
    let api_version = text(body.get("apiVersion"), "apiVersion")?;
    let kind = text(body.get("kind"), "kind")?;
    let name = text(body.pointer("/metadata/name"), "metadata.name")?;
    let stated_namespace = body.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_owned);
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    let namespace = if CLUSTER_SCOPED.contains(&kind.as_str()) && BUILT_IN_GROUPS.contains(&group) {
        if stated_namespace.is_some() {
            return Err(invalid(format!("{kind} is cluster-scoped and takes no namespace")));
        }
        None
    } else if BUILT_IN_GROUPS.contains(&group) {
        // Namespaced built-in kinds go to `default` unless the manifest says otherwise.
        Some(stated_namespace.unwrap_or_else(|| "default".to_owned()))
    } else {
        // A custom resource is namespaced exactly when its manifest names a namespace.
        stated_namespace
    };
    if let (Some(namespace), Some(metadata)) = (&namespace, body.get_mut("metadata").and_then(Value::as_object_mut)) {
        metadata.insert("namespace".into(), Value::from(namespace.as_str()));
    }
    Ok(AddonObject { addon: addon.to_owned(), reference: ObjectRef { api_version, kind, namespace, name }, body })
}

/// Where `live` differs from `desired`: every field the manifest states must have the same
/// value live (fields only the cluster sets are ignored). Returns the paths that differ,
/// `spec.replicas` style.
pub fn differences(desired: &Value, live: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(desired, Some(live), String::new(), &mut found);
    found
}

fn walk(desired: &Value, live: Option<&Value>, path: String, found: &mut Vec<String>) {
    match (desired, live) {
        (Value::Object(wanted), Some(Value::Object(actual))) => {
            for (key, value) in wanted {
                let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                walk(value, actual.get(key), here, found);
            }
        }
        (Value::Array(wanted), Some(Value::Array(actual))) if wanted.len() == actual.len() => {
            for (index, (value, live)) in wanted.iter().zip(actual).enumerate() {
                walk(value, Some(live), format!("{path}[{index}]"), found);
            }
        }
        (wanted, Some(actual)) if wanted == actual => {}
        // Numbers may come back as another JSON number type (1 vs 1.0).
        (Value::Number(a), Some(Value::Number(b))) if a.as_f64() == b.as_f64() => {}
        _ => found.push(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addons(manifest: &str) -> BTreeMap<String, Addon> {
        BTreeMap::from([("base".to_owned(), Addon { manifest: manifest.to_owned() })])
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn objects_are_ordered_for_apply_and_namespaced_by_default() {
        let set = AddonSet::parse(&addons(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n---\n\
             apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\n---\n\
             apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n",
        ))
        .unwrap();
        let order: Vec<String> = set.objects.iter().map(|o| o.reference.to_string()).collect();
        assert_eq!(
            order,
            [
                "CustomResourceDefinition.apiextensions.k8s.io widgets.example.com",
                "Namespace shop",
                "ClusterRole.rbac.authorization.k8s.io reader",
                "ConfigMap default/settings",
                "Deployment.apps shop/web",
                "Widget.example.com shop/w",
            ]
        );
        assert_eq!(set.objects[3].body["metadata"]["namespace"], "default");
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn bad_objects_name_the_addon_and_document() {
        for (manifest, expected) in [
            ("kind: ConfigMap\nmetadata: {name: a}\n", "addons.base[0]"),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Secret\n",
                "addons.base[1]",
            ),
            ("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, namespace: b}\n", "cluster-scoped"),
            ("- just\n- a list\n", "mapping"),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
                "also stated",
            ),
            ("key: [unclosed\n", "not valid YAML"),
        ] {
            let err = AddonSet::parse(&addons(manifest)).unwrap_err().to_string();
            assert!(err.contains(expected), "{manifest:?}: {err}");
        }
    }

    #[cfg(not(feature = "yaml"))]
    #[test]
    fn without_yaml_manifests_are_json_documents() {
        let set = AddonSet::parse(&addons(
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
               {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}"#,
        ))
        .unwrap();
        let order: Vec<String> = set.objects.iter().map(|o| o.reference.to_string()).collect();
        assert_eq!(order, ["Namespace shop", "ConfigMap default/settings"]);
        assert!(AddonSet::parse(&addons("")).unwrap().is_empty());
        let err = AddonSet::parse(&addons("apiVersion: v1\nkind: ConfigMap\n")).unwrap_err().to_string();
        assert!(err.contains("addons.base") && err.contains("feature `yaml`"), "{err}");
    }

    #[test]
    fn differences_consider_only_the_fields_the_manifest_states() {
        let desired: Value = serde_json::json!({"spec": {"replicas": 2, "template": {"labels": ["a"]}}});
        let same: Value = serde_json::json!({"spec": {"replicas": 2.0, "template": {"labels": ["a"]}, "paused": false}, "status": {}});
        assert!(differences(&desired, &same).is_empty());
        let drifted: Value = serde_json::json!({"spec": {"replicas": 5, "template": {}}});
        assert_eq!(differences(&desired, &drifted), ["spec.replicas", "spec.template.labels"]);
    }
}
