//! ApplySet membership, as `kubectl apply --prune --applyset` records it: a parent object
//! labelled with the set's id and annotated with the kinds it contains, and a `part-of` label
//! on every member. Pruning looks only at members, so nothing Fleet did not apply is touched.

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The field manager of every server-side apply Fleet makes.
pub const FIELD_MANAGER: &str = "fleet";

/// The label on the parent naming the set's id.
pub const APPLYSET_ID_LABEL: &str = "applyset.kubernetes.io/id";

/// The label on every member naming the set it belongs to.
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";

/// The parent's annotation listing the group-kinds of its members.
pub const CONTAINS_GROUP_KINDS_ANNOTATION: &str = "applyset.kubernetes.io/contains-group-kinds";

/// The parent's annotation naming the tool that manages the set.
pub const TOOLING_ANNOTATION: &str = "applyset.kubernetes.io/tooling";

/// The parent's annotation listing `apiVersion Kind` of its members, to list them for pruning.
pub const RESOURCES_ANNOTATION: &str = "fleet.dev/resources";

/// Each member's annotation with the hash of its manifest, to tell blueprint changes from drift.
pub const MANIFEST_HASH_ANNOTATION: &str = "fleet.dev/manifest-hash";

/// The name of the ApplySet parent Fleet keeps in every cluster: a ConfigMap.
pub const PARENT_NAME: &str = "fleet-addons";

/// The namespace of that parent.
pub const PARENT_NAMESPACE: &str = "kube-system";

/// The id of the ApplySet whose parent is `Kind.group` `namespace/name`:
/// `applyset-` + unpadded base64url of SHA-256 of `name.namespace.Kind.group` + `-v1`.
///
/// ```
/// let id = fleet_core::addons::applyset_id("fleet-addons", "kube-system", "ConfigMap", "");
/// assert!(id.starts_with("applyset-") && id.ends_with("-v1"));
/// assert_eq!(id.len(), "applyset-".len() + 43 + "-v1".len());
/// ```
pub fn applyset_id(name: &str, namespace: &str, kind: &str, group: &str) -> String {
    let digest = Sha256::digest(format!("{name}.{namespace}.{kind}.{group}").as_bytes());
    format!("applyset-{}-v1", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest))
}

/// The id of the ApplySet Fleet keeps in every cluster (its parent is ConfigMap
/// `kube-system/fleet-addons`).
pub fn fleet_applyset_id() -> String {
    applyset_id(PARENT_NAME, PARENT_NAMESPACE, "ConfigMap", "")
}
