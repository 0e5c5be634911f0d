//! [`KubeAddons`]: add-ons applied through a cluster's API server with server-side apply,
//! pruned by ApplySet membership, and checked for drift.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use super::applyset::{
    CONTAINS_GROUP_KINDS_ANNOTATION, FIELD_MANAGER, MANIFEST_HASH_ANNOTATION, PARENT_NAME, PARENT_NAMESPACE,
    PART_OF_LABEL, RESOURCES_ANNOTATION, TOOLING_ANNOTATION, fleet_applyset_id,
};
use super::reach::{REACH_TIMEOUT, check_reachable};
use super::route::{ApiRoute, DirectRoute};
use super::{AddonInstaller, AddonReport, AddonSet, Drift, DriftPolicy, ObjectRef, differences};
use crate::{Cluster, Credentials, Error, Result};

/// Applies add-ons through the Kubernetes API; see the [module](super) documentation.
///
/// Each [`install`](AddonInstaller::install) reaches the cluster over the installer's
/// [`ApiRoute`] (direct unless [`with_route`](Self::with_route) says otherwise) and first asks
/// the API server for its version, waiting at most [`REACH_TIMEOUT`] (see
/// [`with_reach_timeout`](Self::with_reach_timeout)): an API server it cannot reach fails the
/// install at once with [`Error::Unavailable`] naming the cluster, the endpoint and the route.
///
/// ```
/// use std::sync::Arc;
/// use fleet_core::addons::{KubeAddons, ProxyRoute};
/// // Private clusters are reached through a SOCKS5 proxy inside their network.
/// let installer = KubeAddons::new()
///     .with_route(Arc::new(ProxyRoute::new("socks5://bastion.internal:1080").unwrap()));
/// assert_eq!(installer.route().describe("web-1"), "through proxy socks5://bastion.internal:1080");
/// ```
#[derive(Debug, Clone)]
pub struct KubeAddons {
    force_conflicts: bool,
    route: Arc<dyn ApiRoute>,
    reach_timeout: Duration,
}

impl Default for KubeAddons {
    fn default() -> Self {
        Self { force_conflicts: false, route: Arc::new(DirectRoute), reach_timeout: REACH_TIMEOUT }
    }
}

impl KubeAddons {
    /// An installer that reaches API servers directly and refuses to take fields other field
    /// managers own (their conflicts are errors).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reaches every cluster's API server over `route` (a proxy, a tunnel per cluster).
    pub fn with_route(mut self, route: Arc<dyn ApiRoute>) -> Self {
        self.route = route;
        self
    }

    /// How long the reachability check before each install waits ([`REACH_TIMEOUT`] unless
    /// set).
    pub fn with_reach_timeout(mut self, timeout: Duration) -> Self {
        self.reach_timeout = timeout;
        self
    }

    /// The route this installer reaches clusters over.
    pub fn route(&self) -> &dyn ApiRoute {
        self.route.as_ref()
    }

    /// Takes fields other managers own instead of failing on the conflict.
    pub fn force_conflicts(mut self, force: bool) -> Self {
        self.force_conflicts = force;
        self
    }

    /// Installs `addons` through `client`: applies the ApplySet parent with every kind old
    /// and new, applies each object whose manifest changed or which is missing (or drifted,
    /// under [`DriftPolicy::Correct`]), prunes members no longer wanted, then records the
    /// new kinds on the parent.
    pub async fn install_with(
        &self,
        client: &kube::Client,
        addons: &AddonSet,
        policy: DriftPolicy,
    ) -> Result<AddonReport> {
        let id = fleet_applyset_id();
        let parents: Api<DynamicObject> = Api::namespaced_with(client.clone(), PARENT_NAMESPACE, &config_maps());
        let previous =
            match parents.get_opt(PARENT_NAME).await.map_err(|err| api_error("read the ApplySet parent", err))? {
                Some(parent) => resources_of(&parent),
                None => BTreeSet::new(),
            };
        let current: BTreeSet<(String, String)> =
            addons.objects.iter().map(|o| (o.reference.api_version.clone(), o.reference.kind.clone())).collect();
        let every: BTreeSet<(String, String)> = previous.union(&current).cloned().collect();
        self.apply_parent(&parents, &id, &every).await?;

        let mut report = AddonReport::default();
        for object in &addons.objects {
            let hash = crate::BlueprintVersion::of(&object.body).to_string();
            let mut body = object.body.clone();
            let metadata = body["metadata"].as_object_mut().ok_or_else(|| Error::InvalidSpec {
                path: format!("addons.{}", object.addon),
                reason: format!("{} has no metadata mapping", object.reference),
            })?;
            insert_into(metadata, "labels", PART_OF_LABEL, &id);
            insert_into(metadata, "annotations", MANIFEST_HASH_ANNOTATION, &hash);
            let api = api_for(client, &object.reference);
            let live = api.get_opt(&object.reference.name).await.map_err(|err| api_error("read", err))?;
            let force = match live {
                None => false,
                Some(live) => {
                    let live = serde_json::to_value(&live).unwrap_or(Value::Null);
                    let live_hash =
                        live.pointer(&format!("/metadata/annotations/{}", MANIFEST_HASH_ANNOTATION.replace('/', "~1")));
                    if live_hash.and_then(Value::as_str) == Some(hash.as_str()) {
                        let fields = differences(&body, &live);
                        if fields.is_empty() {
                            report.unchanged += 1;
                            continue;
                        }
                        let corrected = policy == DriftPolicy::Correct;
                        report.drifted.push(Drift { object: object.reference.clone(), fields, corrected });
                        if !corrected {
                            continue;
                        }
                        true
                    } else {
                        false
                    }
                }
            };
            apply(&api, &object.reference, &body, force || self.force_conflicts).await.map_err(|err| match err {
                Error::InvalidSpec { reason, .. } => {
                    Error::InvalidSpec { path: format!("addons.{}", object.addon), reason }
                }
                other => other,
            })?;
            report.applied.push(object.reference.clone());
        }

        let wanted: BTreeSet<&ObjectRef> = addons.objects.iter().map(|o| &o.reference).collect();
        for (api_version, kind) in &every {
            let resource = api_resource(api_version, kind);
            let members: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
            let listed = members
                .list(&ListParams::default().labels(&format!("{PART_OF_LABEL}={id}")))
                .await
                .map_err(|err| api_error("list ApplySet members", err))?;
            for member in listed.items {
                let reference = ObjectRef {
                    api_version: api_version.clone(),
                    kind: kind.clone(),
                    namespace: member.metadata.namespace.clone(),
                    name: member.metadata.name.clone().unwrap_or_default(),
                };
                if wanted.contains(&reference) || reference.name.is_empty() {
                    continue;
                }
                match api_for(client, &reference).delete(&reference.name, &DeleteParams::default()).await {
                    Ok(_) => report.pruned.push(reference),
                    Err(kube::Error::Api(status)) if status.code == 404 => {}
                    Err(err) => return Err(api_error(&format!("prune {reference}"), err)),
                }
            }
        }
        if every != current {
            self.apply_parent(&parents, &id, &current).await?;
        }
        Ok(report)
    }

    async fn apply_parent(
        &self,
        parents: &Api<DynamicObject>,
        id: &str,
        resources: &BTreeSet<(String, String)>,
    ) -> Result<()> {
        let group_kinds: BTreeSet<String> = resources
            .iter()
            .map(|(api_version, kind)| {
                ObjectRef { api_version: api_version.clone(), kind: kind.clone(), namespace: None, name: String::new() }
                    .group_kind()
            })
            .collect();
        let listed: Vec<String> = resources.iter().map(|(api_version, kind)| format!("{api_version} {kind}")).collect();
        let parent = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": PARENT_NAME,
                "namespace": PARENT_NAMESPACE,
                "labels": {super::APPLYSET_ID_LABEL: id},
                "annotations": {
                    TOOLING_ANNOTATION: format!("fleet/{}", env!("CARGO_PKG_VERSION")),
                    CONTAINS_GROUP_KINDS_ANNOTATION: group_kinds.into_iter().collect::<Vec<_>>().join(","),
                    RESOURCES_ANNOTATION: serde_json::to_string(&listed).unwrap_or_default(),
                },
            },
        });
        let reference = ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some(PARENT_NAMESPACE.into()),
            name: PARENT_NAME.into(),
        };
        apply(parents, &reference, &parent, self.force_conflicts).await
    }
}

#[async_trait]
impl AddonInstaller for KubeAddons {
    async fn install(
        &self,
        cluster: &Cluster,
        credentials: &Credentials,
        addons: &AddonSet,
        policy: DriftPolicy,
    ) -> Result<AddonReport> {
        let name = cluster.id.as_str();
        let client = self.route.client(name, credentials).await?;
        let route = self.route.describe(name);
        check_reachable(&client, name, credentials.endpoint(), &route, self.reach_timeout).await?;
        self.install_with(&client, addons, policy).await
    }
}

/// Server-side applies `body` as `reference` with field manager `fleet`.
pub(crate) async fn apply(api: &Api<DynamicObject>, reference: &ObjectRef, body: &Value, force: bool) -> Result<()> {
    let mut params = PatchParams::apply(FIELD_MANAGER);
    if force {
        params = params.force();
    }
    match api.patch(&reference.name, &params, &Patch::Apply(body)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Err(Error::Conflict {
            message: format!(
                "applying {reference}: another field manager owns fields of it ({}); Fleet takes them only when forced",
                status.message
            ),
        }),
        Err(kube::Error::Api(status)) if status.code == 422 => Err(Error::InvalidSpec {
            path: "addons".into(),
            reason: format!("the API server refused {reference} as invalid: {}", status.message),
        }),
        Err(err) => Err(api_error(&format!("apply {reference}"), err)),
    }
}

/// The API of the object `reference` names.
pub(crate) fn api_for(client: &kube::Client, reference: &ObjectRef) -> Api<DynamicObject> {
    let resource = api_resource(&reference.api_version, &reference.kind);
    match &reference.namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

fn api_resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

fn config_maps() -> ApiResource {
    api_resource("v1", "ConfigMap")
}

fn insert_into(metadata: &mut serde_json::Map<String, Value>, field: &str, key: &str, value: &str) {
    let entry = metadata.entry(field.to_owned()).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    if let Some(map) = entry.as_object_mut() {
        map.insert(key.to_owned(), Value::from(value));
    }
}

/// The `apiVersion Kind` pairs a parent records.
fn resources_of(parent: &DynamicObject) -> BTreeSet<(String, String)> {
    let annotations: BTreeMap<String, String> = parent.metadata.annotations.clone().unwrap_or_default();
    let listed: Vec<String> =
        annotations.get(RESOURCES_ANNOTATION).and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
    listed
        .into_iter()
        .filter_map(|entry| entry.split_once(' ').map(|(version, kind)| (version.to_owned(), kind.to_owned())))
        .collect()
}

/// A Kubernetes API failure as Fleet's error.
pub(crate) fn api_error(doing: &str, err: kube::Error) -> Error {
    match err {
        kube::Error::Api(status) => match status.code {
            401 => Error::Unauthenticated { message: format!("{doing}: {}", status.message) },
            403 => Error::PermissionDenied { message: format!("{doing}: {}", status.message) },
            404 => Error::NotFound { resource: format!("{doing}: {}", status.message) },
            409 => Error::Conflict { message: format!("{doing}: {}", status.message) },
            429 => Error::RateLimited { retry_after: None },
            500..=599 => Error::Unavailable { message: format!("{doing}: {}", status.message) },
            _ => Error::Provider { message: format!("{doing}: {} ({})", status.message, status.code), source: None },
        },
        other => Error::Unavailable { message: format!("{doing}: {other}") },
    }
}
